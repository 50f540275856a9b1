"""The role directory answers for the workspace being served from its settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from commands.slack.authz import ApproverDirectory
from commands.workflow.access import Workspace, bind_workspace, current_workspace
from commands.workflow.roles import Role


async def _alpha_roles() -> Mapping[Role, Iterable[str]] | None:
    workspace = current_workspace()
    if workspace is None or workspace.team_id != "T_ALPHA":
        return None
    return {Role.APPROVER: ["U_ERIN"], Role.ADMIN: []}


async def test_a_workspaces_approvers_replace_the_environments_there_only() -> None:
    directory = ApproverDirectory(["U_BOB"], None, admins=["U_ADA"])
    directory.use_workspace_roles(_alpha_roles)
    with bind_workspace(Workspace("T_ALPHA")):
        assert await directory.has_role("U_ERIN", Role.APPROVER)
        assert not await directory.has_role("U_BOB", Role.APPROVER)
        assert not await directory.has_role("U_ADA", Role.ADMIN)
        assert directory.describe_role(Role.APPROVER) == "<@U_ERIN>"
    with bind_workspace(Workspace("T_BETA")):
        assert await directory.has_role("U_BOB", Role.APPROVER)
        assert not await directory.has_role("U_ERIN", Role.APPROVER)
        assert directory.describe_role(Role.APPROVER) == "<@U_BOB>"

"""Who may do what: the three roles, the action each guards, and the refusal that names who may.

Roles are requesters (ask for documents, resends, destroys), approvers (decide requests) and
admins (export, resend to a new address without an approval). Who holds a role is a
deployment's answer (user ids, user groups, channel members): the Slack side implements
`RoleDirectory`, and this module decides, Slack-free, which roles an action needs, so the
workflow, the Slack features and the tests read one table (`WHO_MAY`).

Example::

    await require(directory, "U_EVE", Guarded.EXPORT)
    # NotAllowed: Only approvers (<@U_BOB>) or admins (<@U_ADA>) may export documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from commands.i18n import N_, _
from commands.workflow.errors import NotAllowed

__all__ = ["WHO_MAY", "Guarded", "OpenRoles", "Role", "RoleDirectory", "refusal", "require", "roles_of"]


class Role(StrEnum):
    REQUESTER = "requester"
    APPROVER = "approver"
    ADMIN = "admin"


class Guarded(StrEnum):
    """Every state-changing action a person can ask for, by what it needs."""

    ISSUE = "issue"
    DESTROY = "destroy"
    RESEND = "resend"
    RESEND_ELSEWHERE = "resend_elsewhere"  # to an address the document was not issued to
    DECIDE = "decide"
    RETRY = "retry"
    EXPORT = "export"
    DIGEST_NOW = "digest_now"
    DIGEST_SCHEDULE = "digest_schedule"
    RESUBMIT = "resubmit"
    SETTINGS = "settings"  # the workspace's settings (App Home → Settings)


_ANYONE_WORKING = frozenset({Role.REQUESTER, Role.APPROVER, Role.ADMIN})
_OVERSIGHT = frozenset({Role.APPROVER, Role.ADMIN})

#: the roles that may do each action (retry and resubmit also admit the request's requester)
WHO_MAY: dict[Guarded, frozenset[Role]] = {
    Guarded.ISSUE: _ANYONE_WORKING,
    Guarded.DESTROY: _ANYONE_WORKING,
    Guarded.RESEND: _ANYONE_WORKING,
    Guarded.RESEND_ELSEWHERE: frozenset({Role.ADMIN}),
    Guarded.DECIDE: frozenset({Role.APPROVER}),
    Guarded.RETRY: frozenset({Role.APPROVER}),
    Guarded.EXPORT: _OVERSIGHT,
    Guarded.DIGEST_NOW: _ANYONE_WORKING,
    Guarded.DIGEST_SCHEDULE: _ANYONE_WORKING,
    Guarded.RESUBMIT: frozenset(),
    Guarded.SETTINGS: frozenset({Role.ADMIN}),
}

#: what the refusal says the person tried to do ("Only … may <this>.")
_DOING = {
    Guarded.ISSUE: N_("request documents"),
    Guarded.DESTROY: N_("ask to destroy documents"),
    Guarded.RESEND: N_("resend documents"),
    Guarded.RESEND_ELSEWHERE: N_("resend a document to an address it was not issued to without an approval"),
    Guarded.DECIDE: N_("approve or reject requests"),
    Guarded.RETRY: N_("retry this request"),
    Guarded.EXPORT: N_("export documents"),
    Guarded.DIGEST_NOW: N_("post a digest"),
    Guarded.DIGEST_SCHEDULE: N_("change the digest schedule"),
    Guarded.RESUBMIT: N_("edit and resubmit this request"),
    Guarded.SETTINGS: N_("change this workspace's settings"),
}

_ROLE_NAMES = {Role.REQUESTER: N_("requesters"), Role.APPROVER: N_("approvers"), Role.ADMIN: N_("admins")}


class RoleDirectory(Protocol):
    """Who holds each role (the Slack side answers from user ids, user groups and channels)."""

    async def has_role(self, user: str, role: Role) -> bool:
        """Whether `user` holds `role` (a lookup that fails answers False)."""
        ...

    def describe_role(self, role: Role) -> str:
        """Who holds `role`, as the people reading a refusal can recognise them (mentions)."""
        ...


class OpenRoles:
    """Today's behaviour when no role is configured: everyone requests, `is_approver` approves,
    nobody is an admin. What `InvoiceService` uses when it is given no directory."""

    def __init__(self, is_approver: Callable[[str], Awaitable[bool]]) -> None:
        self._is_approver = is_approver

    async def has_role(self, user: str, role: Role) -> bool:
        if role is Role.REQUESTER:
            return True
        if role is Role.APPROVER:
            return await self._is_approver(user)
        return False

    def describe_role(self, role: Role) -> str:
        return {Role.REQUESTER: _("everyone"), Role.APPROVER: _("the configured approvers")}.get(role, _("nobody"))


async def roles_of(directory: RoleDirectory, user: str) -> frozenset[Role]:
    """Every role `user` holds."""
    return frozenset([role for role in Role if await directory.has_role(user, role)])


async def allowed(directory: RoleDirectory, user: str, action: Guarded) -> bool:
    for role in WHO_MAY[action]:
        if await directory.has_role(user, role):
            return True
    return False


def refusal(directory: RoleDirectory, action: Guarded, *, requester: str | None = None) -> NotAllowed:
    """The refusal of `action`, naming who may do it (and the request's requester, when they may)."""
    holders = [_("{role} ({who})").format(role=_(_ROLE_NAMES[r]), who=directory.describe_role(r))
               for r in Role if r in WHO_MAY[action]]
    if requester is not None:
        holders.insert(0, _("the requester (<@{user}>)").format(user=requester))
    if not holders:
        who = _("nobody")
    elif len(holders) == 1:
        who = holders[0]
    else:
        who = _("{some} or {last}").format(some=", ".join(holders[:-1]), last=holders[-1])
    return NotAllowed(_("Only {who} may {doing}.").format(who=who, doing=_(_DOING[action])),
                      user_hint=_("ask one of them, or an admin to give you the role"), code="not_allowed")


async def require(directory: RoleDirectory, user: str, action: Guarded, *, requester: str | None = None) -> None:
    """Return when `user` may do `action` (or is the `requester` who may); raise `refusal` otherwise."""
    if requester is not None and user == requester:
        return
    if not await allowed(directory, user, action):
        raise refusal(directory, action, requester=requester)

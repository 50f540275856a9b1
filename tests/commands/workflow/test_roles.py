"""The role table and its refusals: who may do what, and a refusal that names them."""

from __future__ import annotations

import pytest

from commands.workflow import NotAllowed
from commands.workflow.roles import WHO_MAY, Guarded, OpenRoles, Role, refusal, require, roles_of


class Book:
    """Roles by user, described by name (what a Slack directory would answer)."""

    def __init__(self, **holders: frozenset[str]) -> None:
        self.holders = {Role(k): v for k, v in holders.items()}

    async def has_role(self, user: str, role: Role) -> bool:
        return user in self.holders.get(role, frozenset())

    def describe_role(self, role: Role) -> str:
        return ", ".join(f"<@{u}>" for u in sorted(self.holders.get(role, ()))) or "nobody"


BOOK = Book(requester=frozenset({"U_ALICE"}), approver=frozenset({"U_BOB"}), admin=frozenset({"U_ADA"}))


def test_every_guarded_action_has_its_roles_and_only_approvers_decide() -> None:
    assert set(WHO_MAY) == set(Guarded)
    assert WHO_MAY[Guarded.DECIDE] == {Role.APPROVER}
    assert WHO_MAY[Guarded.EXPORT] == {Role.APPROVER, Role.ADMIN}
    assert WHO_MAY[Guarded.RESEND_ELSEWHERE] == {Role.ADMIN}


async def test_require_admits_the_roles_and_refuses_naming_who_may() -> None:
    await require(BOOK, "U_ADA", Guarded.EXPORT)
    await require(BOOK, "U_BOB", Guarded.EXPORT)
    with pytest.raises(NotAllowed) as refused:
        await require(BOOK, "U_ALICE", Guarded.EXPORT)
    assert refused.value.message == "Only approvers (<@U_BOB>) or admins (<@U_ADA>) may export documents."


async def test_the_requester_of_a_request_may_act_on_it_and_is_named() -> None:
    await require(BOOK, "U_ALICE", Guarded.RESUBMIT, requester="U_ALICE")
    with pytest.raises(NotAllowed, match=r"^Only the requester \(<@U_ALICE>\) may edit and resubmit"):
        await require(BOOK, "U_BOB", Guarded.RESUBMIT, requester="U_ALICE")
    message = refusal(BOOK, Guarded.RETRY, requester="U_ALICE").message
    assert message == "Only the requester (<@U_ALICE>) or approvers (<@U_BOB>) may retry this request."


async def test_open_roles_keep_the_behaviour_before_roles_existed() -> None:
    async def is_approver(user: str) -> bool:
        return user == "U_BOB"

    roles = OpenRoles(is_approver)

    assert await roles_of(roles, "U_ANYONE") == {Role.REQUESTER}
    assert await roles_of(roles, "U_BOB") == {Role.REQUESTER, Role.APPROVER}

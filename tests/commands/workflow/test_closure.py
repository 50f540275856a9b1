"""Business closure checks."""

from __future__ import annotations

import pytest

from providers.errors import (
    NotSupported,
    ProviderUnavailable,
)
from providers.models import BusinessState, Provider
from tests.commands.workflow.conftest import (
    APPROVER,
    REQUESTER,
    Env,
)


async def test_closure_checks_valid_numbers_and_reports_invalid_ones(env: Env) -> None:
    result = await env.service.closure(["679-87-00433", "12-34", "abc", "6798700433", "123-12-12310"], REQUESTER)


    assert result.provider is Provider.POPBILL  # preferred over Hiworks
    assert [(i.input, i.bizno, i.error is not None) for i in result.items] == [
        ("679-87-00433", "6798700433", False),
        ("12-34", None, True),
        ("abc", None, True),
        ("123-12-12310", "1231212310", False),
    ]
    assert result.items[0].status is not None and result.items[0].status.state is BusinessState.ACTIVE
    assert result.items[3].warning is not None and len(result.warnings) == 1
    assert env.popbill.calls["check_closure"] == 1  # one batch
    assert not result.changed


async def test_closure_flags_changes_since_the_previous_check(env: Env) -> None:
    await env.service.closure(["6798700433", "1231212312"], REQUESTER)
    env.popbill.closure_states["6798700433"] = BusinessState.CLOSED
    env.clock.advance(days=1)


    result = await env.service.closure(["6798700433", "1231212312"], APPROVER)


    assert [(i.bizno, i.changed, i.previous_state) for i in result.items] == [
        ("6798700433", True, BusinessState.ACTIVE),
        ("1231212312", False, BusinessState.ACTIVE),
    ]
    changes = await env.store.closures.changes_since(env.clock.now)
    assert [c.bizno for c in changes] == ["6798700433"]


async def test_closure_provider_failure_is_reported_not_raised(env: Env) -> None:
    env.popbill.fail("check_closure", ProviderUnavailable("maintenance", provider="popbill"))


    result = await env.service.closure(["6798700433"], REQUESTER)


    assert result.error == "popbill: maintenance"
    assert result.items[0].status is None
    assert await env.store.closures.latest(["6798700433"]) == {}


async def test_closure_can_be_asked_of_a_named_provider(env: Env) -> None:
    result = await env.service.closure(["6798700433"], REQUESTER, provider=Provider.HIWORKS)


    assert result.provider is Provider.HIWORKS
    with pytest.raises(NotSupported):
        await env.service.closure(["6798700433"], REQUESTER, provider=Provider.PAYSSAM)

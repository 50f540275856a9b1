"""Per-workspace settings: validation (one line per bad value), the one resolution over the
environment's defaults, and what the role directory and the policy read from it."""

from __future__ import annotations

import asyncio

import pytest

from commands.ledger import Store
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.access import Workspace, bind_workspace
from commands.workflow.context import Policy
from commands.workflow.errors import NotAllowed
from commands.workflow.roles import Role
from commands.workflow.workspace_settings import SettingsDefaults, WorkspaceSettings, effective, validate

DEFAULTS = SettingsDefaults(approvers=frozenset({"U_BOB", "S_LEADS"}), admins=frozenset({"U_ADA"}),
                            approvals_channel="C_APPROVALS", two_approvals_above=None)
ALPHA = WorkspaceScope("T_ALPHA")


async def _allow(user: str) -> bool:
    return True


def test_every_bad_value_gets_its_own_line_and_empty_fields_are_dropped() -> None:
    clean, errors = validate({"approvers": ["U_ERIN", "finance"], "admins": [], "approvals_channel": "#money",
                              "two_approvals_above": "1,000,000", "language": "fr", "digest_time": "25:00",
                              "digest_channel": ""})
    assert clean == {"two_approvals_above": 1_000_000}
    assert set(errors) == {"approvers", "approvals_channel", "language", "digest_time"}
    assert "finance" in errors["approvers"] and "U_ERIN" not in errors["approvers"]
    assert all("\n" not in line for line in errors.values())


def test_a_digest_needs_both_a_time_and_a_channel() -> None:
    assert validate({"digest_time": "09:00", "digest_channel": "C_DIGEST"}) == (
        {"digest_time": "09:00", "digest_channel": "C_DIGEST"}, {})
    _, errors = validate({"digest_time": "09:00"})
    assert set(errors) == {"digest_channel"}


def test_the_row_is_laid_over_the_defaults_field_by_field() -> None:
    resolved = effective(DEFAULTS, {"approvers": ["U_ERIN"], "language": "ko"})
    assert resolved.approvers == frozenset({"U_ERIN"}) and resolved.admins == frozenset({"U_ADA"})
    assert resolved.language == "ko" and resolved.approvals_channel == "C_APPROVALS"
    assert resolved.customised == frozenset({"approvers", "language"})
    assert effective(DEFAULTS, {}).customised == frozenset()


async def test_saved_settings_apply_to_their_workspace_only(store: Store) -> None:
    settings = WorkspaceSettings(store, DEFAULTS)
    await settings.save(ALPHA, {"approvers": ["U_ERIN"], "two_approvals_above": 5000}, actor="U_ADA")
    base = Policy(is_approver=_allow)
    current_policy = settings.policy_source(base)
    with bind_workspace(Workspace("T_ALPHA")):
        assert (await current_policy()).two_approvals_above == 5000
        assert await settings.role_ids() == {Role.APPROVER: frozenset({"U_ERIN"}), Role.ADMIN: frozenset({"U_ADA"})}
    with bind_workspace(Workspace("T_BETA")):
        assert await current_policy() is base
        assert await settings.role_ids() is None  # the environment's directory answers
    with bind_workspace(None):
        assert await current_policy() is base


async def test_a_save_is_seen_at_once_and_another_replicas_after_the_ttl(store: Store) -> None:
    now = [0.0]
    here = WorkspaceSettings(store, DEFAULTS, ttl=10, monotonic=lambda: now[0])
    there = WorkspaceSettings(store, DEFAULTS, ttl=10, monotonic=lambda: now[0])
    assert (await there.effective(ALPHA)).language == "auto"
    await here.save(ALPHA, {"language": "en"}, actor="U_ADA")
    assert (await here.effective(ALPHA)).language == "en"
    assert (await there.effective(ALPHA)).language == "auto"
    now[0] = 11
    assert (await there.effective(ALPHA)).language == "en"


async def test_credentials_without_a_key_are_refused_with_a_clear_message(store: Store) -> None:
    settings = WorkspaceSettings(store, DEFAULTS)
    with pytest.raises(NotAllowed, match="no encryption key"):
        await settings.replace_credentials(ALPHA, {"payssam_api_key": "k"}, actor="U_ADA")
    assert not any((await settings.credential_status(ALPHA)).values())



async def test_a_burst_arriving_as_the_cache_expires_reads_the_row_once(store: Store,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = WorkspaceSettings(store, DEFAULTS)
    await settings.save(ALPHA, {"language": "ko"}, actor="U_ADA")
    settings._cache.clear()  # as when the ttl runs out under a burst
    reads: list[WorkspaceScope] = []
    read_row = store.workspace_settings.get

    async def counted(scope: WorkspaceScope):  # type: ignore[no-untyped-def]
        reads.append(scope)
        await asyncio.sleep(0.01)  # the burst arrives while the one SELECT is out
        return await read_row(scope)

    monkeypatch.setattr(store.workspace_settings, "get", counted)
    answers = await asyncio.gather(*(settings.effective(ALPHA) for _ in range(50)))
    assert {a.language for a in answers} == {"ko"}
    assert reads == [ALPHA]


async def test_a_read_started_before_a_save_never_caches_the_old_values(store: Store,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = WorkspaceSettings(store, DEFAULTS)
    read_row = store.workspace_settings.get
    read, release = asyncio.Event(), asyncio.Event()

    async def slow(scope: WorkspaceScope):  # type: ignore[no-untyped-def]
        row = await read_row(scope)
        read.set()
        await release.wait()  # the answer is still on its way back when the admin saves
        return row

    monkeypatch.setattr(store.workspace_settings, "get", slow)
    stale = asyncio.ensure_future(settings.effective(ALPHA))
    await read.wait()
    monkeypatch.setattr(store.workspace_settings, "get", read_row)
    saved = await settings.save(ALPHA, {"language": "en"}, actor="U_ADA")
    release.set()
    assert (await stale).language == "auto" and saved.language == "en"
    assert (await settings.effective(ALPHA)).language == "en"

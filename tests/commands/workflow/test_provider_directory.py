"""The provider directory: a workspace's own services from its stored credentials, the environment's
otherwise, and a clear refusal (never the environment's account) when they cannot be used."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
from cryptography.fernet import Fernet

from commands.ledger import ApprovalState
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.access import Workspace, bind_workspace
from commands.workflow.credentials import CredentialVault
from commands.workflow.provider_directory import Built, CredentialsUnavailable, ProviderDirectory
from commands.workflow.workspace_settings import SettingsDefaults, WorkspaceSettings
from providers.errors import NotSupported, RequestInvalid
from providers.models import DocumentKind, Provider
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, make_draft
from tests.commands.workflow.fakes import FakeProvider

ALPHA = WorkspaceScope("T_ALPHA")
POPBILL_CREDS = {"popbill_link_id": "ALPHA", "popbill_secret_key": "s3cret", "popbill_corp_num": "1234567891"}


class Builder:
    """Builds one FakeProvider per complete Popbill credential set, remembering each."""

    def __init__(self, kinds: frozenset[DocumentKind] | None = None) -> None:
        self.built: list[tuple[dict[str, str], FakeProvider]] = []
        self.closed: list[FakeProvider] = []
        self.kinds = kinds

    def __call__(self, credentials: Mapping[str, str]) -> Built:
        if "popbill_secret_key" not in credentials:
            return Built({}, {Provider.POPBILL: ["secret_key"]})
        fake = FakeProvider(Provider.POPBILL, kinds=self.kinds)
        builder = self

        async def aclose() -> None:
            builder.closed.append(fake)

        fake.aclose = aclose  # type: ignore[method-assign]
        self.built.append((dict(credentials), fake))
        return Built({Provider.POPBILL: fake})


def wire(env: Env, *, key: str | None, kinds: frozenset[DocumentKind] | None = None
         ) -> tuple[WorkspaceSettings, ProviderDirectory, Builder]:
    settings = WorkspaceSettings(env.store, SettingsDefaults(), vault=CredentialVault(key) if key else None)
    builder = Builder(kinds)
    directory = ProviderDirectory(env.service.context.providers, settings=settings, build=builder)
    env.service.context = dataclasses.replace(env.service.context, providers=directory.registry,
                                              provider_directory=directory)
    return settings, directory, builder


async def test_a_workspace_with_credentials_gets_its_own_services_cached_until_it_saves_new_ones(env: Env) -> None:
    settings, directory, builder = wire(env, key=Fernet.generate_key().decode())
    assert await directory.providers_for("T_ALPHA") is directory.environment  # nothing stored yet
    await settings.replace_credentials(ALPHA, POPBILL_CREDS, actor="U_ADA")
    own = (await directory.providers_for("T_ALPHA"))[Provider.POPBILL]
    assert own is builder.built[0][1] and builder.built[0][0] == POPBILL_CREDS
    assert (await directory.providers_for("T_ALPHA"))[Provider.POPBILL] is own  # cached
    assert (await directory.providers_for("T_ALPHA"))[Provider.HIWORKS] is env.hiworks  # not its own: the environment's
    assert (await directory.providers_for("T_BETA"))[Provider.POPBILL] is env.popbill
    assert (await directory.providers_for(None))[Provider.POPBILL] is env.popbill

    await settings.replace_credentials(ALPHA, {"popbill_link_id": "ALPHA2"}, actor="U_ADA")  # invalidates
    newer = (await directory.providers_for("T_ALPHA"))[Provider.POPBILL]
    assert newer is not own and builder.built[1][0]["popbill_link_id"] == "ALPHA2"
    await directory.aclose()
    assert set(map(id, builder.closed)) == {id(own), id(newer)}


async def test_requests_and_executions_use_the_workspaces_own_account(env: Env) -> None:
    settings, _directory, builder = wire(env, key=Fernet.generate_key().decode())
    await settings.replace_credentials(ALPHA, POPBILL_CREDS, actor="U_ADA")
    with bind_workspace(Workspace("T_ALPHA")):
        approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
        result = await env.service.decide(approval.id, APPROVER, approve=True)
    assert result.approval.state is ApprovalState.SUCCEEDED
    own = builder.built[0][1]
    assert own.issue_calls == 1 and env.popbill.issue_calls == 0
    # recovery (the bot's own work: no workspace bound) runs an interrupted request under its workspace's account
    with bind_workspace(Workspace("T_ALPHA")):
        pending = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
        await env.service.decide(pending.id, APPROVER, approve=True, execute=False)  # the process died here
    results = await env.service.recover()
    assert [r.approval.id for r in results if r.ok] == [pending.id]
    assert own.issue_calls == 2 and env.popbill.issue_calls == 0
    with bind_workspace(Workspace("T_BETA")):
        approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
        await env.service.decide(approval.id, APPROVER, approve=True)
    assert own.issue_calls == 2 and env.popbill.issue_calls == 1


async def test_unreadable_credentials_fail_the_execution_and_never_use_the_environments_account(env: Env) -> None:
    settings, directory, builder = wire(env, key=Fernet.generate_key().decode())
    await settings.replace_credentials(ALPHA, POPBILL_CREDS, actor="U_ADA")
    with bind_workspace(Workspace("T_ALPHA")):
        approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    settings.vault = CredentialVault(Fernet.generate_key().decode())  # the key was rotated
    directory.invalidate(ALPHA)
    with bind_workspace(Workspace("T_ALPHA")):
        result = await env.service.decide(approval.id, APPROVER, approve=True)
    execution = result.execution
    assert execution is not None and not execution.ok and execution.error_code == "credentials_unavailable"
    assert execution.approval.state is ApprovalState.FAILED and execution.approval.retryable
    assert env.popbill.issue_calls == 0 and builder.built[0][1].issue_calls == 0
    with pytest.raises(CredentialsUnavailable, match="encryption key has changed"):
        await directory.providers_for("T_ALPHA")


async def test_stored_credentials_without_a_key_and_incomplete_ones_are_refused(env: Env) -> None:
    sealed = CredentialVault(Fernet.generate_key().decode()).seal(POPBILL_CREDS)
    await env.store.workspace_settings.save(ALPHA, credentials=sealed)
    _, directory, _builder = wire(env, key=None)
    with pytest.raises(CredentialsUnavailable, match="no encryption key"):
        await directory.providers_for("T_ALPHA")
    with bind_workspace(Workspace("T_ALPHA")), pytest.raises(CredentialsUnavailable):
        await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    assert await env.store.documents.search(limit=5) == []  # refused before anything was stored

    settings, directory, _builder = wire(env, key=Fernet.generate_key().decode())
    await settings.replace_credentials(WorkspaceScope("T_BETA"), {"popbill_link_id": "HALF"}, actor="U_ADA")
    providers = await directory.providers_for("T_BETA")
    assert Provider.POPBILL not in providers and providers[Provider.HIWORKS] is env.hiworks
    with bind_workspace(Workspace("T_BETA")), pytest.raises(CredentialsUnavailable, match="missing: secret_key"):
        await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


async def test_checks_before_approval_read_the_workspaces_own_providers_capabilities(env: Env) -> None:
    """Alpha's own Popbill account issues tax invoices only: a zero-rated one is refused when asked,
    while a workspace on the environment's account (which issues both) may ask for it."""
    settings, _directory, _builder = wire(env, key=Fernet.generate_key().decode(),
                                          kinds=frozenset({DocumentKind.TAX_INVOICE}))
    await settings.replace_credentials(ALPHA, POPBILL_CREDS, actor="U_ADA")
    with bind_workspace(Workspace("T_ALPHA")), pytest.raises((RequestInvalid, NotSupported)):
        await env.service.request_issue(make_draft(kind=DocumentKind.ZERO_RATED_INVOICE), REQUESTER, CHANNEL)
    with bind_workspace(Workspace("T_BETA")):
        approval = await env.service.request_issue(make_draft(kind=DocumentKind.ZERO_RATED_INVOICE), REQUESTER,
                                                   CHANNEL)
    assert approval.state is ApprovalState.PENDING

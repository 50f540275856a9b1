"""Two workspaces installed through OAuth never see or decide each other's requests, documents
or exports: lists, statuses, pending approvals and exports read the asking workspace's rows."""

from __future__ import annotations

from pathlib import Path

from commands.ledger.workspaces import WorkspaceScope
from tests.app.harness import BotHarness, text_of
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_flows import BUYER


async def _issue(bot: BotHarness, user: str = "U_ALICE") -> dict[str, object]:
    await bot.command("issue popbill", user=user)
    response = await bot.submit(bot.last_modal(), {**BUYER, "provider": "popbill", "kind": "tax_invoice"}, user=user)
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    return bot.cards()[-1]


def _reply(bot: BotHarness) -> str:
    return text_of(bot.replies()[-1])


def _last_csv(bot: BotHarness) -> bytes:
    stored = [f for f in bot.slack.files.values() if f.completed]
    return stored[-1].data or b""


async def test_a_workspace_never_sees_or_decides_anothers_requests_documents_or_exports(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        await install(bot, "code-a", "T_ALPHA")
        await install(bot, "code-b", "T_BETA")
        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")

        card = await _issue(alpha)
        assert "INV-000001" in text_of(card)
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.team_id == "T_ALPHA"

        # Beta's approver clicks Alpha's card (a forged or shared-channel click): refused, nothing issued.
        await beta.click(card, "approval_approve", user="U_BOB")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.lifecycle.value == "pending_approval"

        # Beta's lists and statuses do not know the request; Alpha's do.
        await beta.command("list", user="U_BOB")
        assert "INV-000001" not in _reply(bot)
        await beta.command("status INV-000001", user="U_BOB")
        assert "does not exist" in _reply(bot)
        await alpha.command("list", user="U_BOB")
        assert "INV-000001" in _reply(bot)

        # Alpha approves; Beta's own request and export hold only Beta's document.
        await alpha.click(card, "approval_approve", user="U_BOB")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.lifecycle.value == "issued"
        beta_card = await _issue(beta, user="U_CAROL")
        await beta.click(beta_card, "approval_approve", user="U_BOB")
        await beta.command("export", user="U_BOB")
        beta_csv = _last_csv(bot)
        assert b"INV-000002" in beta_csv and b"INV-000001" not in beta_csv
        await alpha.command("export", user="U_BOB")
        alpha_csv = _last_csv(bot)
        assert b"INV-000001" in alpha_csv and b"INV-000002" not in alpha_csv
        # every Web API call was made with the token of the workspace it was for
        uploads = bot.slack.calls("files.completeUploadExternal")
        assert [c.team_id for c in uploads[-2:]] == ["T_BETA", "T_ALPHA"]


async def test_rows_of_no_workspace_stay_visible_and_the_bots_own_work_sees_everything(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        docs = bot.runtime.store.documents
        from commands.ledger import Lifecycle
        from providers.models import DocumentKind, Provider

        legacy = await docs.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                   lifecycle=Lifecycle.ISSUED)
        alpha = await docs.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                  lifecycle=Lifecycle.ISSUED, workspace=WorkspaceScope("T_ALPHA"))
        assert [d.id for d in await docs.search(workspace=WorkspaceScope("T_BETA"))] == [legacy.id]
        assert [d.id for d in await docs.search(workspace=WorkspaceScope("T_ALPHA"))] == [alpha.id, legacy.id]
        assert [d.id for d in await docs.search()] == [alpha.id, legacy.id]

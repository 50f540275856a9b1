"""Per-workspace settings through the running bot with two OAuth installs: an admin changes
Alpha's approvers, approvals channel and amount rule from App Home; Beta keeps the
environment's; provider credentials are stored encrypted and never shown back."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr

from commands.ledger.schema import workspace_settings
from commands.ledger.workspaces import WorkspaceScope
from tests.app.harness import BotHarness, text_of
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_flows import BUYER

ALPHA_APPROVALS = "C_ALPHA_APPROVALS"


async def home_of(bot: BotHarness, user: str) -> dict[str, Any]:
    await bot.send(bot.factory.app_home_opened(user))
    return dict(bot.slack.calls("views.publish")[-1].response["view"])


def has_button(view: dict[str, Any], action_id: str) -> bool:
    return any(e.get("action_id") == action_id for b in view["blocks"] for e in b.get("elements", []) or [])


async def open_settings(bot: BotHarness, user: str) -> dict[str, Any] | None:
    """Click Settings on `user`'s App Home (sent even when the button is not shown: a forged click)."""
    before = len(bot.slack.calls("views.open"))
    view = await home_of(bot, user)
    await bot.send(bot.factory.block_action(user_id=user, action_id="home_settings", value=None, view=view))
    return bot.last_modal() if len(bot.slack.calls("views.open")) > before else None


async def issue(bot: BotHarness, user: str = "U_ALICE") -> None:
    await bot.command("issue popbill", user=user)
    response = await bot.submit(bot.last_modal(), {**BUYER, "provider": "popbill", "kind": "tax_invoice"}, user=user)
    assert response.status_code == 200 and response.text in ("", "null"), response.text


async def test_an_admin_changes_one_workspaces_approvers_channel_and_amount_rule(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA") as bot:
        await install(bot, "code-a", "T_ALPHA")
        await install(bot, "code-b", "T_BETA")
        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")

        assert not has_button(await home_of(alpha, "U_ALICE"), "home_settings")
        assert has_button(await home_of(alpha, "U_ADA"), "home_settings")
        assert await open_settings(alpha, "U_ALICE") is None  # a forged click opens nothing

        modal = await open_settings(alpha, "U_ADA")
        assert modal is not None
        # bad values: one line under each bad field, nothing stored
        refused = await alpha.submit(modal, {"two_approvals_above": "lots", "approvers_groups": "finance"},
                                     user="U_ADA")
        errors = json.loads(refused.text)["errors"]
        assert set(errors) == {"two_approvals_above", "approvers_users"}
        assert await bot.runtime.store.workspace_settings.get(WorkspaceScope("T_ALPHA")) is None

        saved = await alpha.submit(modal, {"approvers_users": "U_ERIN", "two_approvals_above": "50,000",
                                           "approvals_channel": ALPHA_APPROVALS}, user="U_ADA")
        assert saved.text in ("", "null"), saved.text

        # Alpha: cards go to its channel, U_BOB is no approver there, two distinct approvers above 50,000
        await issue(alpha)
        card = bot.slack.messages_in(ALPHA_APPROVALS)[-1]
        assert "0 of 2" in text_of(card)
        await alpha.click(card, "approval_approve", user="U_BOB")
        assert await bot.runtime.store.approvals.voters(1) == []
        await alpha.click(bot.slack.messages_in(ALPHA_APPROVALS)[-1], "approval_approve", user="U_ERIN")
        await alpha.click(bot.slack.messages_in(ALPHA_APPROVALS)[-1], "approval_approve", user="U_DAVE")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.lifecycle.value == "issued"

        # Beta keeps the environment's settings: its usual channel, U_BOB approves alone
        await issue(beta, user="U_CAROL")
        beta_card = bot.cards()[-1]
        assert "INV-000002" in text_of(beta_card) and "0 of 2" not in text_of(beta_card)
        await beta.click(beta_card, "approval_approve", user="U_BOB")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000002")
        assert doc is not None and doc.lifecycle.value == "issued"
        assert await bot.runtime.store.workspace_settings.get(WorkspaceScope("T_BETA")) is None


async def test_credentials_are_refused_without_a_key(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA") as bot:
        await install(bot, "code-a", "T_ALPHA")
        modal = await open_settings(as_workspace(bot, "T_ALPHA"), "U_ADA")
        assert modal is not None
        assert "no encryption key" in json.dumps(modal)
        assert not any(b.get("block_id", "").startswith("cred_") for b in modal["blocks"])


async def test_credentials_are_stored_encrypted_and_never_shown_or_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "TOPSECRET-popbill-0123456789"
    key = Fernet.generate_key().decode()
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA", invoicebot_encryption_key=SecretStr(key)) as bot:
        await install(bot, "code-a", "T_ALPHA")
        alpha = as_workspace(bot, "T_ALPHA")
        modal = await open_settings(alpha, "U_ADA")
        assert modal is not None and "Popbill SecretKey (not set)" in json.dumps(modal)
        saved = await alpha.submit(modal, {"cred_popbill_secret_key": secret, "cred_popbill_link_id": "LINK"},
                                   user="U_ADA")
        assert saved.text in ("", "null"), saved.text

        async with bot.runtime.store.engine.connect() as conn:
            stored = (await conn.execute(sa.select(workspace_settings))).mappings().one()
        assert stored["team_id"] == "T_ALPHA" and secret not in json.dumps(dict(stored), default=str)
        settings = bot.runtime.deps.workspace_settings
        assert settings is not None
        assert (await settings.credentials(WorkspaceScope("T_ALPHA")))["popbill_secret_key"] == secret

        again = await open_settings(alpha, "U_ADA")
        assert again is not None
        shown = json.dumps(again)
        assert "Popbill SecretKey (set)" in shown and "Payssam API key (not set)" in shown and secret not in shown
        # an empty replace field keeps the stored value
        await alpha.submit(again, {"two_approvals_above": "1000"}, user="U_ADA")
        assert (await settings.credentials(WorkspaceScope("T_ALPHA")))["popbill_secret_key"] == secret
        sent = json.dumps([c.args for c in bot.slack.calls("views.open")], default=str)
        assert secret not in sent
    assert secret not in caplog.text

"""Each workspace's documents are issued under its own provider account, end to end.

Two OAuth workspaces store different Popbill credentials from App Home (LinkID, SecretKey,
CorpNum); the Popbill sandbox is told both accounts (it tells them apart by the LinkID a token
is asked with and the CorpNum the token acts for) and every document must land under its own
workspace's CorpNum. A third workspace with none uses the environment's account; new
credentials count from the next request; credentials that cannot be decrypted are refused in
the workspace's language, never replaced by the environment's account; a retry from one
workspace never runs another's request; and no secret reaches the logs.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.credentials import CredentialVault
from providers.config import DEMO_SELLER_BIZNO
from providers.models import Provider
from providers.sandbox.faults import FaultRule
from tests.app.harness import BotHarness, text_of
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_flows import BUYER
from tests.app.test_workspace_settings import open_settings

ALPHA_CORP, BETA_CORP, ALPHA_NEW_CORP = "1234567891", "2118789116", "1058701116"
SECRETS = {link: base64.b64encode(f"{link}-popbill-secret-0123456789".encode()).decode()
           for link in ("ALPHA_LINK", "BETA_LINK", "ALPHA_NEW_LINK")}


def _register_accounts(bot: BotHarness) -> None:
    """The sandbox accepts each workspace's LinkID/SecretKey (as Popbill accepts each partner's)."""
    popbill = bot.sandbox("popbill")
    assert bot.runtime.providers.thread is not None
    bot.runtime.providers.thread.call(lambda: popbill.credentials.update(SECRETS))  # type: ignore[attr-defined]


def _issued_under(bot: BotHarness) -> dict[str, str]:
    """The sandbox's tax invoices: MgtKey -> the CorpNum (account) it was issued under."""
    popbill = bot.sandbox("popbill")
    assert bot.runtime.providers.thread is not None
    docs = bot.runtime.providers.thread.call(lambda: dict(popbill.docs))  # type: ignore[attr-defined]
    return {key: corp for (kind, corp, key) in docs if kind == "taxinvoice"}


def _links_used(bot: BotHarness) -> set[str]:
    popbill = bot.sandbox("popbill")
    assert bot.runtime.providers.thread is not None
    tokens = bot.runtime.providers.thread.call(lambda: list(popbill.tokens.values()))  # type: ignore[attr-defined]
    return {t.link_id for t in tokens}


async def _save_popbill(bot: BotHarness, link: str, corp: str) -> None:
    modal = await open_settings(bot, "U_ADA")
    assert modal is not None
    saved = await bot.submit(modal, {"cred_popbill_link_id": link, "cred_popbill_secret_key": SECRETS[link],
                                     "cred_popbill_corp_num": corp}, user="U_ADA")
    assert saved.text in ("", "null"), saved.text


async def _issue_and_approve(bot: BotHarness, user: str = "U_ALICE") -> str:
    """Issue a Popbill tax invoice from `bot`'s workspace, approve it there; its ref."""
    await bot.command("issue popbill", user=user)
    response = await bot.submit(bot.last_modal(), {**BUYER, "provider": "popbill", "kind": "tax_invoice"}, user=user)
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    card = bot.cards()[-1]
    await bot.click(card, "approval_approve", user="U_BOB")
    found = re.search(r"INV-\d{6}", text_of(card))
    assert found, text_of(card)
    return found.group(0)


async def _issued_key(bot: BotHarness, ref: str) -> str:
    doc = await bot.runtime.store.documents.get_by_ref(ref)
    assert doc is not None and doc.lifecycle.value == "issued", doc
    assert doc.provider_id is not None
    return doc.provider_id


def _key() -> SecretStr:
    return SecretStr(Fernet.generate_key().decode())


async def test_each_workspace_issues_under_its_own_account_and_one_without_uses_the_environments(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA", invoicebot_encryption_key=_key()) as bot:
        for code, team in (("a", "T_ALPHA"), ("b", "T_BETA"), ("c", "T_GAMMA")):
            await install(bot, f"code-{code}", team)
        alpha, beta, gamma = (as_workspace(bot, t) for t in ("T_ALPHA", "T_BETA", "T_GAMMA"))
        _register_accounts(bot)
        await _save_popbill(alpha, "ALPHA_LINK", ALPHA_CORP)
        await _save_popbill(beta, "BETA_LINK", BETA_CORP)

        alpha_ref = await _issue_and_approve(alpha)
        beta_ref = await _issue_and_approve(beta, user="U_CAROL")
        gamma_ref = await _issue_and_approve(gamma)
        issued = _issued_under(bot)
        assert issued[await _issued_key(bot, alpha_ref)] == ALPHA_CORP
        assert issued[await _issued_key(bot, beta_ref)] == BETA_CORP
        assert issued[await _issued_key(bot, gamma_ref)] == DEMO_SELLER_BIZNO  # the environment's (demo) account
        assert {"ALPHA_LINK", "BETA_LINK", "INVOICEBOT"} <= _links_used(bot)

        # reads go to the document's own account too: Popbill only knows Alpha's invoice under Alpha's
        await alpha.command(f"status {alpha_ref}", user="U_ALICE")
        shown = text_of(bot.replies()[-1])
        assert alpha_ref in shown and "error" not in shown.lower() and "not found" not in shown.lower()
        directory = bot.runtime.provider_directory
        assert directory is not None
        own = (await directory.providers_for("T_ALPHA"))[Provider.POPBILL]
        assert own is not bot.runtime.providers.services[Provider.POPBILL]
        assert (await directory.providers_for("T_GAMMA"))[Provider.POPBILL] is bot.runtime.providers.services[
            Provider.POPBILL]
    assert own._api_http.client.is_closed  # type: ignore[attr-defined]  # closed with the bot
    for secret in SECRETS.values():
        assert secret not in caplog.text


async def test_new_credentials_count_from_the_next_request(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA", invoicebot_encryption_key=_key()) as bot:
        await install(bot, "code-a", "T_ALPHA")
        alpha = as_workspace(bot, "T_ALPHA")
        _register_accounts(bot)
        await _save_popbill(alpha, "ALPHA_LINK", ALPHA_CORP)
        first = await _issue_and_approve(alpha)
        await _save_popbill(alpha, "ALPHA_NEW_LINK", ALPHA_NEW_CORP)
        second = await _issue_and_approve(alpha)
        issued = _issued_under(bot)
        assert issued[await _issued_key(bot, first)] == ALPHA_CORP
        assert issued[await _issued_key(bot, second)] == ALPHA_NEW_CORP


async def test_credentials_that_cannot_be_decrypted_are_refused_in_the_workspaces_language(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA", invoicebot_encryption_key=_key()) as bot:
        await install(bot, "code-a", "T_ALPHA")
        alpha = as_workspace(bot, "T_ALPHA")
        _register_accounts(bot)
        # saved under another key (the key was rotated without entering them again)
        sealed = CredentialVault(Fernet.generate_key().decode()).seal(
            {"popbill_link_id": "ALPHA_LINK", "popbill_secret_key": SECRETS["ALPHA_LINK"]})
        await bot.runtime.store.workspace_settings.save(WorkspaceScope("T_ALPHA"), credentials=sealed)
        await alpha.command("lang ko", user="U_ALICE")
        before = dict(_issued_under(bot))

        await alpha.command("issue popbill", user="U_ALICE")
        response = await alpha.submit(alpha.last_modal(), {**BUYER, "provider": "popbill", "kind": "tax_invoice"},
                                      user="U_ALICE")
        told = json.dumps(json.loads(response.text), ensure_ascii=False)  # answered in the modal, before approval
        assert "인증 정보를 읽을 수 없습니다" in told and "암호화 키가 바뀌었습니다" in told, told[-2000:]
        assert _issued_under(bot) == before  # nothing issued, under any account
        assert "INVOICEBOT" not in _links_used(bot)  # the environment's account was never asked


async def test_a_retry_runs_under_the_requests_workspace_and_never_from_another(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA", invoicebot_encryption_key=_key()) as bot:
        await install(bot, "code-a", "T_ALPHA")
        await install(bot, "code-b", "T_BETA")
        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")
        _register_accounts(bot)
        await _save_popbill(alpha, "ALPHA_LINK", ALPHA_CORP)
        popbill = bot.sandbox("popbill")
        assert bot.runtime.providers.thread is not None
        rule = FaultRule(kind="503", path=r"^/Taxinvoice$", count=10, retry_after=0)
        bot.runtime.providers.thread.call(lambda: popbill.add_fault(rule))
        ref = await _issue_and_approve(alpha)
        doc = await bot.runtime.store.documents.get_by_ref(ref)
        assert doc is not None and doc.lifecycle.value == "failed"
        bot.runtime.providers.thread.call(popbill.clear_faults)
        before = _issued_under(bot)

        await beta.command(f"retry {ref}", user="U_BOB")
        await beta.command("retry 1", user="U_BOB")
        doc = await bot.runtime.store.documents.get_by_ref(ref)
        assert doc is not None and doc.lifecycle.value == "failed" and _issued_under(bot) == before

        await alpha.command(f"retry {ref}", user="U_ALICE")
        new = {k: v for k, v in _issued_under(bot).items() if k not in before}
        assert list(new.values()) == [ALPHA_CORP] and await _issued_key(bot, ref) in new

"""`/invoice status` reads only what it shows, and "Open in provider" fetches a fresh URL on a click.

End to end over signed HTTP against the provider sandboxes and the Slack Web API double:
Popbill's popup and PDF URLs live 30 seconds, so a status asks Popbill for getInfo only, and
the card carries a button (no URL) that fetches the page's URL for whoever clicks it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.app.harness import FINANCE, BotHarness, find_button, text_of
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_amend import _issued
from tests.app.test_flows import BUYER
from tests.local_http import LOCAL_TLS


def _popbill_reads(bot: BotHarness, since: int) -> list[str]:
    """Document reads the bot sent Popbill since request number `since` (paths, with TG= for URLs)."""
    return [r["path"] + ("?" + r["query"] if r["query"] else "") for r in bot.sandbox("popbill").requests[since:]
            if r["method"] == "GET" and r["path"].startswith(("/Taxinvoice/", "/Cashbill/"))]


def _status_card(bot: BotHarness) -> dict[str, Any]:
    """The last status answer as Slack shows it: an ephemeral message in the channel it was asked in."""
    return {**bot.replies()[-1], "channel": FINANCE}


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e for b in blocks for e in (b.get("elements") or []) if isinstance(e, dict) and e.get("type") == "button"]


async def test_status_asks_popbill_for_get_info_only_and_shows_no_short_lived_url(bot: BotHarness) -> None:
    doc = await _issued(bot, "popbill")
    since = len(bot.sandbox("popbill").requests)
    await bot.command("status INV-000001")
    reads = _popbill_reads(bot, since)
    assert len(reads) == 1 and reads[0].endswith(doc.provider_id), reads
    reply = bot.replies()[-1]
    assert not [b for b in _buttons(reply) if b.get("url")], "a status card carries no provider URL"
    assert find_button(reply.get("blocks") or [], "doc_open")["value"] == "INV-000001"


async def test_open_in_provider_fetches_a_fresh_url_for_the_clicker(bot: BotHarness) -> None:
    await _issued(bot, "popbill")
    await bot.command("status INV-000001")
    card = _status_card(bot)
    urls = []
    for _ in range(2):
        since = len(bot.sandbox("popbill").requests)
        response = await bot.click(card, "doc_open", user="U_BOB")
        assert response.status_code == 200
        assert [r for r in _popbill_reads(bot, since) if "TG=POPUP" in r]
        answer = bot.ephemerals(user="U_BOB")[-1]
        assert "INV-000001" in text_of(answer) and "30 seconds" in text_of(answer)
        links = [b["url"] for b in _buttons(answer) if b.get("url")]
        assert len(links) == 1 and links[0].startswith(bot.sandbox("popbill").base_url)
        urls.append(links[0])
    assert urls[0] != urls[1], "each click fetches its own URL"
    async with httpx.AsyncClient(verify=LOCAL_TLS) as browser:
        assert (await browser.get(urls[1])).status_code == 200
    assert not bot.ephemerals(user="U_ALICE") or all("doc_open_link" not in text_of(m)
                                                     for m in bot.ephemerals(user="U_ALICE"))


async def test_open_in_provider_is_offered_only_where_the_provider_has_pages(bot: BotHarness) -> None:
    await _issued(bot, "hiworks")
    await bot.command("status INV-000001")
    assert "doc_open" not in text_of(bot.replies()[-1])


async def test_a_click_for_a_document_this_workspace_does_not_have_is_refused_privately(bot: BotHarness) -> None:
    await _issued(bot, "popbill")
    await bot.command("status INV-000001")
    card = _status_card(bot)
    blocks = json.loads(json.dumps(card["blocks"]).replace('"INV-000001"', '"INV-009999"'))
    since = len(bot.sandbox("popbill").requests)
    await bot.click({**card, "blocks": blocks}, "doc_open", user="U_BOB")
    assert not [r for r in _popbill_reads(bot, since) if "TG=POPUP" in r]
    refusal = bot.ephemerals(user="U_BOB")[-1]
    assert "INV-009999" in text_of(refusal) and not _buttons(refusal)


async def test_the_answer_reads_in_the_clickers_language(bot: BotHarness) -> None:
    await _issued(bot, "popbill")
    await bot.command("lang ko", user="U_BOB")
    await bot.command("status INV-000001")
    await bot.click(_status_card(bot), "doc_open", user="U_BOB")
    answer = text_of(bot.ephemerals(user="U_BOB")[-1])
    assert "30초" in answer, answer


async def test_another_workspace_cannot_open_a_documents_page(tmp_path: Path) -> None:
    """OAuth mode, two workspaces: a click from Beta on Alpha's card fetches nothing; Alpha's own
    click gets the link, posted with Alpha's installed token (one client per workspace)."""
    async with running_multi_bot(tmp_path) as bot:
        await install(bot, "code-a", "T_ALPHA")
        await install(bot, "code-b", "T_BETA")
        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")
        await alpha.command("issue popbill")
        await alpha.submit(bot.last_modal(), {**BUYER, "provider": "popbill", "kind": "tax_invoice"}, user="U_ALICE")
        await alpha.click(bot.cards()[-1], "approval_approve", user="U_BOB")
        await alpha.command("status INV-000001")
        card = _status_card(bot)

        since = len(bot.sandbox("popbill").requests)
        await beta.click(card, "doc_open", user="U_CAROL")
        assert not [r for r in _popbill_reads(bot, since) if "TG=POPUP" in r]
        refusal = bot.ephemerals(user="U_CAROL")[-1]
        assert not _buttons(refusal) and "INV-000001" in text_of(refusal)

        await alpha.click(card, "doc_open", user="U_BOB")
        answer = bot.ephemerals(user="U_BOB")[-1]
        assert [b for b in _buttons(answer) if b.get("url")]
        posts = bot.slack.calls("chat.postEphemeral")
        assert [c.team_id for c in posts[-2:]] == ["T_BETA", "T_ALPHA"]

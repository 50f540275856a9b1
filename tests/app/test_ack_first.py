"""Acks first, always, over signed HTTP: the work after an ack never runs while an ack is waiting.

The work a command queues (`commands.slack.pacing.AckPacer`) runs after its ack; while any
Slack request is being answered, no step of queued or running work takes the event loop, however
slow or CPU-heavy it is. When the queue is full the ack itself says the bot is busy and nothing is
recorded. Speed is measured by `python -m bench --only ack`; these tests check the order of
things, not wall-clock time.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.app.harness import BotHarness, running_bot, text_of


def _busy_cpu(seconds: float) -> None:
    """Hold the event loop like heavy JSON or HTTP bookkeeping would (no await inside)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_cpu_heavy_work_after_acks_never_runs_while_an_ack_waits(bot: BotHarness) -> None:
    pacer = bot.runtime.deps.pacer
    seen_pending: list[int] = []

    async def heavy() -> None:
        for _ in range(40):
            seen_pending.append(pacer.gate.pending)
            _busy_cpu(0.005)
            await asyncio.sleep(0)

    for _ in range(3):
        assert pacer.submit(heavy, name="heavy test work")
    sends = [bot.command("status INV-000404", settle=False) for _ in range(20)]
    acks: list[httpx.Response] = list(await asyncio.gather(*sends))
    assert await pacer.join(30)

    assert [r.status_code for r in acks] == [200] * 20
    assert all(r.text == "" for r in acks), "a plain ack: the answer comes after it"
    assert len(seen_pending) == 120
    assert set(seen_pending) == {0}, "no step of the work ran while a request waited for its ack"
    assert len(bot.replies()) == 20 and all("INV-000404" in text_of(r) for r in bot.replies())


async def test_the_answer_follows_the_ack_and_waits_while_other_acks_are_pending(bot: BotHarness) -> None:
    pacer = bot.runtime.deps.pacer
    pacer.gate.enter()  # another request is being answered and stays so
    try:
        ack = await bot.command("status INV-000404", settle=False)
        await asyncio.sleep(0.2)
        assert ack.status_code == 200 and ack.text == ""
        assert bot.replies() == [], "the status work waits behind the pending ack"
        assert pacer.running + pacer.queued == 1
    finally:
        pacer.gate.leave()
    assert await pacer.join(30)
    assert len(bot.replies()) == 1 and "INV-000404" in text_of(bot.replies()[0])


async def test_a_full_queue_answers_busy_in_the_ack_and_records_nothing(bot: BotHarness) -> None:
    pacer = bot.runtime.deps.pacer
    release = asyncio.Event()

    async def occupying() -> None:
        await release.wait()

    pacer.workers, pacer.capacity = 1, 0
    assert pacer.submit(occupying, name="occupies the one worker")
    try:
        refused = await bot.command("retry INV-000001", settle=False)
    finally:
        release.set()
    assert await pacer.join(10)

    assert refused.status_code == 200
    assert "too busy" in refused.json()["text"] and "nothing was done" in refused.json()["text"]
    assert bot.replies() == []
    assert pacer.refused == 1

    pacer.workers, pacer.capacity = 256, 1024
    await bot.command("retry INV-000001")
    answer = text_of(bot.replies()[-1])
    assert "already handled" not in answer, "the refused command left no replay claim behind"


async def test_a_plain_ack_does_not_wait_for_the_persons_slack_language(tmp_path: Path) -> None:
    """``users.info`` (the Slack locale, first time in an hour) is asked after the ack, by the work."""
    async with running_bot(tmp_path, invoicebot_language="auto") as bot:
        bot.slack.add_user("U_ALICE", locale="ko-KR")
        pacer = bot.runtime.deps.pacer
        pacer.gate.enter()  # hold the work after the ack back
        try:
            ack = await bot.command("list", user="U_ALICE", settle=False)
            await asyncio.sleep(0.2)
            assert ack.status_code == 200 and ack.text == ""
            assert bot.calls("users.info") == [], "the ack was answered before any language lookup"
        finally:
            pacer.gate.leave()
        assert await pacer.join(30)
        assert len(bot.calls("users.info")) == 1
        assert "문서" in text_of(bot.replies()[-1]), "the answer is in the person's Slack language"

        malformed = await bot.command("status", user="U_ALICE", settle=False)
        assert any("\uac00" <= ch <= "\ud7a3" for ch in malformed.json()["text"]), "an ack with words is hers"


async def test_an_approval_clicks_work_waits_while_another_ack_is_pending(bot: BotHarness) -> None:
    """A click's work (recording the decision, the provider call, the card) is queued like a
    command's: acknowledged at once, run only when no other request waits for its ack."""
    from tests.app.test_flows import issue

    card = await issue(bot, "popbill", "tax_invoice")
    pacer = bot.runtime.deps.pacer
    pacer.gate.enter()  # another request is being answered and stays so
    try:
        ack = await bot.click(card, "approval_approve", user="U_BOB", settle=False)
        await asyncio.sleep(0.3)
        assert ack.status_code == 200
        assert bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST") == [], "nothing ran yet"
        assert "approval_approve" in text_of(bot.cards()[-1]), "the card still has its buttons"
        assert pacer.running + pacer.queued == 1
    finally:
        pacer.gate.leave()
    assert await pacer.join(30)
    assert len(bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST")) == 1
    assert "approval_approve" not in text_of(bot.cards()[-1])


async def test_the_reject_form_and_app_home_issue_form_open_ahead_of_queued_work(bot: BotHarness) -> None:
    """Both open a modal whose trigger_id lives 3 s: queued urgent, they run before normal work."""
    from tests.app.test_flows import issue

    card = await issue(bot, "popbill", "tax_invoice")
    pacer = bot.runtime.deps.pacer
    order: list[str] = []

    async def normal() -> None:
        order.append("normal work")

    pacer.gate.enter()
    try:
        assert pacer.submit(normal, name="normal test work")
        await bot.click(card, "approval_reject", user="U_BOB", settle=False)
        home = bot.factory.block_action(user_id="U_ALICE", action_id="home_issue", value="issue")
        await bot.send(home, settle=False)
        await asyncio.sleep(0.2)
        assert order == [] and pacer.queued == 3
        opened_before = len(bot.slack.calls("views.open"))
    finally:
        pacer.gate.leave()
    assert await pacer.join(30)
    views = [call.args["view"] for call in bot.slack.calls("views.open")[opened_before:]]
    assert {view["callback_id"] for view in views} == {"approval_reject_reason", "invoice_issue"}
    assert order == ["normal work"]


async def test_a_status_cards_button_fetches_from_the_provider_only_once_no_ack_waits(bot: BotHarness) -> None:
    """Every click that calls a provider after its ack ("Open in provider" here; PDF, resend, send to
    the NTS, the amend and resubmit forms likewise) is queued work, not work in Bolt's listener."""
    from tests.app.test_amend import _issued
    from tests.app.test_status_links import _status_card

    await _issued(bot, "popbill")
    await bot.command("status INV-000001")
    card = _status_card(bot)
    pacer = bot.runtime.deps.pacer
    since = len(bot.sandbox("popbill").requests)
    pacer.gate.enter()
    try:
        ack = await bot.click(card, "doc_open", user="U_ALICE", settle=False)
        await asyncio.sleep(0.3)
        assert ack.status_code == 200
        assert bot.sandbox("popbill").requests[since:] == [], "no provider call while an ack waits"
        assert pacer.queued == 1
    finally:
        pacer.gate.leave()
    assert await pacer.join(30)
    assert any("URL" in r["path"] or "TG=" in str(r.get("query")) for r in bot.sandbox("popbill").requests[since:])

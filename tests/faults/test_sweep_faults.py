"""Provider faults during the status sweep: a provider that cannot be reached is reported
(in the sweep's audit event and in the digest people read) and its documents are left as
they were; the other providers are swept anyway, and a 429 on a read waits for Retry-After."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.ledger import Lifecycle
from providers.sandbox.base import FaultRule
from tests.app.harness import FINANCE, BotHarness, running_bot, text_of
from tests.faults.flows import FAST, add_fault, assert_no_traceback_shown, issue_approved, requests_at

pytestmark = pytest.mark.slow  # provider faults with real timeouts during sweeps

#: the read each provider's sweep makes
SWEEP_READ = {
    "popbill": (r"^/Taxinvoice/SELL$", "POST"),  # getInfos, 1,000 keys a call
    "payssam": (r"/bill/read$", "POST"),
}


async def run_sweep(bot: BotHarness) -> dict[str, object]:
    scheduler = bot.runtime.scheduler
    assert scheduler is not None and scheduler.sweep_job is not None
    await scheduler.sweep_job()
    events = await bot.runtime.store.audit.search(action="system")
    sweeps = [e for e in events if e.operation == "sweep"]
    assert sweeps, "every sweep leaves an audit event"
    return dict(sweeps[-1].detail) | {"outcome": sweeps[-1].outcome}


async def digest_now(bot: BotHarness) -> str:
    await bot.command("digest now", user="U_ALICE", channel=FINANCE)
    posted = [m for m in bot.slack.messages_in(FINANCE) if not m.get("thread_ts")]
    assert posted, bot.replies()
    return text_of(posted[-1])


@pytest.mark.parametrize("down", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", ["503", "timeout", "html", "reset"])
async def test_a_provider_down_during_the_sweep_is_reported_and_the_others_are_swept(
    tmp_path: Path, down: str, kind: str
) -> None:
    up = "payssam" if down == "popbill" else "popbill"
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, "popbill")
        await issue_approved(bot, "payssam")
        path, method = SWEEP_READ[down]
        add_fault(bot, down, FaultRule(kind=kind, path=path, method=method, count=None, seconds=1.0))

        report = await run_sweep(bot)

        assert report["outcome"] == "partial"
        unreachable = report["unreachable"]
        assert isinstance(unreachable, dict) and set(unreachable) == {down}
        by_provider = report["by_provider"]
        assert isinstance(by_provider, dict) and by_provider.get(up) == 1, report
        for ref in ("INV-000001", "INV-000002"):
            doc = await bot.runtime.store.documents.get_by_ref(ref)
            assert doc is not None and doc.lifecycle is Lifecycle.ISSUED, "nothing is changed on a failed read"

        digest = await digest_now(bot)
        assert down in digest.lower(), digest
        assert "could not" in digest.lower() or "unreachable" in digest.lower(), digest
        assert_no_traceback_shown(bot)


async def test_a_rate_limited_sweep_read_waits_for_retry_after_and_completes(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, "popbill")
        add_fault(bot, "popbill", FaultRule(kind="429", path=r"^/Taxinvoice/SELL$", method="POST", retry_after=1))

        report = await run_sweep(bot)

        assert report["outcome"] == "ok" and report["unreachable"] == {}
        batch_reads = [r for r in requests_at(bot, "popbill")
                       if r["path"] == "/Taxinvoice/SELL" and r["method"] == "POST"]
        assert len(batch_reads) == 2
        assert batch_reads[1]["at"] - batch_reads[0]["at"] >= 0.95, "the retry waited for Retry-After: 1"

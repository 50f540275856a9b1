"""The `/invoice` router: one listener, subcommands routed to the feature that owns them."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from commands.slack.features.router import CommandRouter, Invocation
from commands.slack.pacing import AckPacer
from commands.slack.parser import ExportCommand, ListCommand, StatusCommand
from commands.workflow import NotFound
from providers.errors import ProviderUnavailable


class Recorder:
    """Stands in for Bolt's `ack` and `respond`, keeping what they were given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


async def run(router: CommandRouter, text: str, *, today: dt.date = dt.date(2026, 3, 2),
              pacer: AckPacer | None = None) -> tuple[Recorder, Recorder]:
    """One `/invoice` call through the listener, then wait for the work it queued."""
    ack, respond = Recorder(), Recorder()
    pacer = pacer or AckPacer()
    listener = router.listener(today=lambda: today, pacer=pacer)
    await listener(ack, {"text": text, "user_id": "U1", "channel_id": "C1", "trigger_id": "T1"},  # type: ignore[arg-type]
                   respond, None)  # type: ignore[arg-type]
    assert await pacer.join(5)
    return ack, respond


async def test_a_subcommand_goes_to_the_first_route_that_matches() -> None:
    router = CommandRouter()
    seen: list[str] = []

    async def pending(invocation: Invocation, parsed: ListCommand) -> None:
        seen.append(f"pending {invocation.user} {invocation.channel}")

    async def listing(_invocation: Invocation, parsed: ListCommand) -> None:
        seen.append("list")

    router.add(ListCommand, pending, when=lambda parsed: bool(parsed.pending))
    router.add(ListCommand, listing)

    ack, _ = await run(router, "list pending")
    await run(router, "list")

    assert seen == ["pending U1 C1", "list"]
    assert ack.calls == [{}], "acknowledged before the work"


async def test_dates_default_from_the_injected_clock() -> None:
    router = CommandRouter()
    exports: list[ExportCommand] = []

    async def export(_invocation: Invocation, parsed: ExportCommand) -> None:
        exports.append(parsed)

    router.add(ExportCommand, export)
    await run(router, "export", today=dt.date(2031, 7, 15))

    assert (exports[0].start, exports[0].end) == (dt.date(2031, 7, 1), dt.date(2031, 7, 15))


async def test_workflow_and_provider_refusals_read_as_title_what_and_todo() -> None:
    router = CommandRouter()

    async def missing(_invocation: Invocation, _parsed: StatusCommand) -> None:
        raise NotFound("no document INV-000009", user_hint="check the reference in `/invoice list`")

    async def down(_invocation: Invocation, _parsed: ExportCommand) -> None:
        raise ProviderUnavailable("popbill did not answer", provider="popbill")

    router.add(StatusCommand, missing)
    router.add(ExportCommand, down)
    _, refused = await run(router, "status INV-000009")
    _, unavailable = await run(router, "export")

    assert refused.calls[0]["text"] == "/invoice status failed: no document INV-000009"
    assert "check the reference" in str(refused.calls[0]["blocks"])
    assert "popbill did not answer" in unavailable.calls[0]["text"]
    assert "Try again in a minute" in str(unavailable.calls[0]["blocks"])


async def test_a_bug_is_not_shown_to_the_user() -> None:
    router = CommandRouter()

    async def broken(_invocation: Invocation, _parsed: StatusCommand) -> None:
        raise KeyError("secret internals")

    router.add(StatusCommand, broken)
    _, respond = await run(router, "status INV-000001")

    assert "secret internals" not in str(respond.calls)
    assert "Something went wrong on our side" in respond.calls[0]["text"]


async def test_a_subcommand_nobody_registered_says_so() -> None:
    _, respond = await run(CommandRouter(), "digest show")
    assert respond.calls[0]["text"] == "`/invoice digest` is not available in this mode."


async def test_a_malformed_command_is_answered_in_the_ack() -> None:
    ack, respond = await run(CommandRouter(), "status")
    assert ack.calls[0]["response_type"] == "ephemeral" and ack.calls[0]["text"]
    assert respond.calls == []


async def test_the_ack_is_given_before_the_work_runs_and_the_work_runs_on_the_pacer() -> None:
    router = CommandRouter()
    order: list[str] = []
    ack = Recorder()

    async def status(_invocation: Invocation, _parsed: StatusCommand) -> None:
        order.append(f"work after {len(ack.calls)} ack(s)")

    router.add(StatusCommand, status)
    pacer = AckPacer()
    listener = router.listener(today=lambda: dt.date(2026, 3, 2), pacer=pacer)
    await listener(ack, {"text": "status INV-000001", "user_id": "U1", "channel_id": "C1",  # type: ignore[arg-type]
                         "trigger_id": "T1"}, Recorder(), None)  # type: ignore[arg-type]

    assert order == [] and ack.calls == [{}], "the listener returns with the ack given and the work queued"
    assert pacer.queued + pacer.running == 1
    assert await pacer.join(5)
    assert order == ["work after 1 ack(s)"]


async def test_a_full_queue_is_answered_in_the_ack_and_nothing_runs() -> None:
    router = CommandRouter()
    ran: list[str] = []

    async def status(_invocation: Invocation, _parsed: StatusCommand) -> None:
        ran.append("status")

    router.add(StatusCommand, status)
    pacer = AckPacer(workers=1, capacity=0)
    pacer.gate.enter()  # an ack is waiting: the one worker's job cannot finish
    assert pacer.submit(status_forever := _forever(), name="occupies the worker")
    ack, respond = Recorder(), Recorder()
    listener = router.listener(today=lambda: dt.date(2026, 3, 2), pacer=pacer)
    await listener(ack, {"text": "status INV-000001", "user_id": "U1", "channel_id": "C1",  # type: ignore[arg-type]
                         "trigger_id": "T1"}, respond, None)  # type: ignore[arg-type]
    pacer.gate.leave()
    await pacer.drain(5)

    assert "too busy" in ack.calls[0]["text"] and "nothing was done" in ack.calls[0]["text"]
    assert ack.calls[0]["response_type"] == "ephemeral"
    assert ran == [] and respond.calls == []
    assert status_forever.done


class _forever:
    """A job that waits on the loop until released (drain releases the gate)."""

    def __init__(self) -> None:
        self.done = False

    async def __call__(self) -> None:
        await asyncio.sleep(0)
        self.done = True

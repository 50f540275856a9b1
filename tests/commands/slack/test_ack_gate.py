"""The gate between acks and the work after them: counting answers, deferring small things, telling watchers."""

from __future__ import annotations

import asyncio

from commands.slack.ack_gate import AckGate


def test_the_gate_counts_answers_in_flight() -> None:
    gate = AckGate()
    with gate.answering():
        with gate.answering():
            assert gate.pending == 2 and not gate.idle()
        assert gate.pending == 1
    assert gate.idle()


async def test_deferred_callbacks_wait_for_the_acks_then_run_in_order() -> None:
    gate = AckGate(quiet=0)
    lines: list[str] = []
    gate.later(lambda: lines.append("idle: at once"))
    gate.enter()
    gate.later(lambda: lines.append("first"))
    gate.later(lambda: lines.append("second"))
    await asyncio.sleep(0)
    assert lines == ["idle: at once"]
    gate.leave()
    for _ in range(5):
        await asyncio.sleep(0)
    assert lines == ["idle: at once", "first", "second"]


def test_deferred_callbacks_are_bounded() -> None:
    gate = AckGate(later_limit=2)
    lines: list[int] = []
    gate.enter()
    for i in range(4):
        gate.later(lambda i=i: lines.append(i))  # type: ignore[misc]
    assert lines == [2, 3], "past the limit a callback runs at once instead of piling up"


async def test_the_gate_tells_its_watchers_when_a_request_arrives_and_when_none_waits_any_more() -> None:
    seen: list[str] = []
    gate = AckGate(quiet=0.005)
    gate.watch(lambda: seen.append("arrived"), lambda: seen.append("opened"))
    gate.enter()
    gate.enter()
    gate.leave()
    gate.leave()
    assert seen == ["arrived", "arrived"], "nothing opens before the quiet moment after the last answer"
    await asyncio.sleep(0.03)
    assert seen == ["arrived", "arrived", "opened"]

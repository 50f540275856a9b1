"""The ack benchmark's plan: every figure by default, one figure when asked for."""

from __future__ import annotations

import pytest

from bench._common import REPEATS
from bench.ack import FULL, QUICK, _focused


def test_the_documented_run_measures_both_commands_in_both_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOICEBOT_BENCH_ACK", raising=False)
    plan = _focused(FULL)
    assert plan.kinds == ("status", "issue") and plan.modes == ("burst", "closed")


def test_the_documented_run_takes_the_median_of_five_repetitions_and_never_fewer_than_three() -> None:
    assert FULL.repeats == 5  # a burst's p99 moves by about 0.1x between repetitions
    assert QUICK.repeats == REPEATS == 3


def test_one_figure_can_be_measured_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEBOT_BENCH_ACK", "issue:closed")
    plan = _focused(FULL)
    assert plan.kinds == ("issue",) and plan.modes == ("closed",)
    assert plan.concurrency == FULL.concurrency and plan.rounds == FULL.rounds and plan.repeats == FULL.repeats

    monkeypatch.setenv("INVOICEBOT_BENCH_ACK", "status")
    assert _focused(FULL).kinds == ("status",) and _focused(FULL).modes == FULL.modes


def test_the_load_generator_gets_a_cpu_of_its_own_and_the_servers_the_others() -> None:
    import os
    import subprocess
    import sys

    from bench.ack import _split_cores

    own = os.sched_getaffinity(0)
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        said = _split_cores([server.pid])
        cpus = sorted(own)
        if len(cpus) < 2:
            assert "one CPU" in said
            return
        assert os.sched_getaffinity(0) == {cpus[0]}
        assert os.sched_getaffinity(server.pid) == set(cpus[1:])
    finally:
        os.sched_setaffinity(0, own)
        server.kill()
        server.wait()


async def test_the_load_generator_collects_no_garbage_while_a_round_is_in_flight(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import bench.ack as ack

    seen: list[bool] = []

    async def post(_target: object, _request: object) -> tuple[float, float, int]:
        seen.append(gc.isenabled())
        return 0.0, 0.0, 200

    monkeypatch.setattr(ack, "_post", post)
    for mode in ("burst", "closed"):
        await ack._round(None, [object(), object()], mode, 2)  # type: ignore[arg-type, list-item]
    assert seen == [False] * 4
    assert gc.isenabled(), "collected again once the round is over"

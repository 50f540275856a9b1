"""The ack benchmark's plan: every figure by default, one figure when asked for."""

from __future__ import annotations

import pytest

from bench.ack import FULL, _focused


def test_the_documented_run_measures_both_commands_in_both_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOICEBOT_BENCH_ACK", raising=False)
    plan = _focused(FULL)
    assert plan.kinds == ("status", "issue") and plan.modes == ("burst", "closed")


def test_one_figure_can_be_measured_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEBOT_BENCH_ACK", "issue:closed")
    plan = _focused(FULL)
    assert plan.kinds == ("issue",) and plan.modes == ("closed",)
    assert plan.concurrency == FULL.concurrency and plan.rounds == FULL.rounds

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

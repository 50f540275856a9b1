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

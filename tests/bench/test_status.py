"""`bench.status` and `bench.provider_http` are registered, and their quick plans are smaller than the full ones
(the runs themselves are in `python -m bench --quick`)."""

from __future__ import annotations

from bench import provider_http, status
from bench.__main__ import BENCHMARKS
from bench._common import BenchResult


def test_both_are_registered_and_quick_is_smaller() -> None:
    assert {"status", "provider_http"} <= set(BENCHMARKS)
    assert status.QUICK.concurrency < status.FULL.concurrency == 200  # the c=200
    assert provider_http.QUICK.per_caller < provider_http.FULL.per_caller
    assert max(provider_http.FULL.callers) == 200 and min(provider_http.FULL.callers) < 200


def test_the_status_report_checks_cpu_and_the_answer_against_the_provider_latency() -> None:
    result = BenchResult("status")
    rounds = [status.Round(cpu_per_command=0.004, answers=[2.1] * 99 + [2.3], missing=0, errors=0)] * 3
    status._report(result, status.StatusPlan(concurrency=100, latency_ms=2000), rounds)
    cpu, answer = result.checks
    assert cpu.ok and cpu.measured == "4.00 ms / 4.00 ms / 4.00 ms"
    assert answer.ok and answer.measured == "1.05x / 1.05x / 1.05x"  # p99 of 100 answers: the 99th, 2.1 s

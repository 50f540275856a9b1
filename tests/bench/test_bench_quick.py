"""The benchmark package imports and its arithmetic is right (the runs themselves are in
`python -m bench --quick`, which scripts/test runs after pytest)."""

from __future__ import annotations

import math

import pytest

from bench import ack, digest, sweep
from bench._common import percentile
from providers.models import Provider

pytestmark = pytest.mark.slow  # runs the benchmarks at a reduced size


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 201)]
    assert percentile(values, 50) == 100.0
    assert percentile(values, 99) == 198.0
    assert math.isnan(percentile([], 99))


def test_the_split_puts_most_documents_at_popbill_and_keeps_the_total() -> None:
    counts = sweep.split_documents(10_000)
    assert sum(counts.values()) == 10_000
    assert counts[Provider.POPBILL] == 7_000 and counts[Provider.HIWORKS] == 1_000


def test_the_lower_bound_counts_batched_pages_and_parallel_waves() -> None:
    counts = sweep.split_documents(10_000)
    concurrency = dict.fromkeys(counts, 16)
    bound, rounds = sweep.lower_bound(counts, concurrency, 0.05)
    assert rounds == {"popbill": 7, "payssam": 63, "hiworks": 63, "abillify": 63, "closure": 1}
    assert bound == (63 + 1) * 0.05


def test_every_benchmark_has_a_quick_plan_smaller_than_the_full_one() -> None:
    assert max(ack.QUICK.concurrency) < max(ack.FULL.concurrency)
    assert sweep.QUICK.documents < sweep.FULL.documents
    assert digest.QUICK.documents < digest.FULL.documents == 100_000

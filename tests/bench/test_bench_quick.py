"""The benchmark package imports and its arithmetic is right (the runs themselves are in
`python -m bench --quick`, which scripts/test runs after pytest)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from bench import ack, digest, sweep
from bench._common import BenchResult, median, percentile, spread
from bench._docs import write_docs
from providers.limits import ProviderLimits
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


def test_the_lower_bound_counts_batched_calls_in_waves_of_each_provider_permitted_concurrency() -> None:
    counts = sweep.split_documents(10_000)
    counts[Provider.HIWORKS] = 900  # what Hiworks' daily budget lets the sweep read
    limits = {p: ProviderLimits(max_concurrent=16, batch_size=1000 if p is Provider.POPBILL else 1) for p in counts}
    limits[Provider.POPBILL] = ProviderLimits(max_concurrent=4, batch_size=1000)
    limits[Provider.HIWORKS] = ProviderLimits(max_concurrent=8, daily_calls=1000)
    bound, rounds = sweep.lower_bound(counts, limits, 0.05)
    assert rounds == {"popbill": 2, "payssam": 63, "hiworks": 113, "abillify": 63, "closure": 1}
    assert bound == pytest.approx((113 + 1) * 0.05)


def test_every_benchmark_has_a_quick_plan_smaller_than_the_full_one() -> None:
    assert max(ack.QUICK.concurrency) < max(ack.FULL.concurrency)
    assert sweep.QUICK.documents < sweep.FULL.documents
    assert sweep.FULL.sizes == (1_000, 10_000, 50_000)  # the sweep's growth table
    assert max(digest.QUICK.sizes) < max(digest.FULL.sizes) == 1_000_000
    assert digest.FULL.sizes == (10_000, 100_000, 1_000_000)  # the growth table the issue asks for


def test_spread_is_min_median_max() -> None:
    assert spread([3.0, 1.0, 2.0]) == "1.000 / 2.000 / 3.000"
    assert spread([4.0, 1.0], "{:.1f}", " s") == "1.0 s / 2.5 s / 4.0 s"
    assert median([5.0, 1.0, 9.0]) == 5.0


def test_write_docs_replaces_only_the_sections_of_the_benchmarks_that_ran(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\nintro stays\n<!-- bench:ack:start -->\nold ack\n<!-- bench:ack:end -->\n"
                   "<!-- bench:digest:start -->\nold digest\n<!-- bench:digest:end -->\ntail stays\n")
    ran = BenchResult("digest", final_lines=["digest line"])
    ran.check("build", "< 0.5 s", "0.1 / 0.2 / 0.3 s", True)
    facts = {"date": "2026-12-06 10:00 UTC", "nproc": "2", "cpu": "x", "memory": "1 GB", "python": "3.11",
             "platform": "Linux"}
    write_docs(doc, [ran, BenchResult("sweep", error="boom")], facts, "python -m bench --write-docs")
    text = doc.read_text()
    assert "old ack" in text and "intro stays" in text and "tail stays" in text
    assert "old digest" not in text and "| build | < 0.5 s | 0.1 / 0.2 / 0.3 s | pass |" in text
    assert "`python -m bench --write-docs`, 2026-12-06 10:00 UTC: 2 CPUs" in text
    assert "<!-- bench:sweep:start -->\n`python -m bench --write-docs`" in text and "**Failed to run:** boom" in text


async def test_closed_loop_keeps_concurrency_requests_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def fake_post(_target: object, request: object) -> tuple[float, float, int]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return 0.001, 0.0, 200

    original = ack._post
    ack._post = fake_post  # type: ignore[assignment]
    try:
        results = await ack._round(object(), [object()] * 50, "closed", 7)  # type: ignore[arg-type, list-item]
    finally:
        ack._post = original
    assert len(results) == 50 and all(status == 200 for _l, _s, status in results)
    assert peak == 7


def test_the_sweep_method_in_the_docs_says_what_bench_sweep_does() -> None:
    """The one-by-one baseline is measured in full (issue 14), at the smallest size of each plan:
    the method text must not call it extrapolated, and must name the sizes the plans use."""
    from bench._docs import DOCS

    text = DOCS.read_text(encoding="utf-8")
    method = text[text.index("### sweep", text.index("## How each benchmark works")):]
    method = " ".join(method[:method.index("\n### ", 1)].split())
    assert "extrapolated to" not in method and "on 25 documents per provider" not in method
    assert all(plan.baseline_documents == min(plan.sizes) for plan in (sweep.FULL, sweep.QUICK))
    assert (f"One-by-one: measured in full, never extrapolated, at the smallest size of the run "
            f"({sweep.QUICK.baseline_documents:,} documents with `--quick`, {sweep.FULL.baseline_documents:,} in full)"
            ) in method
    sizes = " / ".join(f"{n:,}" for n in sweep.FULL.sizes)
    quick = " / ".join(f"{n:,}" for n in sweep.QUICK.sizes)
    assert f"Growth table: {sizes} documents ({quick} with `--quick`)" in method

"""Status sweep: refresh N open documents spread over the four providers.

The sandboxes run in a child process (`bench._servers sandboxes`) with 50 ms added to
every request, seeded with open documents; the same documents are bulk-inserted in a
SQLite database; then `commands.workflow.sweep.sweep` runs here with the product's defaults
(sweep concurrency from `Settings`, each service's own read concurrency).

Two baselines, both from this run:

* the lower bound: the provider requests the sweep cannot avoid after batching, at the
  concurrency actually used, times the latency. Popbill answers 1,000 documents per
  getInfos call and the sweep walks a provider's pages one after another, so Popbill
  costs (pages x latency); Payssam, Hiworks and Abillify need one call per document at
  the service's concurrency, page by page (ceil(page / concurrency) waves per page);
  providers run in parallel, so the bound is the slowest provider, plus the closure
  check (1,000 numbers per call) that follows;
* one-by-one: the same `statuses()` read with one document per call, one call at a
  time, timed on a small sample per provider and extrapolated to N (printed as such; it
  leaves out the database writes, which favours the baseline).

About 2% of the documents are stored with an out-of-date state, so the sweep also
writes changes and audit events as it would on a real morning.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._common import BenchResult, Child, child_env, proc_cpu_seconds, python, temp_dir
from bench._sandbox_seed import KINDS, provider_id
from bot.settings import Settings
from commands.ledger import Store, write_engine
from commands.ledger.schema import documents
from commands.workflow.sweep import DEFAULT_PAGE_SIZE, sweep
from providers import abillify, hiworks, payssam, popbill
from providers.base import InvoiceProvider
from providers.config import DEMO_ABILLIFY, DEMO_HIWORKS, DEMO_PAYSSAM, DEMO_POPBILL, SellerConfig
from providers.models import DocumentRef, Provider

__all__ = ["SPLIT", "SweepPlan", "lower_bound", "run", "split_documents"]

LATENCY_MS = 50
#: most documents at Popbill (batched), the rest at the one-call-per-document providers
SPLIT: dict[Provider, float] = {Provider.POPBILL: 0.70, Provider.PAYSSAM: 0.10, Provider.HIWORKS: 0.10,
                                Provider.ABILLIFY: 0.10}
STALE_EVERY = 50  # every 50th document is stored with an old state: the sweep records a change
#: buyers with valid business numbers (the closure check skips malformed ones)
BUYERS = ("1168200276", "1231212312", "2208875476", "6798700433", "2148639239", "1018204851")
POPBILL_BATCH = 1000
CLOSURE_BATCH = 1000
TARGET_BOUND_RATIO = 1.5
TARGET_SPEEDUP = 50.0


@dataclass(frozen=True)
class SweepPlan:
    documents: int
    sample_per_provider: int


FULL = SweepPlan(documents=10_000, sample_per_provider=25)
QUICK = SweepPlan(documents=1_000, sample_per_provider=8)


def split_documents(total: int) -> dict[Provider, int]:
    counts = {p: int(total * share) for p, share in SPLIT.items()}
    counts[Provider.POPBILL] += total - sum(counts.values())
    return counts


def _waves(count: int, concurrency: int, page_size: int) -> int:
    """Rounds of `concurrency` parallel calls to read `count` documents, page by page."""
    full, rest = divmod(count, page_size)
    return full * math.ceil(page_size / concurrency) + math.ceil(rest / concurrency)


def lower_bound(counts: Mapping[Provider, int], concurrency: Mapping[Provider, int], latency: float,
                *, page_size: int = DEFAULT_PAGE_SIZE, buyers: int = len(BUYERS)) -> tuple[float, dict[str, int]]:
    """Seconds the sweep needs at least, and the round trips per provider that make it up."""
    rounds: dict[str, int] = {}
    for provider, count in counts.items():
        if provider is Provider.POPBILL:
            rounds[provider.value] = math.ceil(count / min(page_size, POPBILL_BATCH))  # pages in sequence
        else:
            rounds[provider.value] = _waves(count, concurrency[provider], page_size)
    rounds["closure"] = math.ceil(buyers / CLOSURE_BATCH)
    slowest = max(v for k, v in rounds.items() if k != "closure")
    return (slowest + rounds["closure"]) * latency, rounds


def _services(urls: Mapping[str, str], settings: Settings) -> dict[Provider, InvoiceProvider]:
    """The services as `providers.registry` builds them for configured providers, pointed at the
    sandboxes of the child process (demo credentials, the product's HTTP policy)."""
    policy = settings.http_policy()
    seller = SellerConfig()
    pop = DEMO_POPBILL.model_copy(update={"api_url": urls["popbill"], "auth_url": urls["popbill"], "policy": policy})
    return {
        Provider.POPBILL: popbill.create_service(pop, seller=seller, sandbox=True),
        Provider.PAYSSAM: payssam.create_service(
            DEMO_PAYSSAM.model_copy(update={"api_url": urls["payssam"], "policy": policy}), seller=seller,
            sandbox=True),
        Provider.HIWORKS: hiworks.create_service(
            DEMO_HIWORKS.model_copy(update={"api_url": urls["hiworks"], "policy": policy}), seller=seller,
            sandbox=True),
        Provider.ABILLIFY: abillify.create_service(
            DEMO_ABILLIFY.model_copy(update={"api_url": urls["abillify"], "policy": policy}), seller=seller,
            sandbox=True),
    }


def _read_concurrency(service: InvoiceProvider) -> int:
    """The parallel reads a service allows in `statuses()` (its semaphore, as constructed)."""
    value = getattr(service, "concurrency", None)
    if isinstance(value, int):
        return value
    semaphore = getattr(service, "_semaphore", None)
    return int(getattr(semaphore, "_value", 1))


def _ref(provider: Provider, index: int) -> DocumentRef:
    return DocumentRef(provider=provider, kind=KINDS[provider], provider_id=provider_id(provider, index))


async def _probe(services: Mapping[Provider, InvoiceProvider]) -> dict[Provider, tuple[str, str]]:
    """What each provider reports for its benchmark documents (all alike): the stored state."""
    found: dict[Provider, tuple[str, str]] = {}
    for provider, service in services.items():
        answer = await service.statuses([_ref(provider, 0)])
        status = answer[provider_id(provider, 0)]
        found[provider] = (status.state.value, status.raw_state[:64])
    return found


async def _seed_database(store: Store, counts: Mapping[Provider, int],
                         states: Mapping[Provider, tuple[str, str]]) -> int:
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    doc_id = 0
    stale = 0
    for provider, count in counts.items():
        for index in range(count):
            doc_id += 1
            state, raw = states[provider]
            if doc_id % STALE_EVERY == 0:
                state, raw = "unknown", ""
                stale += 1
            rows.append({
                "id": doc_id, "ref": f"INV-{doc_id:06d}", "provider": provider.value,
                "kind": KINDS[provider].value, "provider_id": provider_id(provider, index), "origin": "bot",
                "sandbox": True, "buyer_name": "벤치 거래처", "buyer_bizno": BUYERS[doc_id % len(BUYERS)],
                "supply": 100_000, "vat": 10_000, "total": 110_000, "currency": "KRW", "lifecycle": "issued",
                "state": state, "raw_state": raw, "issued_at": now, "created_at": now, "updated_at": now,
                "links": {}, "channel_id": "C_FINANCE", "thread_ts": f"1700000000.{doc_id:06d}",
                "requested_by": "U_ALICE",
            })
    async with write_engine(store.engine).begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(sa.insert(documents), rows[start:start + 5000])
    return stale


async def _one_by_one(services: Mapping[Provider, InvoiceProvider], sample: int) -> dict[Provider, float]:
    """Seconds per document reading one document per call, one call at a time."""
    per_doc: dict[Provider, float] = {}
    for provider, service in services.items():
        times = []
        for index in range(1, sample + 1):
            started = time.perf_counter()
            await service.statuses([_ref(provider, index)])
            times.append(time.perf_counter() - started)
        per_doc[provider] = statistics.mean(times)
    return per_doc


async def _run(plan: SweepPlan, result: BenchResult, workdir: Path) -> None:
    counts = split_documents(plan.documents)
    spec = {"latency_ms": LATENCY_MS, "counts": {p.value: n for p, n in counts.items()}}
    child = Child("sandboxes", [python(), "-m", "bench._servers", "sandboxes", "--spec", json.dumps(spec)],
                  env=child_env({}, workdir=workdir), workdir=workdir, announce=True)
    services: dict[Provider, InvoiceProvider] = {}
    store: Store | None = None
    try:
        ready = child.wait_line(120)
        urls = {str(k): str(v) for k, v in dict(ready["urls"]).items()}
        settings = Settings()
        services = _services(urls, settings)
        sweep_concurrency = Settings.model_fields["invoicebot_sweep_concurrency"].default
        read_concurrency = {p: _read_concurrency(s) for p, s in services.items()}
        states = await _probe(services)
        store = await Store.open(f"sqlite+aiosqlite:///{workdir / 'sweep.db'}", migrate=True)
        stale = await _seed_database(store, counts, states)
        latency = LATENCY_MS / 1000
        bound, rounds = lower_bound(counts, read_concurrency, latency)
        split = " / ".join(f"{p.value} {n}" for p, n in counts.items())
        print(f"  {plan.documents} open documents: {split}; sandbox latency {LATENCY_MS} ms; {stale} stored stale",
              flush=True)
        print(f"  concurrency: sweep {sweep_concurrency} statuses() calls at once (INVOICEBOT_SWEEP_CONCURRENCY), "
              f"reads per service {', '.join(f'{p.value} {c}' for p, c in read_concurrency.items())}; "
              f"page {DEFAULT_PAGE_SIZE}", flush=True)

        cpu_here, cpu_sandboxes = time.process_time(), proc_cpu_seconds(child.pid)
        started = time.perf_counter()
        report = await sweep(store, services, concurrency=sweep_concurrency)
        wall = time.perf_counter() - started
        cpu_here = time.process_time() - cpu_here
        cpu_sandboxes = proc_cpu_seconds(child.pid) - cpu_sandboxes

        per_doc = await _one_by_one(services, plan.sample_per_provider)
        one_by_one = sum(per_doc[p] * n for p, n in counts.items())
    finally:
        for service in services.values():
            await service.aclose()
        if store is not None:
            await store.close()
        child.stop()

    ratio = wall / bound
    speedup = one_by_one / wall
    formula = ", ".join(f"{k} {v}" for k, v in rounds.items())
    print(f"  checked {report.total_checked}, changed {len(report.changes)}, missing {sum(report.missing.values())}, "
          f"unreachable {report.unreachable or 'none'}, closure numbers {report.closure_checked}", flush=True)
    print(f"  lower bound {bound:.2f} s = (slowest provider + closure) round trips x {LATENCY_MS} ms; "
          f"round trips: {formula}", flush=True)
    print("  one-by-one, per document: "
          + ", ".join(f"{p.value} {per_doc[p] * 1000:.1f} ms" for p in counts)
          + f" (mean of {plan.sample_per_provider} sequential single-document reads each)", flush=True)
    print(f"  CPU during the sweep: this process {cpu_here:.2f} s, sandbox process {cpu_sandboxes:.2f} s, "
          f"of {wall:.2f} s wall", flush=True)
    line = (f"sweep {plan.documents} docs: wall {wall:.2f} s | lower bound {bound:.2f} s ({ratio:.2f}x) | "
            f"one-by-one {one_by_one:.0f} s extrapolated from {plan.sample_per_provider}/provider "
            f"({speedup:.0f}x faster)")
    print(line, flush=True)
    result.final_lines.append(line)
    result.check("split", "mostly Popbill", split, None)
    result.check("wall / lower bound", f"≤ {TARGET_BOUND_RATIO}x", f"{ratio:.2f}x ({wall:.2f} s / {bound:.2f} s)",
                 ratio <= TARGET_BOUND_RATIO)
    result.check("speed-up over one-by-one (extrapolated)", f"≥ {TARGET_SPEEDUP:.0f}x",
                 f"{speedup:.0f}x ({one_by_one:.0f} s / {wall:.2f} s)", speedup >= TARGET_SPEEDUP)
    result.check("CPU during the sweep", "info",
                 f"sweep process {cpu_here:.2f} s, sandboxes {cpu_sandboxes:.2f} s, wall {wall:.2f} s", None)
    expected_changes = stale
    if report.total_checked != plan.documents or len(report.changes) != expected_changes or report.unreachable:
        result.notes.append(f"unexpected sweep outcome: checked {report.total_checked} of {plan.documents}, "
                            f"changed {len(report.changes)} (expected {expected_changes}), "
                            f"unreachable {report.unreachable}")
    if ratio > TARGET_BOUND_RATIO:
        busy = cpu_here / wall if wall else 0.0
        result.notes.append(
            f"the sweep took {ratio:.2f}x its lower bound; the sweep process was busy {busy:.0%} of the wall time "
            f"({cpu_here:.2f} s CPU for {report.total_checked} documents, "
            f"{cpu_here / max(1, report.total_checked) * 1000:.2f} ms each)")


def run(quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    result = BenchResult("sweep")
    with temp_dir("sweep") as workdir:
        asyncio.run(_run(plan, result, workdir))
    return result

"""Status sweep: open documents over the four providers, against the I/O bound their limits allow.

Each provider's sandbox runs in a child process of its own (`bench._servers sandboxes`) with 50 ms added to every
request, seeded with open documents; the same documents are bulk-inserted once in a SQLite
database that every repetition copies afresh (so each starts from the same states and an
empty Hiworks budget). `commands.workflow.sweep.sweep` then runs here with the product's
defaults: each provider at its declared limits (`providers.limits`), Hiworks within its
daily budget.

Baselines, both measured in this run, rounds alternating with the sweep's:

* the I/O lower bound at the permitted concurrency: for each provider, the status calls
  the documents actually read need (Popbill: 1,000 a call; the others: one per document)
  in waves of its `max_concurrent`, times the latency; providers run in parallel, so the
  bound is the slowest provider, plus the closure check (1,000 numbers a call) that follows.
  Documents a daily budget leaves for tomorrow are not read and not in the bound;
* one-by-one: every open document of the smallest size read with one call, one call at a
  time, and written with one commit per document, as a naive sweep would (measured in full,
  never extrapolated).

About 2% of the documents are stored with an out-of-date state, so the sweep also writes
changes and audit events as it would on a real morning.

The rounds run with the garbage collector as `serve` leaves it once started
(`bot.heap.settle_heap`: the loaded heap frozen, young collections less often), as the
scheduler's sweeps do: without it a full collection of this process's whole heap (60-90 ms)
landed inside some rounds and not others (a third of the CPU of a 1,000-document round).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._common import REPEATS, BenchResult, Child, child_env, median, python, spread, temp_dir
from bench._sandbox_seed import KINDS, provider_id
from bot.heap import settle_heap
from bot.settings import Settings
from commands.ledger import Store, utc_now, write_engine
from commands.ledger.digest_queries import touch_checked
from commands.ledger.schema import documents
from commands.workflow.sweep import SweepReport, sweep
from providers import abillify, hiworks, payssam, popbill
from providers.base import InvoiceProvider
from providers.config import DEMO_ABILLIFY, DEMO_HIWORKS, DEMO_PAYSSAM, DEMO_POPBILL, SellerConfig
from providers.limits import LIMITS, ProviderLimits
from providers.models import DocumentRef, DocumentState, DocumentStatus, Provider

__all__ = ["FULL", "QUICK", "SPLIT", "SweepPlan", "lower_bound", "run", "split_documents"]

LATENCY_MS = 50
#: most documents at Popbill (batched), the rest at the one-call-per-document providers
SPLIT: dict[Provider, float] = {Provider.POPBILL: 0.70, Provider.PAYSSAM: 0.10, Provider.HIWORKS: 0.10,
                                Provider.ABILLIFY: 0.10}
STALE_EVERY = 50  # every 50th document is stored with an old state: the sweep records a change
#: buyers with valid business numbers (the closure check skips malformed ones)
BUYERS = ("1168200276", "1231212312", "2208875476", "6798700433", "2148639239", "1018204851")
CLOSURE_BATCH = 1000
TARGET_BOUND_RATIO = 1.2
TARGET_CPU_MS = 0.2
#: the targets are checked from this size up (the issue's growth table); below it a sweep's fixed cost
#: (about 30 ms of planning, budget and audit queries) dominates the per-document figures
TARGET_FROM = 1_000


@dataclass(frozen=True)
class SweepPlan:
    sizes: tuple[int, ...]  # the growth table's rows
    baseline_documents: int  # the one-by-one baseline is measured at this size (the smallest)

    @property
    def documents(self) -> int:
        return max(self.sizes)


FULL = SweepPlan(sizes=(1_000, 10_000, 50_000), baseline_documents=1_000)
QUICK = SweepPlan(sizes=(100, 1_000), baseline_documents=100)


class _Echo:
    """A provider answered in this process with what the sandbox would say, after the same latency,
    without HTTP: what the sweep itself costs per document and how close its scheduling comes to
    the bound, apart from the provider clients' own CPU."""

    sandbox = True

    def __init__(self, provider: Provider, state: tuple[str, str]) -> None:
        self.provider = provider
        self.status = DocumentStatus(ref=_ref(provider, 0), state=DocumentState(state[0]), raw_state=state[1])

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        await asyncio.sleep(LATENCY_MS / 1000)
        return {r.provider_id: self.status.model_copy(update={"ref": r}) for r in refs}


@dataclass
class Round:
    """One repetition at one size."""

    wall: float
    cpu: float
    report: SweepReport
    own_cpu: float = 0.0  # seconds per document with the providers answered in-process (no HTTP)
    own_wall: float = 0.0  # the same round's wall time


def split_documents(total: int) -> dict[Provider, int]:
    counts = {p: int(total * share) for p, share in SPLIT.items()}
    counts[Provider.POPBILL] += total - sum(counts.values())
    return counts


def lower_bound(read: Mapping[Provider, int], limits: Mapping[Provider, ProviderLimits], latency: float,
                *, buyers: int = len(BUYERS)) -> tuple[float, dict[str, int]]:
    """Seconds the sweep needs at least to read `read` documents per provider, and the rounds of
    parallel calls that make it up (per provider, then the closure check)."""
    rounds: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for provider, count in read.items():
        limit = limits[provider]
        calls = math.ceil(count / max(1, limit.batch_size))
        rounds[provider.value] = math.ceil(calls / max(1, limit.max_concurrent))
        paced = calls / limit.per_second if limit.per_second else 0.0
        seconds[provider.value] = max(rounds[provider.value] * latency, paced)
    rounds["closure"] = math.ceil(buyers / CLOSURE_BATCH)
    return max(seconds.values(), default=0.0) + rounds["closure"] * latency, rounds


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


def _ref(provider: Provider, index: int) -> DocumentRef:
    return DocumentRef(provider=provider, kind=KINDS[provider], provider_id=provider_id(provider, index))


async def _probe(services: Mapping[Provider, InvoiceProvider]) -> dict[Provider, tuple[str, str]]:
    """What each provider reports for its benchmark documents (all alike): the stored state. Also
    warms each client (Popbill's token, the connections), as a bot that has been running would be."""
    found: dict[Provider, tuple[str, str]] = {}
    for provider, service in services.items():
        answer = await service.statuses([_ref(provider, 0)])
        status = answer[provider_id(provider, 0)]
        found[provider] = (status.state.value, status.raw_state[:64])
    return found


async def _seed_database(path: Path, counts: Mapping[Provider, int],
                         states: Mapping[Provider, tuple[str, str]]) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{path}", migrate=True)
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    doc_id = 0
    for provider, count in counts.items():
        for index in range(count):
            doc_id += 1
            state, raw = ("unknown", "") if doc_id % STALE_EVERY == 0 else states[provider]
            rows.append({
                "id": doc_id, "ref": f"INV-{doc_id:06d}", "provider": provider.value,
                "kind": KINDS[provider].value, "provider_id": provider_id(provider, index), "origin": "bot",
                "sandbox": True, "buyer_name": "벤치 거래처", "buyer_bizno": BUYERS[doc_id % len(BUYERS)],
                "supply": 100_000, "vat": 10_000, "total": 110_000, "currency": "KRW", "lifecycle": "issued",
                "state": state, "raw_state": raw, "issued_at": now, "created_at": now, "updated_at": now,
                "links": {}, "channel_id": "C_FINANCE", "thread_ts": f"1700000000.{doc_id:06d}",
                "requested_by": "U_ALICE",
            })
    try:
        async with write_engine(store.engine).begin() as conn:
            for start in range(0, len(rows), 5000):
                await conn.execute(sa.insert(documents), rows[start:start + 5000])
    finally:
        await store.close()


async def _fresh_store(template: Path, workdir: Path, name: str) -> Store:
    target = workdir / f"{name}.db"
    shutil.copyfile(template, target)
    return await Store.open(f"sqlite+aiosqlite:///{target}", migrate=False)


async def _sweep_round(template: Path, workdir: Path, services: Mapping[Provider, InvoiceProvider],
                       name: str, *, closure: bool = True) -> Round:
    store = await _fresh_store(template, workdir, name)
    for service in services.values():  # each repetition is a fresh provider day: forget the last
        client = getattr(service, "client", None)  # rate-limit headers (Hiworks counts across repetitions)
        if client is not None and hasattr(client, "rate_limit"):
            client.rate_limit = None
    try:
        cpu, started = time.process_time(), time.perf_counter()
        report = await sweep(store, services, closure=closure)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await store.close()
    return Round(wall=wall, cpu=cpu, report=report)


async def _one_by_one(template: Path, workdir: Path, services: Mapping[Provider, InvoiceProvider],
                      name: str) -> tuple[float, int]:
    """A naive sweep: every open document, one call at a time, one commit per document."""
    store = await _fresh_store(template, workdir, name)
    read = 0
    try:
        started = time.perf_counter()
        after = 0
        while page := await store.documents.list_open(after_id=after, limit=500):
            after = page[-1].id
            for doc in page:
                ref = doc.document_ref
                assert ref is not None
                status = (await services[doc.provider].statuses([ref])).get(ref.provider_id)
                read += 1
                if status is None:
                    continue
                if status.state is doc.state and status.raw_state[:64] == (doc.raw_state or ""):
                    await touch_checked(store, [doc.id], utc_now())
                else:
                    await store.documents.record_status(doc.id, status, expected=store.documents.SWEPT_LIFECYCLES)
        return time.perf_counter() - started, read
    finally:
        await store.close()


async def _size(size: int, plan: SweepPlan, result: BenchResult, workdir: Path) -> list[Round]:
    """Every repetition at one size (and the baseline, alternating, at the baseline size)."""
    counts = split_documents(size)
    # each provider's sandbox in a process of its own, as each provider is a server of its own: in
    # one process, Popbill's 1,000-document answers held up the other providers' answers
    children = [Child(f"sandbox-{p.value}-{size}", [python(), "-m", "bench._servers", "sandboxes", "--spec", json.dumps(
        {"latency_ms": LATENCY_MS, "counts": {p.value: counts.get(p, 0)}, "providers": [p.value]})],
        env=child_env({}, workdir=workdir), workdir=workdir, announce=True) for p in Provider]
    services: dict[Provider, InvoiceProvider] = {}
    rounds: list[Round] = []
    baseline: list[float] = []
    try:
        urls = {str(k): str(v) for child in children for k, v in dict(child.wait_line(180)["urls"]).items()}
        services = _services(urls, Settings())
        template = workdir / f"template-{size}.db"
        states = await _probe(services)
        await _seed_database(template, counts, states)
        echoes: Any = {p: _Echo(p, state) for p, state in states.items()}
        settle_heap()  # the garbage collector as `serve` sets it once started, where the scheduler runs sweeps
        for rep in range(REPEATS):
            rounds.append(await _sweep_round(template, workdir, services, f"sweep-{size}-{rep}"))
            own = await _sweep_round(template, workdir, echoes, f"own-{size}-{rep}", closure=False)
            rounds[-1].own_cpu, rounds[-1].own_wall = own.cpu / max(1, own.report.total_checked), own.wall
            if size == plan.baseline_documents:
                wall, read = await _one_by_one(template, workdir, services, f"naive-{size}-{rep}")
                baseline.append(wall)
                print(f"  one-by-one {size} documents (read {read}): {wall:.2f} s", flush=True)
    finally:
        for service in services.values():
            await service.aclose()
        for child in children:
            child.stop()
    if baseline:
        sweeps = [r.wall for r in rounds]
        result.check(f"one-by-one baseline, {size} documents (measured, {REPEATS} runs)", "info",
                     f"{spread(baseline, '{:.1f}', ' s')}; the sweep {spread(sweeps, '{:.2f}', ' s')}: "
                     f"{median(baseline) / median(sweeps):.0f}x faster (medians)", None)
    return rounds


def _row(size: int, rounds: list[Round], result: BenchResult) -> tuple[float, float, float, float]:
    """Print and record one growth-table row; the median ratio and CPU per document."""
    latency = LATENCY_MS / 1000
    report = rounds[0].report
    bound, waves = lower_bound(report.checked, LIMITS, latency)
    ratios = [r.wall / bound for r in rounds]
    cpu_ms = [r.cpu / max(1, r.report.total_checked) * 1000 for r in rounds]
    own_ms = [r.own_cpu * 1000 for r in rounds]
    own_bound = bound - waves["closure"] * latency  # the in-process rounds skip the closure check
    own_ratios = [r.own_wall / own_bound for r in rounds]
    deferred = sum(report.deferred.values())
    for r in rounds:
        if r.report.unreachable or r.report.total_checked + sum(r.report.deferred.values()) != size:
            result.notes.append(f"unexpected sweep outcome at {size}: checked {r.report.total_checked}, deferred "
                                f"{dict(r.report.deferred)}, unreachable {r.report.unreachable}")
    per_provider = ", ".join(f"{p.value} {n}" for p, n in report.checked.items())
    print(f"  {size} documents: read {report.total_checked} ({per_provider}), "
          f"left for tomorrow {deferred}; bound {bound:.2f} s = rounds {waves} x {LATENCY_MS} ms; "
          f"wall {spread([r.wall for r in rounds], '{:.2f}', ' s')}; ratio {spread(ratios, '{:.2f}', 'x')}; "
          f"CPU/doc {spread(cpu_ms, '{:.3f}', ' ms')} (the sweep alone, no HTTP: {spread(own_ms, '{:.3f}', ' ms')}, "
          f"wall / bound {spread(own_ratios, '{:.2f}', 'x')}); "
          f"write batches {report.batches}", flush=True)
    result.growth.append(f"| {size:,} | {report.total_checked:,} | {deferred:,} | {bound:.2f} s | "
                         f"{spread([r.wall for r in rounds], '{:.2f}', ' s')} | {spread(ratios, '{:.2f}', 'x')} | "
                         f"{spread(cpu_ms, '{:.3f}', ' ms')} | {spread(own_ratios, '{:.2f}', 'x')} | "
                         f"{spread(own_ms, '{:.3f}', ' ms')} |")
    return median(ratios), median(cpu_ms), median(own_ms), median(own_ratios)


async def _run(plan: SweepPlan, result: BenchResult, workdir: Path) -> None:
    limits = ", ".join(f"{p.value} {lim.max_concurrent} at once" + (f" x {lim.batch_size} a call"
                       if lim.batch_size > 1 else "") + (f", {lim.bulk_daily_calls} calls a day for the sweep"
                       if lim.bulk_daily_calls is not None else "") for p, lim in LIMITS.items())
    print(f"  limits (providers.limits): {limits}; sandbox latency {LATENCY_MS} ms; split "
          + " / ".join(f"{p.value} {share:.0%}" for p, share in SPLIT.items()), flush=True)
    result.growth_header = ("| documents | read | left for tomorrow | lower bound | wall | wall / bound | CPU per doc "
                            "| sweep alone (no HTTP): wall / bound | sweep alone: CPU per doc |"
                            "\n|---|---|---|---|---|---|---|---|---|")
    worst_ratio = worst_cpu = worst_own = worst_own_ratio = 0.0
    for size in plan.sizes:
        ratio, cpu, own, own_ratio = _row(size, await _size(size, plan, result, workdir), result)
        result.final_lines.append(f"sweep {size} docs: wall / lower bound {ratio:.2f}x (median of {REPEATS}), "
                                  f"CPU {cpu:.3f} ms per document; the sweep alone {own_ratio:.2f}x, {own:.3f} ms")
        if size >= TARGET_FROM:
            worst_ratio, worst_cpu, worst_own = max(worst_ratio, ratio), max(worst_cpu, cpu), max(worst_own, own)
            worst_own_ratio = max(worst_own_ratio, own_ratio)
    sizes = f"every size from {TARGET_FROM:,} (median)"
    result.check(f"wall / lower bound, {sizes}", f"≤ {TARGET_BOUND_RATIO}x", f"worst {worst_ratio:.2f}x",
                 worst_ratio <= TARGET_BOUND_RATIO)
    result.check(f"CPU per document in the bot process, {sizes}", f"< {TARGET_CPU_MS} ms",
                 f"worst {worst_cpu:.3f} ms", worst_cpu < TARGET_CPU_MS)
    result.check("wall / lower bound of the sweep alone (providers answered in-process after the same latency)",
                 f"≤ {TARGET_BOUND_RATIO}x", f"worst {worst_own_ratio:.2f}x", worst_own_ratio <= TARGET_BOUND_RATIO)
    result.check("CPU per document of the sweep alone (providers answered in-process)", f"< {TARGET_CPU_MS} ms",
                 f"worst {worst_own:.3f} ms", worst_own < TARGET_CPU_MS)


def run(quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    result = BenchResult("sweep")
    with temp_dir("sweep") as workdir:
        asyncio.run(_run(plan, result, workdir))
    return result

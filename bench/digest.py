"""Digest at scale: build time and peak memory over 100,000 documents, SQLite and PostgreSQL.

The database gets a realistic month: documents of the four providers over 30 days in
every lifecycle and provider state (with due dates, some overdue, some in EUR), an
approval row for one document in five (the pending ones among them), an audit event
per document, two closure checks per buyer (a few of them changes), and last night's
sweep record naming an unreachable provider. ANALYZE runs after seeding, as it would
have on a database that grew over months.

What is timed is what a scheduled digest computes: `build_digest_data` (all the SQL),
`build_digest_blocks` (Block Kit) and the chart PNG. It runs in a fresh child process
(`python -m bench.digest --measure URL`) whose modules are imported and whose first
chart is rendered before the clock starts, as in a bot that has been up for a while;
the child reports the first build (cold database cache), the median of three more, and
its peak RSS (VmHWM, the high-water mark `ru_maxrss` reports) before and after.

Baseline: the same digest over 1,000 documents in the same run. The 100k/1k ratio
says whether the digest scales with what it shows (aggregates and top rows: a ratio
far below 100) or with the table (a ratio near 100). A plain full-table aggregate
(`SELECT count(*), sum(total) FROM documents`) is printed alongside as the floor of
any query that has to read every row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._common import BenchResult, Child, child_env, python, temp_dir
from commands.ledger import Store, write_engine
from commands.ledger.schema import approval_requests, audit_events, closure_checks, documents

__all__ = ["DigestPlan", "run", "seed"]

TARGET_SECONDS = 2.0
TARGET_MB = 300.0
BASELINE_DOCS = 1_000
CHANNELS = ("C_FINANCE", "C_SALES", "C_OPS")
BUYERS = 2_000


@dataclass(frozen=True)
class DigestPlan:
    documents: int


FULL = DigestPlan(documents=100_000)
QUICK = DigestPlan(documents=5_000)

# provider -> (share, kinds, states for issued documents with weights)
_PROVIDERS: dict[str, tuple[float, tuple[str, ...], tuple[tuple[str, int], ...]]] = {
    "popbill": (0.45, ("tax_invoice",) * 4 + ("cash_receipt",),
                (("issued", 20), ("filing", 5), ("filed", 70), ("filing_failed", 2), ("canceled", 3))),
    "payssam": (0.25, ("bill",), (("unpaid", 35), ("paid", 55), ("expired", 5), ("canceled", 5))),
    "hiworks": (0.15, ("tax_invoice",) * 7 + ("statement",) * 3,
                (("sent", 25), ("filing", 5), ("filed", 65), ("filing_failed", 2), ("unknown", 3))),
    "abillify": (0.15, ("invoice",), (("unpaid", 40), ("paid", 55), ("canceled", 5))),
}
_LIFECYCLES = (("issued", 880), ("pending_approval", 20), ("rejected", 10), ("expired", 10), ("failed", 20),
               ("outcome_unknown", 5), ("destroyed", 45), ("destroying", 2), ("issuing", 3), ("issued", 5))


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]


def _bizno(n: int) -> str:
    return f"{1_000_000_000 + n * 7919 % 8_999_999_999:010d}"


def _rows(count: int, now: dt.datetime, seed_value: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                    list[dict[str, Any]]]:
    """Documents, approval requests and audit events."""
    rng = random.Random(seed_value)
    names = list(_PROVIDERS)
    shares = [_PROVIDERS[p][0] for p in names]
    docs: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for i in range(1, count + 1):
        provider = rng.choices(names, weights=shares)[0]
        _share, kinds, states = _PROVIDERS[provider]
        created = now - dt.timedelta(seconds=rng.randrange(30 * 86400))
        lifecycle = _pick(rng, _LIFECYCLES)
        state: str | None = None
        provider_id: str | None = f"{provider}-{i}"
        error = None
        if lifecycle in ("issued", "destroying"):
            state = _pick(rng, states)
        elif lifecycle == "destroyed":
            state = "canceled" if provider in ("payssam", "abillify") else "deleted"
        elif lifecycle in ("failed", "outcome_unknown"):
            error = "ProviderRejected: -11000005 buyer business number is not registered" \
                if lifecycle == "failed" else "OutcomeUnknown: read timed out after the request was sent"
            provider_id = None if lifecycle == "failed" else provider_id
        else:
            provider_id = None
        total = rng.randrange(10_000, 5_000_000)
        currency = "EUR" if provider == "abillify" and rng.random() < 0.15 else "KRW"
        buyer = rng.randrange(BUYERS)
        due = (created + dt.timedelta(days=rng.randrange(3, 30))).date() if provider in ("payssam", "abillify") \
            else None
        docs.append({
            "id": i, "ref": f"INV-{i:06d}", "provider": provider, "kind": rng.choice(kinds),
            "provider_id": provider_id, "origin": "bot", "sandbox": False,
            "buyer_name": f"거래처 {buyer:04d}", "buyer_bizno": _bizno(buyer), "buyer_email": f"ap{buyer}@example.com",
            "supply": total - total // 11, "vat": total // 11, "total": total, "currency": currency,
            "lifecycle": lifecycle, "state": state, "raw_state": state, "last_error": error,
            "due_date": due, "write_date": created.date(),
            "issued_at": created + dt.timedelta(minutes=1) if state else None,
            "state_checked_at": now - dt.timedelta(hours=rng.randrange(1, 48)) if state else None,
            "created_at": created, "updated_at": created + dt.timedelta(hours=rng.randrange(0, 72)),
            "links": {}, "channel_id": CHANNELS[i % len(CHANNELS)], "thread_ts": f"{created.timestamp():.6f}",
            "requested_by": f"U{i % 25:03d}",
        })
        if lifecycle == "pending_approval" or i % 5 == 0:
            approval_state = "pending" if lifecycle == "pending_approval" else (
                {"rejected": "rejected", "expired": "expired", "failed": "failed",
                 "outcome_unknown": "unknown"}.get(lifecycle, "succeeded"))
            approvals.append({
                "id": len(approvals) + 1, "action": "issue", "document_id": i, "payload": {"ref": f"INV-{i:06d}"},
                "requester": f"U{i % 25:03d}", "decider": None if approval_state == "pending" else "U_BOB",
                "state": approval_state, "channel_id": "C_APPROVALS", "message_ts": f"{created.timestamp():.6f}",
                "origin_channel_id": CHANNELS[i % len(CHANNELS)], "created_at": created, "updated_at": created,
                "expires_at": created + dt.timedelta(hours=24), "attempts": 0 if approval_state == "pending" else 1,
            })
        audits.append({"at": created, "actor": f"U{i % 25:03d}", "action": "command", "operation": "issue",
                       "document_id": i, "document_ref": f"INV-{i:06d}", "outcome": lifecycle,
                       "detail": {"provider": provider}})
    return docs, approvals, audits


def _closure_rows(now: dt.datetime, seed_value: int) -> list[dict[str, Any]]:
    rng = random.Random(seed_value + 1)
    rows: list[dict[str, Any]] = []
    for buyer in range(BUYERS):
        bizno = _bizno(buyer)
        rows.append({"bizno": bizno, "provider": "popbill", "state": "active", "raw_state": "1", "tax_type": "10",
                     "state_date": None, "checked_at": now - dt.timedelta(days=10), "checked_by": "sweep"})
        changed = rng.random() < 0.03
        if changed or rng.random() < 0.2:
            rows.append({"bizno": bizno, "provider": "popbill", "state": "closed" if changed else "active",
                         "raw_state": "2" if changed else "1", "tax_type": "10",
                         "state_date": (now - dt.timedelta(days=2)).date() if changed else None,
                         "checked_at": now - dt.timedelta(hours=rng.randrange(1, 20)), "checked_by": "sweep"})
    return rows


async def seed(store: Store, count: int, now: dt.datetime, *, seed_value: int = 7) -> None:
    """Fill an empty, migrated database with `count` documents and everything around them."""
    docs, approvals, audits = _rows(count, now, seed_value)
    sweep_event = {"at": now - dt.timedelta(hours=3), "actor": "sweep", "action": "system", "operation": "sweep",
                   "document_id": None, "document_ref": None, "outcome": "partial",
                   "detail": {"checked": count // 3, "changed": count // 100,
                              "unreachable": {"hiworks": "ProviderUnavailable: 503"}}}
    engine = write_engine(store.engine)
    for table, rows in ((documents, docs), (approval_requests, approvals), (audit_events, [*audits, sweep_event]),
                        (closure_checks, _closure_rows(now, seed_value))):
        for start in range(0, len(rows), 5000):
            async with engine.begin() as conn:
                await conn.execute(sa.insert(table), rows[start:start + 5000])
    async with engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            for name in ("documents", "approval_requests"):  # explicit ids leave the sequences behind
                await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                           f"(SELECT max(id) FROM {name}))"))
        await conn.execute(sa.text("ANALYZE"))


# --------------------------------------------------------------------------- the child


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    VmHWM (Linux) rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over fork and exec,
    so a child of a parent that held 100,000 seeded rows would start at the parent's peak.
    VmHWM belongs to the process's own address space, which exec replaced.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


async def _measure(url: str, now: dt.datetime, repeats: int) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from commands.slack.chart import render_chart_png
    from commands.slack.digest import CHART_DAYS, build_digest_blocks, build_digest_data

    tz = ZoneInfo("Asia/Seoul")
    render_chart_png({}, CHART_DAYS, end=now.astimezone(tz).date())  # a running bot has drawn a chart before
    store = await Store.open(url, migrate=False)
    try:
        async with store.engine.connect() as conn:  # the pool has its connection, as in a running bot
            await conn.execute(sa.text("SELECT 1"))
        rss_before = _rss_mb()

        async def build() -> tuple[float, int, int]:
            started = time.perf_counter()
            data = await build_digest_data(store, now=now, since=now - dt.timedelta(hours=24), tz=tz)
            blocks = build_digest_blocks(data, tz)
            png = render_chart_png(data.daily_krw, CHART_DAYS, end=data.chart_end)
            return time.perf_counter() - started, len(blocks), len(png)

        first, blocks, png = await build()
        warm = [(await build())[0] for _ in range(repeats)]
        rss_after = _rss_mb()
        started = time.perf_counter()
        async with store.engine.connect() as conn:
            await conn.execute(sa.text("SELECT count(*), sum(total) FROM documents"))
        scan = time.perf_counter() - started
    finally:
        await store.close()
    return {"first": first, "warm": statistics.median(warm), "rss_before": rss_before, "rss_peak": rss_after,
            "blocks": blocks, "png": png, "scan": scan}


def _child_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digest")
    parser.add_argument("--measure", required=True, help="database URL")
    parser.add_argument("--now", required=True, help="ISO time the digest is built at")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    found = asyncio.run(_measure(args.measure, dt.datetime.fromisoformat(args.now), args.repeats))
    print(json.dumps(found), flush=True)
    return 0


# --------------------------------------------------------------------------- the parent


async def _prepare(url: str, count: int, now: dt.datetime) -> float:
    started = time.perf_counter()
    store = await Store.open(url, migrate=True)
    try:
        await seed(store, count, now)
    finally:
        await store.close()
    return time.perf_counter() - started


def _measure_in_child(url: str, now: dt.datetime, workdir: Path, tag: str) -> dict[str, Any]:
    child = Child(f"digest-{tag}", [python(), "-m", "bench.digest", "--measure", url, "--now", now.isoformat()],
                  env=child_env({}, workdir=workdir), workdir=workdir, announce=True)
    try:
        return child.wait_line(300)
    finally:
        child.stop()


def _backend_runs(backend: str, sizes: Sequence[int], now: dt.datetime, workdir: Path,
                  make_url: Any, drop_url: Any) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for size in sizes:
        url = asyncio.run(make_url(size))
        try:
            seeded = asyncio.run(_prepare(url, size, now))
            found[size] = {**_measure_in_child(url, now, workdir, f"{backend}-{size}"), "seeded": seeded}
        finally:
            asyncio.run(drop_url(url))
        row = found[size]
        print(f"  {backend:<10} {size:>7} | {row['first']:>7.3f} s {row['warm']:>7.3f} s | "
              f"{row['rss_peak']:>7.0f} MB {row['rss_peak'] - row['rss_before']:>+6.0f} MB | "
              f"{row['scan'] * 1000:>8.1f} ms | {row['blocks']:>3} blocks, {row['png'] // 1024} KB PNG | "
              f"seeded in {row['seeded']:.1f} s", flush=True)
    return found


def _report(result: BenchResult, backend: str, size: int, runs: dict[int, dict[str, Any]]) -> None:
    big, small = runs[size], runs[BASELINE_DOCS]
    ratio = big["first"] / small["first"] if small["first"] > 0 else float("nan")
    line = (f"digest {backend} {size} docs: first {big['first']:.3f} s, warm {big['warm']:.3f} s, "
            f"peak RSS {big['rss_peak']:.0f} MB | {BASELINE_DOCS} docs first {small['first']:.3f} s | "
            f"ratio {ratio:.1f}x for {size // BASELINE_DOCS}x the documents")
    print(line, flush=True)
    result.final_lines.append(line)
    result.check(f"{backend}: build over {size:,} docs (first build in a fresh process)", f"< {TARGET_SECONDS:.0f} s",
                 f"{big['first']:.3f} s (warm median {big['warm']:.3f} s)", big["first"] < TARGET_SECONDS)
    result.check(f"{backend}: peak RSS of the digest process", f"< {TARGET_MB:.0f} MB",
                 f"{big['rss_peak']:.0f} MB ({big['rss_peak'] - big['rss_before']:+.0f} MB during the builds)",
                 big["rss_peak"] < TARGET_MB)
    result.check(f"{backend}: {size:,} docs / {BASELINE_DOCS:,} docs build time", "far below the document ratio",
                 f"{ratio:.1f}x for {size // BASELINE_DOCS}x the documents; full-table aggregate "
                 f"{big['scan'] * 1000:.1f} ms", None)


def run(quick: bool) -> BenchResult:
    from bench._pg import PostgresUnavailable, start_cluster

    plan = QUICK if quick else FULL
    sizes = (BASELINE_DOCS, plan.documents)
    result = BenchResult("digest")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    print(f"  {'backend':<10} {'docs':>7} | {'first':>9} {'warm':>9} | {'peak RSS':>10} {'growth':>7} | "
          f"{'full scan':>11} | output", flush=True)
    with temp_dir("digest") as workdir:
        async def sqlite_url(size: int) -> str:
            return f"sqlite+aiosqlite:///{workdir / f'digest-{size}.db'}"

        async def sqlite_drop(url: str) -> None:
            Path(url.removeprefix("sqlite+aiosqlite:///")).unlink(missing_ok=True)

        runs = _backend_runs("sqlite", sizes, now, workdir, sqlite_url, sqlite_drop)
        _report(result, "sqlite", plan.documents, runs)

        try:
            cluster = start_cluster()
        except PostgresUnavailable as exc:
            result.notes.append(f"PostgreSQL skipped: {exc}".splitlines()[0])
            print(f"  postgresql skipped: {exc}", flush=True)
            return result
        try:
            async def pg_url(_size: int) -> str:
                return await cluster.create_database()

            runs = _backend_runs("postgresql", sizes, now, workdir, pg_url, cluster.drop_database)
            _report(result, "postgresql", plan.documents, runs)
        finally:
            cluster.stop()
    return result


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))

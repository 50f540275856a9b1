"""Digest at scale: build time and peak memory at 10k / 100k / 1M documents, SQLite and PostgreSQL.

The database gets a realistic month: documents of the four providers over 30 days in
every lifecycle and provider state (with due dates, some overdue, some in EUR), an
approval row for one document in five (the pending ones among them), an audit event
per document, two closure checks per buyer (a few of them changes), and last night's
sweep record naming an unreachable provider. ANALYZE runs after seeding, as it would
have on a database that grew over months.

What is timed is what a scheduled digest computes: `build_digest_data` (all the SQL),
`build_digest_blocks` (Block Kit) and the chart PNG, in fresh child processes
(`bench._digest_child`, which says what is done before the clock starts). Before each child the
operating system's page cache is dropped (``/proc/sys/vm/drop_caches``, root only) and PostgreSQL
is restarted (its shared buffers emptied); where that is not allowed the figures say "fresh
process, warm OS cache", since seeding has just written the database. Two kinds of child alternate:

* **at the scheduled time** (the target): the child first runs what the bot's scheduler runs two
  minutes before the earliest digest (`bot.digest_warmup`: the digest read and built once, not
  posted), then times the first build: what a channel sees at 09:00 from a bot (re)started before
  then. The warm-up's own time is reported too;
* **no warm-up** (reported, no target): the first build pays every one-time cost of the process
  and of cold caches: a ``digest now`` right after a restart.

Each child also reports the median of three more builds (warm) and its peak RSS (VmHWM) before
and after.
Each size and kind is measured in three fresh child processes: min / median / max.
INVOICEBOT_BENCH_DIGEST_DB_DIR keeps the SQLite databases in that directory and reuses them in a
later run at the same migration head (seeding a million documents into SQLite takes many minutes);
the digest is then built at the time the reused data was seeded around, and the notes say so.

The growth table (each size against the smallest) says whether the digest scales with what it
shows (aggregates, top rows, hourly totals: flat) or with the table (linear). A plain
full-table aggregate (`SELECT count(*), sum(total) FROM documents`) is printed alongside as
the floor of any query that has to read every row.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._common import REPEATS, BenchResult, Child, child_env, median, python, spread, temp_dir
from commands.ledger import Store, write_engine
from commands.ledger.schema import approval_requests, audit_events, closure_checks, documents

__all__ = ["DigestPlan", "run", "seed"]

TARGET_SECONDS = 0.5
TARGET_MB = 200.0
CHANNELS = ("C_FINANCE", "C_SALES", "C_OPS")
BUYERS = 2_000


@dataclass(frozen=True)
class DigestPlan:
    sizes: tuple[int, ...]


FULL = DigestPlan(sizes=(10_000, 100_000, 1_000_000))
QUICK = DigestPlan(sizes=(1_000, 5_000))

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


Rows = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def _rows(count: int, now: dt.datetime, seed_value: int, *, chunk: int = 50_000) -> Iterator[Rows]:
    """Documents, approval requests and audit events, `chunk` documents at a time (a million
    documents as one list of dicts took 2.6 GB in the seeding process)."""
    rng = random.Random(seed_value)
    names = list(_PROVIDERS)
    shares = [_PROVIDERS[p][0] for p in names]
    docs: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    approval_id = 0
    for i in range(1, count + 1):
        if len(docs) >= chunk:
            yield docs, approvals, audits
            docs, approvals, audits = [], [], []
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
            approval_id += 1
            approvals.append({
                "id": approval_id, "action": "issue", "document_id": i, "payload": {"ref": f"INV-{i:06d}"},
                "requester": f"U{i % 25:03d}", "decider": None if approval_state == "pending" else "U_BOB",
                "state": approval_state, "channel_id": "C_APPROVALS", "message_ts": f"{created.timestamp():.6f}",
                "origin_channel_id": CHANNELS[i % len(CHANNELS)], "created_at": created, "updated_at": created,
                "expires_at": created + dt.timedelta(hours=24), "attempts": 0 if approval_state == "pending" else 1,
            })
        audits.append({"at": created, "actor": f"U{i % 25:03d}", "action": "command", "operation": "issue",
                       "document_id": i, "document_ref": f"INV-{i:06d}", "outcome": lifecycle,
                       "detail": {"provider": provider}})
    yield docs, approvals, audits


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
    sweep_event = {"at": now - dt.timedelta(hours=3), "actor": "sweep", "action": "system", "operation": "sweep",
                   "document_id": None, "document_ref": None, "outcome": "partial",
                   "detail": {"checked": count // 3, "changed": count // 100,
                              "unreachable": {"hiworks": "ProviderUnavailable: 503"}}}
    engine = write_engine(store.engine)

    async def insert(table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 5000):
            async with engine.begin() as conn:
                await conn.execute(sa.insert(table), rows[start:start + 5000])

    if store.engine.dialect.name == "postgresql":  # generated by the server: seconds, not minutes
        from bench._pg_seed import seed_postgres

        await seed_postgres(engine, count, now, seed_value)
    else:
        for docs, approvals, audits in _rows(count, now, seed_value):
            await insert(documents, docs)
            await insert(approval_requests, approvals)
            await insert(audit_events, audits)
    await insert(audit_events, [sweep_event])
    await insert(closure_checks, _closure_rows(now, seed_value))
    async with engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            for name in ("documents", "approval_requests"):  # explicit ids leave the sequences behind
                await conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                           f"(SELECT max(id) FROM {name}))"))
        await conn.execute(sa.text("ANALYZE"))


# --------------------------------------------------------------------------- the parent


async def _prepare(url: str, count: int, now: dt.datetime) -> float:
    started = time.perf_counter()
    store = await Store.open(url, migrate=True)
    try:
        await seed(store, count, now)
    finally:
        await store.close()
    return time.perf_counter() - started


def _kept_prepare(directory: Path, now: dt.datetime, notes: list[str]) -> Any:
    """`prepare` for SQLite databases kept in `directory` (INVOICEBOT_BENCH_DIGEST_DB_DIR): a size seeded
    by an earlier run at the same migration head is reused, with the time it was seeded around (its
    digest is built at that time, so it shows the same month); others are seeded and kept. Seeding
    1,000,000 documents into SQLite takes many minutes; the measurement itself is unchanged (the
    page cache is dropped before every child either way)."""
    from commands.ledger.migrate import head_revision

    def prepare(url: str, size: int) -> tuple[float, dt.datetime]:
        facts = directory / f"digest-{size}.json"
        with contextlib.suppress(OSError, ValueError, KeyError):
            known = json.loads(facts.read_text())
            if known["head"] == head_revision() and Path(url.removeprefix("sqlite+aiosqlite:///")).exists():
                notes.append(f"SQLite {size:,}: database reused from {directory} (seeded {known['now']}, "
                             f"in {known['seconds']:.0f} s)")
                return float(known["seconds"]), dt.datetime.fromisoformat(known["now"])
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite+aiosqlite:///") + suffix).unlink(missing_ok=True)
        seconds = asyncio.run(_prepare(url, size, now))
        facts.write_text(json.dumps({"head": head_revision(), "now": now.isoformat(), "seconds": seconds}))
        return seconds, now

    return prepare


def _drop_os_caches() -> bool:
    """Empty the page cache (written-back first), so the next read comes from the disk; False when
    not allowed (not root, or a container without a writable /proc/sys)."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError:
        return False
    return True


def _measure_in_child(url: str, now: dt.datetime, workdir: Path, tag: str, warm_up: bool) -> dict[str, Any]:
    argv = [python(), "-m", "bench._digest_child", "--measure", url, "--now", now.isoformat()]
    child = Child(f"digest-{tag}", [*argv, "--warm-up"] if warm_up else argv, env=child_env({}, workdir=workdir),
                  workdir=workdir, announce=True)
    try:
        return child.wait_line(600)
    finally:
        child.stop()


def _backend_runs(backend: str, sizes: Sequence[int], prepare: Any, workdir: Path,
                  make_url: Any, drop_url: Any, cold: Any) -> dict[int, dict[str, Any]]:
    """Seed each size once (`prepare(url, size)`: seconds and the time the data is seeded around), then
    measure it in 2 x `REPEATS` fresh child processes, alternately with and without the scheduler's
    pre-digest warm-up, each after `cold()` (which empties what caches it can and says which:
    `_COLD` or `_WARM_OS`)."""
    found: dict[int, dict[str, Any]] = {}
    for size in sizes:
        url = asyncio.run(make_url(size))
        try:
            seeded, now = prepare(url, size)
            reps: list[dict[str, Any]] = []
            bare: list[dict[str, Any]] = []
            for n in range(REPEATS):
                for warm_up, into in ((True, reps), (False, bare)):
                    first_kind = cold()
                    into.append({**_measure_in_child(url, now, workdir, f"{backend}-{size}-{n}"
                                                     f"{'-warmup' if warm_up else ''}", warm_up), "cold": first_kind})
        finally:
            asyncio.run(drop_url(url))
        row = found[size] = _row(reps, bare, seeded)
        print(f"  {backend:<10} {size:>9,} | {spread(row['first_message'])} s | {spread(row['bare_message'])} s | "
              f"{spread(row['warm_message'])} s | {max(row['rss']):>5.0f} MB {median(row['growth']):>+5.0f} MB | "
              f"{median(row['scan']) * 1000:>8.1f} ms | {_parts(row)} | seeded in {seeded:.0f} s", flush=True)
    return found


def _row(reps: Sequence[dict[str, Any]], bare: Sequence[dict[str, Any]], seeded: float) -> dict[str, Any]:
    """One size's figures: `reps` measured after the warm-up, `bare` without it."""
    everyone = [*reps, *bare]
    kinds = {r["cold"] for r in everyone}
    return {"first": [r["first"] for r in reps], "warm": [r["warm"] for r in everyone],
            "first_message": [r["first_message"] for r in reps],
            "bare_message": [r["first_message"] for r in bare], "bare": [r["first"] for r in bare],
            "warm_up": [r["warm_up"] for r in reps],
            "warm_message": [r["warm_message"] for r in everyone],
            "rss": [r["rss_peak"] for r in everyone], "growth": [r["rss_peak"] - r["rss_before"] for r in everyone],
            "scan": [r["scan"] for r in everyone], "seeded": seeded, "blocks": reps[0]["blocks"],
            "first_kind": kinds.pop() if len(kinds) == 1 else _WARM_OS,
            "parts": {k: median([r["parts"][k] for r in everyone]) for k in reps[0]["parts"]}}


def _parts(row: dict[str, Any]) -> str:
    p = row["parts"]
    return f"queries {p['data'] * 1000:.0f} ms, blocks {p['blocks'] * 1000:.0f} ms, chart {p['chart'] * 1000:.0f} ms"


def _report(result: BenchResult, backend: str, runs: dict[int, dict[str, Any]]) -> None:
    """Targets on the digest message (queries + Block Kit: what a channel waits for; the chart
    is drawn in a worker thread and uploaded into the thread after the message is posted)."""
    sizes = sorted(runs)
    small, big = sizes[0], sizes[-1]
    top = runs[big]
    ratio = median(top["first_message"]) / median(runs[small]["first_message"])
    line = (f"digest {backend}: message at {big:,} docs {spread(top['first_message'])} s first build at the "
            f"scheduled time ({top['first_kind']} at the process's start, then the scheduler's warm-up; min / median "
            f"/ max of {REPEATS} fresh processes), {spread(top['bare_message'])} s with no warm-up, "
            f"{spread(top['warm_message'])} s warm; peak RSS {max(top['rss']):.0f} MB; {ratio:.2f}x the "
            f"{small:,}-document message for {big // small}x the documents")
    print(line, flush=True)
    result.final_lines.append(line)
    result.check(f"{backend}: digest message over {big:,} docs, first build at the scheduled time ({top['first_kind']}"
                 " at the process's start, then the scheduler's warm-up)",
                 f"< {TARGET_SECONDS} s (median)", f"{spread(top['first_message'])} s",
                 median(top["first_message"]) < TARGET_SECONDS)
    result.check(f"{backend}: digest message over {big:,} docs, warm (median of 3 builds per process)",
                 f"< {TARGET_SECONDS} s (median)", f"{spread(top['warm_message'])} s",
                 median(top["warm_message"]) < TARGET_SECONDS)
    result.check(f"{backend}: digest message over {big:,} docs, first build with no warm-up ({top['first_kind']}: "
                 "`digest now` right after a restart)", "(reported)", f"{spread(top['bare_message'])} s", None)
    result.check(f"{backend}: the scheduler's warm-up over {big:,} docs (2 min before the digest)", "(reported)",
                 f"{spread(top['warm_up'])} s", None)
    result.check(f"{backend}: message and chart PNG over {big:,} docs, first build at the scheduled time",
                 "(chart: fixed cost)", f"{spread(top['first'])} s", None)
    result.check(f"{backend}: peak RSS of the digest process at {big:,} docs", f"< {TARGET_MB:.0f} MB (max)",
                 f"{spread(top['rss'], '{:.0f}')} MB", max(top["rss"]) < TARGET_MB)
    result.check(f"{backend}: growth of the message, {small:,} to {big:,} docs", "flat (about 1x)",
                 f"{ratio:.2f}x for {big // small}x the documents", None)
    for size in sizes:
        row = runs[size]
        result.growth.append(
            f"| {backend} | {size:,} | {spread(row['first_message'])} s | {spread(row['bare_message'])} s | "
            f"{spread(row['warm_message'])} s | {spread(row['first'])} s | {max(row['rss']):.0f} MB | "
            f"{median(row['first_message']) / median(runs[small]['first_message']):.2f}x | {_parts(row)} | "
            f"{median(row['scan']) * 1000:.1f} ms |")


GROWTH_HEADER = ("| backend | documents | message, first build at the scheduled time (min / median / max) "
                 "| message, first build with no warm-up | message, warm | with the chart, at the scheduled time "
                 "| peak RSS (max) | scheduled message vs the smallest size | warm build's parts (median) "
                 "| full-table aggregate (floor of a table read) |\n"
                 "|---|---|---|---|---|---|---|---|---|---|")


_COLD = "cold: fresh process, OS page cache dropped"
_WARM_OS = "fresh process, warm OS cache"


def _sqlite_cold() -> str:
    return _COLD if _drop_os_caches() else _WARM_OS


def _pg_sizes(sizes: Sequence[int]) -> list[int]:
    """PostgreSQL sizes: all of them, or up to INVOICEBOT_BENCH_PG_MAX_DOCS (seeding a million rows
    through PostgreSQL's triggers takes a while on a loaded machine)."""
    limit = int(os.environ.get("INVOICEBOT_BENCH_PG_MAX_DOCS", "0") or 0)
    return [s for s in sizes if not limit or s <= limit]


def run(quick: bool) -> BenchResult:
    from bench._pg import PostgresUnavailable, start_cluster

    sizes = QUICK.sizes if quick else FULL.sizes
    result = BenchResult("digest", growth_header=GROWTH_HEADER)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    print(f"  {'backend':<10} {'docs':>9} | message: first build at the scheduled time min / median / max | "
          f"no warm-up | warm | peak RSS growth | full scan | parts of a warm build", flush=True)
    kept = os.environ.get("INVOICEBOT_BENCH_DIGEST_DB_DIR")

    def seed_now(url: str, size: int) -> tuple[float, dt.datetime]:
        return asyncio.run(_prepare(url, size, now)), now

    with temp_dir("digest") as workdir:
        db_dir = Path(kept) if kept else workdir
        db_dir.mkdir(parents=True, exist_ok=True)

        async def sqlite_url(size: int) -> str:
            return f"sqlite+aiosqlite:///{db_dir / f'digest-{size}.db'}"

        async def sqlite_drop(url: str) -> None:
            if kept:
                return
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite+aiosqlite:///") + suffix).unlink(missing_ok=True)

        sqlite_prepare = _kept_prepare(db_dir, now, result.notes) if kept else seed_now
        _report(result, "sqlite", _backend_runs("sqlite", sizes, sqlite_prepare, workdir, sqlite_url, sqlite_drop,
                                                _sqlite_cold))

        try:
            cluster = start_cluster()
        except PostgresUnavailable as exc:
            result.notes.append(f"PostgreSQL skipped: {exc}".splitlines()[0])
            print(f"  postgresql skipped: {exc}", flush=True)
            return result
        try:
            async def pg_url(_size: int) -> str:
                return await cluster.create_database()

            pg_sizes = _pg_sizes(sizes)
            if len(pg_sizes) < len(sizes):
                result.notes.append(f"PostgreSQL measured up to {max(pg_sizes):,} documents "
                                    "(INVOICEBOT_BENCH_PG_MAX_DOCS)")
            def pg_cold() -> str:
                restarted = cluster.restart()
                dropped = _drop_os_caches()
                if restarted and dropped:
                    return _COLD + ", PostgreSQL restarted (shared buffers empty)"
                return _WARM_OS + ("" if restarted else ", PostgreSQL buffers warm")

            _report(result, "postgresql", _backend_runs("postgresql", pg_sizes, seed_now, workdir, pg_url,
                                                        cluster.drop_database, pg_cold))
        finally:
            cluster.stop()
    return result


"""The sweep's reading and writing: each provider at its declared concurrency, answers written in batches."""

from __future__ import annotations

import sqlalchemy as sa

from commands.ledger import Store
from commands.workflow.sweep import sweep
from commands.workflow.sweep_run import Pacer
from providers.base import InvoiceProvider
from providers.limits import LIMITS, ProviderLimits
from providers.models import DocumentState, Provider
from tests.commands.workflow.sweep_fakes import Board, CountingProvider, seed_open

TEST_LIMITS = {
    Provider.POPBILL: ProviderLimits(max_concurrent=2, batch_size=100),
    Provider.PAYSSAM: ProviderLimits(max_concurrent=3),
    Provider.ABILLIFY: ProviderLimits(max_concurrent=5),
}


def _limits(provider: Provider, _service: InvoiceProvider) -> ProviderLimits:
    return TEST_LIMITS[provider]


async def test_each_provider_runs_at_its_declared_concurrency_in_parallel_with_the_others(store: Store) -> None:
    board = Board(target=2 + 3 + 5)
    fakes = {p: CountingProvider(p) for p in TEST_LIMITS}
    for fake in fakes.values():
        fake.board = board
    await seed_open(store, Provider.POPBILL, [f"P{i}" for i in range(1_000)])
    await seed_open(store, Provider.PAYSSAM, [f"S{i}" for i in range(60)])
    await seed_open(store, Provider.ABILLIFY, [f"A{i}" for i in range(60)])

    report = await sweep(store, fakes, limits=_limits, closure=False)  # type: ignore[arg-type]

    assert {p: f.peak for p, f in fakes.items()} == {Provider.POPBILL: 2, Provider.PAYSSAM: 3, Provider.ABILLIFY: 5}
    assert board.peak == 2 + 3 + 5  # the providers ran side by side, not one after the other
    assert fakes[Provider.POPBILL].calls == 10  # 1,000 documents, 100 a call
    assert fakes[Provider.PAYSSAM].calls == 60  # one call per document
    assert report.checked == {Provider.POPBILL: 1_000, Provider.PAYSSAM: 60, Provider.ABILLIFY: 60}
    assert sorted(fakes[Provider.PAYSSAM].seen) == sorted(f"S{i}" for i in range(60))  # each read once


async def test_an_operator_cap_lowers_a_provider_concurrency_but_never_raises_it(store: Store) -> None:
    fakes = {Provider.PAYSSAM: CountingProvider(Provider.PAYSSAM), Provider.ABILLIFY: CountingProvider(
        Provider.ABILLIFY)}
    await seed_open(store, Provider.PAYSSAM, [f"S{i}" for i in range(40)])
    await seed_open(store, Provider.ABILLIFY, [f"A{i}" for i in range(40)])

    await sweep(store, fakes, limits=_limits, concurrency=4, closure=False)  # type: ignore[arg-type]

    assert fakes[Provider.PAYSSAM].peak == 3  # its own limit is below the cap
    assert fakes[Provider.ABILLIFY].peak == 4


async def test_the_default_limits_are_the_declared_ones(store: Store) -> None:
    fake = CountingProvider(Provider.ABILLIFY)
    await seed_open(store, Provider.ABILLIFY, [f"A{i}" for i in range(100)])

    await sweep(store, {Provider.ABILLIFY: fake}, closure=False)  # type: ignore[dict-item]

    assert fake.peak == LIMITS[Provider.ABILLIFY].max_concurrent


async def test_changed_and_unchanged_answers_share_one_transaction_per_batch(store: Store) -> None:
    fake = CountingProvider(Provider.POPBILL, state=DocumentState.SENT, raw="R")
    await seed_open(store, Provider.POPBILL, [f"OLD{i}" for i in range(500)], raw="W")  # stale: a change each
    await seed_open(store, Provider.POPBILL, [f"NOW{i}" for i in range(500)], state=DocumentState.SENT, raw="R")
    commits: list[int] = []
    sa.event.listen(store.engine.sync_engine, "commit", lambda _conn: commits.append(1))

    report = await sweep(store, {Provider.POPBILL: fake}, limits=_limits, closure=False)  # type: ignore[dict-item]

    assert len(report.changes) == 500 and report.batches == 1
    assert len(commits) == 2  # the batch (touches, changes, their audit events), then the sweep's own event
    assert len(await store.audit.search(operation="status_change", limit=1_000)) == 500


async def test_answers_are_written_in_batches_not_one_commit_per_document(store: Store) -> None:
    # every stored state is stale, so every document is a change with its audit event
    fakes = {Provider.POPBILL: CountingProvider(Provider.POPBILL, state=DocumentState.SENT, raw="R"),
             Provider.PAYSSAM: CountingProvider(Provider.PAYSSAM, state=DocumentState.SENT, raw="R")}
    await seed_open(store, Provider.POPBILL, [f"P{i}" for i in range(1_000)], raw="W")
    await seed_open(store, Provider.PAYSSAM, [f"S{i}" for i in range(150)], raw="W")
    commits: list[int] = []
    sa.event.listen(store.engine.sync_engine, "commit", lambda _conn: commits.append(1))

    report = await sweep(store, fakes, limits=_limits, write_batch=500, closure=False)  # type: ignore[arg-type]

    assert len(report.changes) == 1_150
    # 500 documents a batch, plus at most one remainder per provider when it finishes
    assert 3 <= report.batches <= 3 + 2
    assert len(commits) == report.batches + 1  # and the sweep's own audit event
    changed = await store.audit.search(operation="status_change", limit=2_000)
    assert len(changed) == 1_150
    done = await store.documents.get_by_provider_id(Provider.PAYSSAM, "S149")
    assert done is not None and done.state is DocumentState.SENT and done.raw_state == "R"


async def test_progress_is_reported_after_each_written_batch(store: Store) -> None:
    fake = CountingProvider(Provider.POPBILL, raw="W")
    await seed_open(store, Provider.POPBILL, [f"P{i}" for i in range(250)], raw="W", state=DocumentState.SENT)
    seen: list[int] = []

    report = await sweep(store, {Provider.POPBILL: fake}, limits=_limits, write_batch=100,  # type: ignore[dict-item]
                         progress=lambda p: seen.append(p.checked), closure=False)

    assert seen == [100, 200, 250]
    assert report.changes == []  # unchanged documents are only marked checked
    touched = await store.documents.get_by_provider_id(Provider.POPBILL, "P0")
    assert touched is not None and touched.state_checked_at is not None


async def test_a_pacer_spaces_calls_to_the_declared_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await pacer.wait()
    assert slept == [0.25, 0.25, 0.25]  # the first call goes at once, then one every quarter second
    unpaced = Pacer(None, clock=lambda: now[0], sleep=sleep)
    await unpaced.wait()
    assert len(slept) == 3


async def test_a_short_page_is_the_last_one_so_no_query_only_to_find_an_empty_page() -> None:
    from commands.ledger.sweep_rows import SweepRow
    from commands.workflow.sweep_run import ChunkSource
    from providers.models import DocumentKind

    def row(doc_id: int) -> SweepRow:
        return SweepRow(id=doc_id, ref=f"INV-{doc_id}", provider=Provider.PAYSSAM, kind=DocumentKind.BILL,
                        provider_id=f"S{doc_id}", sandbox=True, state=DocumentState.SENT, raw_state="R",
                        channel_id=None, thread_ts=None, team_id=None)

    async def take_all(sizes: list[int]) -> tuple[list[int], int]:
        pages = [[row(start + i) for i in range(size)] for start, size in zip(
            [sum(sizes[:n]) + 1 for n in range(len(sizes))], sizes, strict=True)] + [[]]
        asked: list[int] = []

        async def fetch(after_id: int) -> list[SweepRow]:
            asked.append(after_id)
            return pages[len(asked) - 1]

        source = ChunkSource(fetch, page_size=3)
        taken: list[int] = []
        while chunk := await source.take(2):
            taken += [r.id for r in chunk]
        return taken, len(asked)

    assert await take_all([3, 3, 1]) == ([1, 2, 3, 4, 5, 6, 7], 3)  # the short page ends it
    assert await take_all([3, 3]) == ([1, 2, 3, 4, 5, 6], 3)  # a full last page: one more query says so

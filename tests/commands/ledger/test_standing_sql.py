"""`standing_case` (SQL) and `standing()` (Python) file every document under the same standing."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from commands.ledger import Lifecycle, Standing, Store, standing, standing_case, standing_in
from commands.ledger.schema import documents
from providers.models import DocumentKind, DocumentRef, DocumentState, DocumentStatus, Provider

PAIRS: list[tuple[Lifecycle, DocumentState | None]] = list(itertools.product(Lifecycle, [None, *DocumentState]))


async def _seed(store: Store) -> dict[int, tuple[Lifecycle, DocumentState | None]]:
    """One document per lifecycle and provider state (or none yet)."""
    seeded = {}
    for lifecycle, state in PAIRS:
        doc = await store.documents.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                           lifecycle=lifecycle)
        if state is not None:
            ref = DocumentRef(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, provider_id=f"P{doc.id}")
            assert await store.documents.record_status(doc.id, DocumentStatus(ref=ref, state=state, raw_state="x"))
        seeded[doc.id] = (lifecycle, state)
    return seeded


async def test_sql_and_python_agree_on_every_lifecycle_and_state(store: Store) -> None:
    seeded = await _seed(store)

    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(documents.c.id, standing_case(documents).label("s")))).all()

    got = {int(r.id): r.s for r in rows}
    assert len(got) == len(PAIRS)
    disagreements = {seeded[i]: (s, standing(*seeded[i]).value) for i, s in got.items()
                     if s != standing(*seeded[i]).value}
    assert disagreements == {}


async def test_standing_in_filters_as_standing_does(store: Store) -> None:
    seeded = await _seed(store)
    wanted = {Standing.ISSUED, Standing.CANCELLED}

    async with store.engine.connect() as conn:
        ids = set((await conn.execute(sa.select(documents.c.id).where(standing_in(documents, wanted)))).scalars())

    assert ids == {i for i, pair in seeded.items() if standing(*pair) in wanted}
    assert ids  # the seed has both issued and cancelled documents


async def test_standing_in_agrees_for_every_single_standing(store: Store) -> None:
    # the column conditions (index-friendly) file exactly as standing() does, one standing at a time
    seeded = await _seed(store)
    for wanted in [{s} for s in Standing] + [{Standing.ISSUED, Standing.FAILED}, set()]:
        async with store.engine.connect() as conn:
            stmt = sa.select(documents.c.id).where(standing_in(documents, wanted))
            ids = set((await conn.execute(stmt)).scalars())
        assert ids == {i for i, pair in seeded.items() if standing(*pair) in wanted}, wanted


def test_standing_in_is_not_a_case_expression() -> None:
    # a CASE over every row cannot use the (lifecycle, state) index; plain column tests can
    sql = str(standing_in(documents, {Standing.FAILED}).compile(compile_kwargs={"literal_binds": True}))
    assert "CASE" not in sql.upper()
    assert "lifecycle" in sql

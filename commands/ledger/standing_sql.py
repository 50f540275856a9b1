"""`standing()` as SQL, so a query can file documents exactly as Python does.

Read models that count or list documents in SQL (digest totals, exports) must not keep a
second, hand-written list of which lifecycles and provider states mean "issued" or
"cancelled". `standing_case` is built from the same two tables `vocabulary.standing`
reads (`LIFECYCLE_STANDING` and `GONE_STATES`), and a test checks the two agree for every
lifecycle and provider state on each database.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from commands.ledger.vocabulary import GONE_STATES, LIFECYCLE_STANDING, Standing

__all__ = ["standing_case", "standing_in", "standing_parts"]


def standing_case(table: sa.FromClause) -> sa.ColumnElement[str]:
    """``CASE`` giving the `Standing` value of each row of `table` (a documents table or alias).

    Lifecycles with a fixed standing map straight to it; for the others (issued, being
    destroyed) the provider's state decides: gone states are cancelled, anything else
    (including no state yet) is issued, as in `vocabulary.standing`.
    """
    lifecycle, state = table.c.lifecycle, table.c.state
    provider_decides = [lc.value for lc, fixed in LIFECYCLE_STANDING.items() if fixed is None]
    whens: list[tuple[sa.ColumnElement[bool], str]] = [
        (lifecycle == lc.value, fixed.value) for lc, fixed in LIFECYCLE_STANDING.items() if fixed is not None
    ]
    gone = sorted(s.value for s in GONE_STATES)
    whens.append((sa.and_(lifecycle.in_(provider_decides), state.in_(gone)), Standing.CANCELLED.value))
    whens.append((lifecycle.in_(provider_decides), Standing.ISSUED.value))
    return sa.case(*whens)


def standing_parts(table: sa.FromClause, standings: Collection[Standing]) -> list[sa.ColumnElement[bool]]:
    """`standing_in` as disjoint conditions (no row meets two), each one an index can serve alone.

    A query may run once per part and add the results up, where one ``OR`` would make a
    planner pick a single index for both sides (SQLite did, reading every issued row of the
    window to find the few cancelled ones).
    """
    lifecycle, state = table.c.lifecycle, table.c.state
    wanted = set(standings)
    fixed = sorted(lc.value for lc, st in LIFECYCLE_STANDING.items() if st is not None and st in wanted)
    provider_decides = sorted(lc.value for lc, st in LIFECYCLE_STANDING.items() if st is None)
    gone = sorted(s.value for s in GONE_STATES)
    parts: list[sa.ColumnElement[bool]] = [lifecycle.in_(fixed)] if fixed else []
    if Standing.CANCELLED in wanted and Standing.ISSUED in wanted:
        parts.append(lifecycle.in_(provider_decides))
    elif Standing.CANCELLED in wanted:
        parts.append(sa.and_(lifecycle.in_(provider_decides), state.in_(gone)))
    elif Standing.ISSUED in wanted:
        parts.append(sa.and_(lifecycle.in_(provider_decides), sa.or_(state.is_(None), state.not_in(gone))))
    return parts


def standing_in(table: sa.FromClause, standings: Collection[Standing]) -> sa.ColumnElement[bool]:
    """Rows of `table` whose standing is one of `standings`.

    The same filing as ``standing_case(table).in_(...)``, written as conditions on the
    columns themselves (``lifecycle IN (...)``, ``state [NOT] IN (...)``): a database can
    serve those from an index, while a ``CASE`` expression forces it to read every row.
    """
    parts = standing_parts(table, standings)
    return sa.or_(*parts) if parts else sa.false()

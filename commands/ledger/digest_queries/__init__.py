"""Read-mostly queries for the daily digest, the status sweep, App Home and webhooks.

They sit beside the repositories (and use the same table objects) because they answer
questions no single repository owns: "what happened since the last digest", across
documents, approvals, closure checks and audit events. Callers import the package
(``from commands.ledger import digest_queries as q``); the modules split it by subject:

* `rows`: the row types, `Listing`, and the shared helpers;
* `listings`: document totals and lists (digest, App Home, sweep pages);
* `activity`: pending approvals, closure changes, the last sweep, seen callbacks;
* `runs`: posted digests (scheduled runs and ``digest now`` posts).

Every query is built to stay fast and small on 100,000 documents, on SQLite and
PostgreSQL alike: totals are computed in SQL (``GROUP BY``), never by loading rows; lists
fetch only their top rows (``LIMIT``) plus one aggregate for "and N more"; filters lead
with indexed columns. Nothing here builds SQL from strings; all values are bound parameters.

The names are resolved on first access (PEP 562 `__getattr__`, ``q.unpaid`` as before): a bot
that has not yet built a digest, an App Home or a sweep does not hold `listings`, `activity` or
`runs` (idle memory, `tests/bot/test_start.py`); `deadlines` (the tax-deadline reads an approval
makes) imports only `rows`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.ledger.lazy import homes, lazy_getattr

if TYPE_CHECKING:
    from commands.ledger.digest_queries.activity import callback_seen, closure_changes, last_sweep, pending_approvals
    from commands.ledger.digest_queries.listings import (
        cancelled_totals,
        daily_issued_krw,
        daily_issued_krw_from_documents,
        expiring,
        failures,
        issued_totals,
        open_buyer_biznos,
        overdue,
        recent_requests,
        touch_checked,
        unpaid,
        unpaid_totals,
    )
    from commands.ledger.digest_queries.rows import (
        OPEN_STATES,
        SWEEP_AUDIT_OPERATION,
        ApprovalRow,
        ClosureChangeRow,
        DocumentRow,
        IssuedTotal,
        Listing,
        PostedRun,
        SweepSummary,
        one_connection,
    )
    from commands.ledger.digest_queries.runs import (
        last_posted_digest,
        last_posted_run,
        latest_posted_run,
        release_unposted_run,
    )

#: where each public name of `commands.ledger.digest_queries` lives
_HOMES = homes({
    f"{__name__}.activity": ("callback_seen", "closure_changes", "last_sweep", "pending_approvals"),
    f"{__name__}.listings": (
        "cancelled_totals", "daily_issued_krw", "daily_issued_krw_from_documents", "expiring", "failures",
        "issued_totals", "open_buyer_biznos", "overdue", "recent_requests", "touch_checked", "unpaid",
        "unpaid_totals"),
    f"{__name__}.rows": (
        "OPEN_STATES", "SWEEP_AUDIT_OPERATION", "ApprovalRow", "ClosureChangeRow", "DocumentRow", "IssuedTotal",
        "Listing", "PostedRun", "SweepSummary", "one_connection"),
    f"{__name__}.runs": ("last_posted_digest", "last_posted_run", "latest_posted_run", "release_unposted_run"),
})
__getattr__ = lazy_getattr(__name__, _HOMES, globals())

__all__ = [
    "OPEN_STATES",
    "SWEEP_AUDIT_OPERATION",
    "ApprovalRow",
    "ClosureChangeRow",
    "DocumentRow",
    "IssuedTotal",
    "Listing",
    "PostedRun",
    "SweepSummary",
    "callback_seen",
    "cancelled_totals",
    "closure_changes",
    "daily_issued_krw",
    "daily_issued_krw_from_documents",
    "expiring",
    "failures",
    "issued_totals",
    "last_posted_digest",
    "last_posted_run",
    "last_sweep",
    "latest_posted_run",
    "one_connection",
    "open_buyer_biznos",
    "overdue",
    "pending_approvals",
    "recent_requests",
    "release_unposted_run",
    "touch_checked",
    "unpaid",
    "unpaid_totals",
]

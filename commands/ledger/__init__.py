"""The ledger: SQLAlchemy 2 (async) on SQLite or PostgreSQL, with Alembic migrations.

One module per aggregate (`documents`, `approvals`, `audit`, `closures`, `idempotency`,
`digests`, `callbacks`), their rows in `records`, the lifecycle words in `vocabulary`, and
the cross-table reads of the digest, App Home and sweeps in `digest_queries`.
`Store` bundles the repositories; `upgrade` / `migrate` run the migrations shipped in
`commands/ledger/migrations`; `create_engine` sets the SQLite pragmas and pool sizes the rest of the
code relies on.
"""

from __future__ import annotations

from commands.ledger.approvals import ApprovalRepo
from commands.ledger.audit import AuditRepo
from commands.ledger.callbacks import CallbackRepo
from commands.ledger.closures import ClosureRepo
from commands.ledger.db import DEFAULT_DATABASE_URL, create_engine, normalize_url, utc_now, write_engine
from commands.ledger.digests import DigestRepo
from commands.ledger.documents import REF_PREFIX, DocumentRepo, format_ref
from commands.ledger.idempotency import IdempotencyConflict, IdempotencyRepo
from commands.ledger.migrate import alembic_config, current_revision, head_revision, migrate, upgrade
from commands.ledger.records import (
    ApprovalRecord,
    AuditEventRecord,
    CallbackEventRecord,
    Claim,
    ClosureChange,
    ClosureCheckRecord,
    DigestRunRecord,
    DigestScheduleRecord,
    DocumentAggregate,
    DocumentRecord,
    IdempotencyRecord,
)
from commands.ledger.schema import metadata
from commands.ledger.standing_sql import standing_case, standing_in
from commands.ledger.store import Store
from commands.ledger.vocabulary import (
    GONE_STATES,
    LIFECYCLE_STANDING,
    TRANSITIONS,
    ApprovalAction,
    ApprovalState,
    AuditKind,
    AuditOperation,
    IdempotencyState,
    Lifecycle,
    Standing,
    standing,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "GONE_STATES",
    "LIFECYCLE_STANDING",
    "REF_PREFIX",
    "TRANSITIONS",
    "ApprovalAction",
    "ApprovalRecord",
    "ApprovalRepo",
    "ApprovalState",
    "AuditEventRecord",
    "AuditKind",
    "AuditOperation",
    "AuditRepo",
    "CallbackEventRecord",
    "CallbackRepo",
    "Claim",
    "ClosureChange",
    "ClosureCheckRecord",
    "ClosureRepo",
    "DigestRepo",
    "DigestRunRecord",
    "DigestScheduleRecord",
    "DocumentAggregate",
    "DocumentRecord",
    "DocumentRepo",
    "IdempotencyConflict",
    "IdempotencyRecord",
    "IdempotencyRepo",
    "IdempotencyState",
    "Lifecycle",
    "Standing",
    "Store",
    "alembic_config",
    "create_engine",
    "current_revision",
    "format_ref",
    "head_revision",
    "metadata",
    "migrate",
    "normalize_url",
    "standing",
    "standing_case",
    "standing_in",
    "upgrade",
    "utc_now",
    "write_engine",
]

"""Storage: SQLAlchemy 2 (async) on SQLite or PostgreSQL, with Alembic migrations.

`Store` bundles the repositories; `upgrade` / `migrate` run the migrations shipped in
`commands/ledger/migrations`; `create_engine` sets the SQLite pragmas and pool sizes the rest of the
code relies on.
"""

from __future__ import annotations

from commands.ledger.db import DEFAULT_DATABASE_URL, create_engine, normalize_url, utc_now, write_engine
from commands.ledger.migrate import alembic_config, current_revision, head_revision, migrate, upgrade
from commands.ledger.repo import (
    REF_PREFIX,
    ApprovalRecord,
    ApprovalRepo,
    AuditEventRecord,
    AuditRepo,
    CallbackEventRecord,
    CallbackRepo,
    Claim,
    ClosureChange,
    ClosureCheckRecord,
    ClosureRepo,
    DigestRepo,
    DigestRunRecord,
    DigestScheduleRecord,
    DocumentAggregate,
    DocumentRecord,
    DocumentRepo,
    IdempotencyConflict,
    IdempotencyRecord,
    IdempotencyRepo,
    Store,
    format_ref,
)
from commands.ledger.schema import metadata
from commands.ledger.vocabulary import (
    GONE_STATES,
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
    "REF_PREFIX",
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
    "upgrade",
    "utc_now",
    "write_engine",
]

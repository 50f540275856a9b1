"""Speed: indexes for every time window the digest reads, and KRW issued per hour kept by triggers.

At 1,000,000 documents no index served the digest's windows (``issued_at``, ``updated_at``),
so each window query read the table: seconds per digest. The indexes below serve each query
(checked with EXPLAIN on both databases in tests/commands/ledger/test_digest_indexes.py); the
covering ones let an aggregate read the index alone. The 14-day chart still had to read two
weeks of documents, so `issued_hourly` keeps KRW issued per UTC hour, provider and channel,
maintained by triggers on `documents` and filled here from the documents already there.
``ix_documents_provider_state`` is replaced by ``ix_documents_provider_open``, which starts with
the same two columns.

"Stands issued" is `standing()`: lifecycle issued or destroying, and a provider state that is
not gone (canceled, deleted, destroyed) or not known yet.

A later migration that rebuilds `documents` on SQLite (``batch_alter_table`` copies the table)
drops these triggers and must create them again; tests/commands/ledger/test_issued_hourly.py
fails at head if it does not.

Revision ID: 0005_speed
Revises: 0006_workspaces
Create Date: 2026-12-06 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0005_speed'
down_revision: str | None = '0008_steps'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ('ix_documents_issued_window', 'documents',
     ('issued_at', 'currency', 'lifecycle', 'state', 'provider', 'sandbox', 'total', 'channel_id')),
    ('ix_documents_provider_open', 'documents',
     ('provider', 'state', 'lifecycle', 'currency', 'total', 'due_date', 'channel_id')),
    ('ix_documents_state_due', 'documents',
     ('state', 'due_date', 'lifecycle', 'provider', 'currency', 'total', 'channel_id')),
    ('ix_documents_lifecycle_updated_at', 'documents', ('lifecycle', 'updated_at')),
    ('ix_documents_state_window', 'documents',
     ('state', 'updated_at', 'lifecycle', 'provider', 'currency', 'sandbox', 'total', 'channel_id')),
    ('ix_documents_buyer_bizno', 'documents', ('buyer_bizno',)),
    ('ix_approval_requests_state_created_at_id', 'approval_requests', ('state', 'created_at', 'id')),
)

_KEY = 'hour, provider, currency, channel_id'


def _issued(row: str) -> str:
    """SQL: the row (NEW or OLD, or a table name) stands issued and has an issue time."""
    return (f"{row}.issued_at IS NOT NULL AND {row}.lifecycle IN ('destroying', 'issued') "
            f"AND ({row}.state IS NULL OR {row}.state NOT IN ('canceled', 'deleted', 'destroyed'))")


def _hour(row: str, dialect: str) -> str:
    if dialect == 'postgresql':
        return f"date_trunc('hour', {row}.issued_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    # SQLite stores naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' (UtcDateTime): the same form for the hour
    return f"substr({row}.issued_at, 1, 13) || ':00:00.000000'"


def _add(row: str, dialect: str) -> str:
    return (f"INSERT INTO issued_hourly ({_KEY}, count, amount) "
            f"SELECT {_hour(row, dialect)}, {row}.provider, {row}.currency, coalesce({row}.channel_id, ''), 1, "
            f"coalesce({row}.total, 0) WHERE {_issued(row)} "
            f"ON CONFLICT ({_KEY}) DO UPDATE SET count = issued_hourly.count + excluded.count, "
            f"amount = issued_hourly.amount + excluded.amount")


def _remove(row: str, dialect: str) -> str:
    return (f"UPDATE issued_hourly SET count = count - 1, amount = amount - coalesce({row}.total, 0) "
            f"WHERE hour = {_hour(row, dialect)} AND provider = {row}.provider AND currency = {row}.currency "
            f"AND channel_id = coalesce({row}.channel_id, '') AND {_issued(row)}")


_WATCHED = 'issued_at, total, currency, lifecycle, state, provider, channel_id'


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER documents_issued_hourly_insert AFTER INSERT ON documents BEGIN {_add('NEW', 'sqlite')}; END",
        f"CREATE TRIGGER documents_issued_hourly_update AFTER UPDATE OF {_WATCHED} ON documents "
        f"BEGIN {_remove('OLD', 'sqlite')}; {_add('NEW', 'sqlite')}; END",
        f"CREATE TRIGGER documents_issued_hourly_delete AFTER DELETE ON documents BEGIN {_remove('OLD', 'sqlite')}; END",
    ]


def _postgresql_triggers() -> list[str]:
    return [
        "CREATE FUNCTION documents_issued_hourly() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {_remove('OLD', 'postgresql')}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_add('NEW', 'postgresql')}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER documents_issued_hourly_insert AFTER INSERT OR DELETE ON documents "
        "FOR EACH ROW EXECUTE FUNCTION documents_issued_hourly()",
        f"CREATE TRIGGER documents_issued_hourly_update AFTER UPDATE OF {_WATCHED} ON documents "
        "FOR EACH ROW EXECUTE FUNCTION documents_issued_hourly()",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(op.f('ix_documents_provider_state'), table_name='documents')
    for name, table, columns in _INDEXES:
        op.create_index(name, table, list(columns))
    op.create_table('issued_hourly',
    sa.Column('hour', TIMESTAMP, nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('hour', 'provider', 'currency', 'channel_id', name=op.f('pk_issued_hourly'))
    )
    op.execute(f"INSERT INTO issued_hourly ({_KEY}, count, amount) "
               f"SELECT {_hour('documents', dialect)}, provider, currency, coalesce(channel_id, ''), count(*), "
               f"coalesce(sum(coalesce(total, 0)), 0) FROM documents WHERE {_issued('documents')} "
               f"GROUP BY {_hour('documents', dialect)}, provider, currency, coalesce(channel_id, '')")
    for statement in (_postgresql_triggers() if dialect == 'postgresql' else _sqlite_triggers()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in ('documents_issued_hourly_insert', 'documents_issued_hourly_update',
                    'documents_issued_hourly_delete'):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON documents" if dialect == 'postgresql' else ''))
    if dialect == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS documents_issued_hourly()")
    op.drop_table('issued_hourly')
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index(op.f('ix_documents_provider_state'), 'documents', ['provider', 'state'])

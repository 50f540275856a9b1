"""Digest aggregates: unpaid documents per due day, kept exact by triggers like `issued_hourly`; two indexes.

At 1,000,000 documents the digest's unpaid, expiring and overdue totals each read every unpaid
document (index-only, but about 70,000 index entries per provider): they grew with the table.
`unpaid_daily` keeps, per due day, provider, currency and channel, how many documents are unpaid
and their amount, so each total reads a few rows per due day whatever the size of the table.
"Unpaid" is the lists' own filter: ``state = 'unpaid'`` and lifecycle issued or destroying
(`DocumentRepo.SWEPT_LIFECYCLES`). A document without a due date is filed under `NO_DUE`
(9999-01-01): counted as unpaid, never as overdue or expiring.

Triggers on `documents` keep it after every insert, update of a watched column and delete, on
SQLite and PostgreSQL; the table is filled here from the documents already there. A later
migration that rebuilds `documents` on SQLite (``batch_alter_table``) drops these triggers and
must create them again (tests/commands/ledger/test_unpaid_daily.py fails at head if it does not).

Two more digest statements read far more rows than they keep, at 1,000,000 documents: the
deadlines section's unissued requests written before a month (every pending or failed request
was read and sorted: 0.4 s) and the newest status-sweep record (a day of audit events was read
to find one): `_INDEXES` serves both.

Revision ID: 0011_digestagg
Revises: 0011_leases
Create Date: 2026-11-30 07:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_digestagg'
down_revision: str | None = "0011_budget"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_DUE = '9999-01-01'  # not date.max: asyncpg sends that as 'infinity'
_KEY = 'due_date, provider, currency, channel_id'
_WATCHED = 'state, lifecycle, due_date, provider, currency, total, channel_id'
_TRIGGERS = ('documents_unpaid_daily_insert', 'documents_unpaid_daily_update', 'documents_unpaid_daily_delete')


def _unpaid(row: str) -> str:
    """SQL: the row (NEW, OLD or the table) is on the digest's unpaid lists."""
    return f"{row}.state = 'unpaid' AND {row}.lifecycle IN ('issued', 'destroying')"


def _due_value(row: str, dialect: str) -> str:
    """SQL: the row's due date, `NO_DUE` when it has none (SQLite stores dates as ISO text)."""
    no_due = f"DATE '{NO_DUE}'" if dialect == 'postgresql' else f"'{NO_DUE}'"
    return f"coalesce({row}.due_date, {no_due})"


def _add(row: str, dialect: str) -> str:
    return (f"INSERT INTO unpaid_daily ({_KEY}, count, amount) "
            f"SELECT {_due_value(row, dialect)}, {row}.provider, {row}.currency, coalesce({row}.channel_id, ''), 1, "
            f"coalesce({row}.total, 0) WHERE {_unpaid(row)} "
            f"ON CONFLICT ({_KEY}) DO UPDATE SET count = unpaid_daily.count + excluded.count, "
            f"amount = unpaid_daily.amount + excluded.amount")


def _remove(row: str, dialect: str) -> str:
    return (f"UPDATE unpaid_daily SET count = count - 1, amount = amount - coalesce({row}.total, 0) "
            f"WHERE due_date = {_due_value(row, dialect)} AND provider = {row}.provider "
            f"AND currency = {row}.currency AND channel_id = coalesce({row}.channel_id, '') AND {_unpaid(row)}")


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER documents_unpaid_daily_insert AFTER INSERT ON documents BEGIN {_add('NEW', 'sqlite')}; END",
        f"CREATE TRIGGER documents_unpaid_daily_update AFTER UPDATE OF {_WATCHED} ON documents "
        f"BEGIN {_remove('OLD', 'sqlite')}; {_add('NEW', 'sqlite')}; END",
        f"CREATE TRIGGER documents_unpaid_daily_delete AFTER DELETE ON documents BEGIN {_remove('OLD', 'sqlite')}; END",
    ]


def _postgresql_triggers() -> list[str]:
    return [
        "CREATE FUNCTION documents_unpaid_daily() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {_remove('OLD', 'postgresql')}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_add('NEW', 'postgresql')}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER documents_unpaid_daily_insert AFTER INSERT OR DELETE ON documents "
        "FOR EACH ROW EXECUTE FUNCTION documents_unpaid_daily()",
        f"CREATE TRIGGER documents_unpaid_daily_update AFTER UPDATE OF {_WATCHED} ON documents "
        "FOR EACH ROW EXECUTE FUNCTION documents_unpaid_daily()",
    ]


def fill_sql(dialect: str) -> str:
    """Recount the table from the documents (after a bulk load with the triggers off, too)."""
    due = _due_value('documents', dialect)
    return (f"INSERT INTO unpaid_daily ({_KEY}, count, amount) "
            f"SELECT {due}, provider, currency, coalesce(channel_id, ''), count(*), "
            f"coalesce(sum(coalesce(total, 0)), 0) FROM documents WHERE {_unpaid('documents')} "
            f"GROUP BY {due}, provider, currency, coalesce(channel_id, '')")


def create_triggers(dialect: str) -> None:
    """The triggers, as this migration creates them (for a later migration that rebuilds `documents`)."""
    for statement in (_postgresql_triggers() if dialect == 'postgresql' else _sqlite_triggers()):
        op.execute(statement)


#: digest statements that read many rows to keep a handful (the deadlines section's unissued requests
#: by write date, the newest status-sweep record) or read table rows an index can cover
_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ('ix_documents_unissued_written', 'documents', ('lifecycle', 'write_date', 'kind', 'provider')),
    # covering: the failures' and cancellations' counts and totals read the index, never the rows
    ('ix_documents_lifecycle_window', 'documents',
     ('lifecycle', 'updated_at', 'currency', 'total', 'provider', 'sandbox', 'channel_id')),
    # covering: a closure change's buyer name without a row read per document of that buyer
    ('ix_documents_bizno_name', 'documents', ('buyer_bizno', 'buyer_name')),
    ('ix_audit_events_action_operation_at', 'audit_events', ('action', 'operation', 'at', 'id')),
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, columns in _INDEXES:
        op.create_index(name, table, list(columns))
    op.create_table('unpaid_daily',
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('due_date', 'provider', 'currency', 'channel_id', name=op.f('pk_unpaid_daily'))
    )
    # one provider's unpaid total, all due days (the key leads with the day, for overdue and expiring)
    op.create_index('ix_unpaid_daily_provider', 'unpaid_daily', ['provider', 'due_date'])
    op.execute(fill_sql(dialect))
    create_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON documents" if dialect == 'postgresql' else ''))
    if dialect == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS documents_unpaid_daily()")
    op.drop_index('ix_unpaid_daily_provider', table_name='unpaid_daily')
    op.drop_table('unpaid_daily')
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)

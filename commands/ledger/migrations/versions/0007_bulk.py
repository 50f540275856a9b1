"""Bulk issuance from a file: a batch approved once, its rows (one document each) and its bulkSubmit calls.

`bulk_batches` links one approval request (action ``bulk_issue``) to the documents of one uploaded
file, unique per Slack file id so a double click submits one batch; `bulk_rows` holds each row's
document (its own ref, so its own idempotency key and MgtKey); `bulk_submissions` records every
bulkSubmit before it is sent, so a crash is reconciled with getBulkResult before anything is sent
again. The approval action check gains ``bulk_issue``.

Revision ID: 0007_bulk
Revises: 0004_amend (the lead re-chains)
Create Date: 2026-12-02 03:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0007_bulk'
down_revision: str | None = '0006_workspaces'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIONS_BEFORE = "action IN ('amend', 'destroy', 'issue', 'resend', 'send_nts')"
_ACTIONS_AFTER = "action IN ('amend', 'bulk_issue', 'destroy', 'issue', 'resend', 'send_nts')"


def _action_check(condition: str) -> None:
    with op.batch_alter_table('approval_requests') as batch:
        batch.drop_constraint(op.f('ck_approval_requests_action'), type_='check')
        batch.create_check_constraint(op.f('ck_approval_requests_action'), condition)


def upgrade() -> None:
    _action_check(_ACTIONS_AFTER)
    op.create_table('bulk_batches',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('approval_id', ID, nullable=True),
    sa.Column('file_id', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='KRW', nullable=False),
    sa.Column('progress_channel', sa.String(length=64), nullable=True),
    sa.Column('progress_ts', sa.String(length=32), nullable=True),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_requests.id'],
                            name=op.f('fk_bulk_batches_approval_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_batches')),
    sa.UniqueConstraint('file_id', name=op.f('uq_bulk_batches_file_id'))
    )
    op.create_index(op.f('ix_bulk_batches_approval_id'), 'bulk_batches', ['approval_id'], unique=True)
    op.create_table('bulk_rows',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('batch_id', ID, nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('document_id', ID, nullable=False),
    sa.Column('submit_id', sa.String(length=40), nullable=True),
    sa.Column('result_code', sa.String(length=64), nullable=True),
    sa.Column('result_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['bulk_batches.id'],
                            name=op.f('fk_bulk_rows_batch_id_bulk_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                            name=op.f('fk_bulk_rows_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_rows')),
    sa.UniqueConstraint('batch_id', 'row_number', name=op.f('uq_bulk_rows_batch_id_row_number')),
    sa.UniqueConstraint('document_id', name=op.f('uq_bulk_rows_document_id'))
    )
    op.create_table('bulk_submissions',
    sa.Column('submit_id', sa.String(length=40), nullable=False),
    sa.Column('batch_id', ID, nullable=False),
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('receipt_id', sa.String(length=40), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.CheckConstraint("state IN ('absent', 'done', 'received', 'sending')", name=op.f('ck_bulk_submissions_state')),
    sa.ForeignKeyConstraint(['batch_id'], ['bulk_batches.id'],
                            name=op.f('fk_bulk_submissions_batch_id_bulk_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('submit_id', name=op.f('pk_bulk_submissions'))
    )
    op.create_index(op.f('ix_bulk_submissions_batch_id'), 'bulk_submissions', ['batch_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_bulk_submissions_batch_id'), table_name='bulk_submissions')
    op.drop_table('bulk_submissions')
    op.drop_table('bulk_rows')
    op.drop_index(op.f('ix_bulk_batches_approval_id'), table_name='bulk_batches')
    op.drop_table('bulk_batches')
    op.execute(sa.text("DELETE FROM approval_requests WHERE action = 'bulk_issue'"))
    _action_check(_ACTIONS_BEFORE)

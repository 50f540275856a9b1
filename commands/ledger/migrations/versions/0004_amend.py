"""Amendments (수정세금계산서) and sending to the NTS now (즉시전송).

A document may amend another (`amends_document_id`, with the NTS reason `modify_code` 1..6), so
status, list, digest and export can show the original with its amendments; approval requests
gain the actions ``amend`` and ``send_nts`` (the CHECK constraint is rebuilt; SQLite needs a
batch copy for that).

Revision ID: 0004_amend
Revises: 0003_checks
Create Date: 2026-12-02 03:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision: str = '0004_amend'
down_revision: str | None = '0003_checks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ACTIONS = "action IN ('destroy', 'issue', 'resend')"
_NEW_ACTIONS = "action IN ('amend', 'destroy', 'issue', 'resend', 'send_nts')"


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('amends_document_id', ID, nullable=True))
        batch.add_column(sa.Column('modify_code', sa.SmallInteger(), nullable=True))
        batch.create_foreign_key(op.f('fk_documents_amends_document_id_documents'), 'documents',
                                 ['amends_document_id'], ['id'], ondelete='RESTRICT')
        batch.create_index(op.f('ix_documents_amends_document_id'), ['amends_document_id'])
    with op.batch_alter_table('approval_requests') as batch:
        batch.drop_constraint(op.f('ck_approval_requests_action'), type_='check')
        batch.create_check_constraint(op.f('ck_approval_requests_action'), _NEW_ACTIONS)


def downgrade() -> None:
    op.execute("DELETE FROM approval_requests WHERE action IN ('amend', 'send_nts')")
    with op.batch_alter_table('approval_requests') as batch:
        batch.drop_constraint(op.f('ck_approval_requests_action'), type_='check')
        batch.create_check_constraint(op.f('ck_approval_requests_action'), _OLD_ACTIONS)
    with op.batch_alter_table('documents') as batch:
        batch.drop_index(op.f('ix_documents_amends_document_id'))
        batch.drop_constraint(op.f('fk_documents_amends_document_id_documents'), type_='foreignkey')
        batch.drop_column('modify_code')
        batch.drop_column('amends_document_id')

"""Checks before approval: N-of-M approvals and closure overrides.

`approval_votes` holds one row per approver who approved a request, unique per (request,
approver), so two clicks by one person count once and two people's clicks both count;
`approval_requests.required_approvals` says how many are needed and `override_reason` why a
request for a closed or unregistered buyer was made anyway.

Revision ID: 0003_checks
Revises: 0002
Create Date: 2026-12-01 03:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0003_checks'
down_revision: str | None = '0003_access'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approval_requests') as batch:
        batch.add_column(sa.Column('required_approvals', sa.Integer(), server_default='1', nullable=False))
        batch.add_column(sa.Column('override_reason', sa.Text(), nullable=True))
    op.create_table('approval_votes',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('approval_id', ID, nullable=False),
    sa.Column('approver', sa.String(length=64), nullable=False),
    sa.Column('voted_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_requests.id'],
                            name=op.f('fk_approval_votes_approval_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_votes')),
    sa.UniqueConstraint('approval_id', 'approver', name=op.f('uq_approval_votes_approval_id_approver'))
    )


def downgrade() -> None:
    op.drop_table('approval_votes')
    with op.batch_alter_table('approval_requests') as batch:
        batch.drop_column('override_reason')
        batch.drop_column('required_approvals')

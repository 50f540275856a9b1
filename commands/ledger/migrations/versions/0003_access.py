"""Access: the workspace (team, enterprise) a request came from, and the request it resubmits.

A decision is refused when it comes from another workspace than the request's, so the team
and enterprise are recorded on every request; rows written before this migration have none
and are judged as before. `resubmits_request_id` links an edited, resubmitted issue request
to the rejected, expired or failed one it replaces.

Revision ID: 0003_access
Revises: 0002
Create Date: 2026-12-05 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision: str = '0003_access'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approval_requests') as batch:
        batch.add_column(sa.Column('team_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('enterprise_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('resubmits_request_id', ID, nullable=True))
        batch.create_foreign_key(op.f('fk_approval_requests_resubmits_request_id_approval_requests'),
                                 'approval_requests', ['resubmits_request_id'], ['id'], ondelete='SET NULL')
        batch.create_index(op.f('ix_approval_requests_resubmits_request_id'), ['resubmits_request_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('approval_requests') as batch:
        batch.drop_index(op.f('ix_approval_requests_resubmits_request_id'))
        batch.drop_constraint(op.f('fk_approval_requests_resubmits_request_id_approval_requests'),
                              type_='foreignkey')
        batch.drop_column('resubmits_request_id')
        batch.drop_column('enterprise_id')
        batch.drop_column('team_id')

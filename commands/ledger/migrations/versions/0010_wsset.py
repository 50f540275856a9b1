"""Per-workspace settings, and the workspace of audit events and digests.

``workspace_settings`` holds what an admin changed from App Home for one workspace (a row per
team, or per Enterprise Grid organisation for an org-wide install): the values over the
environment's defaults, and the workspace's provider credentials encrypted (Fernet, key from
INVOICEBOT_ENCRYPTION_KEY). Audit events, digest schedules and digest posts now record the
workspace they belong to, so one workspace's App Home and digests never show another's; rows
written before have none and stay visible to every workspace, as documents' do.

Revision ID: 0010_wsset
Revises: 0008_steps
Create Date: 2026-12-09 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0010_wsset'
down_revision: str | None = '0005_speed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCOPED = ('audit_events', 'digest_schedules', 'digest_posts')


def upgrade() -> None:
    op.create_table(
        'workspace_settings',
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('enterprise_id', sa.String(length=32), nullable=True),
        sa.Column('overrides', JSON, nullable=True),
        sa.Column('credentials', sa.Text(), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint('team_id', name=op.f('pk_workspace_settings')),
    )
    for table in _SCOPED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('team_id', sa.String(length=32), nullable=True))
            batch.add_column(sa.Column('enterprise_id', sa.String(length=32), nullable=True))
            batch.create_index(op.f(f'ix_{table}_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    for table in reversed(_SCOPED):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f'ix_{table}_team_id'))
            batch.drop_column('enterprise_id')
            batch.drop_column('team_id')
    op.drop_table('workspace_settings')

"""Replay keys: a state-changing Slack request is handled once, however often it arrives.

A signed request may be replayed inside Slack's five-minute window, and Slack retries events;
the key of each handled request is inserted here first (unique), so a second delivery, on
any replica, finds it and does nothing.

Revision ID: 0003_replay
Revises: 0003_checks
Create Date: 2026-12-01 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0003_replay'
down_revision: str | None = '0007_bulk'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('replay_keys',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('received_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_replay_keys'))
    )
    op.create_index(op.f('ix_replay_keys_received_at'), 'replay_keys', ['received_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_replay_keys_received_at'), table_name='replay_keys')
    op.drop_table('replay_keys')

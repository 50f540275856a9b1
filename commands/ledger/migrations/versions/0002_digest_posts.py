"""Digest posts: every digest that reached a channel, scheduled or asked for with `digest now`.

`digest now` claims no day (it must not stop the day's scheduled digest), so until now it left
only an audit event, and "the previous digest of this channel" (a digest's window) and App Home's
"last digest" could not see it. Posted scheduled runs are copied over so existing windows hold.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 03:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_posts',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('posted_at', TIMESTAMP, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.Column('summary', JSON, nullable=True),
    sa.CheckConstraint("kind IN ('now', 'scheduled')", name=op.f('ck_digest_posts_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_posts'))
    )
    op.create_index(op.f('ix_digest_posts_channel_id_posted_at'), 'digest_posts', ['channel_id', 'posted_at'])
    op.create_index(op.f('ix_digest_posts_posted_at'), 'digest_posts', ['posted_at'])
    op.execute(
        "INSERT INTO digest_posts (channel_id, posted_at, kind, day, message_ts, summary) "
        "SELECT channel_id, posted_at, 'scheduled', day, message_ts, summary FROM digest_runs "
        "WHERE posted_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_digest_posts_posted_at'), table_name='digest_posts')
    op.drop_index(op.f('ix_digest_posts_channel_id_posted_at'), table_name='digest_posts')
    op.drop_table('digest_posts')

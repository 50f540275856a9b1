"""User preferences: the language each person chose with `/invoice lang`, and their Slack locale.

A person's messages (ephemeral answers, DMs, modals, App Home) use their chosen language, else
the workspace setting, else the locale Slack reports; channel messages in "auto" mode use the
language most of these people read.

Revision ID: 0003_i18n
Revises: 0010_wsset
Create Date: 2026-12-01 03:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0003_i18n'
down_revision: str | None = '0010_wsset'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('user_prefs',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('slack_locale', sa.String(length=16), nullable=True),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.CheckConstraint("language IN ('en', 'ko')", name=op.f('ck_user_prefs_language')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_prefs'))
    )


def downgrade() -> None:
    op.drop_table('user_prefs')

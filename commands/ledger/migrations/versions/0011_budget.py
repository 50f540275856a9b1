"""Provider call budgets: calls spent per provider, credentials scope and provider day.

Hiworks allows 1,000 calls a day per office (seed 004, 제한 정책); the status sweep plans its
Hiworks reads within what is left today, and restarts and replicas must see the same count,
so it lives in the database (`commands.ledger.call_budget`).

Revision ID: 0011_budget
Revises: 0011_leases
Create Date: 2026-11-30 07:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0011_budget'
down_revision: str | None = '0011_leases'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('provider_calls',
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('provider', 'scope', 'day', name=op.f('pk_provider_calls'))
    )


def downgrade() -> None:
    op.drop_table('provider_calls')

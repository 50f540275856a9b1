"""Leases on digest and sweep run claims: a claim records its holder and an expiry.

Until now a run claim was final at its INSERT, so a replica killed between claiming and
posting lost that day's digest (or sweep). The holder now renews ``lease_expires_at`` while it
works and sets ``done_at`` at the end; another replica takes over an unfinished claim whose
lease ran out, by compare-and-set, and counts it in ``takeovers``. Claims made before this
migration had no lease: they are treated as done (they were at-most-once then).

Revision ID: 0011_leases
Revises: 0003_i18n
Create Date: 2026-11-30 07:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0011_leases'
down_revision: str | None = '0003_i18n'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('digest_runs') as batch:
        batch.add_column(sa.Column('lease_expires_at', TIMESTAMP, nullable=True))
        batch.add_column(sa.Column('done_at', TIMESTAMP, nullable=True))
        batch.add_column(sa.Column('takeovers', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE digest_runs SET done_at = COALESCE(posted_at, claimed_at)")


def downgrade() -> None:
    with op.batch_alter_table('digest_runs') as batch:
        batch.drop_column('takeovers')
        batch.drop_column('done_at')
        batch.drop_column('lease_expires_at')

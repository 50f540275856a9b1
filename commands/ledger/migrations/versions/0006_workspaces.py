"""Workspaces: the team (and Enterprise Grid organisation) a document belongs to.

Requests already record where they came from (0003_access); the documents they create now do
too, so a workspace's lists, statuses and exports read only its own documents. Rows written
before have none and stay visible to every workspace (`commands.ledger.workspaces`).

Revision ID: 0006_workspaces
Revises: 0006_oauth
Create Date: 2026-12-08 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_workspaces'
down_revision: str | None = '0006_oauth'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('team_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('enterprise_id', sa.String(length=32), nullable=True))
        batch.create_index(op.f('ix_documents_team_id_id'), ['team_id', 'id'], unique=False)
    # a request's document belongs where the request came from
    op.execute(
        "UPDATE documents SET team_id = (SELECT a.team_id FROM approval_requests a "
        "WHERE a.document_id = documents.id AND a.action = 'issue' ORDER BY a.id LIMIT 1), "
        "enterprise_id = (SELECT a.enterprise_id FROM approval_requests a "
        "WHERE a.document_id = documents.id AND a.action = 'issue' ORDER BY a.id LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.drop_index(op.f('ix_documents_team_id_id'))
        batch.drop_column('enterprise_id')
        batch.drop_column('team_id')

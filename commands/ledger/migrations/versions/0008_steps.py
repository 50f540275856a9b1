"""Step executions: Workflow Builder custom steps waiting on a request.

"Request an invoice" and "Wait for approval" stay open until a request is decided (and issued);
the function execution id is kept with the request so the step completes from the request's
outcome, in whichever process sees it, even after a restart.

Revision ID: 0008_steps
Revises: 0003_replay
Create Date: 2026-11-30 05:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TIMESTAMP = sa.DateTime(timezone=True)

revision: str = '0008_steps'
down_revision: str | None = '0003_replay'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('step_executions',
    sa.Column('function_execution_id', sa.String(length=64), nullable=False),
    sa.Column('callback_id', sa.String(length=64), nullable=False),
    sa.Column('approval_id', ID, nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('bot_token', sa.Text(), nullable=True),
    sa.Column('team_id', sa.String(length=32), nullable=True),
    sa.Column('enterprise_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('completed_at', TIMESTAMP, nullable=True),
    sa.CheckConstraint("state IN ('done', 'open')", name=op.f('ck_step_executions_state')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_requests.id'],
                            name=op.f('fk_step_executions_approval_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('function_execution_id', name=op.f('pk_step_executions'))
    )
    op.create_index(op.f('ix_step_executions_approval_id'), 'step_executions', ['approval_id'])
    op.create_index(op.f('ix_step_executions_state'), 'step_executions', ['state'])


def downgrade() -> None:
    op.drop_index(op.f('ix_step_executions_state'), table_name='step_executions')
    op.drop_index(op.f('ix_step_executions_approval_id'), table_name='step_executions')
    op.drop_table('step_executions')

"""The tables slack_sdk's SQLAlchemy installation and state stores read and write.

`bot.oauth` hands the ledger's engine to `AsyncSQLAlchemyInstallationStore` and
`AsyncSQLAlchemyOAuthStateStore`, which build their own `Table` objects with these exact
names and columns (slack_sdk 3.x, ``build_installations_table`` / ``build_bots_table`` /
``build_oauth_states_table``). They are repeated here, not imported, because the ledger knows
no Slack library, and so that the Alembic migration (`0006_oauth`) and the schema test describe
every table in the database; a test compares them with slack_sdk's own definitions, so an
upgrade of slack_sdk that adds a column fails it instead of failing an install.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["BOTS", "INSTALLATIONS", "OAUTH_STATES", "build_oauth_tables"]

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"


def _installation_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("enterprise_name", sa.String(200)),
        sa.Column("enterprise_url", sa.String(200)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("team_name", sa.String(200)),
        sa.Column("bot_token", sa.String(200)),
        sa.Column("bot_id", sa.String(32)),
        sa.Column("bot_user_id", sa.String(32)),
        sa.Column("bot_scopes", sa.String(1000)),
        sa.Column("bot_refresh_token", sa.String(200)),
        sa.Column("bot_token_expires_at", sa.DateTime()),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_token", sa.String(200)),
        sa.Column("user_scopes", sa.String(1000)),
        sa.Column("user_refresh_token", sa.String(200)),
        sa.Column("user_token_expires_at", sa.DateTime()),
        sa.Column("incoming_webhook_url", sa.String(200)),
        sa.Column("incoming_webhook_channel", sa.String(200)),
        sa.Column("incoming_webhook_channel_id", sa.String(200)),
        sa.Column("incoming_webhook_configuration_url", sa.String(200)),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.String(32)),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
    ]


def _bot_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("enterprise_name", sa.String(200)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("team_name", sa.String(200)),
        sa.Column("bot_token", sa.String(200)),
        sa.Column("bot_id", sa.String(32)),
        sa.Column("bot_user_id", sa.String(32)),
        sa.Column("bot_scopes", sa.String(1000)),
        sa.Column("bot_refresh_token", sa.String(200)),
        sa.Column("bot_token_expires_at", sa.DateTime()),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
    ]


def build_oauth_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    """The installations, bots and OAuth states tables, added to `metadata`."""
    installations = sa.Table(
        INSTALLATIONS, metadata, *_installation_columns(),
        sa.Index(f"{INSTALLATIONS}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
    )
    bots = sa.Table(
        BOTS, metadata, *_bot_columns(),
        sa.Index(f"{BOTS}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    )
    states = sa.Table(
        OAUTH_STATES, metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
    )
    return installations, bots, states

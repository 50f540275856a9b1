"""The ledger's copy of slack_sdk's installation and state tables matches slack_sdk's own, so
the migration creates what `AsyncSQLAlchemyInstallationStore` writes."""

from __future__ import annotations

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from commands.ledger.oauth_tables import BOTS, INSTALLATIONS, OAUTH_STATES, build_oauth_tables


def _shape(table: sa.Table) -> list[tuple[str, str, bool]]:
    return [(c.name, repr(c.type), bool(c.nullable)) for c in table.columns]


def test_the_tables_are_slack_sdks() -> None:
    ours = build_oauth_tables(sa.MetaData())
    theirs_meta = sa.MetaData()
    theirs = (
        AsyncSQLAlchemyInstallationStore.build_installations_table(theirs_meta, INSTALLATIONS),
        AsyncSQLAlchemyInstallationStore.build_bots_table(theirs_meta, BOTS),
        AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(theirs_meta, OAUTH_STATES),
    )
    for mine, sdk in zip(ours, theirs, strict=True):
        assert mine.name == sdk.name
        assert _shape(mine) == _shape(sdk)
        assert {(i.name, tuple(c.name for c in i.columns)) for i in mine.indexes} == {
            (i.name, tuple(c.name for c in i.columns)) for i in sdk.indexes}

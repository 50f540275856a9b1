"""The column types and the one `MetaData` every table of the ledger is declared on.

Kept apart from `commands.ledger.schema` so the tables can live in more than one module
(`schema_bulk`) without importing each other.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["ID_TYPE", "JSON_TYPE", "NAMING_CONVENTION", "UtcDateTime", "metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)



class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no timezone type, so values are stored as naive UTC there (ISO text that
    sorts and compares correctly) and come back tagged as UTC; PostgreSQL uses timestamptz.
    Naive datetimes are refused on the way in: a silent local-time guess is how digests
    end up a day off.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class JsonDocument(TypeDecorator[Any]):
    """JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.

    What ``sa.JSON().with_variant(postgresql.JSONB(), "postgresql")`` says, with PostgreSQL's type
    chosen when a PostgreSQL database is used: that variant imported `sqlalchemy.dialects.postgresql`
    (every PostgreSQL driver's module, 2 MB) into a bot that runs on SQLite (bench/start.py).
    """

    impl = sa.JSON
    cache_ok = True
    #: as `sa.JSON()`: Python None is stored as JSON ``null``, values are not hashable
    should_evaluate_none = True
    hashable = False

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


JSON_TYPE: Any = JsonDocument()
#: 64-bit ids on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
ID_TYPE: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(column: str, values: frozenset[str] | type[StrEnum]) -> str:
    allowed = ", ".join(f"'{v}'" for v in sorted(str(v) for v in values))
    return f"{column} IN ({allowed})"

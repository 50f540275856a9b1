"""Per-person preferences: the language a person chose, and the locale Slack reports for them.

One row per Slack user the bot has met. `language` is what they typed with `/invoice lang`
(None: they did not choose, their Slack locale decides); `slack_locale` is the last locale
`users.info` reported, kept so the workspace's "auto" channel language can be the language
most of its people read, across restarts and instances.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo, now_or
from commands.ledger.schema import user_prefs

__all__ = ["UserPrefRecord", "UserPrefsRepo"]


@dataclass(frozen=True, slots=True)
class UserPrefRecord:
    """One row of `user_prefs`."""

    user_id: str
    language: str | None
    slack_locale: str | None
    updated_at: dt.datetime


class UserPrefsRepo(Repo):
    """Read and upsert `user_prefs` (one row per user, keyed by the Slack user id)."""

    async def get(self, user_id: str) -> UserPrefRecord | None:
        stmt = sa.select(user_prefs).where(user_prefs.c.user_id == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        return UserPrefRecord(row["user_id"], row["language"], row["slack_locale"], row["updated_at"])

    async def set_language(self, user_id: str, language: str | None, *, now: dt.datetime | None = None) -> None:
        """Remember the language `user_id` chose (None: go back to their Slack locale)."""
        await self._upsert(user_id, {"language": language, "updated_at": now_or(now)})

    async def record_slack_locale(self, user_id: str, locale: str, *, now: dt.datetime | None = None) -> None:
        """Remember the locale Slack reported, leaving a chosen language alone."""
        await self._upsert(user_id, {"slack_locale": locale[:16], "updated_at": now_or(now)})

    async def _upsert(self, user_id: str, values: dict[str, Any]) -> None:
        stmt = self._db.insert(user_prefs).values(user_id=user_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[user_prefs.c.user_id], set_=values)
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def locale_counts(self) -> Counter[tuple[str | None, str | None]]:
        """How many people have each (chosen language, Slack locale) pair."""
        c = user_prefs.c
        stmt = sa.select(c.language, c.slack_locale, sa.func.count()).group_by(c.language, c.slack_locale)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return Counter({(language, locale): int(count) for language, locale, count in rows})

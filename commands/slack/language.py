"""Which language a person reads, and which a channel reads.

A person (ephemeral answers, DMs, modals, App Home) reads, first that wins:

1. the language they chose with ``/invoice lang ko|en`` (the `user_prefs` table);
2. the workspace's language when it is ``ko`` or ``en`` (App Home → Settings → Language for
   that workspace, else ``INVOICEBOT_LANGUAGE``);
3. their Slack locale (``users.info`` with ``include_locale``), when it is one we speak;
4. the channel language below.

A channel (approval cards, digests, thread notices) is read by many people at once, so it
reads the workspace's language: its App Home setting when ``ko`` or ``en``, else
``INVOICEBOT_LANGUAGE`` when set, else ("auto") the language most people of this installation
read (their choice, else their Slack locale), and Korean when nobody is known yet or it is a
tie: the bot's users are mostly Korean finance teams.

"The workspace" is the one being served (`commands.workflow.access.current_workspace`): a
request's, or the one a job binds for the row it works on (a scheduled digest binds its
schedule's workspace, `bot.digest_runs`); work bound to no workspace reads the environment's.

Answers are cached for `ttl` seconds (a click costs no lookup most of the time), and a lookup
already under way is shared: a burst of requests from a person not yet known (or from many, for
the channel majority) costs one ledger read and one ``users.info``, not one each. A failed Slack
lookup falls back to the channel language and is never an error; it is tried again after
`FAILED_LOOKUP_RETRY` seconds, not after the whole `ttl`. A channel majority counted while
someone's language became known is not cached (the next asker counts again).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import SUPPORTED_LOCALES, normalise_locale
from commands.ledger import Store
from commands.slack.clients import current_client

__all__ = ["AUTO", "FAILED_LOOKUP_RETRY", "FALLBACK_LANGUAGE", "Languages"]

log = logging.getLogger("invoicebot.language")

AUTO = "auto"
#: the channel language when nobody is known yet (see the module docstring)
FALLBACK_LANGUAGE = "ko"
#: seconds before a person whose Slack lookup failed (timed out, refused) is looked up again: a
#: moment's slowness must not leave them reading the channel language for the whole `ttl`
FAILED_LOOKUP_RETRY = 60.0

T = TypeVar("T")


class Languages:
    """Answers `for_person(user)` and `for_channel()`; `choose` records ``/invoice lang``.

    Args:
        setting: ``INVOICEBOT_LANGUAGE``: ``ko``, ``en`` or ``auto``.
        store: where choices and Slack locales are kept (None: nothing is remembered).
        client: the Web API client for ``users.info`` (None: Slack locales are not asked).
        ttl: seconds an answer is trusted.
        lookup_timeout: the longest a ``users.info`` call may hold a request (Slack's 3 s ack).
    """

    def __init__(self, setting: str = AUTO, *, store: Store | None = None, client: AsyncWebClient | None = None,
                 ttl: float = 3600.0, lookup_timeout: float = 1.5,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if setting != AUTO and setting not in SUPPORTED_LOCALES:
            raise ValueError(f"unknown language {setting!r}: use ko, en or auto")
        self.setting = setting
        self._store = store
        self._client = client
        self._ttl = ttl
        self._timeout = lookup_timeout
        self._monotonic = monotonic
        #: per person: (when, their choice, whether Slack was asked, their Slack locale's language); the
        #: workspace setting is read apart, so a change on the settings page applies at once
        self._people: dict[str, tuple[float, str | None, bool, str | None]] = {}
        self._channel: tuple[float, str] | None = None
        self._setting_source: Callable[[], Awaitable[str | None]] | None = None
        #: lookups under way, by (what, whom): later askers await the first one's answer
        self._inflight: dict[tuple[str, str], asyncio.Future[Any]] = {}
        #: bumped by every `choose`, so an answer read before the choice is not cached after it
        self._choices = 0
        #: bumped by every choice and every Slack locale learned: a channel majority counted before
        #: either is not cached after it (a read under way when the first person became known)
        self._people_known = 0

    def use_workspace_setting(self, source: Callable[[], Awaitable[str | None]]) -> None:
        """Read the language of the workspace being served (its settings) instead of `setting`."""
        self._setting_source = source

    async def fixed(self) -> str | None:
        """The workspace language when it is set (``ko``/``en``), None in "auto"."""
        setting = self.setting
        if self._setting_source is not None:
            setting = await self._setting_source() or setting
        return setting if setting in SUPPORTED_LOCALES else None

    async def for_person(self, user_id: str | None) -> str:
        """The language to write to `user_id` in (see the module docstring for the order)."""
        if not user_id:
            return await self.for_channel()
        choices = self._choices
        cached = self._people.get(user_id)
        if cached and self._monotonic() - cached[0] < self._ttl:
            at, chosen, asked, slack = cached
        else:
            at, asked, slack = self._monotonic(), False, None
            chosen = await self._once("chosen", user_id, lambda: self.chosen(user_id))
        fixed = None if chosen else await self.fixed()
        if not chosen and not fixed and not asked:
            asked, (found, slack) = True, await self._once("slack", user_id, lambda: self._slack_language(user_id))
            if not found:  # kept for `FAILED_LOOKUP_RETRY` seconds instead of the whole `ttl`
                at = self._monotonic() - self._ttl + min(self._ttl, FAILED_LOOKUP_RETRY)
        if choices == self._choices:  # no choice was recorded meanwhile: what was read still holds
            self._people[user_id] = (at, chosen, asked, slack)
        return chosen or fixed or slack or await self.for_channel()

    async def _once(self, what: str, key: str, read: Callable[[], Awaitable[T]]) -> T:
        """`read()`, shared with every caller asking the same (`what`, `key`) while it runs.

        The read runs as a task of its own (shielded), so a caller that is cancelled does not
        cancel it for the others."""
        name = (what, key)
        running = self._inflight.get(name)
        if running is None:
            task: asyncio.Future[Any] = asyncio.ensure_future(read())
            task.add_done_callback(functools.partial(self._landed, name))
            self._inflight[name] = running = task
        return cast(T, await asyncio.shield(running))

    def _landed(self, name: tuple[str, str], done: asyncio.Future[Any]) -> None:
        if self._inflight.get(name) is done:
            del self._inflight[name]

    async def for_channel(self) -> str:
        """The language of messages many people read (cards, digests, thread notices)."""
        fixed = await self.fixed()
        if fixed:
            return fixed
        if self._channel and self._monotonic() - self._channel[0] < self._ttl:
            return self._channel[1]
        known = self._people_known
        language = await self._once("channel", "", self._majority)
        if known == self._people_known:
            self._channel = (self._monotonic(), language)
        return language

    def _forget_majority(self) -> None:
        """Someone's language became known: the channel majority is counted again by the next asker
        (a count under way may predate it; its own askers still get it, nobody else does)."""
        self._people_known += 1
        self._channel = None
        self._inflight.pop(("channel", ""), None)

    async def _majority(self) -> str:
        if self._store is None:
            return FALLBACK_LANGUAGE
        return majority_language(await self._store.user_prefs.locale_counts())

    async def choose(self, user_id: str, language: str | None) -> None:
        """Remember `user_id`'s choice (None: back to the workspace setting or their Slack locale)."""
        if language is not None and language not in SUPPORTED_LOCALES:
            raise ValueError(f"unknown language {language!r}")
        if self._store is not None:
            await self._store.user_prefs.set_language(user_id, language)
        self._choices += 1
        self._people.pop(user_id, None)
        self._forget_majority()
        for name in [n for n in self._inflight if n[1] == user_id]:
            del self._inflight[name]  # a read under way may predate the choice: the next asker reads again

    async def chosen(self, user_id: str) -> str | None:
        """The language `user_id` chose with ``/invoice lang``, or None."""
        if self._store is None:
            return None
        record = await self._store.user_prefs.get(user_id)
        return record.language if record is not None else None

    async def _slack_language(self, user_id: str) -> tuple[bool, str | None]:
        """(whether Slack answered, the user's Slack locale as a language we speak or None); the
        locale is remembered for the channel majority."""
        client = current_client() or self._client  # the workspace's own token, with OAuth installs
        if client is None:
            return True, None
        try:
            answer = await asyncio.wait_for(client.users_info(user=user_id, include_locale=True), self._timeout)
        except (SlackApiError, SlackClientError, TimeoutError) as exc:
            log.warning("could not read the locale of %s: %s", user_id, type(exc).__name__)
            return False, None
        locale = str((answer.get("user") or {}).get("locale") or "")
        if locale and self._store is not None:
            await self._store.user_prefs.record_slack_locale(user_id, locale)
            self._forget_majority()
        return True, normalise_locale(locale)


def majority_language(counts: Counter[tuple[str | None, str | None]]) -> str:
    """The language most people read (their choice, else their Slack locale); Korean on a tie or none."""
    votes: Counter[str] = Counter()
    for (chosen, slack_locale), people in counts.items():
        language = chosen or normalise_locale(slack_locale)
        if language:
            votes[language] += people
    if not votes:
        return FALLBACK_LANGUAGE
    best = max(votes.values())
    leaders = sorted(lang for lang, n in votes.items() if n == best)
    return FALLBACK_LANGUAGE if FALLBACK_LANGUAGE in leaders or len(leaders) > 1 else leaders[0]

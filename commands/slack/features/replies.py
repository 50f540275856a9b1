"""One way to turn a refusal into what the user reads: a title, what happened, what to do.

Every listener catches ``(WorkflowError, ProviderError)`` and hands the exception to
`explain`; anything else is a bug, logged with its traceback and told as "something went
wrong on our side". No traceback ever reaches a user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block

from commands.i18n import N_, _
from commands.slack.blocks import build_error_message, error_text
from commands.slack.provider_words import provider_words
from commands.workflow import WorkflowError
from providers.errors import ProviderError

__all__ = ["Failure", "explain", "private_metadata", "read_metadata"]

_CHECK = N_("Check the command and try again.")
_LATER = N_("Try again in a minute; if it keeps failing, tell an admin.")
_OURS = N_("Try again; if it keeps failing, tell an admin.")


@dataclass(frozen=True)
class Failure:
    """A refusal as the user reads it; `hint` is the layer's own advice, `todo` never empty."""

    title: str
    what: str
    hint: str | None = None
    fallback: str = _CHECK

    @property
    def todo(self) -> str:
        return self.hint or _(self.fallback)

    def text(self) -> str:
        """The notification text (and the whole answer where blocks cannot go)."""
        return error_text(self.title, self.what)

    def blocks(self) -> list[Block]:
        return build_error_message(self.title, self.what, self.todo)

    def line(self) -> str:
        """One line for a click's refusal: ``🚫 what (hint)``."""
        return f"🚫 {self.what}" + (f" ({self.hint})" if self.hint else "")


def explain(title: str, exc: BaseException) -> Failure:
    """The user's message for a workflow or provider refusal (anything else: our fault)."""
    if isinstance(exc, WorkflowError):
        return Failure(title, exc.message, exc.user_hint, _CHECK)
    if isinstance(exc, ProviderError):
        return Failure(title, _provider_error_words(exc), provider_words(exc.user_hint) if exc.user_hint else None,
                       _LATER)
    return Failure(title, _("Something went wrong on our side."), None, _OURS)


def _provider_error_words(exc: ProviderError) -> str:
    """``popbill [connect] could not connect (…)`` with the sentence in the reader's language."""
    whole = str(exc)
    if exc.message and whole.endswith(exc.message):
        return whole[: len(whole) - len(exc.message)] + provider_words(exc.message)
    return whole


def private_metadata(channel: str, thread_ts: str | None = None) -> str:
    """Where a modal's answer goes, carried through Slack in the view's private_metadata."""
    return json.dumps({"channel": channel, "thread_ts": thread_ts}, separators=(",", ":"))


def read_metadata(raw: str | None) -> dict[str, Any]:
    """`private_metadata` back; anything unreadable is an empty mapping, never an error."""
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}

"""What the Slack double keeps about each request, and the small pieces every method shares.

`RecordedCall` is what tests assert on; `Stamps` hands out ids and message timestamps from
one injected clock, so a test can pin the time Slack would have stamped; `slack_error` is the
``{"ok": false, ...}`` shape every Web API method answers a refusal with.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Clock",
    "EventSink",
    "MethodHandler",
    "RecordedCall",
    "Stamps",
    "TeamIdentity",
    "UploadedFile",
    "slack_error",
]

#: Seconds since the epoch (``time.time`` unless a test injects its own).
Clock = Callable[[], float]

#: One Web API method: the call's merged arguments in, Slack's JSON answer out.
MethodHandler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class RecordedCall:
    """One request the double received, and what it answered."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]  # redacted: the token never appears
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    #: the workspace whose installed token made the call (None: the configured token, or none)
    team_id: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok")) and self.status == 200


#: Awaited with each recorded call (the console renders them); its failures never change an answer.
EventSink = Callable[[RecordedCall], Awaitable[None]]


@dataclass
class UploadedFile:
    """A file going through (or done with) the upload v2 flow."""

    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


@dataclass(frozen=True)
class TeamIdentity:
    """Who the double says the workspace and the bot are (``auth.test``, message authors, views)."""

    team_id: str
    team: str
    bot_user_id: str
    bot_id: str
    app_id: str


class Stamps:
    """Ids and message timestamps: unique, increasing, read from one injected clock.

    Slack's ``ts`` doubles as a message id, so two messages posted in the same microsecond
    must still get different ones; ``next_ts`` steps past the last one handed out.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._ids = itertools.count(1)
        self._last_ts = 0.0

    def new_id(self, prefix: str, width: int = 8) -> str:
        return f"{prefix}{next(self._ids):0{width}d}"

    def next_ts(self) -> str:
        now = max(self.clock(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def seconds(self) -> int:
        """Whole seconds, as Slack writes ``created`` and view hashes."""
        return int(self.clock())


def slack_error(error: str, messages: list[str] | None = None) -> dict[str, Any]:
    """Slack's refusal: HTTP 200, ``ok: false``, and ``[ERROR]`` lines in ``response_metadata``."""
    answer: dict[str, Any] = {"ok": False, "error": error}
    if messages:
        answer["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}
    return answer

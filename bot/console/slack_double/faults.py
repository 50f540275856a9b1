"""Injected Web API failures: the next n calls of a method answer an error instead.

``ratelimited`` answers HTTP 429 with ``Retry-After`` (what slack_sdk's retry handlers act
on); any other error answers HTTP 200 ``{"ok": false, "error": ...}``, as Slack does. A fault may instead answer
a raw `body` of another content type (a proxy's HTML error page, a text error), and may
first hang for `delay` seconds (a Slack that does not answer).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Fault", "FaultPlan"]


@dataclass
class Fault:
    """One queued failure: `count` calls left to fail this way."""

    count: int
    error: str
    status: int
    retry_after: int
    body: str | None = None
    content_type: str = "application/json"
    delay: float = 0.0


class FaultPlan:
    """Failures queued per method, used up in order."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Fault]] = {}

    def add(self, method: str, count: int, *, error: str, retry_after: int, status: int | None,
            body: str | None = None, content_type: str = "application/json", delay: float = 0.0) -> None:
        code = status if status is not None else (429 if error == "ratelimited" else 200)
        self._queued.setdefault(method, []).append(Fault(count, error, code, retry_after, body, content_type, delay))

    def take(self, method: str) -> Fault | None:
        """The failure this call of `method` answers with, if one is queued."""
        queue = self._queued.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

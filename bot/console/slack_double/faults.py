"""Injected Web API failures: the next n calls of a method answer an error instead.

``ratelimited`` answers HTTP 429 with ``Retry-After`` (what slack_sdk's retry handlers act
on); any other error answers HTTP 200 ``{"ok": false, "error": ...}``, as Slack does.
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


class FaultPlan:
    """Failures queued per method, used up in order."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Fault]] = {}

    def add(self, method: str, count: int, *, error: str, retry_after: int, status: int | None) -> None:
        code = status if status is not None else (429 if error == "ratelimited" else 200)
        self._queued.setdefault(method, []).append(Fault(count, error, code, retry_after))

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

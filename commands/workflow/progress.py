"""Progress of long executions (a bulk batch), told to whoever listens: the Slack side updates one message.

The workflow knows no Slack, so a batch's execution publishes `BulkProgress` events here and the
Slack feature subscribes (`ProgressHub.subscribe`) when it registers. A listener that fails is
logged and never stops the execution: the database holds the truth, the message only shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["BulkProgress", "ProgressHub", "ProgressListener"]

log = logging.getLogger("invoicebot.service")


@dataclass(frozen=True)
class BulkProgress:
    """Where a batch stands: rows issued, refused, still open; `finished` once the execution ended."""

    approval_id: int
    batch_id: int
    total: int
    issued: int
    failed: int
    finished: bool = False
    note: str | None = None

    @property
    def done(self) -> int:
        return self.issued + self.failed


ProgressListener = Callable[[BulkProgress], Awaitable[None]]


class ProgressHub:
    """Listeners of batch progress (the one mutable part of an otherwise frozen context)."""

    def __init__(self) -> None:
        self._listeners: list[ProgressListener] = []

    def subscribe(self, listener: ProgressListener) -> None:
        self._listeners.append(listener)

    async def publish(self, event: BulkProgress) -> None:
        for listener in list(self._listeners):
            try:
                await listener(event)
            except Exception:
                log.exception("a progress listener failed on batch %s", event.batch_id)

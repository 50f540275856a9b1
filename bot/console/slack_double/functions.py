"""Custom steps: ``functions.completeSuccess`` and ``functions.completeError``.

Slack runs a workflow step by sending the app ``function_executed`` with an execution id and
a token of that execution's own (``bot_access_token``, ``xwfp-…``); the token works until the
step completes. `Functions.start` hands out both, the way Slack would for a test or the
console to put in the event; the two methods record how each execution ended and refuse what
Slack refuses (an unknown execution, one already completed, outputs that are not a JSON object,
an empty error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.console.slack_double.records import MethodHandler, Stamps, slack_error

__all__ = ["Completion", "Functions"]


@dataclass
class Completion:
    """How one execution ended: `outputs` on success, `error` on failure."""

    execution_id: str
    ok: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: completed with the execution's own token (``bot_access_token``), not the bot's
    own_token: bool = False


class Functions:
    """Function executions started, their tokens, and how they completed."""

    def __init__(self, stamps: Stamps) -> None:
        self.stamps = stamps
        self.open: dict[str, str] = {}  # execution id -> its token
        self.completions: list[Completion] = []

    def methods(self) -> dict[str, MethodHandler]:
        return {"functions.completeSuccess": self.complete_success, "functions.completeError": self.complete_error}

    def answer(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        """Answer `method` called with `token`, noting whether it was the execution's own."""
        execution_id = str(args.get("function_execution_id") or "")
        own = bool(token) and self.open.get(execution_id) == token
        answer = self.methods()[method](args)
        if answer.get("ok") and self.completions and self.completions[-1].execution_id == execution_id:
            self.completions[-1].own_token = own
        return answer

    def start(self) -> tuple[str, str]:
        """A new execution: (function_execution_id, bot_access_token)."""
        execution_id = self.stamps.new_id("Fx", width=10)
        token = f"xwfp-{execution_id.lower()}-{self.stamps.new_id('T', width=8).lower()}"
        self.open[execution_id] = token
        return execution_id, token

    @property
    def live_tokens(self) -> frozenset[str]:
        """Tokens of executions not completed yet (Slack accepts them like the bot's own)."""
        return frozenset(self.open.values())

    def completion(self, execution_id: str) -> Completion | None:
        return next((c for c in self.completions if c.execution_id == execution_id), None)

    def _execution(self, args: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        execution_id = str(args.get("function_execution_id") or "")
        if not execution_id:
            return execution_id, slack_error("invalid_arguments", ["missing required field: function_execution_id"])
        if execution_id not in self.open:
            if self.completion(execution_id) is not None:
                return execution_id, slack_error("execution_not_in_running_state")
            return execution_id, slack_error("function_execution_not_found")
        return execution_id, None

    def complete_success(self, args: dict[str, Any]) -> dict[str, Any]:
        execution_id, refused = self._execution(args)
        if refused is not None:
            return refused
        outputs = args.get("outputs")
        if isinstance(outputs, str):
            try:
                outputs = json.loads(outputs)
            except ValueError:
                return slack_error("invalid_arguments", ["outputs must be a JSON object"])
        if not isinstance(outputs, dict):
            return slack_error("invalid_arguments", ["outputs must be a JSON object"])
        del self.open[execution_id]
        self.completions.append(Completion(execution_id, True, outputs=outputs))
        return {"ok": True}

    def complete_error(self, args: dict[str, Any]) -> dict[str, Any]:
        execution_id, refused = self._execution(args)
        if refused is not None:
            return refused
        error = str(args.get("error") or "").strip()
        if not error:
            return slack_error("invalid_arguments", ["missing required field: error"])
        del self.open[execution_id]
        self.completions.append(Completion(execution_id, False, error=error))
        return {"ok": True}

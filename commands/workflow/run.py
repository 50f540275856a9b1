"""One execution of one approval, owned by its caller (the approval is `executing`).

A `Run` is what the per-action strategies in `commands.workflow.actions` and the shared loop
in `commands.workflow.execution` work on: the approval, its document, the idempotency key,
and the two ways a run writes (an audit row, and finishing the approval by compare-and-set).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from commands.ledger import ApprovalRecord, ApprovalState, AuditKind, AuditOperation, DocumentRecord, Lifecycle
from commands.workflow.context import SYSTEM_ACTOR, WorkflowContext
from commands.workflow.views import ExecutionResult
from providers.models import DocumentStatus

__all__ = ["MAX_SENDS", "Mode", "Run", "request_digest"]

#: provider writes per execution when the outcome stays unknown: the first send and one retry
MAX_SENDS = 2

#: first: a fresh execution; retry: someone asked again; recover: taken over after a crash
Mode = Literal["first", "retry", "recover"]


def request_digest(data: Any) -> str:
    """What an idempotency key remembers of its request, to refuse a different one under it."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _status_json(status: DocumentStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", exclude={"raw", "history"})


class Run:
    """The approval being executed, its document, and how this execution writes."""

    def __init__(self, ctx: WorkflowContext, approval: ApprovalRecord, doc: DocumentRecord, mode: Mode) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.approval = approval
        self.doc = doc
        self.mode = mode

    @property
    def key(self) -> str:
        """The idempotency key of this provider write (issue keys are fixed at request time)."""
        if self.approval.idempotency_key:
            return self.approval.idempotency_key
        return f"{self.approval.action.value}:{self.doc.ref}:{self.approval.id}"

    def now(self) -> dt.datetime:
        return self.ctx.clock()

    async def audit(self, operation: AuditOperation, outcome: str, detail: Mapping[str, Any] | None = None) -> None:
        """A provider call and its answer."""
        await self.store.audit.record(
            actor=SYSTEM_ACTOR,
            action=AuditKind.PROVIDER_CALL,
            operation=operation,
            document_id=self.doc.id,
            document_ref=self.doc.ref,
            approval_id=self.approval.id,
            outcome=outcome,
            detail={"provider": self.doc.provider.value, "attempt": self.approval.attempts, **(detail or {})},
            now=self.now(),
        )

    async def fail_key(self, why: str) -> None:
        """The provider did nothing under this key: it may be claimed again."""
        await self.store.idempotency.fail(self.key, {"error": why}, now=self.now())

    async def finish(
        self,
        to: ApprovalState,
        *,
        code: str,
        message: str,
        hint: str | None = None,
        retryable: bool = False,
        status: DocumentStatus | None = None,
    ) -> ExecutionResult:
        """Move the approval out of `executing` and say what the execution came to."""
        now = self.now()
        await self.ctx.move(
            self.approval.id,
            expected=ApprovalState.EXECUTING,
            to=to,
            now=now,
            finished_at=now,
            outcome_code=code[:64],
            outcome_message=message,
            user_hint=hint,
            retryable=retryable,
        )
        ok = to is ApprovalState.SUCCEEDED
        return ExecutionResult(
            approval=await self.ctx.approval_view(self.approval.id),
            executed=True,
            ok=ok,
            status=status,
            error_code=None if ok else code,
            message=message,
            user_hint=hint,
        )

    async def succeeded(
        self,
        status: DocumentStatus,
        *,
        lifecycle: Lifecycle,
        operation: AuditOperation,
        detail: Mapping[str, Any],
        code: str,
        message: str,
    ) -> ExecutionResult:
        """The provider did it: remember the answer under the key, record the document, finish."""
        now = self.now()
        await self.store.idempotency.complete(self.key, _status_json(status), now=now)
        await self.store.documents.record_status(self.doc.id, status, lifecycle=lifecycle, now=now)
        await self.audit(operation, "ok", {**detail, "state": status.raw_state})
        return await self.finish(ApprovalState.SUCCEEDED, code=code, message=message, status=status)

"""Executing an approved amendment: each produced document issued exactly once.

One ``amend`` approval covers the documents a reason produces (see `commands.workflow.amend`).
They go out in *units* through the same send-and-reconcile loop as an issue, under the same
idempotency key an issue would use (``issue:<ref>``), so a crash, a retry or a second caller
never issues a document twice and a document already issued is skipped:

* Popbill: one unit per document (``registIssue`` with ``modifyCode`` and ``orgNTSConfirmNum``;
  an unanswered one is found again by its MgtKey before anything is resent);
* Hiworks: one unit for the set (``POST /v4/invoices/amendment`` creates the negative and the
  positive document in one call, reasons 1 and 5 need both); Hiworks cannot be searched, so an
  unanswered call is left unknown for a check in its console, never resent blindly.

The approval succeeds when every document is issued; the first unit that fails or stays unknown
finishes it as failed or unknown, and a retry carries on from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from commands.i18n import _
from commands.ledger import ApprovalRecord, ApprovalState, AuditOperation, DocumentRecord, Lifecycle, Store
from commands.workflow.actions import Action, LookableAction
from commands.workflow.run import Run
from commands.workflow.views import ExecutionResult
from providers.errors import ProviderError
from providers.models import DocumentStatus, IssueRequest

__all__ = ["AmendUnitAction", "close_amendment", "execute_amendment"]

Loop = Callable[[Action], Awaitable[ExecutionResult]]


@runtime_checkable
class SetIssuer(Protocol):
    """A provider that issues an amendment's documents in one call (Hiworks)."""

    async def issue_amendment(self, requests: Sequence[IssueRequest]) -> list[DocumentStatus]: ...


@dataclass(frozen=True)
class _Outcome:
    state: ApprovalState
    code: str
    message: str
    hint: str | None = None
    retryable: bool = False


class _UnitRun(Run):
    """The approval's run, seen from one unit: its first document and that document's issue key."""

    def __init__(self, parent: Run, doc: DocumentRecord) -> None:
        super().__init__(parent.ctx, parent.approval, doc, parent.mode)

    @property
    def key(self) -> str:
        return f"issue:{self.doc.ref}"


def _statuses_json(statuses: Sequence[DocumentStatus]) -> dict[str, Any]:
    return {"statuses": [s.model_dump(mode="json", exclude={"raw", "history"}) for s in statuses]}


class AmendUnitAction(LookableAction):
    """One unit of an amendment: records what happened on the unit's documents, never finishes
    the approval (`execute_amendment` does, once every unit has run)."""

    operation = AuditOperation.AMEND
    look_operation = AuditOperation.ISSUE_FIND
    recheck_after_refusal = True
    sent_how = "issued"

    def __init__(self, run: Run, docs: list[DocumentRecord]) -> None:
        super().__init__(run)
        self.docs = docs
        self.statuses: list[DocumentStatus] = []
        self.outcome: _Outcome | None = None

    async def prepare(self) -> Mapping[str, Any]:
        requests = [d.issue_request() for d in self.docs]
        if any(r is None for r in requests):
            raise RuntimeError(f"{self.doc.ref}: an amendment document has no stored request")
        self.requests: list[IssueRequest] = [r for r in requests if r is not None]
        for doc in self.docs:
            await self.run.store.documents.set_lifecycle(
                doc.id, Lifecycle.ISSUING,
                expected=(Lifecycle.PENDING_APPROVAL, Lifecycle.ISSUING, Lifecycle.FAILED, Lifecycle.OUTCOME_UNKNOWN),
                now=self.run.now(),
            )
        return {"documents": [r.model_dump(mode="json") for r in self.requests]}

    async def send(self) -> DocumentStatus | None:
        if isinstance(self.provider, SetIssuer):
            self.statuses = await self.provider.issue_amendment(self.requests)
        else:
            self.statuses = [await self.provider.issue(self.requests[0])]
        return self.statuses[0]

    async def look(self, *, audit: bool = True) -> DocumentStatus | None:
        found = [await self.provider.find(r) for r in self.requests]
        if audit:
            await self.run.audit(AuditOperation.ISSUE_FIND, "found" if all(found) else "absent")
        if not all(found):
            return None
        self.statuses = [f for f in found if f is not None]
        return self.statuses[0]

    async def already_done(self, result: Mapping[str, Any] | None) -> ExecutionResult | None:
        if not result or not result.get("statuses"):
            return None
        self.statuses = [DocumentStatus.model_validate(s) for s in result["statuses"]]
        return await self.succeeded(self.statuses[0], how="already recorded")

    async def _result(self, outcome: _Outcome) -> ExecutionResult:
        self.outcome = outcome
        return ExecutionResult(approval=await self.run.ctx.approval_view(self.run.approval.id), executed=True,
                               ok=outcome.state is ApprovalState.SUCCEEDED, message=outcome.message,
                               user_hint=outcome.hint,
                               error_code=None if outcome.state is ApprovalState.SUCCEEDED else outcome.code)

    async def succeeded(self, status: DocumentStatus | None, *, how: str) -> ExecutionResult:
        statuses = self.statuses or ([status] if status else [])
        if len(statuses) != len(self.docs):
            raise RuntimeError(f"{self.doc.provider.value} answered {len(statuses)} documents for {len(self.docs)}")
        now = self.run.now()
        await self.run.store.idempotency.complete(self.run.key, _statuses_json(statuses), now=now)
        for doc, answer in zip(self.docs, statuses, strict=True):
            await self.run.store.documents.record_status(doc.id, answer, lifecycle=Lifecycle.ISSUED, now=now)
        await self.run.audit(AuditOperation.AMEND, "ok", {"how": how, "documents": [str(s.ref) for s in statuses]})
        return await self._result(_Outcome(ApprovalState.SUCCEEDED, "amended", "issued"))

    async def _mark(self, lifecycle: Lifecycle, message: str) -> None:
        for doc in self.docs:
            await self.run.store.documents.set_lifecycle(doc.id, lifecycle, expected=Lifecycle.ISSUING, error=message,
                                                         now=self.run.now())

    async def failed(self, exc: ProviderError, *, retryable: bool, message: str | None = None) -> ExecutionResult:
        refs = ", ".join(d.ref for d in self.docs)
        message = message or _("{provider} did not issue the amendment {refs}: {error}").format(
            provider=self.doc.provider.value, refs=refs, error=exc)
        await self._mark(Lifecycle.FAILED, message)
        hint = exc.user_hint or (_("nothing was issued; retry when the provider is back") if retryable else
                                 _("fix what the provider refused and ask for the amendment again"))
        return await self._result(_Outcome(ApprovalState.FAILED, exc.outcome_code, message, hint, retryable))

    async def unknown(self, sent: ProviderError | None, looked: ProviderError | None) -> ExecutionResult:
        refs = ", ".join(d.ref for d in self.docs)
        provider = self.doc.provider.value
        message = _("{provider} did not confirm whether the amendment {refs} was issued, and checking failed "
                    "({error})").format(provider=provider, refs=refs, error=looked)
        hint = looked.user_hint if looked and looked.user_hint else _(
            "look in {provider} for {refs} before doing anything; retrying checks again first").format(
            provider=provider, refs=refs)
        await self._mark(Lifecycle.OUTCOME_UNKNOWN, message)
        await self.run.audit(AuditOperation.AMEND, "unknown", {"sent": str(sent), "find": str(looked)})
        return await self._result(_Outcome(ApprovalState.UNKNOWN, "unknown", message, hint, True))

    def exhausted(self, sends: int) -> tuple[str, str]:
        return "no answer, not issued", _("{provider} did not answer {sends} times; it has no such document, so "
                                          "nothing was issued").format(provider=self.doc.provider.value, sends=sends)


def _units(run: Run, docs: list[DocumentRecord]) -> list[list[DocumentRecord]]:
    if isinstance(run.ctx.provider(run.doc.provider), SetIssuer):
        return [docs]
    return [[doc] for doc in docs]


async def _produced(run: Run) -> list[DocumentRecord]:
    return [await run.ctx.document(int(i)) for i in run.approval.payload.get("documents") or []]


async def execute_amendment(run: Run, loop: Loop) -> ExecutionResult:
    """Issue every document of an approved amendment that is not issued yet, then finish the approval."""
    docs = await _produced(run)
    for unit in _units(run, docs):
        if all(d.lifecycle is Lifecycle.ISSUED for d in unit):
            continue  # issued by an earlier run of this approval
        action = AmendUnitAction(_UnitRun(run, unit[0]), unit)
        await loop(action)
        outcome = action.outcome or _Outcome(ApprovalState.UNKNOWN, "internal", _("the amendment stopped early"),
                                             retryable=True)
        if outcome.state is not ApprovalState.SUCCEEDED:
            return await run.finish(outcome.state, code=outcome.code, message=outcome.message, hint=outcome.hint,
                                    retryable=outcome.retryable)
    issued = [await run.ctx.document(d.id) for d in docs]
    listed = ", ".join(f"{d.ref} ({d.provider_id}, {d.total or 0:,} {d.currency})" for d in issued)
    label = " (SANDBOX)" if run.doc.sandbox else ""
    message = _("{ref} amended at {provider}{label}: {docs}").format(ref=run.doc.ref, provider=run.doc.provider.value,
                                                                     label=label, docs=listed)
    return await run.finish(ApprovalState.SUCCEEDED, code="amended", message=message)


async def close_amendment(store: Store, approval: ApprovalRecord, lifecycle: Lifecycle, now: dt.datetime) -> None:
    """A rejected or expired amendment: its produced documents will never be issued."""
    for document_id in approval.payload.get("documents") or []:
        await store.documents.set_lifecycle(int(document_id), lifecycle, expected=Lifecycle.PENDING_APPROVAL,
                                                now=now)

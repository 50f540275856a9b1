"""How each approval action talks to its provider: the strategies of the send-and-reconcile loop.

The loop in `commands.workflow.execution` is the same for every action: claim the key, look
before any resend, send at most `MAX_SENDS` times, and sort the provider's answer into done,
failed or unknown. What differs is here, one small class per action:

* what is sent and what the key remembers of it (`prepare`, `send`);
* whether and how the result can be looked up at the provider (`look`; a resend cannot be,
  so an interrupted resend becomes unknown instead of being sent twice);
* what success, failure and an unknown outcome record (`succeeded`, `failed`, `unknown`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from commands.i18n import _
from commands.ledger import GONE_STATES, ApprovalAction, ApprovalState, AuditOperation, Lifecycle
from commands.workflow.deadlines import late_issue_confirmed
from commands.workflow.run import Run
from commands.workflow.views import ExecutionResult
from providers.base import InvoiceProvider
from providers.errors import DocumentNotFound, ProviderError
from providers.models import DocumentRef, DocumentState, DocumentStatus, IssueRequest, ResendRequest

__all__ = ["Action", "DestroyAction", "IssueAction", "LookableAction", "ResendAction", "action_for"]


class Action(ABC):
    """One action's side of the send-and-reconcile loop (see the module docstring)."""

    operation: ClassVar[AuditOperation]
    found_how: ClassVar[str] = "found at the provider"
    sent_how: ClassVar[str] = "sent"

    def __init__(self, run: Run) -> None:
        self.run = run
        self.doc = run.doc
        self.provider: InvoiceProvider = run.ctx.provider(run.doc.provider)

    @property
    def can_look(self) -> bool:
        """Whether the provider can say if this action happened (`LookableAction`)."""
        return isinstance(self, LookableAction)

    @abstractmethod
    async def prepare(self) -> Mapping[str, Any]:
        """Get ready to send; returns what the idempotency key remembers of the request."""

    @abstractmethod
    async def send(self) -> DocumentStatus | None:
        """One write to the provider; its answer (None when the provider answers with no document)."""

    async def already_done(self, result: Mapping[str, Any] | None) -> ExecutionResult | None:
        """The key says a previous run finished: report that (None: look at the provider instead)."""
        return None

    @abstractmethod
    async def succeeded(self, status: DocumentStatus | None, *, how: str) -> ExecutionResult:
        """The provider did it (`how`: sent now, found at the provider, already recorded): record and finish."""

    @abstractmethod
    async def failed(self, exc: ProviderError, *, retryable: bool, message: str | None = None) -> ExecutionResult:
        """The provider did not do it (refused, or unavailable before anything happened): record and finish."""

    @abstractmethod
    async def unknown(self, sent: ProviderError | None, looked: ProviderError | None) -> ExecutionResult:
        """Sent (or maybe sent) and nobody can say whether it happened."""


class LookableAction(Action):
    """An action whose result the provider can be asked about, so an unanswered send is looked up
    before anything is sent again (issue: find the document; destroy: read its state)."""

    #: the audit operation of a look at the provider
    look_operation: ClassVar[AuditOperation]
    #: after an unanswered send, a refusal ("duplicate key") may mean the first send went through
    recheck_after_refusal: ClassVar[bool] = False

    @abstractmethod
    async def look(self, *, audit: bool = True) -> DocumentStatus | None:
        """The provider's record of the done action, or None when it was not done."""

    @abstractmethod
    def exhausted(self, sends: int) -> tuple[str, str]:
        """(what the key records, what the user reads) when every send went unanswered and nothing happened."""


class IssueAction(LookableAction):
    operation = AuditOperation.ISSUE
    look_operation = AuditOperation.ISSUE_FIND
    recheck_after_refusal = True
    sent_how = "issued"

    async def prepare(self) -> Mapping[str, Any]:
        request = self.doc.issue_request()
        if request is None:
            raise RuntimeError(f"{self.doc.ref} has no stored issue request")
        callback_url = self.run.ctx.policy.callback_url
        if request.callback_url is None and callback_url is not None:
            url = callback_url(self.doc.provider, self.doc.ref)
            if url:
                request = request.model_copy(update={"callback_url": url})
        if late_issue_confirmed(self.run.approval.payload):
            # only an approver's explicit confirmation of the penalty lets a late invoice through
            request = request.model_copy(update={"force_issue": True})
        self.request: IssueRequest = request
        await self.run.store.documents.set_lifecycle(
            self.doc.id,
            Lifecycle.ISSUING,
            expected=(Lifecycle.PENDING_APPROVAL, Lifecycle.ISSUING, Lifecycle.FAILED, Lifecycle.OUTCOME_UNKNOWN),
            now=self.run.now(),
        )
        return request.model_dump(mode="json")

    async def send(self) -> DocumentStatus | None:
        return await self.provider.issue(self.request)

    async def look(self, *, audit: bool = True) -> DocumentStatus | None:
        found = await self.provider.find(self.request)
        if audit:
            await self.run.audit(AuditOperation.ISSUE_FIND, "found" if found else "absent")
        return found

    async def already_done(self, result: Mapping[str, Any] | None) -> ExecutionResult | None:
        return await self.succeeded(DocumentStatus.model_validate(result), how="already recorded") if result else None

    async def succeeded(self, status: DocumentStatus | None, *, how: str) -> ExecutionResult:
        if status is None:
            raise RuntimeError(f"{self.doc.provider.value} issued {self.doc.ref} without a status")
        label = _("{provider} (SANDBOX)") if self.doc.sandbox else "{provider}"
        where = label.format(provider=self.doc.provider.value)
        return await self.run.succeeded(
            status, lifecycle=Lifecycle.ISSUED, operation=AuditOperation.ISSUE,
            detail={"how": how, "provider_ref": str(status.ref)}, code="issued",
            message=_("{ref} issued at {provider} as {provider_ref}").format(ref=self.doc.ref, provider=where,
                                                                            provider_ref=status.ref),
        )

    async def failed(self, exc: ProviderError, *, retryable: bool, message: str | None = None) -> ExecutionResult:
        message = message or _("{provider} did not issue {ref}: {error}").format(
            provider=self.doc.provider.value, ref=self.doc.ref, error=exc)
        await self.run.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.FAILED, expected=Lifecycle.ISSUING, error=message, now=self.run.now()
        )
        if retryable:
            hint = exc.user_hint or _("nothing was issued; retry when the provider is back")
        else:
            hint = exc.user_hint or _("fix the request and issue a new document; this one will not be issued")
        return await self.run.finish(
            ApprovalState.FAILED, code=exc.outcome_code, message=message, hint=hint, retryable=retryable
        )

    async def unknown(self, sent: ProviderError | None, looked: ProviderError | None) -> ExecutionResult:
        provider = self.doc.provider.value
        message = _("{provider} did not confirm whether {ref} was issued, and checking failed ({error})").format(
            provider=provider, ref=self.doc.ref, error=looked)
        hint = _("look in {provider} for a document with key/reference {ref} before doing anything; retrying checks "
                 "again first and reuses the same key, so it cannot issue twice").format(provider=provider,
                                                                                        ref=self.doc.ref)
        await self.run.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.OUTCOME_UNKNOWN, expected=Lifecycle.ISSUING, error=message, now=self.run.now()
        )
        await self.run.audit(AuditOperation.ISSUE, "unknown", {"sent": str(sent), "find": str(looked)})
        return await self.run.finish(ApprovalState.UNKNOWN, code="unknown", message=message, hint=hint, retryable=True)

    def exhausted(self, sends: int) -> tuple[str, str]:
        return "no answer, not issued", (
            f"{self.doc.provider.value} did not answer {sends} times; it has no such document, so nothing was issued"
        )


class DestroyAction(LookableAction):
    operation = AuditOperation.DESTROY
    look_operation = AuditOperation.DESTROY_CHECK
    found_how = "found destroyed at the provider"
    sent_how = "destroyed"

    async def prepare(self) -> Mapping[str, Any]:
        ref = self.doc.document_ref
        if ref is None:
            raise RuntimeError(f"{self.doc.ref} has no provider id to destroy")
        self.ref: DocumentRef = ref
        await self.run.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.DESTROYING, expected=(Lifecycle.ISSUED, Lifecycle.DESTROYING), now=self.run.now()
        )
        return {"ref": str(ref), "reason": self.run.approval.reason}

    async def send(self) -> DocumentStatus | None:
        return await self.provider.destroy(self.ref, self.run.approval.reason)

    async def look(self, *, audit: bool = True) -> DocumentStatus | None:
        """The document's status when it is already destroyed (or deleted), else None."""
        try:
            status = await self.provider.status(self.ref)
        except DocumentNotFound:
            return DocumentStatus(ref=self.ref, state=DocumentState.DELETED, raw_state="not_found",
                                  detail="the provider no longer knows this document")
        return status if status.state in GONE_STATES else None

    async def already_done(self, result: Mapping[str, Any] | None) -> ExecutionResult | None:
        return await self.succeeded(DocumentStatus.model_validate(result), how="already recorded") if result else None

    async def succeeded(self, status: DocumentStatus | None, *, how: str) -> ExecutionResult:
        if status is None:
            raise RuntimeError(f"{self.doc.provider.value} destroyed {self.doc.ref} without a status")
        return await self.run.succeeded(
            status, lifecycle=Lifecycle.DESTROYED, operation=AuditOperation.DESTROY, detail={"how": how},
            code="destroyed", message=_("{ref} is {state} at {provider}").format(
                ref=self.doc.ref, state=status.state.value, provider=self.doc.provider.value),
        )

    async def failed(self, exc: ProviderError, *, retryable: bool, message: str | None = None) -> ExecutionResult:
        message = message or _("{provider} did not destroy {ref}: {error}").format(
            provider=self.doc.provider.value, ref=self.doc.ref, error=exc)
        await self.run.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.ISSUED, expected=Lifecycle.DESTROYING, error=message, now=self.run.now()
        )
        hint = exc.user_hint or (_("the document is unchanged; retry later") if retryable else None)
        return await self.run.finish(
            ApprovalState.FAILED, code=exc.outcome_code, message=message, hint=hint, retryable=retryable
        )

    async def unknown(self, sent: ProviderError | None, looked: ProviderError | None) -> ExecutionResult:
        provider = self.doc.provider.value
        message = _("{provider} did not confirm whether {ref} was destroyed, and checking failed ({error})").format(
            provider=provider, ref=self.doc.ref, error=looked)
        await self.run.audit(AuditOperation.DESTROY, "unknown", {"sent": str(sent), "check": str(looked)})
        return await self.run.finish(
            ApprovalState.UNKNOWN, code="unknown", message=message,
            hint=_("check {ref} in {provider}; retrying checks its state first").format(
                ref=self.doc.document_ref, provider=provider), retryable=True,
        )

    def exhausted(self, sends: int) -> tuple[str, str]:
        return "no answer, still issued", _(
            "{provider} did not answer {count} times and {ref} is still there, so it was not destroyed").format(
            provider=self.doc.provider.value, count=sends, ref=self.doc.ref)


class ResendAction(Action):
    """A notification sent again: nothing at the provider says whether it went out."""

    operation = AuditOperation.RESEND

    async def prepare(self) -> Mapping[str, Any]:
        ref = self.doc.document_ref
        if ref is None:
            raise RuntimeError(f"{self.doc.ref} has no provider id to resend")
        self.ref: DocumentRef = ref
        self.request = ResendRequest.model_validate(self.run.approval.payload)
        channel = self.request.channel.value
        if self.request.address:
            self.target = _("by {channel} to {address}").format(channel=channel, address=self.request.address)
        else:
            self.target = _("by {channel}").format(channel=channel)
        return self.request.model_dump(mode="json")

    async def send(self) -> DocumentStatus | None:
        await self.provider.resend(self.ref, self.request)
        return None

    async def already_done(self, result: Mapping[str, Any] | None) -> ExecutionResult | None:
        return await self.run.finish(ApprovalState.SUCCEEDED, code="resent",
                                     message=_("{ref} was resent").format(ref=self.doc.ref))

    async def succeeded(self, status: DocumentStatus | None, *, how: str) -> ExecutionResult:
        channel = self.request.channel.value
        await self.run.store.idempotency.complete(self.run.key, {"channel": channel}, now=self.run.now())
        await self.run.audit(AuditOperation.RESEND, "ok", {"channel": channel})
        message = _("{ref} resent {how}").format(ref=self.doc.ref, how=self.target)
        return await self.run.finish(ApprovalState.SUCCEEDED, code="resent", message=message)

    async def failed(self, exc: ProviderError, *, retryable: bool, message: str | None = None) -> ExecutionResult:
        hint: str | None
        if retryable:
            message = message or _("{ref} was not resent: {error}").format(ref=self.doc.ref, error=exc)
            hint = exc.user_hint or _("nothing was sent; retry in a moment")
        else:
            message = message or _("{provider} refused to resend {ref}: {error}").format(
                provider=self.doc.provider.value, ref=self.doc.ref, error=exc)
            hint = exc.user_hint
        return await self.run.finish(
            ApprovalState.FAILED, code=exc.outcome_code, message=message, hint=hint, retryable=retryable
        )

    async def unknown(self, sent: ProviderError | None, looked: ProviderError | None) -> ExecutionResult:
        if sent is None:  # a run interrupted by a crash: it may or may not have been sent
            return await self.run.finish(
                ApprovalState.UNKNOWN, code="unknown",
                message=_("the resend of {ref} was interrupted; it may or may not have been sent").format(
                    ref=self.doc.ref),
                hint=_("retry to send it (again) if the buyer did not get it"), retryable=True,
            )
        return await self.run.finish(
            ApprovalState.UNKNOWN, code=sent.outcome_code,
            message=_("{provider} did not confirm the resend of {ref} {how}").format(
                provider=self.doc.provider.value, ref=self.doc.ref, how=self.target),
            hint=_("it may have been sent; retry to send it (again) if the buyer did not get it"), retryable=True,
        )


_ACTIONS: Mapping[ApprovalAction, Callable[[Run], Action]] = {
    ApprovalAction.ISSUE: IssueAction,
    ApprovalAction.DESTROY: DestroyAction,
    ApprovalAction.RESEND: ResendAction,
}


def action_for(run: Run) -> Action:
    """The strategy for the run's approval action."""
    return _ACTIONS[run.approval.action](run)

"""The strategy of a send-to-NTS (즉시전송) execution, and what a provider needs to offer it.

Kept apart from `commands.workflow.send_nts` (the request) because the execution loop imports
the strategies, and the request runs the loop when no approval is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from commands.i18n import _
from commands.ledger import ApprovalState, AuditOperation, Lifecycle
from commands.workflow.actions import LookableAction
from commands.workflow.views import ExecutionResult
from providers.errors import ProviderError
from providers.models import DocumentKind, DocumentRef, DocumentState, DocumentStatus

__all__ = ["FILING_OR_FILED", "TAX_KINDS", "NtsFiler", "SendNtsAction"]

TAX_KINDS = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE})
FILING_OR_FILED = frozenset({DocumentState.FILING, DocumentState.FILED, DocumentState.FILING_FAILED})


@runtime_checkable
class NtsFiler(Protocol):
    """A provider that files a tax invoice with the NTS on request (Popbill ``sendToNTS``)."""

    async def send_to_nts(self, ref: DocumentRef, memo: str | None = None) -> DocumentStatus: ...


class SendNtsAction(LookableAction):
    """``sendToNTS``: done when the document reads as filing or filed."""

    operation = AuditOperation.SEND_NTS
    look_operation = AuditOperation.SEND_NTS
    found_how = "already filing at the provider"
    sent_how = "sent to the NTS"

    async def prepare(self) -> Mapping[str, Any]:
        ref = self.doc.document_ref
        if ref is None or not isinstance(self.provider, NtsFiler):
            raise RuntimeError(f"{self.doc.ref} cannot be sent to the NTS")
        self.ref: DocumentRef = ref
        self.filer: NtsFiler = self.provider
        return {"ref": str(ref)}

    async def send(self) -> DocumentStatus | None:
        return await self.filer.send_to_nts(self.ref)

    async def look(self, *, audit: bool = True) -> DocumentStatus | None:
        status = await self.provider.status(self.ref)
        if audit:
            await self.run.audit(AuditOperation.SEND_NTS, f"look:{status.state.value}")
        return status if status.state in FILING_OR_FILED else None

    async def already_done(self, result: Mapping[str, Any] | None) -> ExecutionResult | None:
        return await self.succeeded(DocumentStatus.model_validate(result), how="already recorded") if result else None

    async def succeeded(self, status: DocumentStatus | None, *, how: str) -> ExecutionResult:
        if status is None:
            raise RuntimeError(f"{self.doc.provider.value} sent {self.doc.ref} to the NTS without a status")
        return await self.run.succeeded(
            status, lifecycle=Lifecycle.ISSUED, operation=AuditOperation.SEND_NTS, detail={"how": how},
            code="sent_to_nts", message=_("{ref} sent to the NTS ({state}); the result follows in the thread").format(
                ref=self.doc.ref, state=status.state.value),
        )

    async def failed(self, exc: ProviderError, *, retryable: bool, message: str | None = None) -> ExecutionResult:
        message = message or _("{provider} did not send {ref} to the NTS: {error}").format(
            provider=self.doc.provider.value, ref=self.doc.ref, error=exc)
        hint = exc.user_hint or (_("nothing was sent; retry in a moment") if retryable else None)
        return await self.run.finish(ApprovalState.FAILED, code=exc.outcome_code, message=message, hint=hint,
                                     retryable=retryable)

    async def unknown(self, sent: ProviderError | None, looked: ProviderError | None) -> ExecutionResult:
        message = _("{provider} did not confirm sending {ref} to the NTS, and checking failed ({error})").format(
            provider=self.doc.provider.value, ref=self.doc.ref, error=looked)
        return await self.run.finish(ApprovalState.UNKNOWN, code="unknown", message=message, retryable=True,
                                     hint=_("retrying checks its state first, so it is not sent twice"))

    def exhausted(self, sends: int) -> tuple[str, str]:
        return "no answer, not filing", _("{provider} did not answer {sends} times and {ref} is not filing, so it "
                                          "was not sent").format(provider=self.doc.provider.value, sends=sends,
                                                                 ref=self.doc.ref)

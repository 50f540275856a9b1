"""An in-memory provider for the service tests.

It keeps documents keyed by our ref (as Popbill keys by MgtKey and Payssam by billId),
refuses a second issue with the same key, counts every call, and fails on demand:
``fake.fail("issue", OutcomeUnknown(...), commit=True)`` issues the document and then
raises, which is what a timeout after the provider acted looks like from our side.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from providers.base import Capabilities
from providers.errors import DocumentNotFound, ProviderError, ProviderRejected
from providers.models import (
    BusinessState,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Provider,
    ResendChannel,
    ResendRequest,
)

__all__ = ["FakeProvider", "Fault"]

ISSUED_AT = dt.datetime(2024, 5, 2, 1, 0, tzinfo=dt.UTC)


@dataclass
class Fault:
    error: ProviderError
    commit: bool = False  # do the operation, then raise: the caller never hears it succeeded


class FakeProvider:
    """Implements `providers.base.InvoiceProvider` in memory."""

    def __init__(
        self,
        provider: Provider = Provider.POPBILL,
        *,
        kinds: frozenset[DocumentKind] | None = None,
        closure: bool = True,
        destroy: bool = True,
        resend_channels: frozenset[ResendChannel] = frozenset({ResendChannel.EMAIL}),
        sandbox: bool = True,
    ) -> None:
        self.provider = provider
        self.sandbox = sandbox
        self.capabilities = Capabilities(
            provider=provider,
            kinds=kinds or frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE}),
            resend_channels=resend_channels,
            destroy=destroy,
            closure_check=closure,
            links=True,
            currencies=None if provider is Provider.ABILLIFY else frozenset({"KRW"}),
        )
        self.documents: dict[str, DocumentStatus] = {}
        self.calls: Counter[str] = Counter()
        self.resent: list[tuple[str, ResendRequest]] = []
        self.closure_states: dict[str, BusinessState] = {}
        self._faults: dict[str, list[Fault]] = defaultdict(list)

    # ------------------------------------------------------------------ switches

    def fail(self, operation: str, error: ProviderError, *, commit: bool = False, times: int = 1) -> None:
        """Make the next `times` calls of `operation` fail with `error` (after acting when `commit`)."""
        self._faults[operation].extend(Fault(error, commit) for _ in range(times))

    @property
    def issue_calls(self) -> int:
        return self.calls["issue"]

    def add_document(self, provider_id: str, *, state: DocumentState = DocumentState.ISSUED,
                     kind: DocumentKind = DocumentKind.TAX_INVOICE) -> DocumentStatus:
        """A document issued elsewhere (not through the bot)."""
        status = self._status(provider_id, kind, state, buyer_name="외부 거래처", total=11000)
        self.documents[provider_id] = status
        return status

    # ------------------------------------------------------------------ protocol

    async def _enter(self, operation: str) -> Fault | None:
        self.calls[operation] += 1
        await asyncio.sleep(0)  # let other tasks run, as a network call would
        queue = self._faults[operation]
        if not queue:
            return None
        fault = queue.pop(0)
        if not fault.commit:
            raise fault.error
        return fault

    def _status(
        self,
        provider_id: str,
        kind: DocumentKind,
        state: DocumentState,
        *,
        buyer_name: str | None = None,
        total: int | None = None,
    ) -> DocumentStatus:
        from providers.models import Amounts

        amounts = None
        if total is not None:
            supply = round(total / 1.1)
            amounts = Amounts(supply=supply, vat=total - supply, total=total)
        return DocumentStatus(
            ref=DocumentRef(provider=self.provider, kind=kind, provider_id=provider_id),
            state=state,
            raw_state={DocumentState.ISSUED: "300", DocumentState.CANCELED: "600"}.get(state, state.value),
            amounts=amounts,
            buyer_name=buyer_name,
            issued_at=ISSUED_AT,
            confirm_number=f"NTS-{provider_id}",
            links={"popup": f"https://sandbox.invalid/{provider_id}"},
        )

    async def issue(self, request: IssueRequest) -> DocumentStatus:
        fault = await self._enter("issue")
        if request.key in self.documents:
            raise ProviderRejected(f"key {request.key} is already used", provider=self.provider.value, code="-11000001")
        total = request.amounts().total
        buyer = request.buyer.name
        status = self._status(request.key, request.kind, DocumentState.ISSUED, buyer_name=buyer, total=total)
        self.documents[request.key] = status
        self.calls["issued"] += 1
        if fault is not None:
            raise fault.error
        return status

    async def find(self, request: IssueRequest) -> DocumentStatus | None:
        fault = await self._enter("find")
        if fault is not None:
            raise fault.error
        return self.documents.get(request.key)

    async def status(self, ref: DocumentRef) -> DocumentStatus:
        fault = await self._enter("status")
        if fault is not None:
            raise fault.error
        try:
            return self.documents[ref.provider_id]
        except KeyError:
            raise DocumentNotFound(f"no document {ref.provider_id}", provider=self.provider.value) from None

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        await self._enter("statuses")
        return {r.provider_id: self.documents[r.provider_id] for r in refs if r.provider_id in self.documents}

    async def resend(self, ref: DocumentRef, request: ResendRequest) -> None:
        fault = await self._enter("resend")
        if ref.provider_id not in self.documents:
            raise DocumentNotFound(f"no document {ref.provider_id}", provider=self.provider.value)
        self.resent.append((ref.provider_id, request))
        if fault is not None:
            raise fault.error

    async def destroy(self, ref: DocumentRef, reason: str | None = None) -> DocumentStatus:
        fault = await self._enter("destroy")
        current = self.documents.get(ref.provider_id)
        if current is None:
            raise DocumentNotFound(f"no document {ref.provider_id}", provider=self.provider.value)
        if current.state is DocumentState.CANCELED:
            raise ProviderRejected("already canceled", provider=self.provider.value, code="-11000002")
        status = current.model_copy(update={"state": DocumentState.CANCELED, "raw_state": "600", "detail": reason})
        self.documents[ref.provider_id] = status
        self.calls["destroyed"] += 1
        if fault is not None:
            raise fault.error
        return status

    async def check_closure(self, biznos: Sequence[str]) -> list[BusinessStatus]:
        fault = await self._enter("check_closure")
        if fault is not None:
            raise fault.error
        return [
            BusinessStatus(
                bizno=b,
                state=self.closure_states.get(b, BusinessState.ACTIVE),
                raw_state={BusinessState.CLOSED: "3", BusinessState.SUSPENDED: "2"}.get(
                    self.closure_states.get(b, BusinessState.ACTIVE), "1"
                ),
                tax_type="general taxable",
            )
            for b in biznos
        ]

    async def aclose(self) -> None:
        return None

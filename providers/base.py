"""The uniform interface the Slack layer drives, and declared capabilities.

Each provider package has faithful low-level clients (one method per documented API
call) and one *service* implementing :class:`InvoiceProvider`, which chooses the right
calls for "issue", "resend", "destroy", "status" and "closure".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from providers.errors import NotSupported
from providers.models import (
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentStatus,
    IssueRequest,
    Provider,
    ResendChannel,
    ResendRequest,
)

__all__ = ["Capabilities", "InvoiceProvider"]


class Capabilities(BaseModel):
    """What a provider service can do, so the Slack layer can answer instead of failing."""

    model_config = ConfigDict(frozen=True)

    provider: Provider
    kinds: frozenset[DocumentKind]
    resend_channels: frozenset[ResendChannel] = frozenset()
    destroy: bool = True
    closure_check: bool = False
    batch_status: bool = False  # status of many documents in one call
    batch_size: int = 1
    links: bool = False  # popup/PDF URLs
    notes: dict[str, str] = Field(default_factory=dict)  # free text shown with refusals, keyed by operation

    def require_kind(self, kind: DocumentKind) -> None:
        if kind not in self.kinds:
            offered = ", ".join(sorted(k.value for k in self.kinds))
            raise NotSupported(
                f"{self.provider.value} cannot issue a {kind.value.replace('_', ' ')} (it offers: {offered})",
                provider=self.provider.value,
                code="kind",
            )

    def require_resend(self, channel: ResendChannel) -> None:
        if channel is ResendChannel.DEFAULT:
            if not self.resend_channels:
                raise NotSupported(self._why("resend", "cannot resend documents"),
                                   provider=self.provider.value, code="resend")
            return
        if channel not in self.resend_channels:
            offered = ", ".join(sorted(c.value for c in self.resend_channels)) or "nothing"
            raise NotSupported(
                f"{self.provider.value} cannot resend by {channel.value} (it can resend by: {offered})",
                provider=self.provider.value,
                code="resend_channel",
            )

    def require_closure(self) -> None:
        if not self.closure_check:
            raise NotSupported(self._why("closure", "cannot check business closure status"),
                               provider=self.provider.value, code="closure")

    def _why(self, op: str, default: str) -> str:
        return f"{self.provider.value} {self.notes.get(op, default)}"


@runtime_checkable
class InvoiceProvider(Protocol):
    """One provider as the bot sees it. Implementations live in each provider package."""

    provider: Provider
    #: True when this service talks to a built-in sandbox, not the real provider
    sandbox: bool
    capabilities: Capabilities

    async def issue(self, request: IssueRequest) -> DocumentStatus:
        """Issue (and send) a document. The provider id derives from `request.key` where the
        provider lets us choose it, so repeating the call cannot issue twice."""
        ...

    async def find(self, request: IssueRequest) -> DocumentStatus | None:
        """Reconcile after `OutcomeUnknown`: the document issued for `request`, or None when the
        provider has no such document. Raises `NotSupported` when the provider cannot tell."""
        ...

    async def status(self, ref: DocumentRef) -> DocumentStatus:
        ...

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        """Status of many documents, keyed by `provider_id`, using batch calls where the provider
        has them. Documents the provider does not know are missing from the result."""
        ...

    async def resend(self, ref: DocumentRef, request: ResendRequest) -> None:
        ...

    async def destroy(self, ref: DocumentRef, reason: str | None = None) -> DocumentStatus:
        """Cancel, void, destroy or delete, whichever the document's state calls for.
        Raises `ProviderRejected` with a clear message when it is impossible (e.g. filed)."""
        ...

    async def check_closure(self, biznos: Sequence[str]) -> list[BusinessStatus]:
        ...

    async def aclose(self) -> None:
        ...

"""The uniform interface the Slack layer drives, and declared capabilities.

Each provider package has faithful low-level clients (one method per documented API
call) and one *service* implementing :class:`InvoiceProvider`, which chooses the right
calls for "issue", "resend", "destroy", "status" and "closure".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from providers.errors import NotSupported, RequestInvalid
from providers.models import (
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Provider,
    ResendChannel,
    ResendRequest,
    TaxType,
)
from providers.phone import MOBILE_EXAMPLE, normalise_mobile

__all__ = ["BulkIssuer", "BulkOutcome", "BulkResult", "BuyerField", "Capabilities", "InvoiceProvider",
           "decimal_places", "implements"]


def implements(obj: object, protocol: type) -> bool:
    """`isinstance(obj, protocol)` for a runtime-checkable Protocol, worked out once per class.

    Python 3.11 checks every member of the protocol on every such call (about 15 µs; a status
    card asks three: PDF, page link, sending to the NTS). A provider's capabilities are the
    methods its class defines, so the answer for one instance holds for its whole class.
    """
    return _implements(type(obj), protocol, obj)


def _implements(cls: type, protocol: type, obj: object) -> bool:
    key = (cls, protocol)
    known = _IMPLEMENTS.get(key)
    if known is None:
        known = _IMPLEMENTS[key] = isinstance(obj, protocol)
    return known


_IMPLEMENTS: dict[tuple[type, type], bool] = {}


class BuyerField(StrEnum):
    """A buyer (`Party`) field a provider may require; the value is the `Party` attribute."""

    BIZNO = "bizno"
    NAME = "name"
    CEO_NAME = "ceo_name"
    EMAIL = "email"
    PHONE = "phone"


def decimal_places(value: Decimal) -> int:
    """How many decimals `value` really has (``1.50`` has one)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


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
    #: ISO 4217 codes the provider issues in; None means any currency
    currencies: frozenset[str] | None = None
    #: the largest document total the provider accepts, in minor units; None means no limit of its own
    max_total: int | None = None
    #: document kinds delivered to the buyer's mobile phone (KakaoTalk, SMS), which need a mobile number
    mobile_kinds: frozenset[DocumentKind] = frozenset()
    #: buyer fields the provider refuses a document without, per kind (from its documentation)
    required_buyer: Mapping[DocumentKind, frozenset[BuyerField]] = Field(default_factory=dict)
    #: the most decimals a line quantity may have; None: the provider takes no quantity or any
    quantity_decimals: int | None = None
    #: the most line items one document holds; None: no limit of its own
    max_items: int | None = None
    #: provider states in which a document of a kind can no longer be destroyed (e.g. filed with the
    #: tax office): `request_destroy` reads the current state and refuses before anyone approves
    destroy_blocked: Mapping[DocumentKind, frozenset[DocumentState]] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)  # free text shown with refusals, keyed by operation
    #: VAT treatments a document of a kind may choose besides the kind's own (a VAT-free Payssam bill,
    #: a 비과세 cash receipt); a kind not listed is always its `DocumentKind.tax_type`
    taxations: Mapping[DocumentKind, frozenset[TaxType]] = Field(default_factory=dict)
    #: VAT rates (percent) a line may carry, as the seller configured them (EU: 19, 7, 0 …); empty: the
    #: provider applies Korea's 10% rule and no line picks its own rate
    vat_rates: tuple[Decimal, ...] = ()
    #: the rate of lines that name none, when `vat_rates` is offered
    default_vat_rate: Decimal | None = None
    #: the currency a new document starts in (the form preselects it)
    default_currency: str = "KRW"
    #: kinds issued to an identity number chosen by usage (cash receipts: 소득공제용 / 지출증빙용), which
    #: have no buyer business number field, due date or 영수/청구 purpose of their own
    identity_kinds: frozenset[DocumentKind] = frozenset()

    def required_buyer_fields(self, kind: DocumentKind) -> frozenset[BuyerField]:
        """The buyer fields a `kind` document cannot be issued without at this provider."""
        return self.required_buyer.get(kind, frozenset())

    def can_destroy_in(self, kind: DocumentKind, state: DocumentState) -> bool:
        """False when a `kind` document in `state` can no longer be destroyed at this provider."""
        return self.destroy and state not in self.destroy_blocked.get(kind, frozenset())

    def taxations_for(self, kind: DocumentKind) -> frozenset[TaxType]:
        """The VAT treatments a `kind` document may have here (always at least the kind's own)."""
        return frozenset({kind.tax_type, *self.taxations.get(kind, frozenset())})

    @property
    def currency_choice(self) -> bool:
        """Whether a requester picks the currency (any, or more than one is offered)."""
        return self.currencies is None or len(self.currencies) > 1

    def single_kind(self) -> DocumentKind | None:
        """The one kind the provider issues, when it issues only one (the form preselects it)."""
        return next(iter(self.kinds)) if len(self.kinds) == 1 else None

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

    def require_destroy(self) -> None:
        if not self.destroy:
            raise NotSupported(self._why("destroy", "cannot destroy documents"),
                               provider=self.provider.value, code="destroy")

    def require_closure(self) -> None:
        if not self.closure_check:
            raise NotSupported(self._why("closure", "cannot check business closure status"),
                               provider=self.provider.value, code="closure")

    def require_currency(self, currency: str) -> None:
        """Refuse a document in a currency the provider cannot issue in (Korean e-tax services: KRW)."""
        if self.currencies is None or currency in self.currencies:
            return
        offered = ", ".join(sorted(self.currencies))
        raise NotSupported(
            f"{self.provider.value} issues documents in {offered} only, not {currency}",
            provider=self.provider.value,
            code="currency",
            user_hint=f"Write the amounts in {offered}, or choose a provider that bills in {currency}.",
        )

    def require_total(self, total: int, currency: str) -> None:
        """Refuse a total above what the provider accepts (Payssam's price has at most 10 digits)."""
        if self.max_total is None or total <= self.max_total:
            return
        raise RequestInvalid(
            f"{self.provider.value} bills at most {self.max_total:,} {currency} (this total is {total:,})",
            provider=self.provider.value,
            code="max_total",
            user_hint="Split the amount over several documents.",
        )

    def needs_mobile(self, kind: DocumentKind) -> bool:
        """True when a `kind` document reaches the buyer on a mobile phone, so the buyer needs one."""
        return kind in self.mobile_kinds

    def require_mobile(self, kind: DocumentKind, phone: str | None) -> str | None:
        """The buyer's mobile number as digits when a `kind` document needs one, else None.

        Raises `RequestInvalid` (code ``invalid_phone``) when the document needs a mobile number
        and `phone` is missing or is not a Korean mobile number.
        """
        if not self.needs_mobile(kind):
            return None
        why = self._why("mobile", "sends this document to the buyer's mobile phone")
        if not phone:
            raise RequestInvalid(
                f"{why}, and the buyer has no phone number",
                provider=self.provider.value,
                code="invalid_phone",
                user_hint=f"Add the buyer's mobile phone number (e.g. {MOBILE_EXAMPLE}) and try again.",
            )
        digits = normalise_mobile(phone)
        if digits is None:
            raise RequestInvalid(
                f"{why}, and {phone!r} is not a mobile number",
                provider=self.provider.value,
                code="invalid_phone",
                user_hint=f"Give a mobile number (e.g. {MOBILE_EXAMPLE}); a landline cannot receive it.",
            )
        return digits

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


class BulkOutcome(BaseModel):
    """What the provider did with one document of a bulk submission (by our key)."""

    model_config = ConfigDict(frozen=True)

    key: str
    ok: bool
    code: str
    message: str = ""
    confirm_number: str | None = None


class BulkResult(BaseModel):
    """A bulk submission as the provider reports it: still processing, or done with one outcome per key."""

    model_config = ConfigDict(frozen=True)

    submit_id: str
    done: bool
    receipt_id: str | None = None
    outcomes: tuple[BulkOutcome, ...] = ()


@runtime_checkable
class BulkIssuer(Protocol):
    """A provider that issues many documents in one call (Popbill bulkSubmit / getBulkResult).

    A submission is keyed by a submit id we choose; sending the same id again answers the first
    receipt instead of issuing again, and `bulk_result` answers None when the provider never got
    that submission (so its documents may be sent again under a new id)."""

    #: the most documents one submission takes
    bulk_size: int

    def bulk_family(self, request: IssueRequest) -> str:
        """Which bulk endpoint takes this document (documents of one family go in one submission)."""
        ...

    async def bulk_submit(self, family: str, submit_id: str, requests: Sequence[IssueRequest]) -> str:
        """Submit documents of one family; returns the provider's receipt id."""
        ...

    async def bulk_result(self, family: str, submit_id: str) -> BulkResult | None:
        """The submission's progress and per-document outcomes; None: the provider has no such submission."""
        ...

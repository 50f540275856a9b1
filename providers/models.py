"""One vocabulary for every provider.

The Slack layer and storage speak only these models; each provider package maps its
own wire format onto them and always keeps the provider's raw state code, so nothing
the provider said is lost in translation.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "KST",
    "VAT_RATE",
    "Amounts",
    "BusinessState",
    "BusinessStatus",
    "DocumentKind",
    "DocumentRef",
    "DocumentState",
    "DocumentStatus",
    "IssueRequest",
    "LineItem",
    "Party",
    "Provider",
    "Purpose",
    "ResendChannel",
    "ResendRequest",
    "StatusEvent",
    "TaxType",
    "TradeUsage",
    "compute_line_vat",
]

#: Korea Standard Time (no daylight saving): the providers' dates and times are meant in it
KST = dt.timezone(dt.timedelta(hours=9), "KST")

VAT_RATE = Decimal("0.10")


class Provider(StrEnum):
    POPBILL = "popbill"
    PAYSSAM = "payssam"
    HIWORKS = "hiworks"
    ABILLIFY = "abillify"


class DocumentKind(StrEnum):
    """What kind of document a provider issues."""

    TAX_INVOICE = "tax_invoice"  # 세금계산서 (taxable, 10% VAT)
    ZERO_RATED_INVOICE = "zero_rated_invoice"  # 영세율 세금계산서 (0% VAT)
    EXEMPT_INVOICE = "exempt_invoice"  # 계산서 (VAT exempt)
    STATEMENT = "statement"  # 거래명세서 (Hiworks)
    CASH_RECEIPT = "cash_receipt"  # 현금영수증 (Popbill Cashbill)
    BILL = "bill"  # 결제선생 청구서 (Payssam)
    INVOICE = "invoice"  # Abillify invoice

    @property
    def tax_type(self) -> TaxType:
        if self is DocumentKind.ZERO_RATED_INVOICE:
            return TaxType.ZERO_RATED
        if self is DocumentKind.EXEMPT_INVOICE:
            return TaxType.EXEMPT
        return TaxType.TAXABLE


class TaxType(StrEnum):
    TAXABLE = "taxable"
    ZERO_RATED = "zero_rated"
    EXEMPT = "exempt"


class TradeUsage(StrEnum):
    """What a cash receipt (현금영수증) is for, which decides whose identity number it carries."""

    INCOME_DEDUCTION = "income_deduction"  # 소득공제용: the buyer's mobile phone or cash-receipt card
    EXPENSE_PROOF = "expense_proof"  # 지출증빙용: the buyer's business number or card


class Purpose(StrEnum):
    RECEIPT = "receipt"  # 영수 (already paid)
    CHARGE = "charge"  # 청구 (payment requested)


class DocumentState(StrEnum):
    """Normalized provider-side state of a document.

    `raw_state` on :class:`DocumentStatus` always keeps the provider's own code.
    """

    ISSUED = "issued"
    SENT = "sent"
    FILING = "filing"  # sent to the tax office (NTS), no result yet
    FILED = "filed"  # NTS accepted it
    FILING_FAILED = "filing_failed"
    UNPAID = "unpaid"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELED = "canceled"
    DESTROYED = "destroyed"
    DELETED = "deleted"
    UNKNOWN = "unknown"

    @property
    def is_open(self) -> bool:
        """Whether the provider may still move the document (a status sweep refreshes these)."""
        return self in _OPEN_STATES

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATES


_OPEN_STATES = frozenset(
    {DocumentState.ISSUED, DocumentState.SENT, DocumentState.FILING, DocumentState.UNPAID, DocumentState.UNKNOWN}
)
_FINAL_STATES = frozenset(
    {
        DocumentState.CANCELED,
        DocumentState.DESTROYED,
        DocumentState.DELETED,
        DocumentState.EXPIRED,
        DocumentState.FILED,
        DocumentState.FILING_FAILED,
        DocumentState.PAID,
    }
)


class ResendChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    FAX = "fax"
    TALK = "talk"  # KakaoTalk (Payssam)
    DEFAULT = "default"  # whatever the provider uses by default


class BusinessState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # 휴업
    CLOSED = "closed"  # 폐업
    UNREGISTERED = "unregistered"
    UNKNOWN = "unknown"


#: the models below are built on first use (`defer_build`): most of them serve only the work after an ack
#: (issue, status, resend), and an idle bot need not hold their validators (`tests/bot/test_start.py`);
#: `_BUILT_AT_IMPORT` is for the ones an ack itself validates (the issue modal's submission), whose first
#: build must not land on an ack
_BUILT_AT_IMPORT = ConfigDict(defer_build=False)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Party(_Model):
    """A business or person on a document. `bizno` is the normalized 10-digit number when a business."""

    model_config = _BUILT_AT_IMPORT

    name: str
    bizno: str | None = None
    ceo_name: str | None = None
    address: str | None = None
    biz_type: str | None = None  # 업태
    biz_class: str | None = None  # 종목
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None


def compute_line_vat(supply: int, tax_type: TaxType, rate: Decimal | None = None) -> int:
    """VAT of one line, rounded half-up to the minor unit: `rate` percent (Korea's 10% when None),
    zero when zero-rated or exempt."""
    if tax_type is not TaxType.TAXABLE:
        return 0
    share = VAT_RATE if rate is None else rate / 100
    return int((Decimal(supply) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class LineItem(_Model):
    model_config = _BUILT_AT_IMPORT

    name: str = Field(min_length=1, max_length=100)
    quantity: Decimal = Field(default=Decimal(1), gt=0)
    unit_price: int = Field(ge=0)
    spec: str | None = None
    remark: str | None = None
    supply: int | None = None  # computed from quantity x unit price when omitted
    vat: int | None = None  # computed per line when omitted
    #: this line's VAT treatment when it differs from the document's (e.g. an exempt line on a taxable bill)
    tax_type: TaxType | None = None
    #: this line's VAT rate in percent (EU sellers: 19, 7, 0 …); None: the document's rate
    vat_rate: Decimal | None = Field(default=None, ge=0, le=100)

    def supply_amount(self) -> int:
        if self.supply is not None:
            return self.supply
        return int((self.quantity * self.unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def vat_amount(self, tax_type: TaxType, rate: Decimal | None = None) -> int:
        """The line's VAT: its own treatment and rate where it has them, else the document's."""
        if self.vat is not None:
            return self.vat
        own_rate = self.vat_rate if self.vat_rate is not None else rate
        return compute_line_vat(self.supply_amount(), self.tax_type or tax_type, own_rate)


class Amounts(_Model):
    """Integer amounts in the currency's minor unit (KRW has none, so won)."""

    supply: int
    vat: int
    total: int
    currency: str = "KRW"

    @model_validator(mode="after")
    def _total_adds_up(self) -> Amounts:
        if self.supply + self.vat != self.total:
            raise ValueError(f"total {self.total} != supply {self.supply} + vat {self.vat}")
        return self

    @classmethod
    def of_items(cls, items: list[LineItem], tax_type: TaxType, currency: str = "KRW",
                 rate: Decimal | None = None) -> Amounts:
        supply = sum(i.supply_amount() for i in items)
        vat = sum(i.vat_amount(tax_type, rate) for i in items)
        return cls(supply=supply, vat=vat, total=supply + vat, currency=currency)


class DocumentRef(_Model):
    """How a provider knows a document.

    `provider_id` is the id the provider's API takes (Popbill MgtKey, Payssam billId,
    Hiworks documentId, Abillify invoice reference).
    """

    provider: Provider
    kind: DocumentKind
    provider_id: str

    def __str__(self) -> str:
        prefix = "cashbill" if self.kind is DocumentKind.CASH_RECEIPT else self.provider.value
        return f"{prefix}:{self.provider_id}"


class StatusEvent(_Model):
    at: dt.datetime | None
    what: str
    raw_code: str | None = None


class DocumentStatus(_Model):
    """The provider's view of one document, normalized, with its raw code kept."""

    ref: DocumentRef
    state: DocumentState
    raw_state: str
    amounts: Amounts | None = None
    buyer_name: str | None = None
    buyer_bizno: str | None = None
    issued_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    due_date: dt.date | None = None
    confirm_number: str | None = None  # NTS approval number, Payssam apprNum, ...
    links: dict[str, str] = Field(default_factory=dict)  # e.g. {"popup": url, "pdf": url, "pay": url}
    history: tuple[StatusEvent, ...] = ()
    detail: str | None = None  # human-readable extra, e.g. NTS failure reason
    raw: dict[str, Any] = Field(default_factory=dict)


class BusinessStatus(_Model):
    """Result of a closure (휴폐업) check."""

    bizno: str
    state: BusinessState
    raw_state: str | None = None
    tax_type: str | None = None  # human-readable, e.g. "general taxable"
    tax_type_code: str | None = None
    state_date: dt.date | None = None  # closing/suspension date
    type_date: dt.date | None = None
    checked_at: dt.datetime | None = None
    detail: str | None = None


class IssueRequest(_Model):
    """Everything needed to issue one document, independent of the provider.

    `key` is our idempotency key for the document (e.g. ``INV-000123``); providers that
    let the caller choose the document id (Popbill MgtKey, Payssam billId) derive it from
    this key so a retry can never issue twice.
    """

    provider: Provider
    kind: DocumentKind
    key: str = Field(min_length=1, max_length=64)
    buyer: Party
    items: list[LineItem] = Field(min_length=1)
    write_date: dt.date
    purpose: Purpose = Purpose.CHARGE
    memo: str | None = None
    seller: Party | None = None  # provider settings supply the default seller
    currency: str = "KRW"
    due_date: dt.date | None = None
    callback_url: str | None = None  # Payssam payment callback, Abillify notifyUrl
    # 수정세금계산서 (amended tax invoice): the NTS reason code 1..6 (1 correction of errors, 2 change
    # in supply values, 3 return, 4 cancellation of contract, 5 post-opened local L/C, 6 duplicate)
    # and the original's NTS confirmation number; both or neither (Popbill modifyCode, orgNTSConfirmNum)
    modify_code: int | None = Field(default=None, ge=1, le=6)
    original_confirm_number: str | None = Field(default=None, min_length=1, max_length=24)
    #: the document's VAT treatment where the kind does not fix it (a VAT-free Payssam bill, a 비과세
    #: cash receipt, a reverse-charge Abillify invoice); None: the kind's own (`DocumentKind.tax_type`)
    taxation: TaxType | None = None
    #: the document's default VAT rate in percent for lines without their own; None: Korea's 10%
    vat_rate: Decimal | None = Field(default=None, ge=0, le=100)
    #: a cash receipt's usage (소득공제용 / 지출증빙용) and the identity number it is issued to
    trade_usage: TradeUsage | None = None
    identity_number: str | None = Field(default=None, min_length=1, max_length=30)
    # issue an invoice past its issuance deadline (Popbill registIssue forceIssue); set only when an
    # approver confirmed the late issue and its penalty (commands.workflow.deadlines)
    force_issue: bool = False

    @property
    def tax_type(self) -> TaxType:
        return self.taxation or self.kind.tax_type

    def amounts(self) -> Amounts:
        return Amounts.of_items(self.items, self.tax_type, self.currency, self.vat_rate)


class ResendRequest(_Model):
    channel: ResendChannel = ResendChannel.DEFAULT
    address: str | None = None  # e-mail address, phone or fax number

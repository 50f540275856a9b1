"""Hiworks bill-api v4 wire models (the "세금계산서 API" part of the Hiworks Postman collection).

Field names are the API's own camelCase (Python attributes are snake_case with camelCase
aliases). Hiworks sends and expects amounts as *number strings* (``"200"``, ``"-20"``), so
amount fields are ``int`` here and serialise back to strings.

Request models forbid unknown fields so a typo never reaches Hiworks silently; response
models allow extra fields because Hiworks may add some.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator
from pydantic.alias_generators import to_camel

from providers.bizno import format_bizno

__all__ = [
    "MAX_ITEMS",
    "AmendmentInfo",
    "AmendmentRequest",
    "BusinessCheck",
    "BusinessValidation",
    "Contact",
    "CreateResult",
    "Invoice",
    "InvoiceDetail",
    "InvoiceInformation",
    "InvoiceItem",
    "InvoiceParty",
    "InvoiceStatusInfo",
    "InvoiceType",
    "LinkedDocument",
    "MailInfo",
    "RateLimit",
    "ValidateRequest",
]

#: Hiworks accepts at most 100 items per document.
MAX_ITEMS = 100

_BIZNO_DASHED = re.compile(r"^\d{3}-\d{2}-\d{5}$")


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


NumStr = Annotated[int, PlainSerializer(str, return_type=str)]
DecStr = Annotated[Decimal, PlainSerializer(_decimal_text, return_type=str)]


#: every model here is built on its first use (`defer_build`): only the work after an ack and the Hiworks
#: sandbox validate them, and an idle bot need not hold their validators (`tests/bot/test_start.py`)
class _Request(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              defer_build=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object Hiworks expects (camelCase, number strings, no unset fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True)


class Contact(_Request):
    """담당자 (contact). `name` and `email` are required by Hiworks."""

    name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=100, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    cell: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=20)


class InvoiceParty(_Request):
    """공급자/공급받는자 (invoicer object form, invoicee).

    `party_type_code`: 01 business, 02 domestic individual (13-digit resident number in
    `company_number`), 03 foreign individual (``9999999999999``).
    """

    company_number: str = Field(min_length=1)
    tax_number: str | None = Field(default=None, max_length=4)  # 종사업자 번호
    company_name: str = Field(min_length=1, max_length=200)
    ceo_name: str = Field(min_length=1, max_length=100)
    company_address: str | None = Field(default=None, max_length=255)
    biz_type: str | None = Field(default=None, max_length=100)
    biz_classification: str | None = Field(default=None, max_length=100)
    party_type_code: Literal["01", "02", "03"] | None = None
    primary_contact: Contact
    secondary_contact: Contact | None = None


class InvoiceType(_Request):
    """문서 종류. typeCode A 세금계산서, B 계산서, D 거래명세서 (M/N are how amendments read back);
    taxType A 과세, B 영세/면세; purposeType C 청구, R 영수; transactionType S 매출 only."""

    type_code: Literal["A", "B", "D", "M", "N"]
    transaction_type: Literal["S"] = "S"
    purpose_type: Literal["C", "R"] = "C"
    tax_type: Literal["A", "B"]

    @classmethod
    def taxable(cls, purpose: Literal["C", "R"] = "C") -> InvoiceType:
        """과세 세금계산서."""
        return cls(type_code="A", tax_type="A", purpose_type=purpose)

    @classmethod
    def zero_rated(cls, purpose: Literal["C", "R"] = "C") -> InvoiceType:
        """영세율 세금계산서: typeCode A with taxType B."""
        return cls(type_code="A", tax_type="B", purpose_type=purpose)

    @classmethod
    def exempt(cls, purpose: Literal["C", "R"] = "C") -> InvoiceType:
        """면세 계산서: typeCode B with taxType B (A is refused by Hiworks)."""
        return cls(type_code="B", tax_type="B", purpose_type=purpose)

    @classmethod
    def statement(cls, purpose: Literal["C", "R"] = "C", *, taxable: bool = True) -> InvoiceType:
        """거래명세서 (typeCode D)."""
        return cls(type_code="D", tax_type="A" if taxable else "B", purpose_type=purpose)


class InvoiceInformation(_Request):
    """information: the document's general data. Totals must equal the sums of the items."""

    issue_date: dt.date
    memo: str | None = None
    book_no: str | None = None
    serial: str | None = None
    description: str | None = None
    cash: NumStr | None = None
    check: NumStr | None = None
    draft: NumStr | None = None
    uncollected: NumStr | None = None
    total_supply_price: NumStr
    total_tax: NumStr

    def payment_total(self) -> int:
        return sum(v or 0 for v in (self.cash, self.check, self.draft, self.uncollected))


class InvoiceItem(_Request):
    """One line. `month`/`day` are two-digit strings and may not fall after the issue date."""

    month: str = Field(pattern=r"^(0[1-9]|1[0-2])$")
    day: str = Field(pattern=r"^(0[1-9]|[12]\d|3[01])$")
    subject: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=40)
    quantity: DecStr | None = None
    unit_price: DecStr | None = None
    supply_price: NumStr
    tax: NumStr
    description: str | None = Field(default=None, max_length=100)

    @classmethod
    def on(cls, day: dt.date, **fields: Any) -> InvoiceItem:
        """An item dated `day` (Hiworks keeps only month and day)."""
        return cls(month=f"{day.month:02d}", day=f"{day.day:02d}", **fields)


class Invoice(_Request):
    """Body of ``POST /v4/invoices`` (inside ``{"data": ...}``).

    `invoicer` is either the office's registered business number as ``123-45-12345`` (Hiworks
    fills in the registered details) or a full party object with that same number.
    """

    easy_sign: Literal["Y", "N"] | None = None
    information: InvoiceInformation
    invoice_type: InvoiceType
    invoicer: str | InvoiceParty
    invoicee: InvoiceParty
    items: list[InvoiceItem] = Field(min_length=1)
    temp_file_ids: list[int] | None = None
    office_file_ids: list[int] | None = None

    @field_validator("invoicer")
    @classmethod
    def _dashed_bizno(cls, value: str | InvoiceParty) -> str | InvoiceParty:
        if isinstance(value, str):
            digits = value.replace("-", "").strip()
            if len(digits) == 10 and digits.isdigit():
                value = format_bizno(digits)
            if not _BIZNO_DASHED.match(value):
                raise ValueError("the invoicer business number must look like 123-45-12345")
        return value


class AmendmentInfo(_Request):
    """amendment: the original's NTS approval number and the reason code 01..06.

    Seed 004's field table says ``"01" | … | "06"`` (type "numberstring") while its own request
    example sends ``"modifyType": "1"``; both spellings (and the number) are accepted and sent
    in the table's two-digit form.
    """

    original_issue_id: str = Field(min_length=1)
    modify_type: Literal["01", "02", "03", "04", "05", "06"]

    @field_validator("modify_type", mode="before")
    @classmethod
    def _two_digits(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and re.fullmatch(r"[1-6]", value.strip()):
            return value.strip().zfill(2)
        return value


class AmendmentRequest(_Request):
    """Body of ``POST /v4/invoices/amendment``: a negative and/or a positive document."""

    easy_sign: Literal["Y", "N"] | None = None
    amendment: AmendmentInfo
    negative: Invoice | None = None
    positive: Invoice | None = None
    temp_file_ids: list[int] | None = None
    office_file_ids: list[int] | None = None


class ValidateRequest(_Request):
    """Body of ``POST /v4/validate`` (사업자등록정보 진위 검증). idn, startDate, representative required."""

    idn: str = Field(pattern=r"^\d{10}$")
    start_date: str = Field(pattern=r"^\d{8}$")
    representative: str = Field(min_length=1)
    representative2: str = ""
    company_name: str = ""
    corporation_no: str = ""
    sector: str = ""
    type: str = ""


# -- responses -------------------------------------------------------------------------------


class CreateResult(BaseModel):
    """What a create or amendment call answered: the document ids Hiworks assigned."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    document_ids: list[str]
    easy_sign_messages: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict)


class InvoiceStatusInfo(_Response):
    """status of a document: approvalStatus W/T/R/S/B, declareStatus "0".."5", NTS code, issueId."""

    approval_status: str = ""
    declare_status: str = ""
    declare_status_code: str | None = None
    issue_id: str | None = None


class MailInfo(_Response):
    """mail: readStatus C (read) / R (unread), SMTP result of the notification mail."""

    read_status: str | None = None
    send_date: str | None = None
    send_result_code: str | None = None
    send_result_message: str | None = None


class LinkedDocument(_Response):
    amendment_original: str | None = None
    statement_pair: str | None = None


class InvoiceDetail(_Response):
    """``GET /v4/invoices/{documentId}`` data. Everything but `status` is kept loosely typed."""

    information: dict[str, Any] = Field(default_factory=dict)
    invoice_type: dict[str, Any] = Field(default_factory=dict)
    invoicee: dict[str, Any] = Field(default_factory=dict)
    invoicer: dict[str, Any] | str = Field(default_factory=dict)
    items: list[dict[str, Any]] = Field(default_factory=list)
    amendment: dict[str, Any] | list[Any] | None = None
    mail: MailInfo = Field(default_factory=MailInfo)
    status: InvoiceStatusInfo
    linked_document: LinkedDocument | None = None
    files: list[dict[str, Any]] = Field(default_factory=list)


class BusinessCheck(_Response):
    """``POST /v4/check/{bizno}`` data (휴폐업 조회).

    statusCode 01 계속사업자, 02 휴업자, 03 폐업자; empty status means the number is not
    registered with the NTS. Dates are YYYYMMDD or empty.
    """

    idn: str
    status: str = ""
    status_code: str = ""
    tax_type: str = ""
    tax_type_code: str = ""
    end_date: str = ""
    utcc: str = ""
    tax_type_change_date: str = ""
    invoice_apply_date: str = ""


class BusinessValidation(_Response):
    """``POST /v4/validate`` data: validationCode 01 genuine, 02 not found with these details."""

    idn: str
    validation_code: str
    validation_message: str | None = None
    request_data: dict[str, Any] = Field(default_factory=dict)
    status: BusinessCheck | None = None

    @property
    def genuine(self) -> bool:
        return self.validation_code == "01"


class RateLimit(BaseModel):
    """The last ``x-ratelimit-limit`` / ``x-ratelimit-remaining`` headers seen (per office, per day)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    limit: int | None
    remaining: int | None
    seen_at: dt.datetime

"""The request bodies Popbill takes for our `IssueRequest`: a Taxinvoice or a Cashbill object.

A mixin of `PopbillService`, because the seller party comes from its configuration."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from providers.base import Capabilities
from providers.bizno import InvalidBizno, normalize_bizno
from providers.config import PopbillConfig, SellerConfig
from providers.errors import (
    RequestInvalid,
)
from providers.identity import InvalidIdentity, check_identity
from providers.models import (
    IssueRequest,
    LineItem,
    Party,
    Purpose,
    TaxType,
    TradeUsage,
)
from providers.popbill._auth import PROVIDER
from providers.popbill._base import validate_mgt_key

MAX_DETAIL_LINES = 99

#: seed 001: remark1..3 are String(150)
MAX_REMARK = 150


#: a filed cash receipt is revoked by a cancellation receipt under this derived key
CANCEL_RECEIPT_SUFFIX = "-C"


_TAX_TYPE_TEXT = {TaxType.TAXABLE: "과세", TaxType.ZERO_RATED: "영세", TaxType.EXEMPT: "면세"}


_PURPOSE_TEXT = {Purpose.RECEIPT: "영수", Purpose.CHARGE: "청구"}


_TRADE_USAGE_TEXT = {TradeUsage.INCOME_DEDUCTION: "소득공제용", TradeUsage.EXPENSE_PROOF: "지출증빙용"}

#: Popbill's identityNum for a voluntarily issued receipt (자진발급) when the buyer gave no number
VOLUNTARY_IDENTITY = "0100001234"


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


_PHONE = re.compile(r"\+?[0-9][0-9 -]{6,18}[0-9]")


def _qty(value: Decimal) -> str:
    if value != value.quantize(Decimal("0.01")):
        raise RequestInvalid(f"quantity {value} has more than two decimals (Popbill allows two)", provider=PROVIDER,
                             code="qty")
    text = format(value.normalize(), "f")
    return text


def _digits(phone: str) -> str:
    return re.sub(r"[^0-9]", "", phone)


def _sms_text(text: str, limit: int = 90) -> str:
    """Cut to Popbill's 90-byte SMS limit (EUC-KR: 2 bytes per Korean letter) on a character boundary."""
    out = ""
    for ch in text:
        candidate = out + ch
        try:
            size = len(candidate.encode("cp949"))
        except UnicodeEncodeError:
            size = len(candidate.encode("utf-8"))
        if size > limit:
            break
        out = candidate
    return out


def _modification(request: IssueRequest) -> dict[str, Any]:
    """An amended invoice's ``modifyCode`` and ``orgNTSConfirmNum`` (seed 001: both mandatory
    for a revised invoice, modifyCode one of 1..6); nothing for an original invoice."""
    code, original = request.modify_code, request.original_confirm_number
    if code is None and original is None:
        return {}
    if code is None or not original:
        raise RequestInvalid("an amended tax invoice needs both the modification reason (1-6) and the original's "
                             "NTS confirmation number", provider=PROVIDER, code="modification")
    return {"modifyCode": code, "orgNTSConfirmNum": original}


class _DocumentBodies:
    """Builds Taxinvoice and Cashbill objects; the seller comes from the service's configuration."""

    config: PopbillConfig
    seller: SellerConfig
    capabilities: Capabilities

    def _seller_party(self, request: IssueRequest) -> Party:
        s = self.seller
        base = Party(name=s.name, bizno=self.config.corp_num, ceo_name=s.ceo_name, address=s.address,
                     biz_type=s.biz_type, biz_class=s.biz_class, contact_name=s.contact_name, email=s.email,
                     phone=s.phone)
        if request.seller is None:
            return base
        given = request.seller
        if given.bizno and _digits(given.bizno) != self.config.corp_num:
            raise RequestInvalid(
                f"the seller's business number {given.bizno} is not the Popbill member {self.config.corp_num}",
                provider=PROVIDER, code="seller",
                user_hint="Popbill issues only as the configured member business; remove the seller override.",
            )
        overrides = {k: v for k, v in given.model_dump().items() if v is not None and k != "bizno"}
        return base.model_copy(update=overrides)

    @staticmethod
    def _buyer_bizno(buyer: Party) -> str:
        if not buyer.bizno:
            raise RequestInvalid("a tax invoice needs the buyer's business number (사업자등록번호)", provider=PROVIDER,
                                 code="buyer_bizno",
                                 user_hint="Add the buyer's 10-digit business number, or issue a cash receipt.")
        try:
            return normalize_bizno(buyer.bizno)
        except InvalidBizno as exc:
            raise RequestInvalid(str(exc), provider=PROVIDER, code="buyer_bizno") from exc

    def taxinvoice_body(self, request: IssueRequest) -> dict[str, Any]:
        """The Taxinvoice object for `request` (field order as in Popbill's examples, amounts as strings)."""
        key = validate_mgt_key(request.key)
        if len(request.items) > MAX_DETAIL_LINES:
            raise RequestInvalid(f"a Popbill tax invoice has at most {MAX_DETAIL_LINES} lines "
                                 f"({len(request.items)} given)", provider=PROVIDER, code="lines")
        self.capabilities.require_currency(request.currency)
        seller = self._seller_party(request)
        buyer = request.buyer
        write_date = request.write_date.strftime("%Y%m%d")
        if request.memo is not None and len(request.memo) > MAX_REMARK:
            raise RequestInvalid(f"a Popbill tax invoice's remark (remark1) has at most {MAX_REMARK} characters",
                                 provider=PROVIDER, code="memo")
        amounts = request.amounts()
        body: dict[str, Any] = {
            "writeDate": write_date,
            "chargeDirection": "정과금",
            "issueType": "정발행",
            "purposeType": _PURPOSE_TEXT[request.purpose],
            "taxType": _TAX_TYPE_TEXT[request.tax_type],
            "invoicerCorpNum": self.config.corp_num,
            "invoicerCorpName": seller.name,
            "invoicerMgtKey": key,
            "invoicerCEOName": seller.ceo_name or seller.name,
            "invoicerAddr": seller.address,
            "invoicerBizType": seller.biz_type,
            "invoicerBizClass": seller.biz_class,
            "invoicerContactName": seller.contact_name,
            "invoicerEmail": seller.email,
            "invoicerTEL": seller.phone,
            "invoicerSMSSendYN": False,
            "invoiceeType": "사업자",
            "invoiceeCorpNum": self._buyer_bizno(buyer),
            "invoiceeCorpName": buyer.name,
            "invoiceeCEOName": buyer.ceo_name or buyer.name,
            "invoiceeAddr": buyer.address,
            "invoiceeBizType": buyer.biz_type,
            "invoiceeBizClass": buyer.biz_class,
            "invoiceeContactName1": buyer.contact_name,
            "invoiceeEmail1": buyer.email,
            "invoiceeTEL1": buyer.phone,
            "invoiceeSMSSendYN": False,
            "supplyCostTotal": str(amounts.supply),
            "taxTotal": str(amounts.vat),
            "totalAmount": str(amounts.total),
            "remark1": request.memo,
            **_modification(request),
            "detailList": [self._detail(i, item, write_date, request.tax_type)
                           for i, item in enumerate(request.items, start=1)],
        }
        return {k: v for k, v in body.items() if v is not None}

    @staticmethod
    def _detail(serial: int, item: LineItem, write_date: str, tax_type: TaxType) -> dict[str, Any]:
        line: dict[str, Any] = {
            "serialNum": serial,
            "purchaseDT": write_date,
            "itemName": item.name,
            "spec": item.spec,
            "qty": _qty(item.quantity),
            "unitCost": str(item.unit_price),
            "supplyCost": str(item.supply_amount()),
            "tax": str(item.vat_amount(tax_type)),
            "remark": item.remark,
        }
        return {k: v for k, v in line.items() if v is not None}

    def _cashbill_identity(self, request: IssueRequest) -> tuple[str, str]:
        """(tradeUsage, identityNum): as asked (소득공제용: mobile or card; 지출증빙용: business number or
        card, checked by `providers.identity`), else from the buyer as before the form asked."""
        if request.trade_usage is not None:
            if not request.identity_number:
                raise RequestInvalid("a cash receipt needs the identity number it is issued to", provider=PROVIDER,
                                     code="identityNum")
            try:
                identity = check_identity(request.trade_usage, request.identity_number)
            except InvalidIdentity as exc:
                raise RequestInvalid(str(exc), provider=PROVIDER, code="identityNum") from exc
            return _TRADE_USAGE_TEXT[request.trade_usage], identity
        buyer = request.buyer
        if buyer.bizno:
            return "지출증빙용", self._buyer_bizno(buyer)
        if buyer.phone and _digits(buyer.phone):
            return "소득공제용", _digits(buyer.phone)
        return "소득공제용", VOLUNTARY_IDENTITY

    def cashbill_body(self, request: IssueRequest) -> dict[str, Any]:
        """The Cashbill object for `request`: 지출증빙용 with the buyer's business number, 소득공제용 with a
        phone number, or Popbill's voluntary-issuance number 0100001234 when the buyer gave neither."""
        key = validate_mgt_key(request.key)
        self.capabilities.require_currency(request.currency)
        if request.modify_code is not None or request.original_confirm_number is not None:
            raise RequestInvalid("a cash receipt cannot be amended: revoke it with a cancellation receipt",
                                 provider=PROVIDER, code="modification")
        seller = self._seller_party(request)
        buyer = request.buyer
        amounts = request.amounts()
        usage, identity = self._cashbill_identity(request)
        if request.tax_type is not TaxType.TAXABLE and amounts.vat:
            raise RequestInvalid("a tax-free (비과세) cash receipt carries no VAT", provider=PROVIDER,
                                 code="taxationType")
        names = [i.name for i in request.items]
        item_name = names[0] if len(names) == 1 else f"{names[0]} 외 {len(names) - 1}건"
        body: dict[str, Any] = {
            "mgtKey": key,
            "tradeDT": request.write_date.strftime("%Y%m%d") + "000000",
            "tradeType": "승인거래",
            "tradeUsage": usage,
            "tradeOpt": "일반",
            "taxationType": "과세" if request.tax_type is TaxType.TAXABLE and amounts.vat > 0 else "비과세",
            "totalAmount": str(amounts.total),
            "supplyCost": str(amounts.supply),
            "tax": str(amounts.vat),
            "serviceFee": "0",
            "franchiseCorpNum": self.config.corp_num,
            "franchiseCorpName": seller.name,
            "franchiseCEOName": seller.ceo_name,
            "franchiseAddr": seller.address,
            "franchiseTEL": seller.phone,
            "identityNum": identity,
            "customerName": buyer.name,
            "itemName": item_name[:100],
            "orderNumber": request.key,
            "email": buyer.email,
            "hp": _digits(buyer.phone) if buyer.phone else None,
            "smssendYN": False,
        }
        return {k: v for k, v in body.items() if v is not None}

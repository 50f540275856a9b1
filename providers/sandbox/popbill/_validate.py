"""The Taxinvoice object checked field by field, as seed 001's Taxinvoice table documents it.

Every rule here cites the table: required (O), conditional (△), the valid values it lists, the
formats (yyyyMMdd, digits) and the maximum lengths. The seed has no error-code table, so each
refusal uses a code of the Taxinvoice family (-110xxxxx): the codes the sandbox has always used
for missing fields (-11001001..16, -11001021, from Popbill's published list), and for the rules
added from the seed codes chosen here, marked [sandbox] below and in ``docs/fidelity.md``:

    -11001101 [sandbox] invoiceeType missing or not 사업자/개인/외국인
    -11001102 [sandbox] 외국인 without remark1 (alien registration or passport number)
    -11001103 [sandbox] modifyCode not one of 1..6
    -11001104 [sandbox] revised invoice (modifyCode) without orgNTSConfirmNum
    -11001105 [sandbox] a field longer than the table's Length
    -11001106 [sandbox] a field in the wrong form (TaxRegID, kwon/ho, a Boolean, a detail date or number)
    -11001107 [sandbox] addContactList: more than 5, serialNum out of order, contactName/email missing

Where the seed is silent the sandbox chose, and says so: orgNTSConfirmNum is checked for presence
and length only (the original may have been issued on Hometax or another ASP, which the sandbox
cannot see); kwon and ho (Short, Length 4) take 0..9999; Boolean fields take JSON booleans only.
"""

from __future__ import annotations

import re
from typing import Any

from providers.sandbox.popbill._store import _amount, _is_date, _Reject

#: (field, code, message) for the fields the table marks O, in its order of checking
REQUIRED: tuple[tuple[str, int, str], ...] = (
    ("writeDate", -11001001, "작성일자가 입력되지 않았습니다. (writeDate is not entered)"),
    ("issueType", -11001003, "발행형태가 입력되지 않았습니다. (issueType is not entered)"),
    ("purposeType", -11001004, "영수/청구 구분이 입력되지 않았습니다. (purposeType is not entered)"),
    ("taxType", -11001005, "과세형태가 입력되지 않았습니다. (taxType is not entered)"),
    ("chargeDirection", -11001012, "과금방향이 입력되지 않았습니다. (chargeDirection is not entered)"),
    ("invoicerCorpNum", -11001013, "공급자 사업자번호가 입력되지 않았습니다. (invoicerCorpNum is not entered)"),
    ("invoicerCorpName", -11001015, "공급자 상호가 입력되지 않았습니다. (invoicerCorpName is not entered)"),
    ("invoicerCEOName", -11001016, "공급자 대표자 성명이 입력되지 않았습니다. "
                                   "(invoicerCEOName is not entered)"),
    ("invoiceeType", -11001101, "공급받는자 구분(invoiceeType)이 입력되지 않았습니다. "
                                "(invoiceeType is not entered)"),
    ("invoiceeCorpNum", -11001021, "공급받는자 등록번호가 입력되지 않았습니다. (invoiceeCorpNum is not entered)"),
    ("invoiceeCorpName", -11001093, "공급받는자 상호가 입력되지 않았습니다. (invoiceeCorpName is not entered)"),
    ("invoiceeCEOName", -11001094, "공급받는자 대표자 성명이 입력되지 않았습니다. "
                                   "(invoiceeCEOName is not entered)"),
    ("supplyCostTotal", -11001095, "공급가액 합계가 입력되지 않았습니다. (supplyCostTotal is not entered)"),
    ("taxTotal", -11001096, "세액 합계가 입력되지 않았습니다. (taxTotal is not entered)"),
    ("totalAmount", -11001097, "합계금액이 입력되지 않았습니다. (totalAmount is not entered)"),
)

#: the single valid value, or the listed ones, per field (seed 001, Taxinvoice table)
VALID_VALUES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("issueType", ("정발행",), -11001003),
    ("taxType", ("과세", "영세", "면세"), -11001005),
    ("chargeDirection", ("정과금",), -11001012),
    ("purposeType", ("영수", "청구", "없음"), -11001004),
    ("invoiceeType", ("사업자", "개인", "외국인"), -11001101),
)

#: the table's Length column for the String fields
MAX_LENGTH: dict[str, int] = {
    "serialNum": 30, "remark1": 150, "remark2": 150, "remark3": 150, "invoicerMgtKey": 24,
    "invoicerCorpName": 200, "invoicerCEOName": 100, "invoicerAddr": 300, "invoicerBizType": 100,
    "invoicerBizClass": 100, "invoicerContactName": 100, "invoicerDeptName": 100, "invoicerTEL": 20,
    "invoicerHP": 20, "invoicerEmail": 100, "invoiceeMgtKey": 24, "invoiceeCorpName": 200,
    "invoiceeCEOName": 100, "invoiceeAddr": 300, "invoiceeBizType": 100, "invoiceeBizClass": 100,
    "invoiceeContactName1": 100, "invoiceeDeptName1": 100, "invoiceeTEL1": 20, "invoiceeHP1": 20,
    "invoiceeEmail1": 100, "invoiceeContactName2": 30, "invoiceeDeptName2": 40, "invoiceeTEL2": 20,
    "invoiceeHP2": 20, "invoiceeEmail2": 70, "supplyCostTotal": 18, "taxTotal": 18, "totalAmount": 18,
    "cash": 18, "chkBill": 18, "credit": 18, "note": 18, "orgNTSConfirmNum": 24,
}

_DETAIL_LENGTH = {"itemName": 100, "spec": 60, "qty": 12, "unitCost": 18, "supplyCost": 18, "tax": 18,
                  "remark": 100}

_BOOLEANS = ("invoicerSMSSendYN", "invoiceeSMSSendYN", "businessLicenseYN", "bankBookYN")

#: invoiceeCorpNum "must be synchronized with invoiceeType"
_BUYER_NUMBER = {"사업자": re.compile(r"[0-9]{10}"), "개인": re.compile(r"[0-9]{13}"),
                 "외국인": re.compile(r"9{13}")}

_DECIMAL2 = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")

MODIFY_CODES = (1, 2, 3, 4, 5, 6)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def check_fields(body: dict[str, Any]) -> None:
    """Required fields, valid values, lengths and forms; raises the first refusal in table order."""
    for name, code, message in REQUIRED:
        if _blank(body.get(name)):
            raise _Reject(code, message)
    if not _is_date(str(body["writeDate"])):
        raise _Reject(-11001001, "작성일자 형식이 올바르지 않습니다. (writeDate must be yyyyMMdd)")
    for name, valid, code in VALID_VALUES:
        if body[name] not in valid:
            raise _Reject(code, f"{name} 의 유효값은 {'/'.join(valid)} 입니다. ({name} must be {' or '.join(valid)})")
    for name, limit in MAX_LENGTH.items():
        value = body.get(name)
        if not _blank(value) and len(str(value)) > limit:
            raise _Reject(-11001105, f"{name} 은 최대 {limit}자입니다. ({name}: at most {limit} characters)")
    _check_forms(body)
    _check_buyer(body)
    _check_modification(body)
    _check_lines(body.get("detailList"))
    _check_contacts(body.get("addContactList"))


def _check_forms(body: dict[str, Any]) -> None:
    for name in ("invoicerTaxRegID", "invoiceeTaxRegID"):
        value = body.get(name)
        if not _blank(value) and not re.fullmatch(r"[0-9]{4}", str(value)):
            raise _Reject(-11001106, f"{name} 은 숫자 4자리입니다. ({name}: 4 digits)")
    for name in ("kwon", "ho"):
        value = body.get(name)
        if not _blank(value) and (isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,4}", str(value))):
            raise _Reject(-11001106, f"{name} 은 0~9999 의 숫자입니다. ({name}: a Short of at most 4 digits)")
    for name in _BOOLEANS:
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise _Reject(-11001106, f"{name} 은 true/false 입니다. ({name} is a Boolean)")


def _check_buyer(body: dict[str, Any]) -> None:
    kind = body["invoiceeType"]
    if not _BUYER_NUMBER[kind].fullmatch(str(body["invoiceeCorpNum"])):
        expected = {"사업자": "10 digits", "개인": "13 digits", "외국인": '"9999999999999"'}[kind]
        raise _Reject(-11001021, f"공급받는자 등록번호가 공급받는자 구분({kind})과 맞지 않습니다. "
                                 f"(invoiceeCorpNum for {kind}: {expected})")
    if kind == "외국인" and _blank(body.get("remark1")):
        raise _Reject(-11001102, "외국인 공급받는자는 비고1(remark1)에 외국인등록번호 또는 여권번호를 입력해야 합니다. "
                                 "(remark1 is mandatory for a foreign buyer)")


def _check_modification(body: dict[str, Any]) -> None:
    code = body.get("modifyCode")
    if _blank(code):
        return
    if isinstance(code, bool) or str(code) not in {str(c) for c in MODIFY_CODES}:
        raise _Reject(-11001103, f"수정사유코드(modifyCode) {code!r} 는 1~6 중 하나여야 합니다. "
                                 "(modifyCode must be 1..6)")
    if _blank(body.get("orgNTSConfirmNum")):
        raise _Reject(-11001104, "수정세금계산서는 원본 국세청승인번호(orgNTSConfirmNum)가 필요합니다. "
                                 "(a revised invoice needs orgNTSConfirmNum)")


def _check_lines(details: Any) -> None:
    if details is None:
        return
    if not isinstance(details, list) or len(details) > 99:
        raise _Reject(-11001098, "품목은 최대 99개까지 입력할 수 있습니다. (detailList: at most 99 lines)")
    for serial, line in enumerate(details, start=1):
        if not isinstance(line, dict) or str(line.get("serialNum")) != str(serial):
            raise _Reject(-11001098, "품목 일련번호는 1부터 차례로 입력해야 합니다. (detailList serialNum: 1, 2, 3...)")
        if not _blank(line.get("purchaseDT")) and not _is_date(str(line["purchaseDT"])):
            raise _Reject(-11001106, "거래일자(purchaseDT) 형식은 yyyyMMdd 입니다. (purchaseDT must be yyyyMMdd)")
        for name, limit in _DETAIL_LENGTH.items():
            if not _blank(line.get(name)) and len(str(line[name])) > limit:
                raise _Reject(-11001105, f"품목 {name} 은 최대 {limit}자입니다. (detail {name}: at most {limit})")
        for name in ("qty", "unitCost"):
            if not _blank(line.get(name)) and not _DECIMAL2.fullmatch(str(line[name])):
                raise _Reject(-11001106, f"품목 {name} 은 소수점 둘째 자리까지의 숫자입니다. "
                                         f"({name}: a number with at most two decimals)")


def _check_contacts(contacts: Any) -> None:
    if contacts is None:
        return
    if not isinstance(contacts, list) or len(contacts) > 5:
        raise _Reject(-11001107, "추가담당자는 최대 5명입니다. (addContactList: at most 5)")
    for serial, contact in enumerate(contacts, start=1):
        if not isinstance(contact, dict) or str(contact.get("serialNum")) != str(serial):
            raise _Reject(-11001107, "추가담당자 일련번호는 1부터 차례로 입력해야 합니다. (addContactList serialNum)")
        if _blank(contact.get("contactName")) or _blank(contact.get("email")):
            raise _Reject(-11001107, "추가담당자의 성명과 이메일은 필수입니다. (contactName and email are required)")
        for name in ("contactName", "email"):
            if len(str(contact[name])) > 100:
                raise _Reject(-11001105, f"추가담당자 {name} 은 최대 100자입니다.")


def check_amounts(body: dict[str, Any]) -> None:
    """Totals and lines must add up, and only a taxable invoice carries tax, as Popbill checks."""
    details = body.get("detailList") or []
    try:
        supply_total, tax_total, total = (_amount(body[n]) for n in ("supplyCostTotal", "taxTotal", "totalAmount"))
        supplies = [_amount(d.get("supplyCost") or 0) for d in details]
        taxes = [_amount(d.get("tax") or 0) for d in details]
    except (ValueError, AttributeError):
        raise _Reject(-11001098, "금액은 숫자로 입력해야 합니다. (amounts must be numbers)") from None
    if details and sum(supplies) != supply_total:
        raise _Reject(-11001095, f"공급가액 합계({supply_total})가 품목 공급가액의 합({sum(supplies)})과 다릅니다. "
                                 "(supplyCostTotal != sum of detail supplyCost)")
    if details and sum(taxes) != tax_total:
        raise _Reject(-11001096, f"세액 합계({tax_total})가 품목 세액의 합({sum(taxes)})과 다릅니다. "
                                 "(taxTotal != sum of detail tax)")
    if supply_total + tax_total != total:
        raise _Reject(-11001097, f"합계금액({total})이 공급가액 합계 + 세액 합계({supply_total + tax_total})와 "
                                 "다릅니다. (totalAmount != supplyCostTotal + taxTotal)")
    if body["taxType"] != "과세" and tax_total != 0:
        raise _Reject(-11001096, "영세/면세 세금계산서의 세액은 0 이어야 합니다. "
                                 "(zero-rated/exempt: taxTotal must be 0)")

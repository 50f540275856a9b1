"""Validation of a bill-api v4 document the way Hiworks does it, before anything is stored.

Pure functions of the request body (and the office's business number), so each rule reads on its own."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from providers.sandbox.hiworks._store import (
    _DASHED,
    _DATE,
    _DECIMAL,
    _DIGITS10,
    _EMAIL,
    _INVALID,
    _NUMBER,
    _Refusal,
)


def _number(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> int:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise _Refusal(400, _INVALID, f"{where}.{key}는 필수입니다.")
        return 0
    text = str(value).strip()
    if isinstance(value, bool) or not _NUMBER.match(text):
        raise _Refusal(400, _INVALID, f"{where}.{key}는 18자리 이내의 정수여야 합니다.")
    return int(text)


def _contact(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Refusal(400, _INVALID, f"{where} 연락처 객체가 필요합니다.")
    name, email = str(value.get("name") or "").strip(), str(value.get("email") or "").strip()
    if not name:
        raise _Refusal(400, _INVALID, f"{where}.name(담당자 명)은 필수입니다.")
    if not _EMAIL.match(email):
        raise _Refusal(400, _INVALID, f"{where}.email은 name@domain.com 형식이어야 합니다.")
    return {"name": name, "email": email, "cell": str(value.get("cell") or ""), "phone": str(value.get("phone") or "")}


def _party(value: dict[str, Any], where: str, *, buyer: bool = False) -> dict[str, Any]:
    number = str(value.get("companyNumber") or "").replace("-", "").strip()
    if not number:
        raise _Refusal(400, _INVALID, f"{where}.companyNumber(사업자 등록 번호)는 필수입니다.")
    party_type = str(value.get("partyTypeCode") or "01")
    if party_type not in ("01", "02", "03"):
        raise _Refusal(400, _INVALID, f"{where}.partyTypeCode는 01, 02, 03 중 하나여야 합니다.")
    valid = {"01": _DIGITS10.match(number) is not None,
             "02": re.match(r"^\d{13}$", number) is not None,
             "03": number == "9" * 13}[party_type]
    if not valid:
        raise _Refusal(400, _INVALID, f"{where}.companyNumber가 partyTypeCode {party_type}에 맞지 않습니다.")
    for key, limit in (("companyName", 200), ("ceoName", 100)):
        text = str(value.get(key) or "").strip()
        if not text or len(text) > limit:
            raise _Refusal(400, _INVALID, f"{where}.{key}는 필수이며 최대 {limit}자입니다.")
    party: dict[str, Any] = {
        "companyNumber": number,
        "taxNumber": str(value.get("taxNumber") or ""),
        "companyName": str(value["companyName"]).strip(),
        "ceoName": str(value["ceoName"]).strip(),
        "companyAddress": str(value.get("companyAddress") or ""),
        "bizType": str(value.get("bizType") or ""),
        "bizClassification": str(value.get("bizClassification") or ""),
        "primaryContact": _contact(value.get("primaryContact"), f"{where}.primaryContact"),
    }
    if buyer:
        party["partyTypeCode"] = party_type
        secondary = value.get("secondaryContact")
        if secondary is not None:
            party["secondaryContact"] = _contact(secondary, f"{where}.secondaryContact")
    return party


def easy_sign(data: dict[str, Any]) -> bool:
    """Whether the document asks for easy signing (간편서명): "Y" or "N" in capitals, absent means no."""
    value = data.get("easySign")
    if value is None:
        return False
    if value not in ("Y", "N"):
        raise _Refusal(400, _INVALID, 'easySign은 대문자 "Y" 또는 "N" 이어야 합니다.')
    return bool(value == "Y")


def files_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The attachments named by `tempFileIds`/`officeFileIds`, as GET lists them."""
    files: list[dict[str, Any]] = []
    for key, kind in (("tempFileIds", "DOCUMENT"), ("officeFileIds", "DOCUMENT")):
        ids = data.get(key) or []
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise _Refusal(400, _INVALID, f"{key}는 숫자 id 목록이어야 합니다.")
        files.extend({"id": i, "type": kind, "name": f"{key[:-3]}-{i}.pdf", "size": "1024"} for i in ids)
    return files


def check_document(data: Any, where: str, *, amendment: bool, office_bizno: str,
                   office_party: dict[str, Any]) -> dict[str, Any]:
    """Validate one document like Hiworks does; returns it as GET will show it.

    `where` prefixes every message (``"original."`` in an amendment) as Hiworks names the field.
    """
    if not isinstance(data, dict):
        raise _Refusal(400, _INVALID, f"{where or 'data'} 객체가 필요합니다.")
    files_of(data)
    info = data.get("information")
    if not isinstance(info, dict):
        raise _Refusal(400, _INVALID, f"{where}information 객체가 필요합니다.")
    issue_text, issue_date = _issue_date(info, where)
    total_supply = _number(info, "totalSupplyPrice", f"{where}information")
    total_tax = _number(info, "totalTax", f"{where}information")
    kind = data.get("invoiceType")
    if not isinstance(kind, dict):
        raise _Refusal(400, _INVALID, f"{where}invoiceType 객체가 필요합니다.")
    type_code, tax_type = _invoice_type(kind, where, amendment)
    invoicer_body = _invoicer(data.get("invoicer"), where, office_bizno, office_party)
    invoicee = data.get("invoicee")
    if not isinstance(invoicee, dict):
        raise _Refusal(400, _INVALID, f"{where}invoicee(공급받는자) 객체가 필요합니다.")
    invoicee_body = _party(invoicee, f"{where}invoicee", buyer=True)
    rendered_items, supply_sum, tax_sum = _items(data.get("items"), where, issue_date)
    if supply_sum != total_supply:
        raise _Refusal(400, _INVALID, f"{where}총 공급가액({total_supply})이 "
                       f"항목 공급가액의 합({supply_sum})과 일치하지 않습니다.")
    if tax_sum != total_tax:
        raise _Refusal(400, _INVALID,
                       f"{where}총 세액({total_tax})이 항목 세액의 합({tax_sum})과 일치하지 않습니다.")
    if tax_type == "B" and type_code != "D" and total_tax != 0:
        raise _Refusal(400, _INVALID, f"{where}영세율 또는 면세 문서에는 세액이 있을 수 없습니다.")
    payments = _payments(info, where, total_supply + total_tax)
    information = {
        "issueDate": issue_text, "memo": str(info.get("memo") or ""), "bookNo": str(info.get("bookNo") or "-"),
        "serial": str(info.get("serial") or ""), "description": str(info.get("description") or ""),
        **{k: str(v) for k, v in payments.items()},
        "totalSupplyPrice": str(total_supply), "totalTax": str(total_tax),
    }
    return {
        "information": information,
        "invoiceType": {"typeCode": type_code, "transactionType": "S", "purposeType": kind["purposeType"],
                        "taxType": tax_type},
        "invoicer": invoicer_body,
        "invoicee": invoicee_body,
        "items": rendered_items,
    }


def _issue_date(info: dict[str, Any], where: str) -> tuple[str, dt.date]:
    issue_text = str(info.get("issueDate") or "")
    try:
        if not _DATE.match(issue_text):
            raise ValueError(issue_text)
        return issue_text, dt.date.fromisoformat(issue_text)
    except ValueError as exc:
        raise _Refusal(400, _INVALID,
                       f"{where}information.issueDate는 YYYY-MM-DD 형식이어야 합니다.") from exc


def _invoice_type(kind: dict[str, Any], where: str, amendment: bool) -> tuple[str, str]:
    """(typeCode, taxType); an amendment has its own type codes, and a sale (S) is the only transaction."""
    allowed = ("A", "B", "M", "N") if amendment else ("A", "B", "D")
    type_code = kind.get("typeCode")
    if type_code not in allowed:
        raise _Refusal(400, _INVALID,
                       f"{where}invoiceType.typeCode는 {', '.join(allowed)} 중 하나여야 합니다.")
    tax_type = kind.get("taxType")
    if tax_type not in ("A", "B"):
        raise _Refusal(400, _INVALID, f"{where}invoiceType.taxType은 A(과세) 또는 B(영세/면세)여야 합니다.")
    if kind.get("purposeType") not in ("C", "R"):
        raise _Refusal(400, _INVALID, f"{where}invoiceType.purposeType은 C(청구) 또는 R(영수)여야 합니다.")
    transaction = kind.get("transactionType") or "S"
    if transaction != "S":
        raise _Refusal(400, _INVALID, "매입 세금계산서는 지원되지 않습니다. transactionType은 S여야 합니다.")
    if type_code in ("B", "N") and tax_type == "A":
        raise _Refusal(400, _INVALID, f"{where}면세 계산서는 taxType이 B여야 합니다.")
    return str(type_code), str(tax_type)


def _invoicer(invoicer: Any, where: str, office_bizno: str, office_party: dict[str, Any]) -> dict[str, Any]:
    """The supplier: the office's own number (dashed) or a full party, and only ever the office."""
    if isinstance(invoicer, str):
        if not _DASHED.match(invoicer):
            raise _Refusal(400, _INVALID, f"{where}invoicer 사업자 번호는 000-00-00000 형식이어야 합니다.")
        if invoicer.replace("-", "") != office_bizno:
            raise _Refusal(400, _INVALID, f"{where}하이웍스 오피스에 등록된 사업자 번호가 아닙니다.")
        return dict(office_party)
    if isinstance(invoicer, dict):
        body = _party(invoicer, f"{where}invoicer")
        if body["companyNumber"] != office_bizno:
            raise _Refusal(400, _INVALID, f"{where}하이웍스 오피스에 등록된 사업자 번호가 아닙니다.")
        return body
    raise _Refusal(400, _INVALID, f"{where}invoicer(공급자)는 필수입니다.")


def _items(items: Any, where: str, issue_date: dt.date) -> tuple[list[dict[str, str]], int, int]:
    """(rendered items, supply sum, tax sum); 1 to 100 lines, none dated after the issue date."""
    if not isinstance(items, list) or not items:
        raise _Refusal(400, _INVALID, f"{where}items는 1개 이상이어야 합니다.")
    if len(items) > 100:
        raise _Refusal(400, _INVALID, f"{where}항목(items)은 최대 100개까지 입력할 수 있습니다.")
    rendered_items = []
    supply_sum = tax_sum = 0
    for n, item in enumerate(items, start=1):
        label = f"{where}items[{n - 1}]"
        if not isinstance(item, dict):
            raise _Refusal(400, _INVALID, f"{label} 객체가 필요합니다.")
        month, day = str(item.get("month") or ""), str(item.get("day") or "")
        if not re.match(r"^(0[1-9]|1[0-2])$", month) or not re.match(r"^(0[1-9]|[12]\d|3[01])$", day):
            raise _Refusal(400, _INVALID, f"{label}.month, day는 01~12, 01~31 형식이어야 합니다.")
        if (int(month), int(day)) > (issue_date.month, issue_date.day):
            raise _Refusal(400, _INVALID, f"{label} 항목 일자가 작성일자 이후입니다. (선발행 오류)")
        supply, tax = _number(item, "supplyPrice", label), _number(item, "tax", label)
        for key in ("quantity", "unitPrice"):
            value = item.get(key)
            if value not in (None, "") and not _DECIMAL.match(str(value)):
                raise _Refusal(400, _INVALID, f"{label}.{key}는 소수점 2자리까지의 숫자여야 합니다.")
        supply_sum += supply
        tax_sum += tax
        rendered_items.append({
            "month": month, "day": day, "subject": str(item.get("subject") or ""),
            "unit": str(item.get("unit") or ""), "quantity": str(item.get("quantity") or ""),
            "unitPrice": str(item.get("unitPrice") or ""), "supplyPrice": str(supply), "tax": str(tax),
            "description": str(item.get("description") or ""),
        })
    return rendered_items, supply_sum, tax_sum


def _payments(info: dict[str, Any], where: str, total: int) -> dict[str, int]:
    """Cash/check/draft/uncollected: optional, but when given they must add up to the total."""
    payments = {k: _number(info, k, f"{where}information", required=False)
                for k in ("cash", "check", "draft", "uncollected")}
    paid = sum(payments.values())
    if paid and paid != total:
        raise _Refusal(400, _INVALID, f"{where}결제 수단의 합({paid})이 "
                       f"합계 금액({total})과 일치하지 않습니다.")
    return payments

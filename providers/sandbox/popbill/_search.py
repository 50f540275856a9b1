"""Search (Taxinvoice ``GET /Taxinvoice/{KeyType}``, Cashbill ``GET /Cashbill/Search``): the filters
seed 001 documents for Taxinvoice search (and the reference for Cashbill), and the paging answer.

Every document is listed, those issued on the website without a MgtKey included (their
`invoicerMgtKey` / `mgtKey` is null and their `itemKey` is what assignMgtKey takes): the seeds
tell users to find a website document's itemKey through Search.

Where the documents are silent the sandbox chose, and `docs/fidelity.md` lists each choice:

* `total`, `perPage`, `pageNum`, `pageCount` are Strings as seed 001's TISearchResult types them;
  `pageCount` is the number of pages, ceil(total / perPage), so 0 when nothing matched.
* `LateOnly` takes what the SDKs send: ``1``/``0`` (Node, Java), ``True``/``False`` (Python),
  ``true``/``false``; empty means all. "Issued after the due" is read as issued with forceIssue.
* `IssueType` R and T and `RegType` H are accepted and match nothing (the sandbox issues only
  정발행 through the API, all registered in Popbill); `CloseDownState` ``N`` or ``null`` is the
  buyer whose state could not be had.
* `TaxRegIDType` S/B/T names whose TaxRegID (`invoicer`/`invoicee`/`trustee` TaxRegID) `TaxRegID` and
  `TaxRegIDYN` look at; S when not given.
* A filter value outside the documented ones is refused with -11001092 / -14001099 [sandbox].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers.sandbox.popbill._store import _TAX_TYPES, _is_date, _list, _Reject, _state_match

Filter = Callable[[dict[str, Any]], bool]

_LATE = {"1": True, "true": True, "True": True, "0": False, "false": False, "False": False}


def _check_values(q: Mapping[str, str], name: str, valid: set[str], code: int) -> list[str]:
    values = _list(q.get(name))
    bad = [v for v in values if v not in valid]
    if bad:
        raise _Reject(code, f"{name} 의 유효값은 {', '.join(sorted(valid))} 입니다. ({name} {bad[0]!r} is not one "
                            "of the documented values)")
    return values


def _check_states(q: Mapping[str, str], code: int) -> list[str]:
    states = _list(q.get("State"))
    for pattern in states:
        if len(pattern) != 3 or not pattern[0].isdigit() or any(c != "*" and not c.isdigit() for c in pattern):
            raise _Reject(code, f"State {pattern!r}: 3자리 상태코드, 2·3번째 자리에 와일드카드(*) 가능 "
                                "(a 3-digit state code, '*' allowed in the 2nd and 3rd places)")
    return states


def dates(q: Mapping[str, str], d_types: str, code: int) -> tuple[str, str, str]:
    """DType, SDate, EDate: mandatory, DType one of `d_types`, dates yyyyMMdd."""
    d_type, s_date, e_date = q.get("DType", ""), q.get("SDate", ""), q.get("EDate", "")
    if len(d_type) != 1 or d_type not in d_types or not _is_date(s_date) or not _is_date(e_date):
        raise _Reject(code, f"검색 조건(DType {'/'.join(d_types)}, SDate, EDate yyyyMMdd)이 올바르지 않습니다.")
    return d_type, s_date, e_date


def _one_of(values: list[str], value: str | None) -> bool:
    return not values or (value is not None and value in values)


def _close_down_ok(values: list[str], state: Any) -> bool:
    if not values:
        return True
    if state is None:
        return bool({"N", "null"} & set(values))
    return str(state) in values


def taxinvoice_filter(q: Mapping[str, str]) -> Filter:
    """A predicate over TaxinvoiceInfo (plus the stored body's TaxRegIDs) for the query's filters."""
    code = -11001092
    states = _check_states(q, code)
    kinds = _check_values(q, "Type", {"N", "M"}, code)
    tax_types = _check_values(q, "TaxType", {"T", "N", "Z"}, code)
    issue_types = _check_values(q, "IssueType", {"N", "R", "T"}, code)
    reg_types = _check_values(q, "RegType", {"P", "H"}, code)
    close_down = _check_values(q, "CloseDownState", {"N", "null", "0", "1", "2", "3", "4"}, code)
    late = q.get("LateOnly", "")
    if late and late not in _LATE:
        raise _Reject(code, "LateOnly 는 1/0 (true/false) 입니다.")
    reg_id_type = q.get("TaxRegIDType", "") or "S"
    reg_id_yn, reg_ids = q.get("TaxRegIDYN", ""), _list(q.get("TaxRegID"))
    inter_op, needle, key = q.get("InterOPYN", ""), q.get("QString", ""), q.get("MgtKey", "")
    if reg_id_type not in ("S", "B", "T") or reg_id_yn not in ("", "0", "1") or inter_op not in ("", "0", "1"):
        raise _Reject(code, "TaxRegIDType(S/B/T), TaxRegIDYN(0/1), InterOPYN(0/1) 값이 올바르지 않습니다.")
    reg_id_field = {"S": "invoicerTaxRegID", "B": "invoiceeTaxRegID", "T": "trusteeTaxRegID"}[reg_id_type]

    def matches(info: dict[str, Any]) -> bool:
        reg_id = str(info.get(reg_id_field) or "")
        down = info["closeDownState"]
        return all((
            not states or any(_state_match(p, info["stateCode"]) for p in states),
            _one_of(kinds, "M" if info["modifyCode"] not in (None, "") else "N"),
            _one_of(tax_types, _TAX_TYPES.get(str(info["taxType"]))),
            _one_of(issue_types, {"정발행": "N", "역발행": "R", "위수탁": "T"}.get(str(info["issueType"]))),
            _one_of(reg_types, "P"),
            _close_down_ok(close_down, down),
            not late or (info["lateIssueYN"] == "true") == _LATE[late],
            not reg_id_yn or bool(reg_id) == (reg_id_yn == "1"),
            not reg_ids or reg_id in reg_ids,
            not inter_op or info["interOPYN"] == (inter_op == "1"),
            not needle or needle in str(info["invoiceeCorpName"]) or needle in str(info["invoiceeCorpNum"]),
            not key or key in (info["invoicerMgtKey"], info["ntsconfirmNum"]),
        ))

    return matches


def cashbill_filter(q: Mapping[str, str]) -> Filter:
    """A predicate over CashbillInfo (plus the stored franchiseTaxRegID) for the query's filters."""
    code = -14001099
    states = _check_states(q, code)
    trade_types = _check_values(q, "TradeType", {"N", "C"}, code)
    usages = _check_values(q, "TradeUsage", {"P", "C"}, code)
    options = _check_values(q, "TradeOpt", {"N", "B", "T"}, code)
    taxations = _check_values(q, "TaxationType", {"T", "N"}, code)
    needle, reg_ids = q.get("QString", ""), _list(q.get("FranchiseTaxRegID"))

    def matches(info: dict[str, Any]) -> bool:
        return all((
            not states or any(_state_match(p, info["stateCode"]) for p in states),
            _one_of(trade_types, {"승인거래": "N", "취소거래": "C"}.get(str(info["tradeType"]))),
            _one_of(usages, {"소득공제용": "P", "지출증빙용": "C"}.get(str(info["tradeUsage"]))),
            _one_of(options, {"일반": "N", "도서공연": "B", "대중교통": "T"}.get(str(info["tradeOpt"]))),
            _one_of(taxations, {"과세": "T", "비과세": "N"}.get(str(info["taxationType"]))),
            not needle or needle in str(info["identityNum"]) or needle in str(info["customerName"]),
            not reg_ids or str(info.get("franchiseTaxRegID") or "") in reg_ids,
        ))

    return matches


def page(rows: list[tuple[str, dict[str, Any]]], q: Mapping[str, str], code: int) -> dict[str, Any]:
    """One page of `rows` (sort key, info) in the query's Order, with the documented counters."""
    order = q.get("Order", "") or "D"
    if order not in ("D", "A"):
        raise _Reject(code, "Order 는 D(내림차순) 또는 A(오름차순) 입니다.")
    rows.sort(key=lambda r: r[0], reverse=order == "D")
    try:
        page_num = max(1, int(q.get("Page", "") or "1"))
        per_page = min(1000, max(1, int(q.get("PerPage", "") or "500")))
    except ValueError:
        raise _Reject(code, "Page/PerPage 는 숫자여야 합니다. (Page and PerPage are numbers)") from None
    total = len(rows)
    chunk = [info for _, info in rows[(page_num - 1) * per_page: page_num * per_page]]
    pages = -(-total // per_page)
    return {"code": 1, "message": "OK", "total": str(total), "perPage": str(per_page), "pageNum": str(page_num),
            "pageCount": str(pages), "list": chunk}

"""Open documents created directly in the sandboxes' memory (no HTTP), for the sweep benchmark.

Creating 10,000 documents through the providers' APIs would take minutes and measure
the wrong thing; the sandboxes' own model helpers (the ones their `seed()` uses) store
documents exactly as an issue call would. Ids are a pure function of the index, so the
benchmark process can build the matching database rows without asking the sandboxes.

Each document is in a state that stays put for hours, so a sweep sees what the
database expects except where the benchmark makes it differ on purpose:

* Popbill: tax invoices registered a minute ago: stateCode 300 (issued) until the NTS
  filing a day later;
* Payssam: bills waiting for payment (``W``), expiring in a week;
* Hiworks: tax invoices created two hours ago without easy-sign: read by the buyer
  (``R``), not yet approved, so not yet declared;
* Abillify: committed, unpaid invoices of one customer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from providers.models import DocumentKind, Provider
from providers.sandbox.abillify import AbillifySandbox, _iso
from providers.sandbox.base import KST, Sandbox
from providers.sandbox.hiworks import HiworksSandbox
from providers.sandbox.payssam import PayssamSandbox, _Bill
from providers.sandbox.popbill import PopbillSandbox, _demo_taxinvoice

__all__ = ["ABILLIFY_IDENTITY", "KINDS", "provider_id", "seed_sandboxes"]

ABILLIFY_IDENTITY = "biz-1018204851"

KINDS: dict[Provider, DocumentKind] = {
    Provider.POPBILL: DocumentKind.TAX_INVOICE,
    Provider.PAYSSAM: DocumentKind.BILL,
    Provider.HIWORKS: DocumentKind.TAX_INVOICE,
    Provider.ABILLIFY: DocumentKind.INVOICE,
}


def provider_id(provider: Provider, index: int) -> str:
    """The provider's id of benchmark document `index` (within the provider's format rules)."""
    if provider is Provider.POPBILL:
        return f"BENCH-{index:06d}"  # MgtKey: 1-24 chars of [A-Za-z0-9_-]
    if provider is Provider.PAYSSAM:
        return f"BENCH{index:06d}"  # billId: 1-20 alphanumerics
    if provider is Provider.HIWORKS:
        return f"20250101000000BENCH{index:027d}"  # 14-digit stamp + 32 characters, like Hiworks' ids
    return f"bench-{index:06d}"  # Abillify reference


def _seed_popbill(sandbox: PopbillSandbox, count: int, now: float) -> None:
    when = now - 60
    for i in range(count):
        key = provider_id(Provider.POPBILL, i)
        sandbox._new_doc("taxinvoice", sandbox.member, key, _demo_taxinvoice(sandbox.member, key, when), when)


def _seed_payssam(sandbox: PayssamSandbox, count: int) -> None:
    today = sandbox.clock.now_kst().date()
    for i in range(count):
        bill_id = provider_id(Provider.PAYSSAM, i)
        sandbox.bills[bill_id] = _Bill(
            bill_id=bill_id, send_type="TALK", product_name="벤치마크 청구", price="110000", member_name="김벤치",
            phone="01000000000", callback_url="http://127.0.0.1:9/payssam/callback",
            expire_dt=today + dt.timedelta(days=7), created_at=sandbox.clock.now(), talk_sent=1,
        )


def _hiworks_body(sandbox: HiworksSandbox, created: float, serial: str) -> dict[str, Any]:
    date = dt.datetime.fromtimestamp(created, tz=KST).date()
    information = {"issueDate": date.isoformat(), "memo": "benchmark", "bookNo": "-", "serial": serial,
                   "description": "", "cash": "0", "check": "0", "draft": "0", "uncollected": "110000",
                   "totalSupplyPrice": "100000", "totalTax": "10000"}
    buyer = {"companyNumber": "2148639239", "companyName": "가비아 테스트", "ceoName": "김가비아",
             "partyTypeCode": "01", "primaryContact": {"name": "구매담당", "email": "buyer@example.com"}}
    return {
        "information": information,
        "invoiceType": {"typeCode": "A", "transactionType": "S", "purposeType": "C", "taxType": "A"},
        "invoicer": dict(sandbox._office_party),
        "invoicee": buyer,
        "items": [{"month": f"{date.month:02d}", "day": f"{date.day:02d}", "subject": "벤치마크 서비스",
                   "unit": "EA", "quantity": "1", "unitPrice": "100000", "supplyPrice": "100000", "tax": "10000",
                   "description": ""}],
    }


def _seed_hiworks(sandbox: HiworksSandbox, count: int, now: float) -> None:
    created = now - 7200
    for i in range(count):
        sandbox._store(provider_id(Provider.HIWORKS, i), _hiworks_body(sandbox, created, f"BENCH-{i}"),
                       type_code="A", easy_sign=False, created=created)


def _seed_abillify(sandbox: AbillifySandbox, count: int) -> None:
    now = sandbox.clock.now()
    sandbox._put_identity(ABILLIFY_IDENTITY, {"kind": "incorporate", "name": {"company": "데모 상사"},
                                              "detail": {"vatId": "1018204851"}}, now)
    item = {"label": "Consulting", "quantity": 2, "unit": "h", "unitprice": 50000, "detail": {"taxrate": 10}}
    committed = _iso(now)
    for i in range(count):
        invoice = sandbox._new_invoice(ABILLIFY_IDENTITY, {"reference": provider_id(Provider.ABILLIFY, i),
                                                           "number": f"BENCH-{i:06d}", "currency": "KRW",
                                                           "items": [item]}, now)
        invoice["committed"] = committed


def seed_sandboxes(sandboxes: dict[str, Sandbox], counts: dict[Provider, int]) -> None:
    """Create `counts[provider]` open documents in each sandbox (ids from `provider_id`)."""
    for name, sandbox in sandboxes.items():
        provider = Provider(name)
        count = counts.get(provider, 0)
        if not count:
            continue
        now = sandbox.clock.time()
        if isinstance(sandbox, PopbillSandbox):
            _seed_popbill(sandbox, count, now)
        elif isinstance(sandbox, PayssamSandbox):
            _seed_payssam(sandbox, count)
        elif isinstance(sandbox, HiworksSandbox):
            _seed_hiworks(sandbox, count, now)
        elif isinstance(sandbox, AbillifySandbox):
            _seed_abillify(sandbox, count)

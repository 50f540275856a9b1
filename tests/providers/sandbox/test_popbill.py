"""The Popbill sandbox answers as seeds 000 and 001 document, field by field, with the provider's
codes; and it accepts every form the official SDKs send. Each test names the seed rule it checks
(the table in docs/fidelity.md points here)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from providers.config import DEMO_POPBILL, SellerConfig
from providers.errors import ProviderRejected
from providers.http import HttpPolicy
from providers.popbill import MgtKeyType, PopbillService
from providers.sandbox.popbill import PopbillSandbox
from providers.sandbox.popbill._auth import parse_lh_date
from tests.paths import shared_path

GOLDEN = json.loads(shared_path("reference", "popbill-golden-requests.json").read_text())
CORP = DEMO_POPBILL.corp_num
SELL = MgtKeyType.SELL
ALL = ("20000101", "29991231")


@pytest.fixture
async def sandbox():
    sb = PopbillSandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def service(sandbox):
    config = DEMO_POPBILL.model_copy(update={"api_url": sandbox.base_url,
                                            "policy": HttpPolicy(read_timeout=2.0, backoff=0.01)})
    svc = PopbillService(config, seller=SellerConfig(), sandbox=True, clock=sandbox.clock.time)
    yield svc
    await svc.aclose()


def invoice(key: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOLDEN["operations"][1]["requests"][-1]["body_json"])
    body.pop("memo")
    body.update(invoicerCorpNum=CORP, invoicerMgtKey=key, invoiceeCorpNum="1168200276")
    body.update(changes)
    return {k: v for k, v in body.items() if v != "<drop>"}


async def refused(service: PopbillService, body: dict[str, Any]) -> str:
    with pytest.raises(ProviderRejected) as err:
        await service.taxinvoice.regist_issue(body)
    return str(err.value.code)


# -- LinkHub: what the SDKs send ---------------------------------------------------------------------
@pytest.mark.parametrize("value", ["2026-11-21T01:02:03Z", "2026-11-21T01:02:03.722Z", "2026-11-21T01:02:03.7Z"])
def test_x_lh_date_in_every_form_an_official_sdk_sends_is_read(value: str) -> None:
    sent = parse_lh_date(value)
    assert sent is not None
    assert abs(sent - dt.datetime(2026, 11, 21, 1, 2, 3, tzinfo=dt.UTC).timestamp()) < 1


@pytest.mark.parametrize("value", ["", "2026-11-21 01:02:03", "2026-11-21T01:02:03", "2026-11-21T01:02:03+09:00",
                                   "2026-13-21T01:02:03Z", "yesterday"])
def test_unreadable_x_lh_date_is_refused(value: str) -> None:
    assert parse_lh_date(value) is None


# -- seed 001, Taxinvoice table ------------------------------------------------------------------------
async def test_invoicee_type_is_required_and_one_of_the_three(service) -> None:
    assert await refused(service, invoice("V-1", invoiceeType="<drop>")) == "-11001101"
    assert await refused(service, invoice("V-2", invoiceeType="")) == "-11001101"
    assert await refused(service, invoice("V-3", invoiceeType="법인")) == "-11001101"


async def test_invoicee_corp_num_is_synchronized_with_the_type(service) -> None:
    assert await refused(service, invoice("V-4", invoiceeType="사업자", invoiceeCorpNum="9001011234567")) == "-11001021"
    assert await refused(service, invoice("V-5", invoiceeType="개인", invoiceeCorpNum="1168200276")) == "-11001021"
    assert await refused(service, invoice("V-6", invoiceeType="외국인", invoiceeCorpNum="", remark1="M1234567")) \
        == "-11001021"
    assert await refused(service, invoice("V-7", invoiceeType="외국인", invoiceeCorpNum="1234567890123",
                                          remark1="M1234567")) == "-11001021"
    ok = await service.taxinvoice.regist_issue(invoice("V-8", invoiceeType="개인", invoiceeCorpNum="9001011234567"))
    assert ok["code"] == 1


async def test_a_foreign_buyer_needs_remark1(service) -> None:
    foreigner = {"invoiceeType": "외국인", "invoiceeCorpNum": "9999999999999"}
    assert await refused(service, invoice("V-9", **foreigner)) == "-11001102"
    assert await refused(service, invoice("V-10", remark1="", **foreigner)) == "-11001102"
    assert (await service.taxinvoice.regist_issue(invoice("V-11", remark1="M12345678", **foreigner)))["code"] == 1


@pytest.mark.parametrize(("field", "value", "code"), [
    ("chargeDirection", "역과금", "-11001012"),
    ("issueType", "역발행", "-11001003"),
    ("issueType", "위수탁", "-11001003"),
    ("taxType", "비과세", "-11001005"),
    ("purposeType", "기타", "-11001004"),
])
async def test_only_the_seeds_valid_values_are_accepted(service, field: str, value: str, code: str) -> None:
    assert await refused(service, invoice("V-20", **{field: value})) == code


@pytest.mark.parametrize("modify_code", [0, 7, 9, "9", True])
async def test_modify_code_is_one_of_1_to_6(service, modify_code: object) -> None:
    body = invoice("V-30", modifyCode=modify_code, orgNTSConfirmNum="20261121410000000000001")
    assert await refused(service, body) == "-11001103"


@pytest.mark.parametrize("modify_code", [1, 2, 3, 4, 5, 6])
async def test_a_revised_invoice_needs_the_original_confirm_number(service, modify_code: int) -> None:
    assert await refused(service, invoice(f"V-4{modify_code}", modifyCode=modify_code)) == "-11001104"
    body = invoice(f"V-5{modify_code}", modifyCode=modify_code, orgNTSConfirmNum="20261121410000000000001")
    assert (await service.taxinvoice.regist_issue(body))["code"] == 1


@pytest.mark.parametrize(("field", "length"), [("remark1", 150), ("invoicerCorpName", 200), ("invoiceeEmail1", 100),
                                               ("invoiceeTEL1", 20), ("serialNum", 30)])
async def test_fields_longer_than_the_table_allows_are_refused(service, field: str, length: int) -> None:
    assert await refused(service, invoice("V-60", **{field: "1" * (length + 1)})) == "-11001105"
    assert (await service.taxinvoice.regist_issue(invoice("V-61", **{field: "1" * length})))["code"] == 1


@pytest.mark.parametrize("changes", [
    {"invoicerTaxRegID": "12"}, {"kwon": "12345"}, {"invoicerSMSSendYN": "Y"},
    {"detailList": [{"serialNum": 1, "purchaseDT": "2026-11-21", "supplyCost": "100000", "tax": "10000"}]},
    {"detailList": [{"serialNum": 1, "qty": "1.234", "supplyCost": "100000", "tax": "10000"}]},
])
async def test_forms_the_table_gives_are_enforced(service, changes: dict[str, Any]) -> None:
    assert await refused(service, invoice("V-70", **changes)) == "-11001106"


async def test_detail_and_contact_serial_numbers_run_from_one(service) -> None:
    lines = [{"serialNum": 2, "supplyCost": "100000", "tax": "10000"}]
    assert await refused(service, invoice("V-80", detailList=lines)) == "-11001098"
    contacts = [{"serialNum": n, "contactName": "담당", "email": "a@example.com"} for n in range(1, 7)]
    assert await refused(service, invoice("V-81", addContactList=contacts)) == "-11001107"
    assert await refused(service, invoice("V-82", addContactList=[{"serialNum": 1, "contactName": "담당"}])) \
        == "-11001107"


async def test_info_types_follow_the_seed(service) -> None:
    await service.taxinvoice.regist_issue(invoice("V-90"), force_issue=True)
    info = await service.taxinvoice.get_info(SELL, "V-90")
    assert len(info["regDT"]) == 8 and dt.datetime.strptime(info["regDT"], "%Y%m%d")  # String(8) yyyyMMdd
    assert info["lateIssueYN"] == "true"  # a String
    await service.taxinvoice.regist_issue(invoice("V-91"))
    assert (await service.taxinvoice.get_info(SELL, "V-91"))["lateIssueYN"] == "false"
    assert len((await service.taxinvoice.get_info(SELL, "V-91"))["issueDT"]) == 14


# -- seed 001, Search ------------------------------------------------------------------------------------
async def test_page_count_is_the_number_of_pages(service) -> None:
    for n in range(5):
        await service.taxinvoice.regist_issue(invoice(f"P-{n}"))
    page = await service.taxinvoice.search(SELL, "W", *ALL, per_page=2)
    assert (page["total"], page["perPage"], page["pageCount"], len(page["list"])) == ("10", "2", "5", 2)
    last = await service.taxinvoice.search(SELL, "W", *ALL, per_page=3, page=4)
    assert (last["pageCount"], last["pageNum"], len(last["list"])) == ("4", "4", 1)
    none = await service.taxinvoice.search(SELL, "W", *ALL, mgt_key="NOPE")
    assert (none["total"], none["pageCount"], none["list"]) == ("0", "0", [])


async def test_search_lists_website_documents_with_their_item_key(sandbox, service) -> None:
    website = await service.taxinvoice.search(SELL, "R", *ALL, inter_op_yn="0")
    (row,) = website["list"]
    assert row["invoicerMgtKey"] is None and row["interOPYN"] is False and len(row["itemKey"]) == 18
    api = await service.taxinvoice.search(SELL, "R", *ALL, inter_op_yn="1")
    assert None not in {r["invoicerMgtKey"] for r in api["list"]} and api["total"] == "4"
    receipts = await service.cashbill.search("R", *ALL)
    assert [r["mgtKey"] for r in receipts["list"] if r["mgtKey"] is None] == [None]


@pytest.mark.parametrize(("filters", "keys"), [
    ({"late_only": True}, {"LATE"}),
    ({"late_only": "1"}, {"LATE"}),
    ({"late_only": False, "mgt_key": "LATE"}, set()),
    ({"invoice_type": ["M"]}, {"AMEND"}),
    ({"tax_type": ["Z"]}, {"ZERO"}),
    ({"issue_type": ["R", "T"]}, set()),
    ({"reg_type": ["H"]}, set()),
    ({"tax_reg_id_type": "S", "tax_reg_id": "0001"}, {"BRANCH"}),
    ({"tax_reg_id_yn": "1"}, {"BRANCH"}),
    ({"close_down_state": ["2"]}, {"CLOSED"}),
    ({"q_string": "1231212312"}, {"CLOSED"}),
    ({"mgt_key": "ZERO"}, {"ZERO"}),
])
async def test_each_documented_filter_narrows_the_search(service, filters: dict[str, Any], keys: set[str]) -> None:
    ti = service.taxinvoice
    await ti.regist_issue(invoice("LATE"), force_issue=True)
    await ti.regist_issue(invoice("AMEND", modifyCode=1, orgNTSConfirmNum="20261121410000000000001"))
    await ti.regist_issue(invoice("ZERO", taxType="영세", taxTotal="0", totalAmount="100000",
                                  detailList=[{"serialNum": 1, "supplyCost": "100000", "tax": "0"}]))
    await ti.regist_issue(invoice("BRANCH", invoicerTaxRegID="0001"))
    await ti.regist_issue(invoice("CLOSED", invoiceeCorpNum="1231212312"))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).strftime("%Y%m%d")
    found = await ti.search(SELL, "R", today, today, **filters)
    assert {r["invoicerMgtKey"] for r in found["list"]} - {"DEMO-TI-002", "DEMO-TI-003"} == keys


@pytest.mark.parametrize("filters", [{"state": ["3"]}, {"state": ["*00"]}, {"invoice_type": ["X"]},
                                     {"tax_type": ["과세"]}, {"order": "Z"}, {"late_only": "maybe"},
                                     {"inter_op_yn": "2"}])
async def test_undocumented_filter_values_are_refused(service, filters: dict[str, Any]) -> None:
    with pytest.raises(ProviderRejected) as err:
        await service.taxinvoice.search(SELL, "W", *ALL, **filters)
    assert err.value.code == "-11001092"


async def test_cashbill_search_filters_trade_option_and_pages(service) -> None:
    found = await service.cashbill.search("R", *ALL, trade_opt=["N"], per_page=2)
    assert (found["total"], found["pageCount"]) == ("3", "2")
    assert (await service.cashbill.search("R", *ALL, trade_opt=["B"]))["total"] == "0"


# -- seed 000, Cashbill ---------------------------------------------------------------------------------
async def test_cashbill_assign_mgt_key_works_without_an_override_header(sandbox, service) -> None:
    item_key = next(d.item_key for d in sandbox.items.values() if d.kind == "cashbill" and d.key is None)
    token = await service.auth.token(("member", "140"), CORP)
    response = await service._api_http.client.post(
        f"/Cashbill/{item_key}", content=b"MgtKey=TEST0001",
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert response.json() == {"code": 1, "message": "할당 완료"}
    assert (await service.cashbill.get_info("TEST0001"))["itemKey"] == item_key


async def test_cashbill_resend_answers_the_seeds_message(service) -> None:
    answer = await service.cashbill.send_email("DEMO-CB-001", "test@test.com")
    assert answer == {"code": 1, "message": "이메일 재전송 완료"}


def _cashbill(key: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(next(o for o in GOLDEN["operations"] if o["service"] == "Cashbill"
                              and o["operation"].startswith("registIssue"))["requests"][-1]["body_json"])
    body.update(mgtKey=key, franchiseCorpNum=CORP, **changes)
    return {k: v for k, v in body.items() if k not in ("memo", "emailSubject")}


@pytest.mark.parametrize(("changes", "code"), [
    ({"taxationType": "면세"}, "-14001016"),
    ({"taxationType": "비과세"}, "-14001013"),  # tax-free with tax
    ({"tradeOpt": "택시"}, "-14001022"),
    ({"tradeUsage": "소득공제용", "identityNum": "0212345678"}, "-14001005"),  # a landline
    ({"tradeUsage": "지출증빙용", "identityNum": "123456789012"}, "-14001005"),  # 12 digits: no card, no number
])
async def test_cashbill_fields_are_validated_as_documented(service, changes: dict[str, Any], code: str) -> None:
    with pytest.raises(ProviderRejected) as err:
        await service.cashbill.regist_issue(_cashbill("CB-VAL-1", **changes))
    assert str(err.value.code) == code


async def test_a_tax_free_expense_proof_receipt_to_a_business_is_accepted(service) -> None:
    answer = await service.cashbill.regist_issue(_cashbill(
        "CB-VAL-2", tradeUsage="지출증빙용", identityNum="6798700433", taxationType="비과세",
        supplyCost="11000", tax="0", totalAmount="11000"))
    assert answer["confirmNum"]

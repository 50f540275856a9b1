"""Every low-level client call round-trips against the sandbox, the sandbox's state machine
and validation answer with Popbill's codes, and bad keys never reach the network."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from providers.config import DEMO_POPBILL, SellerConfig
from providers.errors import DocumentNotFound, ProviderRejected, RequestInvalid
from providers.http import HttpPolicy
from providers.popbill import MgtKeyType, PopbillService
from providers.sandbox.popbill import PopbillSandbox
from tests.local_http import LOCAL_TLS
from tests.paths import shared_path

GOLDEN = json.loads(shared_path("reference", "popbill-golden-requests.json").read_text())
CORP = DEMO_POPBILL.corp_num
SELL = MgtKeyType.SELL
DAY = 86400.0


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
    """The golden registIssue body, re-addressed to the demo member."""
    body = copy.deepcopy(GOLDEN["operations"][1]["requests"][-1]["body_json"])
    body.pop("memo")
    body.update(invoicerCorpNum=CORP, invoicerMgtKey=key, invoiceeCorpNum="1168200276")
    body.update(changes)
    return body


def cashbill(key: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOLDEN["operations"][25]["requests"][-1]["body_json"])
    for name in ("memo", "emailSubject"):
        body.pop(name)
    body.update(mgtKey=key, franchiseCorpNum=CORP)
    body.update(changes)
    return body


def row_count(page: dict[str, Any]) -> int:
    return int(page["total"])


def api_calls(sandbox: PopbillSandbox, path: str, method: str | None = None) -> int:
    return len(sandbox.requests_to(path, method))


# -- Taxinvoice --------------------------------------------------------------------------------------
async def test_regist_issue_then_read_it_back_every_way(sandbox, service) -> None:
    ti = service.taxinvoice
    assert await ti.check_mgt_key_in_use(SELL, "T-1") is False
    answer = await ti.regist_issue(invoice("T-1"), memo="from a test", email_subject="세금계산서")
    assert answer["code"] == 1 and answer["ntsConfirmNum"]
    assert await ti.check_mgt_key_in_use(SELL, "T-1") is True
    info = await ti.get_info(SELL, "T-1")
    assert (info["stateCode"], info["invoicerMgtKey"], info["ntsconfirmNum"]) == (300, "T-1", answer["ntsConfirmNum"])
    assert info["itemKey"] and len(info["itemKey"]) == 18
    detail = await ti.get_detail_info(SELL, "T-1")
    assert detail["detailList"][0]["supplyCost"] == "100000" and detail["addContactList"] == []
    logs = await ti.get_logs(SELL, "T-1")
    assert [entry["docLogType"] for entry in logs] == [230]


async def test_duplicate_mgt_key_is_refused_with_popbills_code(service) -> None:
    await service.taxinvoice.regist_issue(invoice("T-DUP"))
    with pytest.raises(ProviderRejected) as err:
        await service.taxinvoice.regist_issue(invoice("T-DUP"))
    assert err.value.code == "-11001099"
    assert "already in use" in err.value.message


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"supplyCostTotal": "90000", "totalAmount": "100000"}, "-11001095"),  # != sum of line supplyCost
        ({"taxTotal": "9000", "totalAmount": "109000"}, "-11001096"),  # != sum of line tax
        ({"totalAmount": "120000"}, "-11001097"),  # != supply + tax
        ({"writeDate": None}, "-11001001"),
        ({"purposeType": ""}, "-11001004"),
        ({"taxType": None}, "-11001005"),
        ({"invoicerCorpName": None}, "-11001015"),
        ({"invoicerCorpNum": "1231212312"}, "-11001000"),  # not the token's member
        ({"invoiceeCorpNum": "12345"}, "-11001021"),
        ({"taxType": "영세"}, "-11001096"),  # zero-rated with VAT
    ],
)
async def test_the_sandbox_validates_invoices_like_popbill(service, changes: dict, code: str) -> None:
    body = {k: v for k, v in invoice("T-BAD", **changes).items() if v is not None}
    with pytest.raises(ProviderRejected) as err:
        await service.taxinvoice.regist_issue(body)
    assert err.value.code == code


async def test_cancel_then_delete_frees_the_mgt_key(sandbox, service) -> None:
    ti = service.taxinvoice
    await ti.regist_issue(invoice("T-2"))
    with pytest.raises(ProviderRejected) as err:
        await ti.delete(SELL, "T-2")  # an issued invoice must be cancelled first
    assert err.value.code == "-11000001"
    await ti.cancel_issue(SELL, "T-2", "wrong buyer")
    info = await ti.get_info(SELL, "T-2")
    assert (info["stateCode"], info["stateMemo"]) == (600, "wrong buyer")
    assert [e["docLogType"] for e in await ti.get_logs(SELL, "T-2")] == [230, 240]
    await ti.delete(SELL, "T-2")
    with pytest.raises(DocumentNotFound) as missing:
        await ti.get_info(SELL, "T-2")
    assert missing.value.code == "-11000005"
    assert await ti.check_mgt_key_in_use(SELL, "T-2") is False
    await ti.regist_issue(invoice("T-2"))  # the key can be used again


async def test_nts_filing_runs_on_the_sandbox_clock(sandbox, service) -> None:
    ti = service.taxinvoice
    await ti.regist_issue(invoice("T-3"))
    assert (await ti.get_info(SELL, "T-3"))["stateCode"] == 300
    sandbox.clock.advance(DAY)  # Popbill files issued invoices by itself the next day
    assert (await ti.get_info(SELL, "T-3"))["stateCode"] == 302
    sandbox.clock.advance(30)
    assert (await ti.get_info(SELL, "T-3"))["stateCode"] == 303
    sandbox.clock.advance(30)
    info = await ti.get_info(SELL, "T-3")
    assert (info["stateCode"], info["ntssendErrCode"], info["ntsresult"]) == (304, "SUC001", "성공")
    with pytest.raises(ProviderRejected) as err:
        await ti.cancel_issue(SELL, "T-3")
    assert err.value.code == "-11000001"
    assert [e["docLogType"] for e in await ti.get_logs(SELL, "T-3")] == [230, 250, 252, 254]


async def test_send_to_nts_starts_filing_at_once_and_a_failing_buyer_ends_in_305(sandbox, service) -> None:
    sandbox.nts_fail_biznos = {"1168200276"}
    ti = service.taxinvoice
    await ti.regist_issue(invoice("T-4"))
    await ti.send_to_nts(SELL, "T-4")
    assert (await ti.get_info(SELL, "T-4"))["stateCode"] == 302
    sandbox.clock.advance(60)
    info = await ti.get_info(SELL, "T-4")
    assert (info["stateCode"], info["ntssendErrCode"]) == (305, "ERR002")


async def test_resend_by_email_sms_and_fax_is_logged(service) -> None:
    ti = service.taxinvoice
    await ti.regist_issue(invoice("T-5"))
    assert (await ti.send_email(SELL, "T-5", "buyer@example.com"))["code"] == 1
    assert (await ti.send_sms(SELL, "T-5", "0212345678", "01011112222", "발행 안내"))["code"] == 1
    assert (await ti.send_fax(SELL, "T-5", "0212345678", "0233334444"))["code"] == 1
    assert [e["docLogType"] for e in await ti.get_logs(SELL, "T-5")] == [230, 111, 112, 113]


async def test_view_urls_open_a_page_and_the_pdf_url_a_pdf(sandbox, service) -> None:
    ti = service.taxinvoice
    urls = {name: await getattr(ti, f"get_{name}_url")(SELL, "DEMO-TI-001")
            for name in ("popup", "view", "print", "pdf", "mail")}
    async with httpx.AsyncClient(verify=LOCAL_TLS) as web:
        page = await web.get(urls["popup"])
        assert page.status_code == 200 and "DEMO-TI-001" in page.text and "text/html" in page.headers["content-type"]
        pdf = await web.get(urls["pdf"])
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        sandbox.clock.advance(31)  # like Popbill's, the links are valid for 30 seconds...
        assert (await web.get(urls["view"])).status_code == 410
        assert (await web.get(urls["mail"])).status_code == 200  # ...except the mail link


async def test_assign_mgt_key_to_a_document_issued_on_the_website(sandbox, service) -> None:
    ti = service.taxinvoice
    found = await ti.search(SELL, "W", "20000101", "29991231", per_page=1000)
    # seed 001: a website document has no key yet, and users find its itemKey through Search
    (item_key,) = [row["itemKey"] for row in found["list"] if row["invoicerMgtKey"] is None]
    assert sandbox.items[item_key].key is None and row_count(found) == len(found["list"]) == 5
    await ti.assign_mgt_key(SELL, item_key, "WEB-0001")
    assert (await ti.get_info(SELL, "WEB-0001"))["itemKey"] == item_key
    with pytest.raises(ProviderRejected):
        await ti.assign_mgt_key(SELL, item_key, "WEB-0002")  # already has a key


async def test_bulk_submit_and_result_and_a_repeated_submit_id(sandbox, service) -> None:
    ti = service.taxinvoice
    receipt = await ti.bulk_submit("BULK-1", [invoice("B-1"), invoice("B-2"), invoice("DEMO-TI-001")])
    again = await ti.bulk_submit("BULK-1", [invoice("B-1")])
    assert again["receiptID"] == receipt["receiptID"]  # Popbill answers the registered receipt
    result = await ti.get_bulk_result("BULK-1")
    assert (result["txState"], result["successCount"], result["failCount"]) == (2, 2, 1)
    assert [r["code"] for r in result["issueResult"]] == [1, 1, -11001099]
    assert (await ti.get_info(SELL, "B-2"))["stateCode"] == 300


async def test_search_filters_and_pages(service) -> None:
    ti = service.taxinvoice
    for n in range(5):
        await ti.regist_issue(invoice(f"S-{n}"))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).strftime("%Y%m%d")
    page = await ti.search(SELL, "R", today, today, state=["3**"], tax_type=["T"], page=2, per_page=2, order="A")
    # five new invoices and the seeded DEMO-TI-002 were registered today in state 3**
    # seed 001 types the counters as Strings, and pageCount is the number of pages
    assert (page["total"], page["pageNum"], page["perPage"], page["pageCount"], len(page["list"])) == (
        "6", "2", "2", "3", 2)
    only = await ti.search(SELL, "W", "20000101", "29991231", mgt_key="S-3")
    assert [row["invoicerMgtKey"] for row in only["list"]] == ["S-3"]
    cancelled = await ti.search(SELL, "W", "20000101", "29991231", state=["6**"])
    assert {row["invoicerMgtKey"] for row in cancelled["list"]} == {"DEMO-TI-003"}


async def test_get_infos_with_2500_keys_makes_three_calls(sandbox, service) -> None:
    keys = [f"K-{n}" for n in range(2497)] + ["DEMO-TI-001", "DEMO-TI-002", "DEMO-TI-003"]
    infos = await service.taxinvoice.get_infos(SELL, keys)
    assert api_calls(sandbox, r"^/Taxinvoice/SELL$", "POST") == 3
    assert sorted(i["invoicerMgtKey"] for i in infos) == ["DEMO-TI-001", "DEMO-TI-002", "DEMO-TI-003"]


async def test_certificate_calls(service) -> None:
    expires = await service.taxinvoice.get_certificate_expire_date()
    assert expires > dt.datetime.now()
    assert (await service.taxinvoice.check_cert_validation())["code"] == 1


# -- Cashbill ----------------------------------------------------------------------------------------
async def test_cashbill_issue_read_resend_cancel_delete(service) -> None:
    cb = service.cashbill
    answer = await cb.regist_issue(cashbill("C-1"), "memo")
    assert answer["confirmNum"] and answer["tradeDate"]
    assert await cb.check_mgt_key_in_use("C-1") is True
    info = await cb.get_info("C-1")
    assert (info["stateCode"], info["confirmNum"], info["totalAmount"]) == (300, answer["confirmNum"], "11000")
    assert (await cb.send_email("C-1", "buyer@example.com"))["code"] == 1
    assert (await cb.get_popup_url("C-1")).startswith("http")
    await cb.cancel_issue("C-1", "wrong amount")
    assert (await cb.get_info("C-1"))["stateCode"] == 400
    await cb.delete("C-1")
    assert await cb.check_mgt_key_in_use("C-1") is False


async def test_cashbill_validation_and_duplicate(service) -> None:
    cb = service.cashbill
    with pytest.raises(ProviderRejected) as err:
        await cb.regist_issue(cashbill("C-2", totalAmount="12000"))
    assert err.value.code == "-14001030"
    with pytest.raises(ProviderRejected) as err:
        await cb.regist_issue(cashbill("C-2", identityNum=""))
    assert err.value.code == "-14001004"
    await cb.regist_issue(cashbill("C-2"))
    with pytest.raises(ProviderRejected) as err:
        await cb.regist_issue(cashbill("C-2"))
    assert err.value.code == "-14001019"


async def test_a_filed_cash_receipt_is_revoked_by_a_cancellation_receipt(sandbox, service) -> None:
    cb = service.cashbill
    original = await cb.regist_issue(cashbill("C-3"))
    revoke = cashbill("C-3-C", tradeType="취소거래", orgConfirmNum=original["confirmNum"],
                      orgTradeDate=original["tradeDate"])
    with pytest.raises(ProviderRejected) as err:
        await cb.regist_issue(revoke)
    assert err.value.code == "-14001021"  # not filed yet: cancel it instead
    with pytest.raises(ProviderRejected):
        await cb.cancel_issue("C-3-X")
    sandbox.clock.advance(DAY + 60)
    assert (await cb.get_info("C-3"))["stateCode"] == 304
    with pytest.raises(ProviderRejected) as err:
        await cb.cancel_issue("C-3")
    assert err.value.code == "-14000010"
    await cb.regist_issue(revoke)
    assert (await cb.get_info("C-3-C"))["orgConfirmNum"] == original["confirmNum"]


async def test_cashbill_infos_search_bulk_and_assign(sandbox, service) -> None:
    cb = service.cashbill
    infos = await cb.get_infos(["DEMO-CB-001", "DEMO-CB-002", "NOPE"])
    assert sorted(i["mgtKey"] for i in infos) == ["DEMO-CB-001", "DEMO-CB-002"]
    found = await cb.search("R", "20000101", "29991231", state=["304"], trade_usage=["P"])
    assert [row["mgtKey"] for row in found["list"]] == ["DEMO-CB-002"]
    await cb.bulk_submit("CB-BULK-1", [cashbill("CBB-1"), cashbill("CBB-2")])
    result = await cb.get_bulk_result("CB-BULK-1")
    assert [r["mgtKey"] for r in result["issueResult"]] == ["CBB-1", "CBB-2"]  # kept, unlike the SDK
    item_key = (await cb.get_info("CBB-1"))["itemKey"]
    with pytest.raises(ProviderRejected):
        await cb.assign_mgt_key(item_key, "CBB-9")  # it has a key already


# -- CloseDown -----------------------------------------------------------------------------------------
async def test_closedown_answers_are_deterministic(sandbox, service) -> None:
    cd = service.closedown
    assert (await cd.check_corp_num("6798700433"))["state"] == "1"
    closed = await cd.check_corp_num("1231212312")
    assert (closed["state"], closed["stateDate"]) == ("2", "20230331")
    assert (await cd.check_corp_num("2208875476"))["state"] == "3"
    assert (await cd.check_corp_num("1234567890"))["state"] == "0"  # check digit fails: unregistered
    many = await cd.check_corp_nums(["1168200276", "1231212312"])
    assert [m["state"] for m in many] == ["1", "2"]


async def test_check_corp_nums_with_1500_numbers_makes_two_calls(sandbox, service) -> None:
    numbers = [f"{n:010d}" for n in range(1500)]
    answers = await service.closedown.check_corp_nums(numbers)
    assert len(answers) == 1500
    assert api_calls(sandbox, r"^/CloseDown$", "POST") == 2


async def test_closedown_refuses_more_than_1000_numbers_per_call(service) -> None:
    token = await service.auth.token(("member", "170"), CORP)
    response = await service._api_http.client.post(
        "/CloseDown", content=json.dumps([f"{n:010d}" for n in range(1001)]),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf8"})
    assert response.json()["code"] == -17000002


# -- validation before any I/O -------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["a/b?c", "", "x" * 25, "공백 key", "../SELL", "k#1"])
async def test_a_bad_mgt_key_never_reaches_the_network(sandbox, service, key: str) -> None:
    with pytest.raises(RequestInvalid) as err:
        await service.taxinvoice.cancel_issue(SELL, key)
    assert err.value.code == "mgt_key"
    with pytest.raises(RequestInvalid):
        await service.cashbill.get_info(key)
    with pytest.raises(RequestInvalid):
        await service.taxinvoice.regist_issue(invoice(key))
    assert sandbox.requests == []


async def test_bad_submit_ids_item_keys_and_key_types_are_refused_before_io(sandbox, service) -> None:
    with pytest.raises(RequestInvalid):
        await service.taxinvoice.bulk_submit("bad id!", [invoice("B-9")])
    with pytest.raises(RequestInvalid):
        await service.taxinvoice.bulk_submit("OK-1", [invoice(f"B-{n}") for n in range(101)])
    with pytest.raises(RequestInvalid):
        await service.taxinvoice.assign_mgt_key(SELL, "short", "K-1")
    with pytest.raises(RequestInvalid):
        await service.taxinvoice.get_info("OTHER", "K-1")
    with pytest.raises(RequestInvalid):
        await service.closedown.check_corp_num("123-45-67890")
    assert sandbox.requests == []

"""The Hiworks sandbox on the wire (raw HTTP, no client): documented routes and bodies, Hiworks'
own error bodies, auth, rate-limit headers, the state machine and the admin routes."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.config import HiworksConfig
from providers.sandbox.base import FaultRule
from providers.sandbox.hiworks import HiworksSandbox
from tests.local_http import LOCAL_TLS

OFFICE = {"Office-Authorization": "sandbox-office-token"}
AUTH = {**OFFICE, "Bill-Access-Authorization": "sandbox-bill-access-token"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}
DOCUMENT_ID = re.compile(r"^\d{14}[A-Z0-9]{32}$")

# The Postman "과세 세금계산서 작성" example, with the invoicer set to the sandbox office's number.
POSTMAN_TAXABLE: dict[str, Any] = {
    "data": {
        "information": {"issueDate": "2021-01-01", "memo": "메모 입니다", "bookNo": "", "serial": "111-111",
                        "description": "", "cash": "0", "check": "0", "draft": "0", "uncollected": "220",
                        "totalSupplyPrice": "200", "totalTax": "20"},
        "invoiceType": {"transactionType": "S", "purposeType": "C", "taxType": "A", "typeCode": "A"},
        "invoicer": "679-87-00433",
        "invoicee": {
            "companyNumber": "214-86-39239", "taxNumber": "", "companyName": "공급받는자 사업자 명",
            "companyAddress": "공급받는자 사업자 주소", "ceoName": "대표자명", "bizType": "", "bizClassification": "",
            "partyTypeCode": "01",
            "primaryContact": {"name": "공급받는자1", "email": "noreaply@gabia.com", "cell": "02-000-0000",
                               "phone": "010-0000-0000"},
            "secondaryContact": {"name": "공급받는자2 ", "email": "noreply@gabia.com", "cell": "02-0000-0002",
                                 "phone": "010-0000-0002"},
        },
        "items": [
            {"month": "01", "day": "01", "subject": "항목이름1", "unit": "EA", "quantity": "1", "unitPrice": "100",
             "supplyPrice": "100", "tax": "10", "description": "항목 비고란1"},
            {"month": "01", "day": "01", "subject": "항목이름2", "unit": "EA", "quantity": "1", "unitPrice": "100",
             "supplyPrice": "100", "tax": "10", "description": "항목 비고란2"},
        ],
        "tempFileIds": [100, 101],
        "officeFileIds": [1, 3, 5],
    }
}


def body(**changes: Any) -> dict[str, Any]:
    """The Postman example with `changes` applied to data (dotted keys reach into objects)."""
    doc = copy.deepcopy(POSTMAN_TAXABLE)
    for dotted, value in changes.items():
        target = doc["data"]
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return doc


@pytest.fixture
async def sandbox() -> AsyncIterator[HiworksSandbox]:
    box = HiworksSandbox()
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def http(sandbox: HiworksSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=sandbox.base_url, trust_env=False) as client:
        yield client


async def create(http: httpx.AsyncClient, payload: dict[str, Any] | None = None) -> str:
    response = await http.post("/v4/invoices", json=payload or POSTMAN_TAXABLE, headers=JSON_AUTH)
    assert response.status_code == 200, response.text
    document_id: str = response.json()["data"]["documentId"][0]
    return document_id


def only_error(response: httpx.Response) -> dict[str, str]:
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert set(errors[0]) == {"status", "title", "message"}
    assert errors[0]["status"] == str(response.status_code)
    error: dict[str, str] = errors[0]
    return error


# -- create / get --------------------------------------------------------------------------------

async def test_the_postman_example_is_accepted_and_reads_back(http: httpx.AsyncClient) -> None:
    response = await http.post("/v4/invoices", json=POSTMAN_TAXABLE, headers=JSON_AUTH)

    assert response.status_code == 200
    answer = response.json()
    assert answer["meta"] == {}
    (document_id,) = answer["data"]["documentId"]
    assert DOCUMENT_ID.match(document_id)

    got = (await http.get(f"/v4/invoices/{document_id}", headers=AUTH)).json()
    data = got["data"]
    assert set(data) == {"information", "invoiceType", "invoicee", "invoicer", "items", "amendment", "mail",
                         "status", "linkedDocument", "files"}
    assert data["information"]["bookNo"] == "-"  # empty bookNo is stored as "-", as documented
    assert data["invoicer"]["companyNumber"] == "6798700433"  # filled in from the office registration
    assert data["invoicee"]["companyNumber"] == "2148639239"
    assert data["status"] == {"approvalStatus": "W", "declareStatus": "0", "declareStatusCode": "", "issueId": ""}
    assert [f["id"] for f in data["files"]] == [100, 101, 1, 3, 5]


@pytest.mark.parametrize(
    ("changes", "wording"),
    [
        ({"information__totalTax": "30"}, "총 세액(30)이 항목 세액의 합(20)"),
        ({"information__totalSupplyPrice": "201", "information__uncollected": None}, "총 공급가액(201)"),
        ({"invoicee__companyNumber": None}, "companyNumber(사업자 등록 번호)는 필수"),
        ({"invoicee__companyNumber": "123-45"}, "partyTypeCode 01"),
        ({"invoicer": "6798700433"}, "000-00-00000"),
        ({"invoicer": "220-88-75476"}, "등록된 사업자 번호가 아닙니다"),
        ({"invoiceType__typeCode": "B", "invoiceType__taxType": "A"}, "taxType이 B"),
        ({"invoiceType__typeCode": "M"}, "typeCode는 A, B, D"),
        ({"invoiceType__transactionType": "R"}, "매입"),
        ({"information__issueDate": "2021/01/01"}, "YYYY-MM-DD"),
        ({"information__uncollected": "100"}, "결제 수단의 합(100)"),
        ({"invoicee__primaryContact": {"name": "담당"}}, "email"),
        ({"invoicee__secondaryContact": {}}, "secondaryContact"),
        ({"easySign": "y"}, "대문자"),
    ],
)
async def test_validation_errors_answer_with_an_errors_body(http: httpx.AsyncClient, sandbox: HiworksSandbox,
                                                            changes: dict[str, Any], wording: str) -> None:
    before = len(sandbox.documents)

    response = await http.post("/v4/invoices", json=body(**changes), headers=JSON_AUTH)

    assert response.status_code == 400
    error = only_error(response)
    assert error["title"] == "Validation Error"
    assert wording in error["message"]
    assert len(sandbox.documents) == before


async def test_more_than_100_items_are_refused(http: httpx.AsyncClient) -> None:
    item = {"month": "01", "day": "01", "supplyPrice": "2", "tax": "0"}
    payload = body(items=[item] * 101, information__totalSupplyPrice="202", information__totalTax="0",
                   information__uncollected=None, invoiceType__taxType="B")

    response = await http.post("/v4/invoices", json=payload, headers=JSON_AUTH)

    assert response.status_code == 400
    assert "최대 100개" in only_error(response)["message"]


async def test_an_item_dated_after_the_issue_date_is_refused(http: httpx.AsyncClient) -> None:
    payload = body()
    payload["data"]["items"][1]["day"] = "02"

    response = await http.post("/v4/invoices", json=payload, headers=JSON_AUTH)

    assert response.status_code == 400
    assert "선발행" in only_error(response)["message"]


@pytest.mark.parametrize(
    ("content", "headers", "wording"),
    [
        (json.dumps(POSTMAN_TAXABLE), AUTH, "Content-Type"),
        ("{not json", JSON_AUTH, "JSON"),
        (json.dumps(POSTMAN_TAXABLE["data"]), JSON_AUTH, '{"data": {...}}'),
    ],
)
async def test_the_envelope_must_be_json_data(http: httpx.AsyncClient, content: str, headers: dict[str, str],
                                              wording: str) -> None:
    response = await http.post("/v4/invoices", content=content, headers=headers)

    assert response.status_code == 400
    error = only_error(response)
    assert error["title"] == "Parameter Error"
    assert wording in error["message"]


async def test_unknown_and_deleted_documents_answer_the_documented_404(http: httpx.AsyncClient,
                                                                       sandbox: HiworksSandbox) -> None:
    response = await http.get("/v4/invoices/20240101000000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", headers=AUTH)

    assert response.status_code == 404
    assert response.json() == {"errors": [{"status": "404", "title": "Not Found", "message": ""}]}


# -- auth ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("headers", "status", "title"),
    [
        ({}, 401, "Unauthorized"),
        ({"Office-Authorization": "wrong"}, 401, "Unauthorized"),
        ({"Office-Authorization": "Bearer sandbox-office-token",
          "Bill-Access-Authorization": "sandbox-bill-access-token"}, 401, "Unauthorized"),
        (OFFICE, 401, "Unauthorized"),
        ({**OFFICE, "Bill-Access-Authorization": "wrong"}, 403, "Forbidden"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v4/invoices"),
        ("GET", "/v4/invoices/{id}"),
        ("DELETE", "/v4/invoices/{id}"),
        ("POST", "/v4/validate"),
        ("POST", "/v4/invoices/amendment"),
    ],
)
async def test_auth_is_checked_on_every_bill_call(http: httpx.AsyncClient, sandbox: HiworksSandbox,
                                                  headers: dict[str, str], status: int, title: str, method: str,
                                                  path: str) -> None:
    document_id = next(iter(sandbox.documents))
    response = await http.request(method, path.format(id=document_id), headers={**headers,
                                                                               "Content-Type": "application/json"},
                                  content=json.dumps(POSTMAN_TAXABLE))

    assert response.status_code == status
    assert only_error(response)["title"] == title
    assert not sandbox.documents[document_id].deleted


async def test_closure_check_needs_both_tokens_as_the_seed_says(http: httpx.AsyncClient) -> None:
    """Seed 004, 사업자 휴폐업 단일 조회: Office-Authorization and Bill-Access-Authorization are (필수)."""
    ok = await http.post("/v4/check/6798700433", headers={**AUTH, "Content-Type": "application/json"})
    no_bill = await http.post("/v4/check/6798700433", headers={**OFFICE, "Content-Type": "application/json"})
    wrong_bill = await http.post("/v4/check/6798700433", headers={**OFFICE, "Bill-Access-Authorization": "wrong"})
    refused = await http.post("/v4/check/6798700433", headers={"Office-Authorization": "wrong"})

    assert ok.status_code == 200
    assert (no_bill.status_code, only_error(no_bill)["title"]) == (401, "Unauthorized")
    assert "Bill-Access-Authorization" in only_error(no_bill)["message"]
    assert (wrong_bill.status_code, only_error(wrong_bill)["title"]) == (403, "Forbidden")
    assert refused.status_code == 401
    assert only_error(refused)["title"] == "Unauthorized"


async def test_configured_credentials_replace_the_demo_ones() -> None:
    from pydantic import SecretStr

    box = HiworksSandbox(HiworksConfig(office_token=SecretStr("mine"), bill_access_token=SecretStr("my-bill")))
    await box.start()
    try:
        async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=box.base_url, trust_env=False) as http:
            demo = await http.post("/v4/check/6798700433", headers=AUTH)
            mine = await http.post("/v4/check/6798700433", headers={"Office-Authorization": "mine",
                                                                    "Bill-Access-Authorization": "my-bill"})
    finally:
        await box.stop()
    assert (demo.status_code, mine.status_code) == (401, 200)


# -- closure check and validation ---------------------------------------------------------------

async def test_closure_check_answers_the_documented_shape(http: httpx.AsyncClient) -> None:
    answers = {}
    for number in ("6798700433", "1231212312", "2208875476", "1234567890", "1168200276"):
        response = await http.post(f"/v4/check/{number}", headers=AUTH)
        assert response.status_code == 200
        answers[number] = response.json()

    active = answers["6798700433"]
    assert active == {"data": {"idn": "6798700433", "status": "계속사업자", "statusCode": "01",
                               "taxType": "부가가치세 일반과세자", "taxTypeCode": "01", "endDate": "", "utcc": "N",
                               "taxTypeChangeDate": "", "invoiceApplyDate": ""}, "meta": {}}
    assert (answers["1231212312"]["data"]["statusCode"], answers["1231212312"]["data"]["endDate"]) == ("03",
                                                                                                       "20231231")
    assert answers["2208875476"]["data"]["statusCode"] == "02"
    assert answers["1234567890"]["data"]["statusCode"] == ""  # not registered: no status
    assert answers["1168200276"]["data"]["taxTypeCode"] == "04"


async def test_closure_check_refuses_hyphens_with_the_documented_error(http: httpx.AsyncClient) -> None:
    response = await http.post("/v4/check/123-45-12345", headers=AUTH)

    assert response.status_code == 400
    assert only_error(response) == {"status": "400", "title": "Parameter Error",
                                    "message": "휴폐업 조회시 사업자 등록번호는 10자리 숫자만 허용합니다."}


async def test_closure_check_is_deterministic_and_seedable(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    first = (await http.post("/v4/check/2148639239", headers=AUTH)).json()
    second = (await http.post("/v4/check/2148639239", headers=AUTH)).json()
    assert first == second
    assert first["data"]["statusCode"] == "01"

    admin = await http.put("/_sandbox/hiworks/businesses/2148639239", json={"statusCode": "03", "endDate": "20240301"})
    assert admin.status_code == 200
    closed = (await http.post("/v4/check/2148639239", headers=AUTH)).json()["data"]
    assert (closed["status"], closed["statusCode"], closed["endDate"]) == ("폐업자", "03", "20240301")


async def test_validate_answers_genuine_or_not_found(http: httpx.AsyncClient) -> None:
    request_data = {"idn": "2208875476", "startDate": "20190701", "representative": "이휴업", "representative2": "",
                    "companyName": "", "corporationNo": "", "sector": "", "type": ""}
    genuine = (await http.post("/v4/validate", json={"data": request_data}, headers=JSON_AUTH)).json()["data"]
    assert genuine["validationCode"] == "01"
    assert genuine["requestData"] == request_data
    assert genuine["status"]["statusCode"] == "02"

    unknown = {**request_data, "idn": "1234567890"}
    not_found = (await http.post("/v4/validate", json={"data": unknown}, headers=JSON_AUTH)).json()["data"]
    assert not_found == {"idn": "1234567890", "validationCode": "02", "validationMessage": "확인할 수 없습니다.",
                         "requestData": unknown}


async def test_validate_requires_number_start_date_and_representative(http: httpx.AsyncClient) -> None:
    response = await http.post("/v4/validate", json={"data": {"idn": "2208875476", "startDate": "20190701"}},
                               headers=JSON_AUTH)
    assert response.status_code == 400
    assert "representative" in only_error(response)["message"]


# -- state machine and delete ----------------------------------------------------------------------

async def test_statements_are_never_reported_to_the_nts(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    payload = body(easySign="Y", invoiceType__typeCode="D")
    response = await http.post("/v4/invoices", json=payload, headers=JSON_AUTH)
    document_id = response.json()["data"]["documentId"][0]
    assert "easySign" not in response.json()["data"]  # easy sign does not apply to statements

    sandbox.clock.advance(10 * 86400)
    status = (await http.get(f"/v4/invoices/{document_id}", headers=AUTH)).json()["data"]["status"]
    assert (status["approvalStatus"], status["declareStatus"]) == ("S", "0")


async def test_mail_status_follows_the_buyer(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    document_id = await create(http)
    unsent = (await http.get(f"/v4/invoices/{document_id}", headers=AUTH)).json()["data"]["mail"]
    sandbox.clock.advance(3600)
    read = (await http.get(f"/v4/invoices/{document_id}", headers=AUTH)).json()["data"]["mail"]

    assert (unsent["readStatus"], unsent["sendDate"]) == ("R", "")  # R means unread in Hiworks' mail object
    assert read["readStatus"] == "C" and read["sendDate"] and read["sendResultCode"] == "0"


async def test_deletes_alternate_302_and_304_then_404(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    ids = [await create(http) for _ in range(3)]

    answers = [await http.delete(f"/v4/invoices/{d}", headers=AUTH) for d in ids]

    assert [r.status_code for r in answers] == [302, 304, 302]
    assert answers[0].headers["Location"] == "/v4/invoices"
    assert answers[1].content == b""
    again = await http.delete(f"/v4/invoices/{ids[0]}", headers=AUTH)
    assert again.status_code == 404


async def test_delete_answer_is_configurable(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    admin = await http.put("/_sandbox/hiworks/delete-status", json={"status": 304})
    assert admin.status_code == 200
    ids = [await create(http) for _ in range(2)]

    assert [(await http.delete(f"/v4/invoices/{d}", headers=AUTH)).status_code for d in ids] == [304, 304]


async def test_delete_is_refused_once_declared(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    document_id = await create(http, body(easySign="Y"))
    sandbox.clock.advance(15)

    response = await http.delete(f"/v4/invoices/{document_id}", headers=AUTH)

    assert response.status_code == 409
    error = only_error(response)
    assert error["title"] == "Document Already Declared"
    assert "국세청" in error["message"]
    assert not sandbox.documents[document_id].deleted


async def test_admin_routes_drive_the_buyer_and_the_nts(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    refused = await create(http)
    failed = await create(http, body(easySign="Y"))

    await http.post(f"/_sandbox/hiworks/documents/{refused}/approval", json={"approvalStatus": "B"})
    await http.post(f"/_sandbox/hiworks/documents/{failed}/declare",
                    json={"declareStatus": "3", "declareStatusCode": "ERR009"})
    sandbox.clock.advance(2 * 86400)

    first = (await http.get(f"/v4/invoices/{refused}", headers=AUTH)).json()["data"]["status"]
    second = (await http.get(f"/v4/invoices/{failed}", headers=AUTH)).json()["data"]["status"]
    assert (first["approvalStatus"], first["declareStatus"]) == ("B", "0")
    assert (second["declareStatus"], second["declareStatusCode"]) == ("3", "ERR009")
    assert (await http.delete(f"/v4/invoices/{failed}", headers=AUTH)).status_code in (302, 304)


async def test_amendment_answers_a_nested_pair_and_links_the_original(http: httpx.AsyncClient,
                                                                      sandbox: HiworksSandbox) -> None:
    original = await create(http, body(easySign="Y"))
    sandbox.clock.advance(1000)
    issue_id = (await http.get(f"/v4/invoices/{original}", headers=AUTH)).json()["data"]["status"]["issueId"]
    negative = copy.deepcopy(POSTMAN_TAXABLE["data"])
    for item in negative["items"]:
        item.update(supplyPrice="-100", tax="-10", unitPrice="-100")
    negative["information"].update(totalSupplyPrice="-200", totalTax="-20", uncollected="-220")
    positive = copy.deepcopy(POSTMAN_TAXABLE["data"])
    payload = {"data": {"amendment": {"originalIssueId": issue_id, "modifyType": "1"},  # the Postman example's "1"
                        "negative": negative, "positive": positive}}

    response = await http.post("/v4/invoices/amendment", json=payload, headers=JSON_AUTH)

    assert response.status_code == 200, response.text
    (pair,) = response.json()["data"]["documentId"]
    assert len(pair) == 2 and all(DOCUMENT_ID.match(d) for d in pair)
    negative_doc = (await http.get(f"/v4/invoices/{pair[0]}", headers=AUTH)).json()["data"]
    assert negative_doc["invoiceType"]["typeCode"] == "M"
    assert negative_doc["linkedDocument"]["amendmentOriginal"] == original
    assert negative_doc["amendment"] == {"originalIssueId": issue_id, "modifyType": "01"}


async def test_amendment_of_an_unfiled_original_is_refused(http: httpx.AsyncClient) -> None:
    payload = {"data": {"amendment": {"originalIssueId": "nope", "modifyType": "04"},
                        "negative": POSTMAN_TAXABLE["data"]}}
    response = await http.post("/v4/invoices/amendment", json=payload, headers=JSON_AUTH)

    assert response.status_code == 400
    assert "당초 승인번호" in only_error(response)["message"]


@pytest.mark.parametrize(("amendment", "said"), [
    ({"originalIssueId": "20240501410000000000001", "modifyType": "07"}, "modifyType은 01~06"),
    ({"originalIssueId": "20240501410000000000001", "modifyType": "0"}, "modifyType은 01~06"),
    ({"modifyType": "04"}, "originalIssueId(당초 승인번호)는 필수"),
    ({"originalIssueId": " ", "modifyType": "04"}, "originalIssueId(당초 승인번호)는 필수"),
])
async def test_amendment_reason_outside_1_to_6_or_without_an_original_is_refused(
        http: httpx.AsyncClient, amendment: dict[str, str], said: str) -> None:
    payload = {"data": {"amendment": amendment, "negative": POSTMAN_TAXABLE["data"]}}
    response = await http.post("/v4/invoices/amendment", json=payload, headers=JSON_AUTH)

    assert response.status_code == 400
    error = only_error(response)
    assert error["title"] == "Validation Error" and said in error["message"]


# -- rate limit, faults, seed ----------------------------------------------------------------------

async def test_every_answer_carries_rate_limit_headers_counting_successes_per_token(
    http: httpx.AsyncClient, sandbox: HiworksSandbox
) -> None:
    """The budget is 1,000 *successful* calls a day: refused and failed calls do not spend it."""
    ok = await http.post("/v4/check/6798700433", headers=AUTH)
    refused = await http.get("/v4/invoices/20240101000000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", headers=AUTH)
    sandbox.add_fault(FaultRule(kind="503"))
    maintenance = await http.post("/v4/check/6798700433", headers=AUTH)
    again = await http.post("/v4/check/6798700433", headers=AUTH)

    assert [r.headers["x-ratelimit-limit"] for r in (ok, refused, maintenance, again)] == ["1000"] * 4
    assert refused.status_code == 404
    assert ok.headers["x-ratelimit-remaining"] == refused.headers["x-ratelimit-remaining"] == "999"
    assert again.headers["x-ratelimit-remaining"] == "998"
    assert sandbox.snapshot()["calls"]

    sandbox.clock.advance(86400)  # a new day in Korea
    tomorrow = await http.post("/v4/check/6798700433", headers=AUTH)
    assert tomorrow.headers["x-ratelimit-remaining"] == "999"


async def test_a_separate_budget_per_office_token() -> None:
    from pydantic import SecretStr

    box = HiworksSandbox(HiworksConfig(office_token=SecretStr("other"), bill_access_token=SecretStr("b")))
    await box.start()
    try:
        async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=box.base_url, trust_env=False) as http:
            first = await http.post("/v4/check/6798700433",
                                    headers={"Office-Authorization": "other", "Bill-Access-Authorization": "b"})
    finally:
        await box.stop()
    assert first.headers["x-ratelimit-remaining"] == "999"


async def test_enforced_rate_limit_answers_429_until_midnight() -> None:
    box = HiworksSandbox(rate_limit=2, enforce_rate_limit=True)
    await box.start()
    try:
        async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=box.base_url, trust_env=False) as http:
            refused = await http.post("/v4/check/6798700433", headers=OFFICE)  # no bill token: not counted
            answers = [await http.post("/v4/check/6798700433", headers=AUTH) for _ in range(3)]
    finally:
        await box.stop()
    assert refused.status_code == 401
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].headers["x-ratelimit-remaining"] == "0"
    assert 0 < int(answers[2].headers["Retry-After"]) <= 86400
    assert only_error(answers[2])["title"] == "Too Many Requests"


async def test_injected_errors_use_the_hiworks_error_body(http: httpx.AsyncClient, sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="503", retry_after=30))
    response = await http.post("/v4/check/6798700433", headers=AUTH)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert only_error(response)["title"] == "Service Unavailable"


async def test_seeded_demo_documents_cover_the_states_and_come_back_after_reset(http: httpx.AsyncClient,
                                                                               sandbox: HiworksSandbox) -> None:
    states = sorted((s["approvalStatus"], s["declareStatus"]) for s in sandbox.snapshot()["documents"].values())
    assert states == [("R", "0"), ("S", "4"), ("S", "5"), ("T", "2"), ("W", "0")]

    await create(http)
    await http.post("/_sandbox/reset")

    assert len(sandbox.documents) == 5
    assert all(DOCUMENT_ID.match(d) and "DEMO" in d for d in sandbox.documents)

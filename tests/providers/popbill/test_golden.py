"""Wire fidelity: every request the official SDK sent (reference golden captures) is sent the
same way by our clients: method, path, query, override header (also the empty one on
assignMgtKey), x-pb-userid, Content-Type and JSON body, compared field by field on the
sandbox's request log."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import pytest
from pydantic import SecretStr

from providers.config import PopbillConfig, SellerConfig
from providers.errors import ProviderRejected
from providers.http import HttpPolicy
from providers.popbill import CashbillClient, CloseDownClient, PopbillService, TaxinvoiceClient
from providers.sandbox.popbill import PopbillSandbox
from tests.paths import shared_path

GOLDEN = json.loads(shared_path("reference", "popbill-golden-requests.json").read_text())
META = GOLDEN["meta"]
MGT = META["mgt_key"]
OPS = GOLDEN["operations"]

CONFIG = PopbillConfig(link_id=META["link_id"], secret_key=SecretStr(META["secret_key_used"]),
                       corp_num=META["corp_num"], is_test=True, policy=HttpPolicy(read_timeout=2.0, backoff=0.01))

Call = Callable[[TaxinvoiceClient, CashbillClient, CloseDownClient, str | None], Awaitable[Any]]


def _api_request(op: dict[str, Any]) -> dict[str, Any]:
    (request,) = [r for r in op["requests"] if not r["path"].endswith("/Token")]
    return request


def _body(op: dict[str, Any]) -> Any:
    return _api_request(op)["body_json"]


def _without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def _header(request: dict[str, Any], name: str) -> str | None:
    values = [v for k, v in request["headers"] if k.lower() == name.lower()]
    return values[0] if values else None


def call_for(op: dict[str, Any]) -> Call:
    """The client call that corresponds to one golden SDK operation."""
    name = (op["service"], op["operation"])
    body = _body(op)
    request = _api_request(op)
    calls: dict[tuple[str, str], Call] = {
        ("Taxinvoice", "checkMgtKeyInUse"): lambda ti, cb, cd, uid: ti.check_mgt_key_in_use("SELL", MGT),
        ("Taxinvoice", "registIssue"): lambda ti, cb, cd, uid: ti.regist_issue(
            _without(body, "memo"), memo=body["memo"], user_id=uid),
        ("Taxinvoice", "registIssue (all optional flags)"): lambda ti, cb, cd, uid: ti.regist_issue(
            _without(body, "writeSpecification", "forceIssue", "dealInvoiceMgtKey", "memo", "emailSubject"),
            write_specification=True, force_issue=True, deal_invoice_mgt_key=body["dealInvoiceMgtKey"],
            memo=body["memo"], email_subject=body["emailSubject"], user_id=uid),
        ("Taxinvoice", "bulkSubmit"): lambda ti, cb, cd, uid: ti.bulk_submit(
            _header(request, "x-pb-submit-id") or "", body["invoices"], force_issue=body["forceIssue"], user_id=uid),
        ("Taxinvoice", "getBulkResult"): lambda ti, cb, cd, uid: ti.get_bulk_result("20261121-BULK-001", user_id=uid),
        ("Taxinvoice", "cancelIssue"): lambda ti, cb, cd, uid: ti.cancel_issue("SELL", MGT, body["memo"],
                                                                                 user_id=uid),
        ("Taxinvoice", "cancelIssue (no memo)"): lambda ti, cb, cd, uid: ti.cancel_issue("SELL", MGT, user_id=uid),
        ("Taxinvoice", "delete"): lambda ti, cb, cd, uid: ti.delete("SELL", MGT, user_id=uid),
        ("Taxinvoice", "sendToNTS"): lambda ti, cb, cd, uid: ti.send_to_nts("SELL", MGT, user_id=uid),
        ("Taxinvoice", "getInfo"): lambda ti, cb, cd, uid: ti.get_info("SELL", MGT),
        ("Taxinvoice", "getInfos"): lambda ti, cb, cd, uid: ti.get_infos("SELL", body),
        ("Taxinvoice", "getDetailInfo"): lambda ti, cb, cd, uid: ti.get_detail_info("SELL", MGT),
        ("Taxinvoice", "search"): lambda ti, cb, cd, uid: ti.search(
            "SELL", "W", "20261101", "20261130", state=["3**", "6**"], invoice_type=["N", "M"],
            tax_type=["T", "N", "Z"], late_only=False, order="D", page=1, per_page=10, q_string="테스트 상호",
            inter_op_yn="1", issue_type=["N", "R", "T"], reg_type=["P", "H"], close_down_state=["N", "0", "1"],
            mgt_key=MGT, user_id=uid),
        ("Taxinvoice", "getLogs"): lambda ti, cb, cd, uid: ti.get_logs("SELL", MGT),
        ("Taxinvoice", "sendEmail"): lambda ti, cb, cd, uid: ti.send_email("SELL", MGT, body["receiver"], user_id=uid),
        ("Taxinvoice", "sendSMS"): lambda ti, cb, cd, uid: ti.send_sms(
            "SELL", MGT, body["sender"], body["receiver"], body["contents"], user_id=uid),
        ("Taxinvoice", "sendFax"): lambda ti, cb, cd, uid: ti.send_fax("SELL", MGT, body["sender"], body["receiver"],
                                                                        user_id=uid),
        ("Taxinvoice", "getPopUpURL"): lambda ti, cb, cd, uid: ti.get_popup_url("SELL", MGT, user_id=uid),
        ("Taxinvoice", "getViewURL"): lambda ti, cb, cd, uid: ti.get_view_url("SELL", MGT, user_id=uid),
        ("Taxinvoice", "getPrintURL"): lambda ti, cb, cd, uid: ti.get_print_url("SELL", MGT, user_id=uid),
        ("Taxinvoice", "getPDFURL"): lambda ti, cb, cd, uid: ti.get_pdf_url("SELL", MGT, user_id=uid),
        ("Taxinvoice", "getMailURL"): lambda ti, cb, cd, uid: ti.get_mail_url("SELL", MGT, user_id=uid),
        ("Taxinvoice", "assignMgtKey"): lambda ti, cb, cd, uid: ti.assign_mgt_key(
            "SELL", request["path"].split("/")[2], MGT, user_id=uid),
        ("Taxinvoice", "getCertificateExpireDate"): lambda ti, cb, cd, uid: ti.get_certificate_expire_date(),
        ("Taxinvoice", "checkCertValidation"): lambda ti, cb, cd, uid: ti.check_cert_validation(user_id=uid),
        ("Cashbill", "registIssue"): lambda ti, cb, cd, uid: cb.regist_issue(
            _without(body, "memo", "emailSubject"), body["memo"], user_id=uid, email_subject=body["emailSubject"]),
        ("Cashbill", "registIssue (Memo=None, no EmailSubject)"): lambda ti, cb, cd, uid: cb.regist_issue(
            _without(body, "memo", "emailSubject"), None, user_id=uid),
        ("Cashbill", "cancelIssue"): lambda ti, cb, cd, uid: cb.cancel_issue(MGT, body["memo"], user_id=uid),
        ("Cashbill", "cancelIssue (no memo)"): lambda ti, cb, cd, uid: cb.cancel_issue(MGT, user_id=uid),
        ("Cashbill", "delete"): lambda ti, cb, cd, uid: cb.delete(MGT, user_id=uid),
        ("Cashbill", "getInfo"): lambda ti, cb, cd, uid: cb.get_info(MGT),
        ("Cashbill", "getInfos"): lambda ti, cb, cd, uid: cb.get_infos(body),
        ("Cashbill", "sendEmail"): lambda ti, cb, cd, uid: cb.send_email(MGT, body["receiver"], user_id=uid),
        ("Cashbill", "assignMgtKey"): lambda ti, cb, cd, uid: cb.assign_mgt_key(request["path"].split("/")[2], MGT,
                                                                               user_id=uid),
        ("Cashbill", "search"): lambda ti, cb, cd, uid: cb.search(
            "T", "20261101", "20261130", state=["3**"], trade_type=["N", "C"], trade_usage=["P", "C"],
            taxation_type=["T", "N"], page=1, per_page=10, order="D", q_string="0100001234",
            trade_opt=["N", "B", "T"], franchise_tax_reg_id="0001", user_id=uid),
        ("Cashbill", "checkMgtKeyInUse"): lambda ti, cb, cd, uid: cb.check_mgt_key_in_use(MGT),
        ("Cashbill", "bulkSubmit"): lambda ti, cb, cd, uid: cb.bulk_submit(
            _header(request, "x-pb-submit-id") or "", body["cashbills"], user_id=uid),
        ("Cashbill", "getBulkResult"): lambda ti, cb, cd, uid: cb.get_bulk_result("CB-BULK-001", user_id=uid),
        ("CloseDown", "checkCorpNum"): lambda ti, cb, cd, uid: cd.check_corp_num("6798700433"),
        ("CloseDown", "checkCorpNums"): lambda ti, cb, cd, uid: cd.check_corp_nums(body),
    }
    return calls[name]


def test_every_golden_operation_has_a_client_call() -> None:
    assert len(OPS) == 40
    for op in OPS:
        assert call_for(op) is not None


@pytest.fixture(scope="module")
def recorded() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Replay all golden operations, in order, through one set of clients against the sandbox."""
    import asyncio

    async def replay() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        sandbox = PopbillSandbox(CONFIG)
        url = await sandbox.start()
        service = PopbillService(CONFIG.model_copy(update={"api_url": url}), seller=SellerConfig(), sandbox=True,
                                 clock=sandbox.clock.time)
        out = []
        try:
            for op in OPS:
                before = len(sandbox.requests)
                uid = _header(_api_request(op), "x-pb-userid")
                # only the request matters here (e.g. cancelling a document deleted just before)
                with contextlib.suppress(ProviderRejected):
                    await call_for(op)(service.taxinvoice, service.cashbill, service.closedown, uid)
                out.append((op, sandbox.requests[before:]))
        finally:
            await service.aclose()
            await sandbox.stop()
        return out

    return asyncio.run(replay())


@pytest.mark.parametrize("index", range(len(OPS)), ids=[f"{o['service']}.{o['operation']}" for o in OPS])
def test_request_matches_the_official_sdk(recorded, index: int) -> None:
    op, requests = recorded[index]
    golden = _api_request(op)
    (sent,) = [r for r in requests if not r["path"].endswith("/Token")]
    assert sent["method"] == golden["method"]
    assert sent["path"] == golden["path"]
    assert sent["query"] == unquote(golden["query_string"])
    for name in ("X-HTTP-Method-Override", "x-pb-userid", "x-pb-submit-id", "x-pb-message-digest"):
        assert _header(sent, name) == _header(golden, name), name
    if _header(golden, "Content-Type") is not None:
        assert _header(sent, "Content-Type") == _header(golden, "Content-Type")
    else:
        assert sent["method"] == "GET"
    assert (_header(sent, "Authorization") or "").startswith("Bearer ")
    assert (_header(sent, "x-pb-version")) == "1.0"
    if golden["body_json"] is not None:
        assert json.loads(sent["body"]) == golden["body_json"]
    else:
        assert sent["body"] == golden["body_raw"]
    if golden["body_raw"] and golden["body_json"] is not None:
        # bodies are serialised like the SDK's json.dumps: ASCII, default separators, same key order
        assert sent["body"] == golden["body_raw"]


def test_token_requests_match_the_official_sdk(recorded) -> None:
    golden_tokens = [r for op in OPS for r in op["requests"] if r["path"].endswith("/Token")]
    sent_tokens = [r for _, requests in recorded for r in requests if r["path"].endswith("/Token")]
    assert [r["path"] for r in sent_tokens] == [r["path"] for r in golden_tokens]
    for sent, golden in zip(sent_tokens, golden_tokens, strict=True):
        assert sent["body"] == golden["body_raw"]
        for name in ("Content-Type", "x-lh-version", "x-lh-forwarded"):
            assert _header(sent, name) == _header(golden, name)
        assert (_header(sent, "Authorization") or "").startswith(f"LINKHUB {META['link_id']} ")
        assert _header(sent, "x-lh-date")

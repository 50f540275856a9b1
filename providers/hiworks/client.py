"""Faithful client for the Hiworks bill-api v4 (전자세금계산서 API).

One method per documented call::

    create_invoice     POST   /v4/invoices               taxable, zero-rated, exempt, statement, easySign
    create_amendment   POST   /v4/invoices/amendment     수정(세금)계산서: negative and/or positive
    get_invoice        GET    /v4/invoices/{documentId}
    delete_invoice     DELETE /v4/invoices/{documentId}  302 and 304 also mean success
    check_closure      POST   /v4/check/{bizno}          휴폐업 조회 (office and bill-access tokens)
    validate_business  POST   /v4/validate               사업자등록정보 진위 검증

Auth is two raw headers, no ``Bearer``: ``Office-Authorization: {officeToken}`` and
``Bill-Access-Authorization: {billAccessToken}``. Bodies are ``{"data": {...}}``; answers are
``{"data": ..., "meta": {}}`` or ``{"errors": [{"status", "title", "message"}]}``. 503 means
Hiworks is under maintenance (점검중). Every answer carries ``x-ratelimit-limit`` and
``x-ratelimit-remaining`` (1,000 calls per office per day); the last values seen are kept in
:attr:`HiworksClient.rate_limit`.

Hiworks checks that totals equal the sums of the items and allows at most 100 items; this
client checks the same before sending, so a mistake costs no call and no rate-limit budget.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from providers.bizno import InvalidBizno, normalize_bizno
from providers.config import HiworksConfig
from providers.errors import (
    ProviderProtocolError,
    ProviderUnavailable,
    RateLimited,
    RequestInvalid,
)
from providers.hiworks._checks import check_invoice
from providers.hiworks._errors import (
    _MAINTENANCE_HINT,
    PROVIDER,
    HiworksNotFound,
    HiworksRejected,
    coerce_request,
    error_for,
    parse_answer,
)
from providers.hiworks.models import (
    AmendmentRequest,
    BusinessCheck,
    BusinessValidation,
    CreateResult,
    Invoice,
    InvoiceDetail,
    RateLimit,
    ValidateRequest,
)
from providers.http import HttpPolicy, ProviderHttp

__all__ = [
    "DEFAULT_BASE_URL",
    "DELETE_SUCCESS_STATUSES",
    "HiworksClient",
    "HiworksNotFound",
    "HiworksRejected",
    "check_invoice",
]

log = logging.getLogger("invoicebot.providers.hiworks")

DEFAULT_BASE_URL = "https://bill-api.hiworks.com"

#: DELETE answers seen in the wild: public clients treat a 302 as success and captured a 304
#: with an empty body; plain 200/204 are accepted too.
DELETE_SUCCESS_STATUSES = frozenset({200, 202, 204, 302, 304})

_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
class HiworksClient:
    """The bill-api v4 client.

    Args:
        office_token: the office API token (``Office-Authorization``).
        bill_access_token: the user's bill API token (``Bill-Access-Authorization``); needed by
            every call (seed 004 marks it 필수 on the closure check too).
        base_url: defaults to ``https://bill-api.hiworks.com``.
        reseller_code: sent as ``X-Reseller-Code`` on document creation (Gabia resellers).
        policy: timeouts and retries; transport: injected transport for tests.

    Example::

        client = HiworksClient.from_config(config)
        result = await client.create_invoice(invoice)
        detail = await client.get_invoice(result.document_ids[0])
    """

    def __init__(
        self,
        office_token: str,
        bill_access_token: str | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        reseller_code: str | None = None,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._office_token = office_token
        self._bill_access_token = bill_access_token
        self.reseller_code = reseller_code
        self.http = ProviderHttp(PROVIDER, base_url, policy=policy, transport=transport,
                                 headers={"Accept": "application/json"})
        #: the last rate-limit headers seen (None until an answer carried them)
        self.rate_limit: RateLimit | None = None

    @classmethod
    def from_config(cls, config: HiworksConfig, *, transport: httpx.AsyncBaseTransport | None = None
                    ) -> HiworksClient:
        if not config.configured or config.office_token is None or config.bill_access_token is None:
            raise RequestInvalid(
                "hiworks is not configured: an office token and a bill access token are needed",
                provider=PROVIDER, code="config",
            )
        return cls(
            config.office_token.get_secret_value(),
            config.bill_access_token.get_secret_value(),
            base_url=config.api_url or DEFAULT_BASE_URL,
            reseller_code=config.reseller_code,
            policy=config.policy,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self.http.base_url

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- documented calls ---------------------------------------------------------------------
    async def create_invoice(self, invoice: Invoice | Mapping[str, Any]) -> CreateResult:
        """세금계산서/계산서/거래명세서 작성 (``POST /v4/invoices``), with ``easySign: "Y"`` to issue
        and send to the NTS at once. Returns the document id(s) Hiworks assigned."""
        model = coerce_request(Invoice, invoice)
        check_invoice(model)
        data = await self._data("POST", "/v4/invoices", body=model.wire(), write=True,
                                operation="create invoice", reseller=True)
        return _create_result(data, "create invoice")

    async def create_amendment(self, request: AmendmentRequest | Mapping[str, Any]) -> CreateResult:
        """수정 세금계산서 작성 (``POST /v4/invoices/amendment``): one or two documents depending on
        `modifyType` (01 and 05 need a negative and a positive one)."""
        model = coerce_request(AmendmentRequest, request)
        if model.negative is None and model.positive is None:
            raise RequestInvalid("an amendment needs a negative and/or a positive document", provider=PROVIDER,
                                 code="amendment")
        if model.amendment.modify_type in ("01", "05") and (model.negative is None or model.positive is None):
            raise RequestInvalid(
                f"modifyType {model.amendment.modify_type} issues two documents: give both negative and positive",
                provider=PROVIDER, code="amendment",
            )
        for label, part in (("negative", model.negative), ("positive", model.positive)):
            if part is not None:
                check_invoice(part, label=label)
        data = await self._data("POST", "/v4/invoices/amendment", body=model.wire(), write=True,
                                operation="create amendment", reseller=True)
        return _create_result(data, "create amendment")

    async def get_invoice(self, document_id: str) -> InvoiceDetail:
        """세금계산서 단일 조회 (``GET /v4/invoices/{documentId}``)."""
        path = f"/v4/invoices/{_document_path(document_id)}"
        data = await self._data("GET", path, write=False, operation="get invoice")
        if not isinstance(data, dict) or not isinstance(data.get("status"), dict):
            raise ProviderProtocolError("get invoice: the answer has no data.status", provider=PROVIDER,
                                        code="shape", body_excerpt=json.dumps(data, ensure_ascii=False)[:200])
        try:
            return InvoiceDetail.model_validate(data)
        except ValidationError as exc:
            raise ProviderProtocolError(f"get invoice: unexpected document shape ({exc.error_count()} errors)",
                                        provider=PROVIDER, code="shape") from exc

    async def delete_invoice(self, document_id: str) -> int:
        """세금계산서, 계산서, 거래명세서 삭제 (``DELETE /v4/invoices/{documentId}``).

        Returns the HTTP status of the success answer: 302 and 304 are successes (redirects are
        never followed). A document being or already reported to the NTS cannot be deleted:
        Hiworks refuses and :class:`HiworksRejected` carries its code and message.
        """
        path = f"/v4/invoices/{_document_path(document_id)}"
        response = await self._send("DELETE", path, write=True, operation="delete invoice")
        if response.status_code in DELETE_SUCCESS_STATUSES:
            return response.status_code
        raise self._error(response, "delete invoice")

    async def check_closure(self, bizno: str) -> BusinessCheck:
        """사업자 휴폐업 단일 조회 (``POST /v4/check/{bizno}``). The number is normalised to 10 digits
        first (Hiworks refuses hyphens). Seed 004 lists both the office token and the
        ``Bill-Access-Authorization`` token as 필수 for this call, so both are sent (some public
        clients send only the office token; the document is what the real server may enforce)."""
        try:
            digits = normalize_bizno(bizno)
        except InvalidBizno as exc:
            raise RequestInvalid(str(exc), provider=PROVIDER, code="bizno") from exc
        data = await self._data("POST", f"/v4/check/{digits}", write=False,
                                json_header=True, operation="check closure")
        return parse_answer(BusinessCheck, data, "check closure")

    async def validate_business(self, request: ValidateRequest | Mapping[str, Any]) -> BusinessValidation:
        """사업자등록정보 진위 검증 (``POST /v4/validate``): idn, startDate (YYYYMMDD) and representative
        are required. A read: it changes nothing at Hiworks, so it may be retried."""
        if isinstance(request, Mapping) and isinstance(request.get("idn"), str):
            try:
                request = {**request, "idn": normalize_bizno(request["idn"])}
            except InvalidBizno as exc:
                raise RequestInvalid(str(exc), provider=PROVIDER, code="bizno") from exc
        model = coerce_request(ValidateRequest, request)
        data = await self._data("POST", "/v4/validate", body=model.wire(), write=False,
                                operation="validate business")
        return parse_answer(BusinessValidation, data, "validate business")

    # -- plumbing -----------------------------------------------------------------------------
    def _headers(self, *, bill_access: bool, json_header: bool, reseller: bool) -> dict[str, str]:
        headers = {"Office-Authorization": self._office_token}
        if bill_access and self._bill_access_token:
            headers["Bill-Access-Authorization"] = self._bill_access_token
        if json_header:
            headers["Content-Type"] = "application/json"
        if reseller and self.reseller_code:
            headers["X-Reseller-Code"] = self.reseller_code
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        write: bool,
        operation: str,
        bill_access: bool = True,
        json_header: bool = False,
        reseller: bool = False,
    ) -> httpx.Response:
        content = None if body is None else json.dumps({"data": body}, ensure_ascii=False).encode("utf-8")
        headers = self._headers(bill_access=bill_access, json_header=json_header or body is not None,
                                reseller=reseller)
        try:
            response = await self.http.send(method, path, content=content, headers=headers, write=write,
                                            operation=operation)
        except RateLimited:
            raise
        except ProviderUnavailable as exc:
            if exc.status == 503:
                raise ProviderUnavailable(
                    f"{operation}: Hiworks is under maintenance (503)",
                    provider=PROVIDER, code="maintenance", retry_after=exc.retry_after, status=503,
                    user_hint=_MAINTENANCE_HINT,
                ) from exc
            raise
        self._record_rate_limit(response)
        return response

    async def _data(self, method: str, path: str, *, operation: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, operation=operation, **kwargs)
        if response.status_code not in (200, 201):
            raise self._error(response, operation)
        body = self.http.json_body(response, operation=operation)
        if not isinstance(body, dict) or "data" not in body:
            raise ProviderProtocolError(
                f"{operation}: the answer has no 'data'", provider=PROVIDER, code="shape",
                status=response.status_code, body_excerpt=response.text,
            )
        return body["data"]

    def _error(self, response: httpx.Response, operation: str) -> Exception:
        body = self.http.json_body(response, operation=operation) if response.content else None
        return error_for(response.status_code, body, operation)

    def _record_rate_limit(self, response: httpx.Response) -> None:
        limit = _int_header(response, "x-ratelimit-limit")
        remaining = _int_header(response, "x-ratelimit-remaining")
        if limit is None and remaining is None:
            return
        before = self.rate_limit.remaining if self.rate_limit is not None else None
        self.rate_limit = RateLimit(limit=limit, remaining=remaining, seen_at=dt.datetime.now(dt.UTC))
        if not limit or remaining is None:
            return
        # Warn once when the budget drops below 10 % and once when it is spent, not on every call.
        for threshold in (limit // 10, 0):
            if remaining <= threshold and (before is None or before > threshold):
                log.warning("hiworks: %d of %d calls left today for this office token", remaining, limit)
                break

def _create_result(data: Any, operation: str) -> CreateResult:
    ids = data.get("documentId") if isinstance(data, dict) else None
    flat: list[str] = []

    def walk(value: Any) -> None:
        # The amendment answer nests the pair: {"documentId": [["<negative>", "<positive>"]]}
        if isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value:
            flat.append(value)

    walk(ids)
    if not flat:
        raise ProviderProtocolError(f"{operation}: the answer has no documentId", provider=PROVIDER, code="shape",
                                    body_excerpt=json.dumps(data, ensure_ascii=False, default=str))
    messages = data.get("easySign") or []
    if isinstance(messages, str):
        messages = [messages]
    return CreateResult(document_ids=flat, easy_sign_messages=[str(m) for m in messages], raw=data)


def _document_path(document_id: str) -> str:
    if not _DOCUMENT_ID.match(document_id or ""):
        raise RequestInvalid(f"'{document_id}' is not a Hiworks document id", provider=PROVIDER, code="document_id")
    return quote(document_id, safe="")


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

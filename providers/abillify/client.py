"""The faithful low-level Abillify client: one method per documented API call.

Abillify is a JSON API with HTTP Basic auth (`username:password` from the platform's
API credentials). Every POST takes an optional `Idempotency-Key` header; Abillify keeps
the key with its first answer for 24 hours and replays that answer (including 4xx and
5xx) for a repeated key. This client therefore *requires* a key on every POST and sends
those writes with `retry_safe=True`: a dropped connection is retried with the same key
and cannot create a second document. PUT calls replace the whole resource and are
idempotent by nature, so they are retried too.

Example::

    client = AbillifyClient("user", "secret")
    invoice = await client.create_invoice("biz-1234567890", {...}, idempotency_key="INV-1:create")
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from providers.abillify._errors import PROVIDER, error_from_response
from providers.errors import ProviderProtocolError, RequestInvalid
from providers.http import HttpPolicy, ProviderHttp

__all__ = ["DEFAULT_BASE_URL", "MAX_IDEMPOTENCY_KEY", "AbillifyClient"]

#: The documented staging host; production URLs are issued per merchant (config.api_url).
DEFAULT_BASE_URL = "https://staging1.abillify.dev/api"
#: Abillify accepts any unique string up to 255 characters as an Idempotency-Key.
MAX_IDEMPOTENCY_KEY = 255


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Abillify takes JSON numbers; a float repr round-trips the 2-4 decimals used here exactly.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _path(value: str) -> str:
    if not value:
        raise RequestInvalid("empty Abillify reference", provider=PROVIDER, code="reference")
    return quote(value, safe="")


def _check_key(key: str) -> str:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise RequestInvalid(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters",
            provider=PROVIDER, code="idempotency_key",
        )
    return key


class AbillifyClient:
    """Abillify REST API. Args:
        username / password: API credentials (HTTP Basic).
        base_url: the merchant's API URL; the staging host when omitted.
        policy: timeouts and retries.
        transport: injected transport for tests.
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        base_url: str | None = None,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.http = ProviderHttp(
            PROVIDER,
            base_url or DEFAULT_BASE_URL,
            policy=policy,
            transport=transport,
            headers={"Authorization": f"Basic {token}", "Accept": "application/json"},
        )

    @property
    def base_url(self) -> str:
        return self.http.base_url

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- plumbing --------------------------------------------------------------
    async def _call(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        headers: dict[str, str] = {}
        content: str | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False, default=_json_default, separators=(",", ":"))
        write = method != "GET"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = _check_key(idempotency_key)
        response = await self.http.send(
            method, url, content=content, headers=headers, params=params, write=write,
            # POSTs carry an Idempotency-Key Abillify honours; PUTs replace the resource wholesale.
            retry_safe=True if write else None,
            operation=operation,
        )
        data = self.http.json_body(response, operation=operation)
        if response.is_success:
            return data
        raise error_from_response(response, data, operation=operation)

    def _object(self, data: Any, operation: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ProviderProtocolError(f"{operation}: expected a JSON object", provider=PROVIDER,
                                        code="shape", body_excerpt=str(data))
        return data

    def _list(self, data: Any, operation: str) -> list[dict[str, Any]]:
        if isinstance(data, dict):  # some list endpoints are documented with a single object example
            return [data]
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ProviderProtocolError(f"{operation}: expected a JSON array", provider=PROVIDER,
                                        code="shape", body_excerpt=str(data))
        return data

    # -- identities ------------------------------------------------------------
    async def upsert_identity(self, identity_reference: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /identities/{identityReference}: create or update a customer (the docs recommend upsert)."""
        op = "upsert identity"
        return self._object(
            await self._call("PUT", f"/identities/{_path(identity_reference)}", operation=op, body=body), op)

    async def create_invoice(
        self, identity_reference: str, body: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """POST /identities/{identityReference}/invoices: a draft invoice for the customer."""
        op = "create invoice"
        return self._object(await self._call(
            "POST", f"/identities/{_path(identity_reference)}/invoices", operation=op, body=body,
            idempotency_key=idempotency_key), op)

    async def list_invoices(self, identity_reference: str) -> list[dict[str, Any]]:
        """GET /identities/{identityReference}/invoices: every invoice of one customer."""
        op = "list invoices"
        return self._list(
            await self._call("GET", f"/identities/{_path(identity_reference)}/invoices", operation=op), op)

    async def create_credit_note(
        self, identity_reference: str, body: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """POST /identities/{identityReference}/creditnotes: same body model as invoices."""
        op = "create credit note"
        return self._object(await self._call(
            "POST", f"/identities/{_path(identity_reference)}/creditnotes", operation=op, body=body,
            idempotency_key=idempotency_key), op)

    # -- invoices ----------------------------------------------------------------
    async def get_invoice(self, invoice_reference: str) -> dict[str, Any]:
        """GET /invoices/{invoiceReference}."""
        op = "get invoice"
        return self._object(await self._call("GET", f"/invoices/{_path(invoice_reference)}", operation=op), op)

    async def update_invoice(self, invoice_reference: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /invoices/{invoiceReference}: items, when given, replace the existing ones as a whole."""
        op = "update invoice"
        return self._object(
            await self._call("PUT", f"/invoices/{_path(invoice_reference)}", operation=op, body=body), op)

    async def commit_invoice(
        self,
        invoice_reference: str,
        *,
        idempotency_key: str,
        notify_url: str | None = None,
        attachments: list[Mapping[str, Any]] | None = None,
        data: str | None = None,
    ) -> dict[str, Any]:
        """POST /invoices/{invoiceReference}/commitInvoice: lock the invoice (irreversible, asynchronous).

        When the job finishes Abillify POSTs `{"result","resultcode","job","notification"}` to `notify_url`.
        """
        body: dict[str, Any] = {}
        if attachments is not None:
            body["attachments"] = list(attachments)
        if data is not None:
            body["data"] = data
        if notify_url is not None:
            body["notifyUrl"] = notify_url
        op = "commit invoice"
        return self._object(await self._call(
            "POST", f"/invoices/{_path(invoice_reference)}/commitInvoice", operation=op, body=body,
            idempotency_key=idempotency_key), op)

    async def resend_invoice(
        self, invoice_reference: str, *, idempotency_key: str, data: str | None = None
    ) -> dict[str, Any]:
        """POST /invoices/{invoiceReference}/resendInvoice: e-mail the document to the customer again.

        Answers `{"job": "1", "result": "OK", "resultcode": "0"}`.
        """
        body: dict[str, Any] = {} if data is None else {"data": data}
        op = "resend invoice"
        return self._object(await self._call(
            "POST", f"/invoices/{_path(invoice_reference)}/resendInvoice", operation=op, body=body,
            idempotency_key=idempotency_key), op)

    async def get_payments(
        self, invoice_reference: str, *, limit: int = 0, offset: int = 0
    ) -> list[dict[str, Any]]:
        """GET /invoices/{invoiceReference}/payments: payments (bank transactions, credit notes) and charges."""
        op = "get payments"
        return self._list(await self._call(
            "GET", f"/invoices/{_path(invoice_reference)}/payments", operation=op,
            params={"limit": str(limit), "offset": str(offset)}), op)

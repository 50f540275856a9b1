"""Abillify sandbox: identities, invoices, credit notes and idempotency as documented.

What it implements (docs.abillify.dev; facts in reference/providers.md §2):

* HTTP Basic auth; wrong or missing credentials answer 401 in the error schema.
* The error schema `{code, details?[{error, fields, hint}], message, name, type}` for every
  refusal: 400 `ERR_INVALID_VALUE` (wrong types, missing items), 404 `ERR_NOT_FOUND`,
  409 `ERR_UNIQUE_VIOLATION` (an invoice number or reference used twice), 429, 500, 503.
* `Idempotency-Key` on every POST, exactly as documented: the first answer after input
  validation is stored (2xx, 4xx and 5xx alike) for 24 hours of `self.clock` and replayed
  for the same key; a request failing validation is not stored. Undocumented, chosen
  here: the same key with a different body (or on another route) answers **422**
  `ERR_IDEMPOTENCY_KEY_REUSED` and is not stored. Keys are scoped per API user.
* The invoice life cycle: created (draft, editable with PUT) -> commitInvoice (locks it,
  irreversible; the job finishes asynchronously and POSTs `{"result":"OK","resultcode":"0",
  "job","notification"}` to `notifyUrl`) -> paid -> credited. A credit note that references
  an invoice (`detail.invoiceReference`) for its full amount cancels it (`state` "canceled",
  `cancelationdate` set); crediting a paid invoice leaves a negative `unpaid` (a refund owed).
* Invoice `state` uses the documented voucher states `none | paid | canceled`; `committed`
  holds the lock time (null while a draft). The full invoice state enum is not public.

Sandbox-only admin routes (no auth):

    POST /_sandbox/invoices/{ref}/pay        {"amount"?: major units} mark paid, fire the workflow webhook
    POST /_sandbox/webhook                   {"url": ...} where workflow webhooks go (null to stop)
    POST /_sandbox/processing-faults         {"path": regex, "status": 500, "count": 1}: fail *inside*
                                             the handler after validation, so the failure is stored
                                             under the Idempotency-Key and replayed like a real one

The provider's routes are served both at the root and under `/api` (the hosted base URL ends in /api).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from aiohttp import web

from providers.abillify._money import currency_exponent
from providers.config import DEMO_ABILLIFY, AbillifyConfig
from providers.sandbox.base import Faults, Sandbox, SandboxClock, json_response

__all__ = ["DEFAULT_TAX_RATE", "IDEMPOTENCY_TTL", "AbillifySandbox"]

#: How long Abillify keeps an Idempotency-Key and its answer.
IDEMPOTENCY_TTL = 24 * 3600.0

_PAYMENT_KINDS = frozenset({"CT", "DD", "CC", "PP", "IN", "OT", "CD"})
_NUMBER_HINT = "Value must be a number or a string containing only a number."
#: Default VAT rate (percent) of the sandbox merchant when an item's detail names none.
DEFAULT_TAX_RATE = Decimal(10)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, type_: str, message: str, details: list[dict[str, Any]] | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": status}
    if details:
        body["details"] = details
    body["message"] = message
    body["name"] = "ServerError" if status >= 500 else "ClientError"
    body["type"] = type_
    return json_response(body, status=status, headers=headers)


def _detail(error: str, fields: list[str], hint: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"error": error, "fields": fields}
    if hint:
        out["hint"] = hint
    return out


class _Invalid(Exception):
    """Input validation failed: answered 400 and never stored under an Idempotency-Key."""

    def __init__(self, details: list[dict[str, Any]], type_: str = "ERR_INVALID_VALUE",
                 message: str = "InvalidValue, see error details") -> None:
        super().__init__(message)
        self.details = details
        self.type = type_
        self.message = message


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: str
    at: float


@dataclass
class _ProcessingFault:
    path: str
    status: int = 500
    count: int | None = 1


@dataclass
class _State:
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    creditnotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_identity: dict[str, list[str]] = field(default_factory=dict)  # identity -> invoice refs
    numbers: dict[tuple[str, str], str] = field(default_factory=dict)  # (identity, number) -> ref
    cn_numbers: dict[tuple[str, str], str] = field(default_factory=dict)
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], _Stored] = field(default_factory=dict)
    seq: int = 0
    jobs: int = 0


class AbillifySandbox(Sandbox):
    """A protocol-faithful Abillify on loopback. Credentials: those of `config`, else DEMO_ABILLIFY."""

    name: ClassVar[str] = "abillify"
    merchant_id: ClassVar[str] = "sandbox-merchant"

    def __init__(self, config: AbillifyConfig | None = None, *, faults: Faults | None = None,
                 clock: SandboxClock | None = None) -> None:
        source = config if config is not None and config.configured else DEMO_ABILLIFY
        assert source.username is not None and source.password is not None
        self.username = source.username
        self._password = source.password.get_secret_value()
        self.webhook_url: str | None = None
        self.processing_faults: list[_ProcessingFault] = []
        super().__init__(faults=faults, clock=clock)

    # -- state -------------------------------------------------------------------
    def reset_state(self) -> None:
        self.state = _State()
        self.webhook_url = None
        self.processing_faults = []

    def seed(self) -> None:
        """Two customers: one draft, one committed and unpaid, one paid invoice."""
        now = self.clock.now()
        self._put_identity("biz-1018204851", {"kind": "incorporate", "name": {"company": "데모 상사"},
                                              "detail": {"vatId": "1018204851"}}, now)
        self._put_identity("name-acme-gmbh", {"kind": "incorporate", "name": {"company": "ACME GmbH"}}, now)
        item = {"label": "Consulting", "quantity": 2, "unit": "h", "unitprice": 50000, "detail": {"taxrate": 10}}
        self._new_invoice("biz-1018204851", {"number": "DEMO-0001", "currency": "KRW", "items": [item]}, now)
        committed = self._new_invoice("biz-1018204851", {"number": "DEMO-0002", "currency": "KRW",
                                                         "items": [item]}, now)
        committed["committed"] = _iso(now)
        eur_item = {"label": "Licence", "quantity": 1, "unit": "pc", "unitprice": 99.9, "detail": {"taxrate": 10}}
        paid = self._new_invoice("name-acme-gmbh", {"number": "DEMO-0003", "currency": "EUR",
                                                    "items": [eur_item]}, now)
        paid["committed"] = _iso(now)
        self._pay(paid, None, now)

    def snapshot(self) -> dict[str, Any]:
        return {
            "identities": self.state.identities,
            "invoices": self.state.invoices,
            "creditnotes": self.state.creditnotes,
            "idempotency_keys": len(self.state.idempotency),
            "webhook_url": self.webhook_url,
        }

    def invoices_of(self, identity_reference: str) -> list[dict[str, Any]]:
        return [self.state.invoices[r] for r in self.state.by_identity.get(identity_reference, [])]

    # -- errors in Abillify's schema ----------------------------------------------
    def error_500(self) -> web.Response:
        return _error(500, "ERR_INTERNAL", "InternalServerError")

    def error_503(self, retry_after: int) -> web.Response:
        return _error(503, "ERR_SERVICE_UNAVAILABLE", "ServiceUnavailable",
                      headers={"Retry-After": str(retry_after)})

    def error_429(self, retry_after: int) -> web.Response:
        return _error(429, "ERR_TOO_MANY_REQUESTS", "TooManyRequests", headers={"Retry-After": str(retry_after)})

    # -- routes ------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("PUT", "/identities/{identity}", self._upsert_identity),
            ("GET", "/identities/{identity}", self._get_identity),
            ("POST", "/identities/{identity}/invoices", self._create_invoice),
            ("GET", "/identities/{identity}/invoices", self._list_invoices),
            ("POST", "/identities/{identity}/creditnotes", self._create_creditnote),
            ("GET", "/invoices/{ref}", self._get_invoice),
            ("PUT", "/invoices/{ref}", self._update_invoice),
            ("POST", "/invoices/{ref}/commitInvoice", self._commit_invoice),
            ("POST", "/invoices/{ref}/resendInvoice", self._resend_invoice),
            ("GET", "/invoices/{ref}/payments", self._get_payments),
            ("GET", "/creditnotes/{ref}", self._get_creditnote),
        ]
        for prefix in ("", "/api"):
            for method, path, handler in routes:
                app.router.add_route(method, prefix + path, self._authenticated(handler))
        app.router.add_post("/_sandbox/invoices/{ref}/pay", self._admin_pay)
        app.router.add_post("/_sandbox/webhook", self._admin_webhook)
        app.router.add_post("/_sandbox/processing-faults", self._admin_processing_fault)

    def _authenticated(self, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if not self._auth_ok(request.headers.get("Authorization", "")):
                return _error(401, "ERR_UNAUTHORIZED", "Unauthorized",
                              headers={"WWW-Authenticate": 'Basic realm="abillify"'})
            return await handler(request)

        return wrapped

    def _auth_ok(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic" or not token:
            return False
        try:
            user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.username) and hmac.compare_digest(password, self._password)

    # -- idempotent POST skeleton ---------------------------------------------------
    async def _idempotent(
        self,
        request: web.Request,
        validate: Callable[[Any], Any],
        process: Callable[[Any], web.Response],
    ) -> web.Response:
        """validate -> (replay | process and store). Validation failures are never stored."""
        try:
            raw = await request.read()
            body = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "ERR_INVALID_JSON", "Request body is not valid JSON")
        try:
            parsed = validate(body)
        except _Invalid as exc:
            return _error(400, exc.type, exc.message, exc.details)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= 255):
            return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                          [_detail("Idempotency-Key must be 1 to 255 characters.", ["Idempotency-Key"])])
        fingerprint = hashlib.sha256(
            f"{request.method} {self._route(request)} ".encode()
            + json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        now = self.clock.time()
        slot = (self.username, key) if key else None
        if slot is not None:
            stored = self.state.idempotency.get(slot)
            if stored is not None and now - stored.at >= IDEMPOTENCY_TTL:
                del self.state.idempotency[slot]
                stored = None
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return _error(422, "ERR_IDEMPOTENCY_KEY_REUSED",
                                  "Idempotency-Key was already used for a different request",
                                  [_detail("The key is kept for 24 hours with its first request.",
                                           ["Idempotency-Key"], "Use a new key for a new request.")])
                return web.Response(text=stored.body, status=stored.status, content_type="application/json",
                                    headers={"Idempotent-Replayed": "true"})
        response = self._processing_fault(request) or process(parsed)
        if slot is not None:
            text = response.text or ""
            self.state.idempotency[slot] = _Stored(fingerprint, response.status, text, now)
        return response

    @staticmethod
    def _route(request: web.Request) -> str:
        return request.path.removeprefix("/api")

    def _processing_fault(self, request: web.Request) -> web.Response | None:
        for fault in self.processing_faults:
            if re.search(fault.path, request.path):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.processing_faults.remove(fault)
                return _error(fault.status, "ERR_INTERNAL" if fault.status >= 500 else "ERR_SANDBOX_FAULT",
                              "InternalServerError" if fault.status >= 500 else "Injected fault")
        return None

    # -- validation ------------------------------------------------------------------
    def _validate_voucher(self, body: Any) -> dict[str, Any]:
        """The invoice / credit-note body model: items with label, quantity, unitprice; currency; number."""
        if not isinstance(body, dict):
            raise _Invalid([_detail("Request body must be a JSON object.", [])])
        details: list[dict[str, Any]] = []
        items = body.get("items")
        if not isinstance(items, list) or not items:
            details.append(_detail("Field 'items' is required and must contain at least one item.", ["items"],
                                   "Send at least one item with label, quantity, unit and unitprice."))
            items = []
        for i, item in enumerate(items):
            where = f"items[{i}]"
            if not isinstance(item, dict):
                details.append(_detail(f"Value for field '{where}' is of wrong type, expected object.", [where]))
                continue
            label = item.get("label")
            if not isinstance(label, str) or not label.strip():
                details.append(_detail(f"Field '{where}.label' is required.", [f"{where}.label"]))
            for name in ("quantity", "unitprice"):
                if name not in item:
                    details.append(_detail(f"Field '{where}.{name}' is required.", [f"{where}.{name}"],
                                           _NUMBER_HINT))
                elif self._decimal(item[name]) is None:
                    details.append(_detail(f"Value for field '{where}.{name}' is of wrong type, expected number.",
                                           [f"{where}.{name}"], _NUMBER_HINT))
            quantity = self._decimal(item.get("quantity"))
            if quantity is not None and quantity <= 0:
                details.append(_detail(f"Value for field '{where}.quantity' must be greater than 0.",
                                       [f"{where}.quantity"]))
            detail = item.get("detail", {})
            if detail is not None and not isinstance(detail, dict):
                details.append(_detail(f"Value for field '{where}.detail' is of wrong type, expected object.",
                                       [f"{where}.detail"]))
            elif isinstance(detail, dict) and "taxrate" in detail and self._decimal(detail["taxrate"]) is None:
                details.append(_detail(f"Value for field '{where}.detail.taxrate' is of wrong type, expected "
                                       "number.", [f"{where}.detail.taxrate"], _NUMBER_HINT))
        currency = body.get("currency", "EUR")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            details.append(_detail("Value for field 'currency' must be an ISO 4217 code.", ["currency"],
                                   "Use three upper-case letters, e.g. EUR or KRW."))
        for name in ("number", "reference", "due", "issued", "accountingdate", "ordernumber"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                details.append(_detail(f"Value for field '{name}' is of wrong type, expected string.", [name]))
        if "netbased" in body and body["netbased"] is not None and not isinstance(body["netbased"], bool):
            details.append(_detail("Value for field 'netbased' is of wrong type, expected boolean.", ["netbased"]))
        kind = body.get("paymentkind")
        if kind is not None and kind not in _PAYMENT_KINDS:
            details.append(_detail("Value for field 'paymentkind' is not allowed.", ["paymentkind"],
                                   "One of: " + ", ".join(sorted(_PAYMENT_KINDS))))
        for name in ("meta", "detail"):
            if name in body and body[name] is not None and not isinstance(body[name], dict):
                details.append(_detail(f"Value for field '{name}' is of wrong type, expected object.", [name]))
        if details:
            raise _Invalid(details)
        return body

    @staticmethod
    def _decimal(value: Any) -> Decimal | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return Decimal(str(value))
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
            return Decimal(value.strip())
        return None

    # -- documents -----------------------------------------------------------------
    def _put_identity(self, ref: str, body: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        existing = self.state.identities.get(ref)
        identity = {**(existing or {"created": _iso(now)}), **body, "reference": ref, "updated": _iso(now)}
        self.state.identities[ref] = identity
        self.state.by_identity.setdefault(ref, [])
        return identity

    def _next_ref(self, prefix: str) -> str:
        self.state.seq += 1
        return f"{prefix}-{self.state.seq:06d}"

    def _next_job(self) -> str:
        self.state.jobs += 1
        return str(self.state.jobs)

    def _voucher(self, identity: str, body: dict[str, Any], ref: str, number: str, now: dt.datetime
                 ) -> dict[str, Any]:
        currency = body.get("currency", "EUR")
        places = min(currency_exponent(currency), 2 if body.get("netbased", True) else 4)
        items: list[dict[str, Any]] = []
        net_total = tax_total = Decimal(0)
        for item in body["items"]:
            quantity = self._decimal(item["quantity"]) or Decimal(0)
            unitprice = self._decimal(item["unitprice"]) or Decimal(0)
            detail = item.get("detail") or {}
            rate = self._decimal(detail.get("taxrate")) if "taxrate" in detail else DEFAULT_TAX_RATE
            net = _round(quantity * unitprice, places)
            tax = _round(net * (rate or Decimal(0)) / 100, places)
            net_total += net
            tax_total += tax
            items.append({**item, "net": _num(net), "tax": _num(tax), "gross": _num(net + tax)})
        identity_doc = self.state.identities.get(identity, {})
        return {
            "reference": ref,
            "identityReference": identity,
            "number": number,
            "currency": currency,
            "netbased": body.get("netbased", True),
            "paymentkind": body.get("paymentkind", "CT"),
            "items": items,
            "addresses": body.get("addresses") or identity_doc.get("addresses", []),
            "issued": body.get("issued") or now.date().isoformat(),
            "due": body.get("due"),
            "accountingdate": body.get("accountingdate") or body.get("issued") or now.date().isoformat(),
            "orderdate": body.get("orderdate"),
            "ordernumber": body.get("ordernumber"),
            "created": _iso(now),
            "committed": None,
            "cancelationdate": None,
            "state": "none",
            "net": _num(net_total),
            "tax": _num(tax_total),
            "total": _num(net_total + tax_total),
            "unpaid": _num(net_total + tax_total),
            "meta": body.get("meta") or {},
            "detail": body.get("detail") or {},
        }

    def _new_invoice(self, identity: str, body: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        ref = body.get("reference") or self._next_ref("inv")
        number = body.get("number") or f"RE{self.state.seq:06d}"
        invoice = self._voucher(identity, body, ref, number, now)
        invoice["creditnotes"] = []
        self.state.invoices[ref] = invoice
        self.state.by_identity.setdefault(identity, []).append(ref)
        self.state.numbers[(identity, number)] = ref
        self.state.payments[ref] = []
        return invoice

    def _pay(self, invoice: dict[str, Any], amount: Decimal | None, now: dt.datetime) -> None:
        unpaid = Decimal(str(invoice["unpaid"]))
        paying = unpaid if amount is None else amount
        left = unpaid - paying
        invoice["unpaid"] = _num(left)
        if left <= 0:
            invoice["state"] = "paid"
        self.state.payments[invoice["reference"]].append(
            {"kind": "payment", "amount": _num(paying), "date": _iso(now), "currency": invoice["currency"]})

    def _workflow_event(self, invoice: dict[str, Any], workflow: str) -> None:
        if not self.webhook_url:
            return
        self.fire_callback(self.webhook_url, {
            "client": self.merchant_id,
            "due": invoice.get("due"),
            "identityReference": invoice["identityReference"],
            "job": self._next_job(),
            "label": f"Invoice {invoice['number']}",
            "number": invoice["number"],
            "ordernumber": invoice.get("ordernumber"),
            "state": invoice["state"],
            "total": round(float(invoice["total"]), 2),
            "unpaid": round(float(invoice["unpaid"]), 2),
            "voucherReference": invoice["reference"],
            "workflow": workflow,
        })

    # -- handlers --------------------------------------------------------------------
    async def _upsert_identity(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "ERR_INVALID_JSON", "Request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                          [_detail("Request body must be a JSON object.", [])])
        kind = body.get("kind")
        if kind is not None and kind not in ("individual", "incorporate"):
            return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                          [_detail("Value for field 'kind' is not allowed.", ["kind"],
                                   "Use individual (b2c) or incorporate (b2b).")])
        identity = self._put_identity(request.match_info["identity"], body, self.clock.now())
        return json_response(identity)

    async def _get_identity(self, request: web.Request) -> web.Response:
        identity = self.state.identities.get(request.match_info["identity"])
        if identity is None:
            return self._not_found("identity", request.match_info["identity"])
        return json_response(identity)

    def _not_found(self, what: str, ref: str) -> web.Response:
        return _error(404, "ERR_NOT_FOUND", "NotFound, see error details",
                      [_detail(f"No {what} with reference '{ref}'.", ["reference"])])

    async def _create_invoice(self, request: web.Request) -> web.Response:
        identity = request.match_info["identity"]

        def process(body: dict[str, Any]) -> web.Response:
            if identity not in self.state.identities:
                return self._not_found("identity", identity)
            number = body.get("number")
            if number and (identity, number) in self.state.numbers:
                return _error(409, "ERR_UNIQUE_VIOLATION", "UniqueViolation, see error details",
                              [_detail(f"An invoice with number '{number}' already exists for this identity.",
                                       ["number"], "Send a different number or leave it out.")])
            reference = body.get("reference")
            if reference and (reference in self.state.invoices or reference in self.state.creditnotes):
                return _error(409, "ERR_UNIQUE_VIOLATION", "UniqueViolation, see error details",
                              [_detail(f"Reference '{reference}' is already used.", ["reference"])])
            return json_response(self._new_invoice(identity, body, self.clock.now()))

        return await self._idempotent(request, self._validate_voucher, process)

    async def _list_invoices(self, request: web.Request) -> web.Response:
        identity = request.match_info["identity"]
        if identity not in self.state.identities:
            return self._not_found("identity", identity)
        return json_response(self.invoices_of(identity))

    async def _get_invoice(self, request: web.Request) -> web.Response:
        invoice = self.state.invoices.get(request.match_info["ref"])
        if invoice is None:
            return self._not_found("invoice", request.match_info["ref"])
        return json_response(invoice)

    async def _update_invoice(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        invoice = self.state.invoices.get(ref)
        if invoice is None:
            return self._not_found("invoice", ref)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "ERR_INVALID_JSON", "Request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                          [_detail("Request body must be a JSON object.", [])])
        if invoice["committed"] is not None:
            return _error(400, "ERR_INVALID_STATE", "Invoice is committed and can no longer be changed",
                          [_detail("A committed invoice is locked.", ["reference"],
                                   "Create a credit note to correct or cancel it.")])
        if invoice["state"] == "canceled":
            return _error(400, "ERR_INVALID_STATE", "Invoice is canceled")
        if body.get("state") == "canceled":
            invoice["state"] = "canceled"
            invoice["cancelationdate"] = body.get("cancelationdate") or _iso(self.clock.now())
            return json_response(invoice)
        merged = {**{k: invoice[k] for k in ("currency", "netbased", "paymentkind", "items", "number")}, **body}
        try:
            self._validate_voucher(merged)
        except _Invalid as exc:
            return _error(400, exc.type, exc.message, exc.details)
        fresh = self._voucher(invoice["identityReference"], merged, ref, invoice["number"], self.clock.now())
        fresh["created"] = invoice["created"]
        fresh["creditnotes"] = invoice["creditnotes"]
        self.state.invoices[ref] = fresh
        return json_response(fresh)

    async def _commit_invoice(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]

        def validate(body: Any) -> dict[str, Any]:
            if not isinstance(body, dict):
                raise _Invalid([_detail("Request body must be a JSON object.", [])])
            url = body.get("notifyUrl")
            if url is not None and (not isinstance(url, str) or not re.match(r"^https?://", url)):
                raise _Invalid([_detail("Value for field 'notifyUrl' must be a URI.", ["notifyUrl"],
                                        "Use an absolute http(s) URL.")])
            if "attachments" in body and not isinstance(body["attachments"], list):
                raise _Invalid([_detail("Value for field 'attachments' is of wrong type, expected array.",
                                        ["attachments"])])
            return body

        def process(body: dict[str, Any]) -> web.Response:
            invoice = self.state.invoices.get(ref)
            if invoice is None:
                return self._not_found("invoice", ref)
            if invoice["committed"] is not None:
                return _error(400, "ERR_INVALID_STATE", "Invoice is already committed")
            if invoice["state"] == "canceled":
                return _error(400, "ERR_INVALID_STATE", "Invoice is canceled")
            # The lock is recorded now; the job's completion is announced asynchronously.
            invoice["committed"] = _iso(self.clock.now())
            job = self._next_job()
            if body.get("notifyUrl"):
                self.fire_callback(body["notifyUrl"], {"result": "OK", "resultcode": "0", "job": job,
                                                       "notification": f"ntf-{job}"})
            return json_response({"job": job, "result": "OK", "resultcode": "0"})

        return await self._idempotent(request, validate, process)

    async def _resend_invoice(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]

        def validate(body: Any) -> Any:
            if not isinstance(body, dict):
                raise _Invalid([_detail("Request body must be a JSON object.", [])])
            return body

        def process(_body: Any) -> web.Response:
            invoice = self.state.invoices.get(ref)
            if invoice is None:
                return self._not_found("invoice", ref)
            if invoice["committed"] is None:
                return _error(400, "ERR_INVALID_STATE", "Invoice is not committed, there is no document to send",
                              [_detail("Only committed invoices have a document.", ["reference"],
                                       "Commit the invoice first.")])
            self.state.payments.setdefault(ref, [])
            invoice.setdefault("resent", 0)
            invoice["resent"] += 1
            return json_response({"job": self._next_job(), "result": "OK", "resultcode": "0"})

        return await self._idempotent(request, validate, process)

    async def _get_payments(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        if ref not in self.state.invoices:
            return self._not_found("invoice", ref)
        rows = self.state.payments.get(ref, [])
        try:
            limit = int(request.query.get("limit", "0"))
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                          [_detail("limit and offset must be integers.", ["limit", "offset"], _NUMBER_HINT)])
        rows = rows[offset:] if limit == 0 else rows[offset:offset + limit]
        return json_response(rows)

    async def _create_creditnote(self, request: web.Request) -> web.Response:
        identity = request.match_info["identity"]

        def process(body: dict[str, Any]) -> web.Response:
            if identity not in self.state.identities:
                return self._not_found("identity", identity)
            now = self.clock.now()
            target_ref = (body.get("detail") or {}).get("invoiceReference")
            invoice = None
            if target_ref is not None:
                invoice = self.state.invoices.get(str(target_ref))
                if invoice is None:
                    return self._not_found("invoice", str(target_ref))
                if invoice["identityReference"] != identity:
                    return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                                  [_detail("The invoice belongs to another identity.",
                                           ["detail.invoiceReference"])])
                if invoice["state"] == "canceled":
                    return _error(400, "ERR_INVALID_STATE", "Invoice is already canceled",
                                  [_detail(f"Invoice '{target_ref}' was canceled on "
                                           f"{invoice['cancelationdate']}.", ["detail.invoiceReference"])])
                if invoice["committed"] is None:
                    return _error(400, "ERR_INVALID_STATE", "Invoice is not committed",
                                  [_detail("A draft invoice is changed or canceled with PUT /invoices/{ref}.",
                                           ["detail.invoiceReference"])])
            number = body.get("number")
            if number and (identity, number) in self.state.cn_numbers:
                return _error(409, "ERR_UNIQUE_VIOLATION", "UniqueViolation, see error details",
                              [_detail(f"A credit note with number '{number}' already exists.", ["number"])])
            ref = body.get("reference") or self._next_ref("cn")
            if ref in self.state.creditnotes or ref in self.state.invoices:
                return _error(409, "ERR_UNIQUE_VIOLATION", "UniqueViolation, see error details",
                              [_detail(f"Reference '{ref}' is already used.", ["reference"])])
            note = self._voucher(identity, body, ref, number or f"GS{self.state.seq:06d}", now)
            if invoice is not None:
                if Decimal(str(note["total"])) > Decimal(str(invoice["total"])):
                    return _error(400, "ERR_INVALID_VALUE", "InvalidValue, see error details",
                                  [_detail("The credit note exceeds the invoice total.", ["items"])])
                note["committed"] = _iso(now)
                invoice["creditnotes"].append(ref)
                credited = Decimal(str(note["total"]))
                invoice["unpaid"] = _num(Decimal(str(invoice["unpaid"])) - credited)
                self.state.payments[invoice["reference"]].append(
                    {"kind": "creditnote", "amount": _num(credited), "date": _iso(now),
                     "currency": note["currency"], "reference": ref})
                total_credit = sum(Decimal(str(self.state.creditnotes[c]["total"]))
                                   for c in invoice["creditnotes"] if c in self.state.creditnotes) + credited
                if total_credit >= Decimal(str(invoice["total"])):
                    invoice["state"] = "canceled"
                    invoice["cancelationdate"] = _iso(now)
                    self._workflow_event(invoice, "cancel")
            self.state.creditnotes[ref] = note
            if number:
                self.state.cn_numbers[(identity, number)] = ref
            return json_response(note)

        return await self._idempotent(request, self._validate_voucher, process)

    async def _get_creditnote(self, request: web.Request) -> web.Response:
        note = self.state.creditnotes.get(request.match_info["ref"])
        if note is None:
            return self._not_found("credit note", request.match_info["ref"])
        return json_response(note)

    # -- sandbox-only admin ------------------------------------------------------------
    async def _admin_pay(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        invoice = self.state.invoices.get(ref)
        if invoice is None:
            return self._not_found("invoice", ref)
        raw = await request.read()
        body = json.loads(raw) if raw.strip() else {}
        if invoice["committed"] is None or invoice["state"] != "none":
            return _error(400, "ERR_INVALID_STATE", f"Invoice cannot be paid (state {invoice['state']}, "
                          f"committed {invoice['committed'] is not None})")
        amount = self._decimal(body.get("amount")) if body.get("amount") is not None else None
        self._pay(invoice, amount, self.clock.now())
        self._workflow_event(invoice, "payment")
        return json_response(invoice)

    async def _admin_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        url = body.get("url") if isinstance(body, dict) else None
        self.webhook_url = str(url) if url else None
        return json_response({"ok": True, "url": self.webhook_url})

    async def _admin_processing_fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.processing_faults.append(_ProcessingFault(path=str(body.get("path", ".")),
                                                       status=int(body.get("status", 500)),
                                                       count=body.get("count", 1)))
        return json_response({"ok": True, "faults": len(self.processing_faults)})

    def add_processing_fault(self, path: str, *, status: int = 500, count: int | None = 1) -> None:
        """Fail the next matching POST after validation, inside the handler (stored under its key)."""
        self.processing_faults.append(_ProcessingFault(path=path, status=status, count=count))

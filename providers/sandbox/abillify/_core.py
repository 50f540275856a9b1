"""State, authentication, the idempotent-POST skeleton and voucher arithmetic of the Abillify sandbox.

`server.AbillifySandbox` adds the routes; this half holds what every route relies on."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from providers.abillify._money import currency_exponent
from providers.config import DEMO_ABILLIFY, AbillifyConfig
from providers.sandbox.abillify._store import (
    _NUMBER_HINT,
    _PAYMENT_KINDS,
    DEFAULT_TAX_RATE,
    IDEMPOTENCY_TTL,
    Handler,
    _detail,
    _error,
    _Invalid,
    _iso,
    _num,
    _ProcessingFault,
    _round,
    _State,
    _Stored,
)
from providers.sandbox.base import Faults, Sandbox, SandboxClock


class _AbillifyCore(Sandbox):
    """Identities, invoices, credit notes and idempotency keys, and the rules that build them."""

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
                # Seed 003: "the server will return the same response as for the first request",
                # whatever this request's body or route; it does not mention a conflict error.
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

    def add_processing_fault(self, path: str, *, status: int = 500, count: int | None = 1) -> None:
        """Fail the next matching POST after validation, inside the handler (stored under its key)."""
        self.processing_faults.append(_ProcessingFault(path=path, status=status, count=count))

"""`AbillifySandbox`: the identity, invoice and credit-note routes, and the admin routes of the sandbox."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web

from providers.sandbox.abillify._core import _AbillifyCore
from providers.sandbox.abillify._store import (
    _NUMBER_HINT,
    DEFAULT_TAX_RATE,
    IDEMPOTENCY_TTL,
    Handler,
    _detail,
    _error,
    _Invalid,
    _iso,
    _num,
    _ProcessingFault,
)
from providers.sandbox.base import json_response

__all__ = ['DEFAULT_TAX_RATE', 'IDEMPOTENCY_TTL', 'AbillifySandbox']


class AbillifySandbox(_AbillifyCore):
    """A protocol-faithful Abillify on loopback. Credentials: those of `config`, else DEMO_ABILLIFY."""

    name: ClassVar[str] = "abillify"

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

"""Payssam's answers read: the success reply, or the error tree member each failure means.

Mapping: ``BILL_003`` -> `DocumentNotFound`; ``MAINTAINED_METHOD`` and HTTP 5xx ->
`ProviderUnavailable`; ``ERROR`` (unclassified server error) answered with HTTP 200 to a
write -> `OutcomeUnknown`, because the server took the request and may have acted; HTTP
400/404 -> `ProviderRejected` with the body's code or ``http_<status>``; an answer without
a code -> `ProviderProtocolError`; every other code -> `ProviderRejected`, code and message kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx

from providers.errors import (
    DocumentNotFound,
    OutcomeUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.http import ProviderHttp
from providers.payssam._wire import PROVIDER, SUCCESS, PayssamReply

__all__ = ["DUPLICATE_BILL_CODES", "business_error", "malformed", "read_reply"]

#: "this billId was used before": V1 says 9800; the V2 table is unpublished, the sandbox uses BILL_001.
DUPLICATE_BILL_CODES: Final = frozenset({"BILL_001", "9800"})
_NOT_FOUND_CODES: Final = frozenset({"BILL_003", "9980"})
_UNAVAILABLE_CODES: Final = frozenset({"ERROR", "MAINTAINED_METHOD", "5000"})

_CREDENTIAL_HINT = "Check PAYSSAM_API_KEY, PAYSSAM_MEMBER and PAYSSAM_MERCHANT (the sandbox and live keys differ)."
_HINTS: Final[dict[str, str]] = {
    "PARTNER_001": "This partner account is not enabled for API V2; ask Paymint to enable it.",
    "PARTNER_002": _CREDENTIAL_HINT,
    "PARTNER_003": _CREDENTIAL_HINT,
    "PARTNER_004": "The member/merchant pair is not mapped to this partner. Check PAYSSAM_MEMBER and PAYSSAM_MERCHANT.",
    "PARTNER_005": _CREDENTIAL_HINT,
    "PARTNER_006": "The partner contract with Paymint is not active.",
    "VALIDATION_002": "The request hash did not match; this is a bug in the bot, please report it.",
    "BILL_001": "A bill with this id already exists at Payssam. Look it up instead of issuing it again.",
    "BILL_003": "Payssam does not know this bill. Check the bill id.",
    "BILL_006": "The bill is not in a state that allows this (already paid, cancelled, destroyed or expired).",
    "POINT_001": "The Payssam point (쌤포인트) balance is used up; charge points before sending bills.",
    "PAYMENT_001": "The card network (VAN) refused the operation; try again later.",
    "PAYMENT_002": "The bank refused the operation; try again later.",
}


def _text_of(body: Any, key: str) -> str | None:
    value = body.get(key) if isinstance(body, Mapping) else None
    return value if isinstance(value, str) and value else None


def read_reply(http: ProviderHttp, response: httpx.Response, *, operation: str, write: bool) -> PayssamReply:
    """The reply of a success, else the error the answer means (see the module docstring)."""
    status = response.status_code
    if status in (400, 404, 405, 415):
        raise malformed(response, operation)
    body = http.json_body(response, operation=operation)
    code = body.get("code") if isinstance(body, Mapping) else None
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or not code:
        if status >= 500:
            raise ProviderUnavailable(
                f"{operation}: server error (HTTP {status})", provider=PROVIDER, code=str(status), status=status,
                user_hint="Payssam had an internal error. Try again later.",
            )
        raise ProviderProtocolError(
            f"{operation}: the answer has no result code (HTTP {status})",
            provider=PROVIDER,
            code=f"http_{status}",
            status=status,
            body_excerpt=response.text,
            user_hint="Payssam's answer could not be read; I will check the bill's state before retrying.",
        )
    assert isinstance(body, Mapping)
    message = _text_of(body, "message") or _text_of(body, "msg") or ""
    if code == SUCCESS and status < 300:
        data = body.get("data")
        return PayssamReply(code=code, message=message, data=dict(data) if isinstance(data, Mapping) else {})
    raise business_error(code, message, status=status, operation=operation, write=write)

def business_error(code: str, message: str, *, status: int, operation: str, write: bool) -> ProviderError:
    """A code other than "0000": not found, unavailable, outcome unknown or a plain refusal."""
    text = message or f"{operation} refused"
    hint = _HINTS.get(code)
    if code in _NOT_FOUND_CODES:
        return DocumentNotFound(text, provider=PROVIDER, code=code, user_hint=hint)
    if code in _UNAVAILABLE_CODES or status >= 500:
        if code == "ERROR" and write and status < 500:
            # An unclassified server error after the request was taken: it may have acted.
            return OutcomeUnknown(
                text, provider=PROVIDER, code=code,
                user_hint="Payssam reported an internal error; I will check the bill before doing it again.",
            )
        return ProviderUnavailable(
            text, provider=PROVIDER, code=code, status=status,
            user_hint="Payssam is unavailable (maintenance or an internal error). Nothing was done; "
            "try again later.",
        )
    return ProviderRejected(text, provider=PROVIDER, code=code, user_hint=hint)

def malformed(response: httpx.Response, operation: str) -> ProviderRejected:
    """HTTP 400/404: the request itself was refused before any business rule (wrong path, bad JSON)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, Mapping) else None
    message = (
        _text_of(body, "message") or _text_of(body, "msg") or _text_of(body, "error")
        or response.reason_phrase or f"HTTP {status}"
    )
    hint = (
        "Payssam has no such address: check PAYSSAM_API_URL (it ends in /partner)."
        if status == 404
        else "Payssam refused the request as malformed; this is a bug in the bot, please report it."
    )
    return ProviderRejected(
        f"{operation}: {message} (HTTP {status})",
        provider=PROVIDER,
        code=str(code) if isinstance(code, str | int) and code != "" else f"http_{status}",
        user_hint=hint,
    )

"""Abillify's error schema mapped onto the shared error hierarchy.

Abillify answers every failure with one body shape (docs: "Error model")::

    {"code": 400, "details": [{"error": "...", "fields": ["debtor"], "hint": "..."}],
     "message": "InvalidValue, see error details", "name": "ClientError", "type": "ERR_INVALID_VALUE"}

`type` is the stable machine code, so it becomes `ProviderError.code`; the message keeps
`message` plus every detail so a Slack user sees which field was wrong and the hint.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import DocumentNotFound, ProviderError, ProviderRejected, ProviderUnavailable

__all__ = ["PROVIDER", "error_from_response", "format_details"]

PROVIDER = "abillify"


def format_details(details: Any) -> str:
    """`details[]` as one readable sentence: "error (fields: a, b; hint: ...)"."""
    if not isinstance(details, list):
        return ""
    parts: list[str] = []
    for detail in details:
        if not isinstance(detail, dict):
            continue
        text = str(detail.get("error") or "").strip()
        extra: list[str] = []
        fields = detail.get("fields")
        if isinstance(fields, list) and fields:
            extra.append("fields: " + ", ".join(str(f) for f in fields))
        hint = detail.get("hint")
        if hint:
            extra.append(f"hint: {hint}")
        if extra:
            text = f"{text} ({'; '.join(extra)})" if text else "; ".join(extra)
        if text:
            parts.append(text)
    return "; ".join(parts)


def _hint_from_details(details: Any) -> str | None:
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict) and detail.get("hint"):
                return str(detail["hint"])
    return None


def error_from_response(response: httpx.Response, body: Any, *, operation: str) -> ProviderError:
    """The error for a non-2xx answer whose body has already been read as JSON."""
    status = response.status_code
    data = body if isinstance(body, dict) else {}
    code = str(data.get("type") or data.get("name") or f"http_{status}")
    message = str(data.get("message") or response.reason_phrase or f"HTTP {status}")
    details = format_details(data.get("details"))
    text = f"{operation}: {message}" + (f": {details}" if details else "")
    if status == 404:
        return DocumentNotFound(
            text, provider=PROVIDER, code=code,
            user_hint="Abillify does not know this reference. Check the invoice or customer reference.",
        )
    if status == 401:
        return ProviderRejected(
            text, provider=PROVIDER, code=code,
            user_hint="Abillify refused our credentials. Check the API username and password "
            "(Settings / API Credentials on the Abillify platform).",
        )
    if status == 403:
        return ProviderRejected(
            text, provider=PROVIDER, code=code,
            user_hint="Abillify refused access. Check that the API user may do this and that our IP "
            "address is on the platform's IP allow-list.",
        )
    if status == 409:
        return ProviderRejected(
            text, provider=PROVIDER, code=code,
            user_hint="Abillify already has a document with this reference or number.",
        )
    if status >= 500:
        return ProviderUnavailable(
            text, provider=PROVIDER, code=code, status=status,
            user_hint="Abillify had a server error. Abillify replays the same answer for the same "
            "Idempotency-Key for 24 hours, so retrying this exact request returns this error again; "
            "try again later with a new attempt.",
        )
    return ProviderRejected(
        text, provider=PROVIDER, code=code,
        user_hint=_hint_from_details(data.get("details")) or "Abillify refused the request; see the message.",
    )

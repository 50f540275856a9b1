"""Refuse bad Slack HTTP requests before Bolt sees them.

Bolt parses the body while building its request object, *before* it verifies the
signature, so an unsigned body that is not JSON raised inside the adapter (HTTP 500 and a
traceback); a non-integer ``X-Slack-Request-Timestamp`` raised in `SignatureVerifier`; and
a refused request was logged with its whole body (a 1.9 MB body wrote 1.9 MB of log).

`check_slack_request` runs first: headers, then the signature over the raw bytes, then
the encoding and the shape of the body. A refusal is one `Refusal` (HTTP status and a
short reason) that the server answers and logs in one bounded line, never with the body.
Only a request that passes reaches Bolt, which verifies the signature again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

__all__ = ["MAX_SLACK_BODY", "Refusal", "check_slack_request"]

#: Slack's own payloads stay far below this; the server refuses larger bodies with 413.
MAX_SLACK_BODY = 1024 * 1024

#: Slack accepts a request within five minutes of its timestamp, either way.
_WINDOW_SECONDS = 300
_MAX_SIGNATURE = 128


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status and a short reason (safe to log)."""

    status: int
    reason: str


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else value.strip()


def _check_headers(headers: Mapping[str, str], now: float) -> Refusal | None:
    timestamp = _header(headers, "X-Slack-Request-Timestamp")
    signature = _header(headers, "X-Slack-Signature")
    if not timestamp or not signature:
        return Refusal(401, "unsigned (no X-Slack-Signature or X-Slack-Request-Timestamp)")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return Refusal(400, "X-Slack-Request-Timestamp is not an integer")
    if abs(now - int(timestamp)) > _WINDOW_SECONDS:
        return Refusal(401, "timestamp outside the five-minute window")
    if len(signature) > _MAX_SIGNATURE or not signature.startswith("v0="):
        return Refusal(401, "malformed signature")
    return None


def _check_body(text: str, content_type: str) -> Refusal | None:
    """The body must be what Bolt can parse: JSON, or a form (whose `payload`, if any, is JSON)."""
    try:
        if content_type == "application/json" or text.startswith("{"):
            parsed = json.loads(text) if text else {}
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            parsed = json.loads(form["payload"]) if "payload" in form else form
    except ValueError:
        return Refusal(400, "body is not valid JSON or form data")
    if not isinstance(parsed, dict):
        return Refusal(400, "body is not a JSON object")
    return None


def is_ssl_check(raw: bytes) -> bool:
    """Slack's SSL check (``ssl_check=1``) carries no payload; Bolt answers it without listeners."""
    return raw.startswith(b"ssl_check=1") and len(raw) < 512


def check_slack_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float, *,
                        content_type: str | None = None) -> Refusal | None:
    """None when the request is signed by Slack (and, given its `content_type`, readable), else why not.

    Args:
        raw: the body bytes exactly as received (the signature covers them).
        headers: the request headers (case-insensitive mapping).
        secret: the signing secret; Slack signs ``v0:<timestamp>:<body bytes>`` with HMAC-SHA256.
        now: unix time.
        content_type: the media type without parameters, to check that the body is readable too;
            None when the caller parses the body itself right after and refuses what it cannot read
            (`bot.server` lets Bolt parse it once instead of twice on the ack path, and does not
            parse the Content-Type header for nothing).
    """
    refusal = _check_headers(headers, now)
    if refusal is not None:
        return refusal
    timestamp = _header(headers, "X-Slack-Request-Timestamp") or ""
    signature = _header(headers, "X-Slack-Signature") or ""
    if not hmac.compare_digest(_signature(secret, timestamp, raw), signature.encode("utf-8", "replace")):
        return Refusal(401, "invalid signature")
    if content_type is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body is not UTF-8")
    return _check_body(text, content_type)


def _signature(secret: str, timestamp: str, raw: bytes) -> bytes:
    """Slack's ``v0=`` signature, over the raw bytes (so a non-UTF-8 body is simply unsigned)."""
    digest = hmac.new(secret.encode("utf-8"), b"v0:" + timestamp.encode("ascii") + b":" + raw, hashlib.sha256)
    return b"v0=" + digest.hexdigest().encode("ascii")

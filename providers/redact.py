"""Keep secrets out of logs.

`redact_mapping` masks sensitive keys in headers and JSON bodies before they are
logged; `RedactingFilter` scrubs token-shaped text from every log record, as a last
line of defence for messages built elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "SENSITIVE_KEYS", "RedactingFilter", "install_redaction", "redact_mapping", "redact_text"]

MASK = "***"

SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "office-authorization",
        "bill-access-authorization",
        "x-slack-signature",
        "apikey",
        "api_key",
        "hash",
        "session_token",
        "token",
        "secret",
        "secret_key",
        "signing_secret",
        "password",
        "bot_token",
        "app_token",
        "access_token",
        "client_secret",
        "x-pb-message-digest",
        # per-workspace provider credentials (commands.workflow.credentials.CREDENTIAL_FIELDS) and
        # their sealed form, wherever they appear in a log line, an audit detail or an error
        "credentials",
        "popbill_link_id",
        "popbill_secret_key",
        "popbill_corp_num",
        "payssam_api_key",
        "hiworks_office_token",
        "hiworks_bill_access_token",
        "abillify_username",
        "abillify_password",
        "encryption_key",
        "invoicebot_encryption_key",
    }
)

_PATTERNS = [
    re.compile(r"xox[abposr]-[0-9A-Za-z-]{6,}"),
    re.compile(r"xapp-[0-9A-Za-z-]{6,}"),
    re.compile(r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"LINKHUB\s+\S+\s+[A-Za-z0-9+/=]{20,}"),
    re.compile(r"v0=[0-9a-f]{64}"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{40,}"),  # a Fernet token: a workspace's sealed credentials
    re.compile(r"\b[0-9a-f]{64}\b"),  # SHA-256 hex (Payssam hash)
    re.compile(r"(?i)(\"?(?:apiKey|api_key|hash|session_token|password|secret(?:_key)?|token)\"?\s*[:=]\s*)"
               r"(\"[^\"]*\"|'[^']*'|[^\s,&}]+)"),
]


def _is_sensitive(key: str) -> bool:
    k = key.lower()
    return k in SENSITIVE_KEYS or k.endswith(("_token", "_secret", "-token", "secretkey")) or k == "apikey"


def redact_mapping(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `data` with sensitive keys masked, recursively."""
    if not data:
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if _is_sensitive(str(key)):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value)
        elif isinstance(value, list):
            out[key] = [redact_mapping(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return out


def redact_text(text: str) -> str:
    for pattern in _PATTERNS[:-1]:
        text = pattern.sub(MASK, text)
    return _PATTERNS[-1].sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            return True
        cleaned = redact_text(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            formatter = logging.Formatter()
            record.exc_text = redact_text(formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())

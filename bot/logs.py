"""Logging: one line per record, secrets scrubbed by `providers.redact.RedactingFilter`.

`INVOICEBOT_LOG_FORMAT=json` writes one JSON object per line instead, with the fields the
code attaches to records (`provider`, `operation`, `status`, `elapsed_ms`, `attempt`, …) as
keys, for a log pipeline to index. The redacting filter runs before either formatter.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from providers.redact import RedactingFilter, redact_mapping

__all__ = ["JsonFormatter", "setup_logging"]

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        data.update(redact_mapping(extras))
        if record.exc_text or record.exc_info:
            data["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", stream: TextIO | None = None, *, fmt: str = "text") -> None:
    """Configure the root logger once; every handler gets the redacting filter."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter())
    for old in list(root.handlers):
        if getattr(old, "_invoicebot", False):
            root.removeHandler(old)
    handler._invoicebot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Library chatter at INFO would repeat every HTTP call twice.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    quiet_slack_loggers(root.level)
    for handler_ in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler_.filters):
            handler_.addFilter(RedactingFilter())


#: Loggers slack_sdk and slack_bolt test with ``logger.level <= DEBUG`` (the logger's *own*
#: level, not the effective one) before building a debug string of every Web API call.
SLACK_LOGGERS = (
    "slack_sdk",
    "slack_sdk.web.async_base_client",
    "slack_sdk.web.base_client",
    "slack_sdk.web.async_client",
    "slack_sdk.web.client",
    "slack_bolt",
)


def quiet_slack_loggers(level: int) -> None:
    """Give the Slack libraries' loggers our level as their own.

    Their own level is unset (0) by default, and ``0 <= DEBUG`` is true, so slack_sdk
    formats every request's parameters and headers into a debug string that is then
    thrown away: 8.7% of an ``/invoice issue`` in the profile. With the level set, the
    string is built only when debug logging is really on.
    """
    for name in SLACK_LOGGERS:
        logging.getLogger(name).setLevel(level)

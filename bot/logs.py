"""Logging: one line per record, secrets scrubbed by `providers.redact.RedactingFilter`."""

from __future__ import annotations

import logging
import sys

from providers.redact import RedactingFilter

__all__ = ["setup_logging"]

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str = "INFO", stream: object = None) -> None:
    """Configure the root logger once; every handler gets the redacting filter."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter(_FORMAT))
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
    for handler_ in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler_.filters):
            handler_.addFilter(RedactingFilter())

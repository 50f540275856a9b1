"""Secrets never reach the logs."""

from __future__ import annotations

import logging

import pytest

from providers.redact import MASK, RedactingFilter, redact_mapping, redact_text


def test_sensitive_keys_are_masked_recursively() -> None:
    data = {
        "Authorization": "Bearer abc",
        "apiKey": "SANDBOX-API-KEY",
        "bill": {"billId": "INV1", "hash": "ab" * 32, "price": "1000"},
        "list": [{"session_token": "t"}],
    }
    out = redact_mapping(data)
    assert out["Authorization"] == MASK
    assert out["apiKey"] == MASK
    assert out["bill"] == {"billId": "INV1", "hash": MASK, "price": "1000"}
    assert out["list"] == [{"session_token": MASK}]


@pytest.mark.parametrize(
    "secret",
    [
        "xox" + "b-1234567890-abcdefghij",  # built at run time so no token-shaped text is committed
        "xap" + "p-1-A111-2222-abcdef",
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload",
        "LINKHUB INVOICEBOT 9RIBpAZ9QEt+R12lPQMU7VY+5icemEL5gVOtOdvBmNo=",
        "v0=" + "a" * 64,
        "f" * 64,
    ],
)
def test_token_shapes_are_scrubbed_from_text(secret: str) -> None:
    assert secret not in redact_text(f"calling with {secret} now")


def test_key_value_pairs_in_text_are_scrubbed() -> None:
    text = redact_text('body {"apiKey": "SANDBOX-API-KEY", "billId": "INV1"}')
    assert "SANDBOX-API-KEY" not in text
    assert "INV1" in text


def test_filter_rewrites_records_and_their_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("token %s used", "xox" + "b-1234567890-abcdefghij")
    assert "1234567890-abcdefghij" not in caplog.text
    assert MASK in caplog.text


def test_json_logs_carry_fields_and_never_a_secret() -> None:
    import io
    import json

    from bot.logs import setup_logging

    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    setup_logging("INFO", stream, fmt="json")
    try:
        logging.getLogger("invoicebot.test").info(
            "popbill getInfo -> 200 with %s", "Bearer abcdefghijklmnop",
            extra={"provider": "popbill", "elapsed_ms": 12, "apiKey": "SANDBOX-API-KEY"},
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["provider"] == "popbill" and line["elapsed_ms"] == 12 and line["level"] == "INFO"
    assert "abcdefghijklmnop" not in stream.getvalue() and "SANDBOX-API-KEY" not in stream.getvalue()

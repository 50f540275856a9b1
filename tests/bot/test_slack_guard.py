"""`bot.slack_guard`: what is refused before Bolt sees a request, and why (status and reason)."""

from __future__ import annotations

import hashlib
import hmac
import json

from multidict import CIMultiDict

from bot.slack_guard import check_slack_request, is_ssl_check

SECRET = "guard-test-secret"
NOW = 1_800_000_000


def _signed(raw: bytes, *, at: int = NOW, secret: str = SECRET) -> CIMultiDict[str]:
    digest = hmac.new(secret.encode(), f"v0:{at}:".encode() + raw, hashlib.sha256).hexdigest()
    return CIMultiDict({"X-Slack-Request-Timestamp": str(at), "X-Slack-Signature": f"v0={digest}"})


def test_a_request_signed_with_the_secret_within_five_minutes_passes() -> None:
    raw = b"command=%2Finvoice&text=status+INV-000001"
    assert check_slack_request(raw, _signed(raw), SECRET, NOW + 299) is None
    assert check_slack_request(raw, _signed(raw, at=NOW + 299), SECRET, NOW) is None


def test_unsigned_stale_malformed_and_forged_requests_are_refused_with_their_reason() -> None:
    raw = b"command=%2Finvoice&text=help"
    headers = _signed(raw)
    cases = {
        "no headers": (CIMultiDict[str](), 401, "unsigned"),
        "timestamp not a number": (CIMultiDict({**headers, "X-Slack-Request-Timestamp": "12a"}), 400, "integer"),
        "too old": (_signed(raw, at=NOW - 301), 401, "window"),
        "from the future": (_signed(raw, at=NOW + 301), 401, "window"),
        "not v0": (CIMultiDict({**headers, "X-Slack-Signature": "v1=abc"}), 401, "malformed"),
        "another secret": (_signed(raw, secret="someone-else"), 401, "invalid signature"),
    }
    for name, (given, status, reason) in cases.items():
        refusal = check_slack_request(raw, given, SECRET, NOW)
        assert refusal is not None and refusal.status == status and reason in refusal.reason, name
    tampered = raw + b"&user_id=U_EVE"
    refusal = check_slack_request(tampered, headers, SECRET, NOW)
    assert refusal is not None and (refusal.status, refusal.reason) == (401, "invalid signature")


def test_the_body_is_checked_only_when_its_content_type_is_given() -> None:
    signed_junk = b"\xff\xfe not a form"
    assert check_slack_request(signed_junk, _signed(signed_junk), SECRET, NOW) is None  # the caller parses it

    for raw, content_type, status in (
        (signed_junk, "application/x-www-form-urlencoded", 400),
        (b"[1, 2]", "application/json", 400),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded", 400),
    ):
        refusal = check_slack_request(raw, _signed(raw), SECRET, NOW, content_type=content_type)
        assert refusal is not None and refusal.status == status, raw

    payload = b"payload=" + json.dumps({"type": "block_actions"}).replace(" ", "").encode()
    assert check_slack_request(payload, _signed(payload), SECRET, NOW,
                               content_type="application/x-www-form-urlencoded") is None


def test_slacks_ssl_check_is_recognised_only_as_itself() -> None:
    assert is_ssl_check(b"ssl_check=1&token=abc")
    assert not is_ssl_check(b"command=%2Finvoice&ssl_check=1")
    assert not is_ssl_check(b"ssl_check=1&" + b"x" * 600)

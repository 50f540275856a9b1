"""Requests as Slack sends them: signed with the app's secret, every time inside read from one clock."""

from __future__ import annotations

import json
import urllib.parse

from slack_sdk.signature import Clock, SignatureVerifier

from bot.console.slack_requests import SlackRequestFactory

SECRET = "0123456789abcdef0123456789abcdef"
NOW = 1_700_000_000.0


class _Fixed(Clock):
    def now(self) -> float:
        return NOW


def _payload(body: str) -> dict[str, object]:
    data = json.loads(urllib.parse.parse_qs(body)["payload"][0])
    assert isinstance(data, dict)
    return data


def test_requests_verify_with_the_signing_secret_at_the_factorys_time() -> None:
    factory = SlackRequestFactory(SECRET, clock=lambda: NOW)
    request = factory.slash_command("help", user_id="U_ALICE", channel_id="C_FINANCE", response_url="http://x/r")
    assert request.headers["X-Slack-Request-Timestamp"] == "1700000000"
    verifier = SignatureVerifier(SECRET, clock=_Fixed())
    assert verifier.is_valid(request.body, request.headers["X-Slack-Request-Timestamp"],
                             request.headers["X-Slack-Signature"])
    assert not SignatureVerifier("another-secret", clock=_Fixed()).is_valid(
        request.body, request.headers["X-Slack-Request-Timestamp"], request.headers["X-Slack-Signature"])


def test_times_inside_payloads_come_from_the_injected_clock() -> None:
    factory = SlackRequestFactory(SECRET, clock=lambda: NOW)
    assert factory.trigger_id().startswith("1700000000.")
    click = _payload(factory.block_action(user_id="U_BOB", action_id="approval_approve", value="1",
                                          channel_id="C1", message={"ts": "1.2"}, response_url="http://x/r").body)
    assert click["actions"][0]["action_ts"] == "1700000000.000000"  # type: ignore[index]
    submitted = _payload(factory.view_submission(user_id="U_BOB", view={"type": "modal"}, values={}).body)
    assert str(submitted["view"]["hash"]).startswith("1700000000.")  # type: ignore[index]
    event = json.loads(factory.app_home_opened("U_BOB").body)
    assert event["event_time"] == 1_700_000_000 and event["event"]["event_ts"] == "1700000000.000000"

"""bot.slack_app: one Web API client per workspace, not one per request."""

from __future__ import annotations

import inspect

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_app import WorkspaceClientApp


def _request(team: str) -> AsyncBoltRequest:
    body = f"token=x&team_id={team}&user_id=U1&command=%2Finvoice&text=status&channel_id=C1&response_url=x"
    return AsyncBoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def _client_of(app: AsyncApp, team: str) -> AsyncWebClient:
    req = _request(team)
    app._init_context(req)
    client = req.context.client
    assert client is not None
    return client


def test_requests_of_one_workspace_share_a_client() -> None:
    app = WorkspaceClientApp(client=AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/"),
                             request_verification_enabled=False)
    first, second, other = _client_of(app, "T1"), _client_of(app, "T1"), _client_of(app, "T2")
    assert first is second
    assert other is not first
    assert first.token == "xoxb-test" and first.base_url == "http://127.0.0.1:9/api/"
    assert first.retry_handlers is not None and len(first.retry_handlers) == len(app.client.retry_handlers)


def test_bolt_itself_builds_one_per_request() -> None:
    # the cost this module removes: the plain AsyncApp makes a new client for every request
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test"), request_verification_enabled=False)
    assert _client_of(app, "T1") is not _client_of(app, "T1")


def test_building_the_app_does_not_read_the_call_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bolt names an unnamed app after its caller's file with inspect.stack(), which reads the
    # source of every frame (a tenth of a second under a test runner's stack, for every app built)
    def no_stack(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("inspect.stack() was called")

    monkeypatch.setattr(inspect, "stack", no_stack)
    app = WorkspaceClientApp(client=AsyncWebClient(token="xoxb-test"), request_verification_enabled=False)
    assert app.name == "slack_app.py"  # the name Bolt derived before: its logger names stay the same

"""bot.slack_app: one Web API client per workspace, not one per request."""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
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


async def _authorize(enterprise_id: str | None, team_id: str | None, **_kwargs: object) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=f"xoxb-{team_id}",
                           bot_user_id="UBOT", bot_id="BBOT")


def _oauth_app() -> WorkspaceClientApp:
    """Tokens from an installation store: no static token, an `authorize` per request."""
    return WorkspaceClientApp(client=AsyncWebClient(base_url="http://127.0.0.1:9/api/"), authorize=_authorize,
                              request_verification_enabled=False)


def test_with_oauth_installs_the_requests_of_one_workspace_share_a_client_too() -> None:
    app = _oauth_app()
    assert app._token is None
    first, second, other = _client_of(app, "T1"), _client_of(app, "T1"), _client_of(app, "T2")
    assert first is second and other is not first


async def test_with_oauth_installs_each_workspace_client_carries_its_own_installed_token() -> None:
    app = _oauth_app()
    seen: list[tuple[str | None, AsyncWebClient]] = []

    @app.command("/invoice")
    async def listener(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        seen.append((context.team_id, client))

    for team in ("T1", "T2", "T1"):
        response = await app.async_dispatch(_request(team))
        assert response.status == 200
    assert [team for team, _client in seen] == ["T1", "T2", "T1"]
    c1, c2, c1_again = (client for _team, client in seen)
    assert c1 is c1_again and c1 is not c2
    assert (c1.token, c2.token) == ("xoxb-T1", "xoxb-T2")


def test_a_custom_functions_own_token_never_lands_on_the_shared_client() -> None:
    app = WorkspaceClientApp(client=AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/"),
                             request_verification_enabled=False)
    shared = _client_of(app, "T1")
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event": {
        "type": "function_executed", "bot_access_token": "xwfp-one-execution", "function": {"callback_id": "x"},
        "inputs": {}, "function_execution_id": "Fx1"}})
    req = AsyncBoltRequest(body=body, headers={"content-type": ["application/json"]})
    app._init_context(req)
    assert req.context.client is not shared and shared.token == "xoxb-test"

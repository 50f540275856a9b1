"""The double as a server: tokens, recording, injected faults, response URLs, the event sink."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.console.slack_double import RecordedCall, SlackWebApiDouble
from commands.slack.modal import build_issue_modal
from tests.bot.console.slack_double.support import TOKEN


async def test_calls_without_a_bot_token_are_refused_like_slack(double: SlackWebApiDouble) -> None:
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=double.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as user_token:
        await AsyncWebClient(token="xoxp-123-456", base_url=double.base_url).auth_test()
    assert user_token.value.response["error"] == "invalid_auth"


async def test_a_configured_token_list_refuses_other_bot_tokens() -> None:
    server = SlackWebApiDouble(valid_tokens={TOKEN})
    base = await server.start()
    try:
        assert (await AsyncWebClient(token=TOKEN, base_url=base).auth_test())["ok"]
        with pytest.raises(SlackApiError, match="invalid_auth"):
            await AsyncWebClient(token="xoxb-other", base_url=base).auth_test()
    finally:
        await server.stop()


async def test_the_token_is_never_recorded(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    await client.chat_postMessage(channel="C1", text="hi")
    recorded = repr(double.recorded)
    assert "secretsecret" not in recorded
    assert double.last("chat.postMessage").headers["Authorization"] == "***"


async def test_a_429_carries_retry_after_and_is_retried_by_the_rate_limit_handler(
    double: SlackWebApiDouble,
) -> None:
    plain = AsyncWebClient(token=TOKEN, base_url=double.base_url)
    double.fail_next("chat.postMessage", 1, retry_after=1)
    with pytest.raises(SlackApiError) as info:
        await plain.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] in ("1", ["1"])
    assert info.value.response["error"] == "ratelimited"

    retrying = AsyncWebClient(token=TOKEN, base_url=double.base_url,
                              retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    double.fail_next("chat.postMessage", 1, retry_after=1)
    started = time.monotonic()
    answer = await retrying.chat_postMessage(channel="C1", text="after the wait")
    assert answer["ok"]
    assert time.monotonic() - started >= 1.0  # it honoured Retry-After
    statuses = [c.status for c in double.calls("chat.postMessage")]
    assert statuses == [429, 429, 200]
    assert [m["text"] for m in double.messages_in("C1")] == ["after the wait"]


async def test_any_error_can_be_injected_for_the_next_n_calls(client: AsyncWebClient,
                                                              double: SlackWebApiDouble) -> None:
    double.fail_next("views.open", 2, error="expired_trigger_id")
    for trigger in ("T-1", "T-2"):
        with pytest.raises(SlackApiError, match="expired_trigger_id"):
            await client.views_open(trigger_id=trigger, view=build_issue_modal())
    assert (await client.views_open(trigger_id="T-3", view=build_issue_modal()))["ok"]


async def test_unknown_methods_answer_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError, match="unknown_method"):
        await client.api_call("chat.fly")


async def test_response_urls_record_what_respond_posts_and_replace_the_original(
    client: AsyncWebClient, double: SlackWebApiDouble,
) -> None:
    posted = await client.chat_postMessage(channel="C0FIN", text="pending")
    url = double.response_url("R1", channel="C0FIN", ts=posted["ts"])
    webhook = AsyncWebhookClient(url)
    answer = await webhook.send(text="Approved by Lee", replace_original=True)
    assert answer.status_code == 200
    [reply] = double.responses("R1")
    assert reply.args["text"] == "Approved by Lee" and reply.args["replace_original"] is True
    assert double.messages_in("C0FIN")[0]["text"] == "Approved by Lee"
    assert (await AsyncWebhookClient(double.root_url + "/response/unknown").send(text="x")).status_code == 404


async def test_the_event_sink_sees_every_call_and_cannot_break_answers() -> None:
    seen: list[RecordedCall] = []

    async def sink(call: RecordedCall) -> None:
        seen.append(call)
        if call.method == "chat.update":
            raise RuntimeError("console crashed")

    server = SlackWebApiDouble(on_call=sink)
    base = await server.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=base)
        posted = await client.chat_postMessage(channel="C1", text="x")
        assert (await client.chat_update(channel="C1", ts=posted["ts"], text="y"))["ok"]
        assert [(c.method, c.response["ok"]) for c in seen] == [("chat.postMessage", True), ("chat.update", True)]
    finally:
        await server.stop()


async def test_wait_for_and_reset(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    await client.chat_postMessage(channel="C1", text="x")
    assert len(await double.wait_for("chat.postMessage", 1, timeout=0.5)) == 1
    with pytest.raises(AssertionError, match=r"expected 2 chat\.postMessage"):
        await double.wait_for("chat.postMessage", 2, timeout=0.05)
    with pytest.raises(AssertionError, match=r"views\.open was never called"):
        double.last("views.open")
    double.reset()
    assert double.calls() == [] and double.messages_in("C1") == []


async def test_the_injected_clock_stamps_messages_views_and_recorded_calls() -> None:
    now = [1_700_000_000.0]
    server = SlackWebApiDouble(clock=lambda: now[0])
    client = AsyncWebClient(token=TOKEN, base_url=await server.start())
    try:
        first = await client.chat_postMessage(channel="C1", text="a")
        second = await client.chat_postMessage(channel="C1", text="b")  # the same instant: still its own ts
        assert (first["ts"], second["ts"]) == ("1700000000.000000", "1700000000.000001")
        now[0] += 60
        view = (await client.views_open(trigger_id="T-1", view=build_issue_modal()))["view"]
        assert view["hash"].startswith("1700000060.")
        assert server.last("views.open").at == 1_700_000_060.0
    finally:
        await server.stop()

"""The Slack Web API double, driven by the real slack_sdk clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.console.slack_double import RecordedCall, SlackDoubleThread, SlackWebApiDouble
from commands.slack.blocks import build_approval_message, build_reject_modal
from commands.slack.modal import build_issue_modal
from tests.commands.test_blocks import approval

TOKEN = "xox" + "b-1111-2222-secretsecret"  # built at run time: no token-shaped literal in the repo


@pytest.fixture
async def double() -> AsyncIterator[SlackWebApiDouble]:
    server = SlackWebApiDouble()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def client(double: SlackWebApiDouble) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=double.base_url)


# -- auth ----------------------------------------------------------------------------------


async def test_auth_test_answers_with_the_bot_identity(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    answer = await client.auth_test()
    assert answer["ok"] and answer["user_id"] == double.bot_user_id and answer["team_id"] == double.team_id


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


# -- messages ------------------------------------------------------------------------------


async def test_post_update_and_delete_messages(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    blocks = build_approval_message(approval())
    posted = await client.chat_postMessage(channel="C0FIN", text="Approval needed", blocks=blocks)
    assert posted["channel"] == "C0FIN" and posted["message"]["text"] == "Approval needed"
    call = double.last("chat.postMessage")
    assert call.args["blocks"] == [b.to_dict() for b in blocks]  # parsed back from the JSON body

    await client.chat_update(channel="C0FIN", ts=posted["ts"], text="Approved", blocks=[])
    [message] = double.messages_in("C0FIN")
    assert message["text"] == "Approved" and message["blocks"] == [] and message["ts"] == posted["ts"]

    second = await client.chat_postMessage(channel="C0FIN", text="second", thread_ts=posted["ts"])
    await client.chat_delete(channel="C0FIN", ts=second["ts"])
    assert [m["text"] for m in double.messages_in("C0FIN")] == ["Approved"]


async def test_updating_a_missing_message_fails_like_slack(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="C0FIN", ts="1.000001", text="x")


async def test_a_message_needs_text_or_blocks_and_at_most_50_blocks(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError, match="no_text"):
        await client.api_call("chat.postMessage", json={"channel": "C1"})  # the sdk method warns first
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "divider"}] * 51)
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel="C1", text="x",
                                      blocks=[{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}])


async def test_ephemeral_messages_and_direct_messages(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    await client.chat_postEphemeral(channel="C0FIN", user="U0KIM", text="only you")
    assert double.ephemerals(user="U0KIM")[0]["text"] == "only you"
    opened = await client.conversations_open(users="U0KIM")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    posted = await client.chat_postMessage(channel="U0KIM", text="your document was issued")
    assert posted["channel"] == dm
    assert double.messages_in(dm)[0]["text"] == "your document was issued"


async def test_channel_names_resolve_when_registered(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    double.add_channel("finance", "C0FIN")
    assert (await client.chat_postMessage(channel="#finance", text="x"))["channel"] == "C0FIN"
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.chat_postMessage(channel="#nowhere", text="x")


# -- views ---------------------------------------------------------------------------------


async def test_views_open_needs_a_fresh_trigger_id(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    opened = await client.views_open(trigger_id="T-1", view=build_issue_modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "invoice_issue" and view["state"] == {"values": {}}
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await client.views_open(trigger_id="T-1", view=build_issue_modal())
    double.expire_trigger("T-2")
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await client.views_open(trigger_id="T-2", view=build_issue_modal())
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.api_call("views.open", json={"view": build_issue_modal().to_dict()})


async def test_views_update_checks_the_hash(client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id="T-1", view=build_issue_modal()))["view"]
    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=build_reject_modal("42"))
    assert updated["view"]["id"] == view["id"] and updated["view"]["callback_id"] == "approval_reject_reason"
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await client.views_update(view_id=view["id"], hash=view["hash"], view=build_reject_modal("42"))
    with pytest.raises(SlackApiError, match="not_found"):
        await client.views_update(view_id="V404", view=build_reject_modal("42"))


async def test_views_push_allows_two_views_above_the_root(client: AsyncWebClient) -> None:
    root = (await client.views_open(trigger_id="T-1", view=build_issue_modal()))["view"]
    pushed = (await client.views_push(trigger_id="T-2", view=build_reject_modal("1")))["view"]
    assert pushed["root_view_id"] == root["id"] and pushed["previous_view_id"] == root["id"]
    await client.views_push(trigger_id="T-3", view=build_reject_modal("2"))
    with pytest.raises(SlackApiError, match="push_limit_reached"):
        await client.views_push(trigger_id="T-4", view=build_reject_modal("3"))


async def test_views_publish_sets_a_users_home(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}]}
    published = await client.views_publish(user_id="U0KIM", view=home)
    assert double.home_views["U0KIM"]["id"] == published["view"]["id"]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.views_publish(user_id="U0KIM", view=build_issue_modal())


# -- users and groups ------------------------------------------------------------------------


async def test_users_and_group_membership_are_configurable(client: AsyncWebClient,
                                                           double: SlackWebApiDouble) -> None:
    double.add_user("U0LEE", real_name="Lee Approver", email="lee@example.co.kr", is_admin=True)
    double.set_group_members("S0APPROVERS", ["U0LEE"])
    user = (await client.users_info(user="U0LEE"))["user"]
    assert user["real_name"] == "Lee Approver" and user["profile"]["email"] == "lee@example.co.kr"
    assert (await client.usergroups_users_list(usergroup="S0APPROVERS"))["users"] == ["U0LEE"]
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY")
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await client.usergroups_users_list(usergroup="S0NONE")


# -- upload v2 -------------------------------------------------------------------------------


async def test_files_upload_v2_runs_the_whole_three_step_flow(client: AsyncWebClient,
                                                              double: SlackWebApiDouble) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(12_000)
    answer = await client.files_upload_v2(channel="C0FIN", content=png, filename="digest.png",
                                          title="Daily digest", initial_comment="Today's digest")
    assert answer["file"]["name"] == "digest.png" and answer["file"]["size"] == len(png)
    assert [c.method for c in double.recorded] == ["files.getUploadURLExternal", "file.upload",
                                                   "files.completeUploadExternal"]
    assert double.last("files.getUploadURLExternal").args == {"filename": "digest.png", "length": str(len(png))}
    [upload] = double.files.values()
    assert upload.data == png and upload.completed and upload.channel_id == "C0FIN"
    assert upload.title == "Daily digest" and upload.initial_comment == "Today's digest"
    [share] = double.messages_in("C0FIN")
    assert share["subtype"] == "file_share" and share["files"][0]["id"] == upload.id


async def test_completing_an_upload_that_never_arrived_fails(client: AsyncWebClient) -> None:
    url = await client.files_getUploadURLExternal(filename="x.csv", length=3)
    with pytest.raises(SlackApiError, match="file_not_found"):
        await client.files_completeUploadExternal(files=[{"id": url["file_id"], "title": "x"}], channel_id="C1")


# -- faults ----------------------------------------------------------------------------------


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


# -- response_url, sink, helpers -----------------------------------------------------------------


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


def test_the_thread_runner_serves_sync_clients() -> None:
    runner = SlackDoubleThread()
    base = runner.start()
    try:
        sync = WebClient(token=TOKEN, base_url=base)
        args: dict[str, Any] = {"channel": "C1", "text": "from a sync client"}
        assert sync.chat_postMessage(**args)["ok"]
        assert runner.wait_for("chat.postMessage")[0].args["text"] == "from a sync client"
        assert sync.files_upload_v2(channel="C1", content="a,b\n1,2\n", filename="export.csv")["file"]["size"] == 8
    finally:
        runner.stop()

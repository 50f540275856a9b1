"""chat.* in the double: messages as a channel shows them now, and Slack's refusals."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from commands.slack.blocks import build_approval_message
from tests.commands.slack.test_blocks import approval


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


async def test_history_returns_messages_newest_first_with_their_metadata_when_asked(client: AsyncWebClient) -> None:
    """conversations.history as Slack answers it: top-level messages newest first, a page per
    `limit` with a cursor, `oldest` exclusive, and a message's metadata only with include_all_metadata."""
    metadata = {"event_type": "invoicebot_digest", "event_payload": {"run": "C0FIN:2026-11-30"}}
    first = await client.chat_postMessage(channel="C0FIN", text="first")
    digest = await client.chat_postMessage(channel="C0FIN", text="digest", metadata=metadata)
    await client.chat_postMessage(channel="C0FIN", text="reply", thread_ts=digest["ts"])
    third = await client.chat_postMessage(channel="C0FIN", text="third")

    plain = await client.conversations_history(channel="C0FIN")
    assert [m["text"] for m in plain["messages"]] == ["third", "digest", "first"]
    assert not any("metadata" in m for m in plain["messages"]) and plain["has_more"] is False

    since = await client.conversations_history(channel="C0FIN", oldest=first["ts"], include_all_metadata=True)
    assert [m["text"] for m in since["messages"]] == ["third", "digest"]
    assert since["messages"][1]["metadata"] == metadata and since["messages"][1]["ts"] == digest["ts"]

    page = await client.conversations_history(channel="C0FIN", limit=1)
    assert [m["ts"] for m in page["messages"]] == [third["ts"]] and page["has_more"] is True
    rest = await client.conversations_history(channel="C0FIN", limit=5,
                                              cursor=page["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["digest", "first"] and rest["has_more"] is False
    with pytest.raises(SlackApiError, match="invalid_ts_oldest"):
        await client.conversations_history(channel="C0FIN", oldest="yesterday")

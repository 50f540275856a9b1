"""Console rendering of what the app asks Slack to do: messages with numbered buttons, and calls."""

from __future__ import annotations

import datetime as dt

from slack_sdk.web.async_client import AsyncWebClient

from bot.console.render import Choice, collect_choices, render_blocks, render_call, render_message
from bot.console.slack_double import RecordedCall, SlackWebApiDouble
from commands.slack.blocks import build_approval_message, build_closure_message, build_status_message
from commands.slack.modal import build_issue_modal
from tests.commands.slack.test_blocks import approval, card

# -- blocks -------------------------------------------------------------------------------


def test_an_approval_renders_as_text_with_numbered_buttons() -> None:
    rendered = render_message(build_approval_message(approval(document=card(sandbox=True))))
    lines = rendered.text.splitlines()
    assert lines[0].startswith("🖊️ Approval needed: issue tax invoice INV-000123")
    assert set(lines[1]) == {"═"}
    assert "  · 🧪 SANDBOX — no real document was issued" in lines
    assert "  Buyer: Acme Korea (220-81-62517)" in lines
    assert "  Amount: ₩1,100,000 · supply ₩1,000,000 · VAT ₩100,000" in lines
    assert "  Requested by: @U0KIM" in lines
    assert "[1] Approve ✔   [2] Reject ✖" in lines
    assert rendered.choices == [
        Choice(1, "approval_approve", "42", "approval:42", "Approve"),
        Choice(2, "approval_reject", "42", "approval:42", "Reject"),
    ]


def test_choices_can_be_numbered_after_earlier_messages() -> None:
    choices = collect_choices(build_approval_message(approval()), start=7)
    assert [c.number for c in choices] == [7, 8]
    assert "[7] Approve" in render_blocks(build_approval_message(approval()), start=7)


def test_link_buttons_show_their_url_and_are_not_choices() -> None:
    rendered = render_message(build_status_message(card()))
    assert "🔗 PDF: https://popbill.example/pdf" in rendered.text
    assert rendered.choices == []


def test_dict_blocks_dividers_images_and_unknown_blocks() -> None:
    text = render_blocks([
        {"type": "divider"},
        {"type": "image", "image_url": "https://x/chart.png", "alt_text": "chart"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "pick"},
         "accessory": {"type": "button", "action_id": "go", "value": "v", "text": {"type": "plain_text",
                                                                                  "text": "Go"}}},
        {"type": "video", "title": {"type": "plain_text", "text": "v"}},
    ])
    assert text.splitlines() == ["─" * 40, "[image: chart] https://x/chart.png", "pick   [1] Go", "[video block]"]


def test_closure_results_render_line_by_line() -> None:
    from commands.slack.blocks import ClosureRow
    from providers.models import BusinessState

    text = render_blocks(build_closure_message([ClosureRow(bizno="2208162517", state=BusinessState.CLOSED,
                                                           state_date=dt.date(2024, 3, 1))]))
    assert "⛔ closed (폐업) 220-81-62517 since Fri, 1 Mar 2024" in text


# -- calls ---------------------------------------------------------------------------------


def test_render_message_calls() -> None:
    blocks = [b.to_dict() for b in build_approval_message(approval())]
    posted = render_call("chat.postMessage", {"channel": "C0FIN", "text": "x", "blocks": blocks},
                         channel_names={"C0FIN": "finance"})
    assert posted.startswith("💬 to #finance:\n  🖊️ Approval needed")
    assert render_call("chat.postMessage", {"channel": "D0KIM", "text": "*done*"}) == "💬 to a DM:\n  done"
    assert render_call("chat.postMessage", {"channel": "C1", "text": "t", "thread_ts": "1.2"}).startswith(
        "💬 to #C1 (in a thread):")
    assert render_call("chat.update", {"channel": "C1", "text": "Approved"}) == \
        "✏️ updated a message in #C1:\n  Approved"
    assert render_call("chat.postEphemeral", {"channel": "C1", "user": "U0KIM", "text": "only you"}) == \
        "👁 only @U0KIM sees this in #C1:\n  only you"
    assert render_call("chat.delete", {"channel": "C1", "ts": "1.2"}) == "🗑️ deleted a message in #C1"


def test_render_view_calls() -> None:
    opened = render_call("views.open", {"trigger_id": "t", "view": build_issue_modal().to_dict()})
    assert opened.startswith("🪟 modal “Issue a document” opened:")
    assert "▸ Buyer name (상호) — plain_text_input" in opened
    assert "▸ Memo (optional) — plain_text_input" in opened
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]}
    assert render_call("views.publish", {"user_id": "U0KIM", "view": home}) == \
        "🏠 App Home of @U0KIM updated:\n  Hi"


def test_render_an_upload_with_its_name_and_size() -> None:
    args = {"files": [{"id": "F1", "title": "Digest"}], "channel_id": "C0FIN", "initial_comment": "Today"}
    response = {"ok": True, "files": [{"id": "F1", "name": "digest.png", "size": 12_400}]}
    assert render_call("files.completeUploadExternal", args, response, channel_names={"C0FIN": "finance"}) == \
        "📎 uploaded digest.png (12 KB) to #finance\n  Today"


def test_render_response_url_posts_and_quiet_calls_and_failures() -> None:
    assert render_call("response_url", {"text": "Got it"}) == "↩️ reply (only you see it):\n  Got it"
    assert render_call("response_url", {"text": "Done", "response_type": "in_channel", "replace_original": True}) \
        == "↩️ reply (in the channel, replacing the original message):\n  Done"
    assert render_call("response_url", {"delete_original": True}) == "↩️ deleted the original message"
    for quiet in ("auth.test", "users.info", "conversations.open", "files.getUploadURLExternal", "file.upload"):
        assert render_call(quiet, {}) == ""
    assert render_call("chat.postMessage", {"channel": "C1"}, {"ok": False, "error": "ratelimited"}) == \
        "⚠️ chat.postMessage failed: ratelimited"


async def test_the_double_event_sink_feeds_the_renderer() -> None:
    printed: list[str] = []

    async def sink(call: RecordedCall) -> None:
        text = render_call(call.method, call.args, call.response, channel_names={"C0FIN": "finance"})
        if text:
            printed.append(text)

    double = SlackWebApiDouble(on_call=sink)
    client = AsyncWebClient(token="xoxb-console", base_url=await double.start())
    try:
        await client.chat_postMessage(channel="C0FIN", text="hello *team*")
        await client.files_upload_v2(channel="C0FIN", content=b"x" * 12_300, filename="digest.png")
    finally:
        await double.stop()
    assert printed == ["💬 to #finance:\n  hello team", "📎 uploaded digest.png (12 KB) to #finance"]

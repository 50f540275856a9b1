"""Console rendering of what the app asks Slack to do, and modals as console prompts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from slack_sdk.models.blocks import (
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextObject,
    TimePickerElement,
    UserSelectElement,
)
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.render import (
    Choice,
    Prompt,
    build_view_state,
    collect_choices,
    modal_to_prompts,
    render_blocks,
    render_call,
    render_message,
    strip_mrkdwn,
)
from bot.console.slack_double import RecordedCall, SlackWebApiDouble
from commands.slack.blocks import build_approval_message, build_closure_message, build_status_message
from commands.slack.modal import IssueBlocks, build_issue_modal
from tests.commands.test_blocks import approval, card

B = IssueBlocks


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


def test_mrkdwn_is_lightly_stripped() -> None:
    assert strip_mrkdwn("*Bold* and _it_ and ~gone~ and `INV-1`") == "Bold and it and gone and INV-1"
    assert strip_mrkdwn("<@U1> in <#C1|finance>: <https://x.y|the PDF> <!here>") == \
        "@U1 in #finance: the PDF (https://x.y) @here"
    assert strip_mrkdwn("R&amp;D &lt;ok&gt; file_name_here") == "R&D <ok> file_name_here"


def test_closure_results_render_line_by_line() -> None:
    from commands.slack.blocks import ClosureRow
    from providers.models import BusinessState

    text = render_blocks(build_closure_message([ClosureRow(bizno="2208162517", state=BusinessState.CLOSED,
                                                           state_date=dt.date(2024, 3, 1))]))
    assert "⛔ closed (폐업) 220-81-62517 since 2024-03-01" in text


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


# -- modals --------------------------------------------------------------------------------


def test_the_issue_modal_becomes_prompts() -> None:
    prompts = {p.block_id: p for p in modal_to_prompts(build_issue_modal(today=dt.date(2024, 5, 17)))}
    assert prompts[B.PROVIDER].type == "static_select"
    assert ("payssam", "Payssam (결제선생)") in prompts[B.PROVIDER].options
    assert not prompts[B.PROVIDER].optional
    assert prompts[B.BUYER_EMAIL].type == "email_text_input" and prompts[B.BUYER_EMAIL].optional
    assert prompts[B.ITEMS].multiline and "quantity" in (prompts[B.ITEMS].hint or "")
    assert prompts[B.WRITE_DATE].type == "datepicker" and prompts[B.WRITE_DATE].initial == "2024-05-17"
    assert prompts[B.PURPOSE].initial == "charge"
    assert prompts[B.BIZNO_CONFIRM].type == "checkboxes"
    assert prompts[B.BUYER_NAME].action_id == "buyer_name_input"


def _other_inputs_view() -> View:
    return View(type="modal", title=PlainTextObject(text="t"), callback_id="c", blocks=[
        InputBlock(block_id="n", label=PlainTextObject(text="Count"),
                   element=NumberInputElement(action_id="n_in", is_decimal_allowed=False)),
        InputBlock(block_id="u", label=PlainTextObject(text="Who"), element=UserSelectElement(action_id="u_in")),
        InputBlock(block_id="t", label=PlainTextObject(text="When"), optional=True,
                   element=TimePickerElement(action_id="t_in", initial_time="09:00")),
    ])


def test_view_state_has_slacks_shapes_for_every_input_type() -> None:
    values = build_view_state(modal_to_prompts(_other_inputs_view()), {"n": 12345, "u": "U0LEE"})
    assert values == {
        "n": {"n_in": {"type": "number_input", "value": "12345"}},  # a string, as Slack sends it
        "u": {"u_in": {"type": "users_select", "selected_user": "U0LEE"}},
        "t": {"t_in": {"type": "timepicker", "selected_time": "09:00"}},  # the initial value is kept
    }


def _select(*labels: str) -> Prompt:
    return Prompt(block_id="s", action_id="s_in", label="Pick", type="static_select",
                  options=tuple((label.lower(), label) for label in labels))


@pytest.mark.parametrize("answer", ["beta", "Beta", "BETA", "2"])
def test_a_select_answer_may_be_the_value_the_label_or_the_number(answer: str) -> None:
    values = build_view_state([_select("Alpha", "Beta")], {"s": answer})
    assert values["s"]["s_in"]["selected_option"] == {
        "text": {"type": "plain_text", "text": "Beta", "emoji": True}, "value": "beta"}


def test_option_text_objects_are_echoed_exactly_as_the_view_defined_them() -> None:
    view = View(type="modal", title="t", callback_id="c", blocks=[InputBlock(
        block_id="k", label="Kind", element={"type": "static_select", "action_id": "k_in", "options": [
            Option(value="a", label="Ä", description="desc").to_dict()]})])
    values = build_view_state(modal_to_prompts(view), {"k": "1"})
    assert values["k"]["k_in"]["selected_option"]["text"] == {"type": "plain_text", "text": "Ä", "emoji": True}


@pytest.mark.parametrize(
    ("prompt", "answer", "message"),
    [
        (_select("Alpha"), "gamma", "not one of the choices for Pick: 1) Alpha"),
        (Prompt(block_id="d", action_id="d_in", label="Due", type="datepicker"), "31/05/2024", "is not a date"),
        (Prompt(block_id="x", action_id="x_in", label="Name", type="plain_text_input"), "  ", "Name is required"),
    ],
)
def test_bad_answers_are_refused_with_a_readable_message(prompt: Prompt, answer: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_view_state([prompt], {prompt.block_id: answer})
    assert message in str(info.value)


def test_checkboxes_take_yes_no_or_a_list() -> None:
    box = Prompt(block_id="c", action_id="c_in", label="Sure", type="checkboxes", optional=True,
                 options=(("ok", "The number is correct"),))
    assert build_view_state([box], {"c": "yes"})["c"]["c_in"]["selected_options"][0]["value"] == "ok"
    assert build_view_state([box], {"c": "no"})["c"]["c_in"]["selected_options"] == []
    assert build_view_state([box], {})["c"]["c_in"] == {"type": "checkboxes", "selected_options": []}
    assert build_view_state([box], {"c": ["ok"]})["c"]["c_in"]["selected_options"][0]["value"] == "ok"

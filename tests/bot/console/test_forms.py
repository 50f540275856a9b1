"""Modals as console prompts, and answers back as view.state in Slack's shape."""

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

from bot.console.forms import Prompt, build_view_state, modal_to_prompts
from commands.slack.modal import IssueBlocks, build_issue_modal

B = IssueBlocks


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


@pytest.mark.parametrize(("block", "answer", "value"), [
    (B.PURPOSE, "영수", "receipt"), (B.PURPOSE, "청구", "charge"),
    (B.KIND, "세금계산서", "tax_invoice"), (B.KIND, "영세율", "zero_rated_invoice"),
    (B.PROVIDER, "팝빌", "popbill"), (B.PROVIDER, "결제선생", "payssam"),
])
def test_choices_can_be_answered_in_korean(block: str, answer: str, value: str) -> None:
    prompts = [p for p in modal_to_prompts(build_issue_modal(today=dt.date(2024, 5, 17))) if p.block_id == block]
    state = build_view_state(prompts, {block: answer})
    assert state[block][prompts[0].action_id]["selected_option"]["value"] == value


def test_myeonse_names_the_exempt_invoice_and_korean_yes_checks_a_box() -> None:
    kind = Prompt(block_id="k", action_id="k_input", label="Kind", type="static_select",
                  options=(("tax_invoice", "Tax invoice (세금계산서)"),
                           ("exempt_invoice", "VAT-exempt invoice (계산서)")))
    assert build_view_state([kind], {"k": "면세"})["k"]["k_input"]["selected_option"]["value"] == "exempt_invoice"
    box = Prompt(block_id="c", action_id="c_input", label="Confirm", type="checkboxes", options=(("ok", "OK"),))
    assert build_view_state([box], {"c": "예"})["c"]["c_input"]["selected_options"][0]["value"] == "ok"
    assert build_view_state([box], {"c": "아니오"})["c"]["c_input"]["selected_options"] == []

"""Property-based fuzzing through the app: arbitrary `/invoice` text and arbitrary issue-form
state, sent as signed requests to the running bot. Whatever arrives, the bot answers 200
(a refusal is a message or a form error, never a failure) and no exception text reaches a
person, in the HTTP answer or in anything it posts, updates or replies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console.app import settle_tasks
from bot.console.render import Prompt, modal_to_prompts
from tests.app.harness import FINANCE
from tests.faults.flows import assert_no_traceback_shown, everything_shown
from tests.security.conftest import BotOnThread

pytestmark = pytest.mark.slow  # hypothesis drives hundreds of requests through the app

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])

WORDS = ["issue", "status", "resend", "destroy", "closure", "list", "export", "digest", "retry", "help",
         "popbill", "payssam", "hiworks", "abillify", "tax", "cash", "bill", "invoice", "email", "sms", "fax",
         "talk", "now", "schedule", "off", "show", "pending", "from", "to", "INV-000001", "INV-999999",
         "popbill:INV-000001", "payssam:DEMO0001", "679-87-00433", "123-12-12312", "2024-02-30", "25:99",
         "<@U_BOB>", "<#C123|x>", "&lt;", "*bold*", "`code`", "\n", "-1", "0", "9" * 30]

command_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=20)), max_size=8).map(" ".join),
)


def _check_answer(status: int, body: str, echoed: str) -> None:
    assert status == 200, (status, body)
    assert_no_traceback_shown_in(body, echoed)


def assert_no_traceback_shown_in(body: str, echoed: str) -> None:
    from tests.faults.flows import TRACEBACK_MARKERS, _forms

    for form in _forms(echoed) if echoed else []:
        body = body.replace(form, "")
    for marker in TRACEBACK_MARKERS:
        assert marker not in body, f"{marker!r} in the answer: {body[:800]}"


@FUZZ
@given(text=command_text)
def test_any_invoice_command_text_gets_an_answer_and_never_a_traceback(bot_on_thread: BotOnThread,
                                                                      text: str) -> None:
    bot = bot_on_thread.bot
    seen = len(everything_shown(bot))

    response = bot_on_thread.run(bot.command(text, user="U_ALICE", channel=FINANCE))

    _check_answer(response.status_code, response.text, text)
    assert_no_traceback_shown(bot, echoed=[text, *text.split()], since=seen)


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value[:75] or "-"}, "value": value}


JUNK = st.one_of(st.none(), st.integers(), st.text(max_size=40), st.lists(st.text(max_size=8), max_size=3),
                 st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2))
NUMBER = st.one_of(st.integers(-10, 10**13), st.decimals(allow_nan=False, allow_infinity=False, places=3),
                   st.text(max_size=8)).map(str)


def _plausible(prompt: Prompt) -> st.SearchStrategy[dict[str, Any]]:
    """A state value of the element's own shape, with arbitrary content."""
    kind = prompt.type
    text = st.text(max_size=300)
    if prompt.block_id == "items":
        line = st.builds(lambda n, q, p: f"{n} | {q} | {p}", st.text(max_size=30), NUMBER, NUMBER)
        text = st.one_of(text, st.lists(line, min_size=1, max_size=5).map("\n".join))
    if prompt.block_id == "buyer_bizno":
        text = st.one_of(text, st.from_regex(r"\A[0-9]{3}-?[0-9]{2}-?[0-9]{5}\Z"))
    if kind in ("static_select", "radio_buttons", "external_select"):
        values = st.one_of(st.sampled_from([v for v, _ in prompt.options] or [""]), st.text(max_size=30))
        return st.builds(lambda v: {"type": kind, "selected_option": _option(v)}, values) | st.just(
            {"type": kind, "selected_option": None})
    if kind == "datepicker":
        return st.builds(lambda d: {"type": kind, "selected_date": d},
                         st.one_of(st.dates().map(str), st.text(max_size=12), st.none()))
    if kind in ("checkboxes", "multi_static_select"):
        return st.builds(lambda vs: {"type": kind, "selected_options": [_option(v) for v in vs]},
                         st.lists(st.text(max_size=10), max_size=3))
    return st.builds(lambda v: {"type": kind, "value": v}, st.one_of(text, st.none()))


def _element_state(prompt: Prompt) -> st.SearchStrategy[dict[str, Any]]:
    junk = st.builds(lambda key, value: {"type": prompt.type, key: value},
                     st.sampled_from(["value", "selected_option", "selected_date", "selected_options"]), JUNK)
    return st.one_of(_plausible(prompt), _plausible(prompt), junk)


def _form_values(prompts: list[Prompt]) -> st.SearchStrategy[dict[str, Any]]:
    def keyed(prompt: Prompt) -> st.SearchStrategy[dict[str, Any]]:
        return _element_state(prompt).map(lambda state: {prompt.action_id: state})

    return st.fixed_dictionaries({}, optional={p.block_id: keyed(p) for p in prompts})


def _issue_modal(bot_on_thread: BotOnThread) -> dict[str, Any]:
    bot = bot_on_thread.bot
    bot_on_thread.run(bot.command("issue", user="U_ALICE"))
    return bot.last_modal()


@FUZZ
@given(data=st.data())
def test_any_issue_form_state_is_answered_with_form_errors_or_a_request_never_a_traceback(
    bot_on_thread: BotOnThread, data: st.DataObject
) -> None:
    bot = bot_on_thread.bot
    modal = _issue_modal(bot_on_thread)
    values = data.draw(_form_values(modal_to_prompts(modal)), label="state.values")
    metadata = data.draw(st.one_of(st.just(modal.get("private_metadata", "")), st.text(max_size=60)),
                         label="private_metadata")
    seen = len(everything_shown(bot))

    request = bot.factory.view_submission(user_id="U_ALICE", view={**modal, "private_metadata": metadata},
                                          values=values)
    response = bot_on_thread.run(bot.send(request))
    bot_on_thread.run(settle_tasks(30))

    inputs = [metadata] + [str(v) for block in values.values() for state in block.values()
                           for v in (state.values() if isinstance(state, dict) else [state])]
    inputs = [json.dumps(i, ensure_ascii=False) if not isinstance(i, str) else i for i in inputs]
    _check_answer(response.status_code, "", "")
    if response.text:
        answer = response.json()
        assert answer.get("response_action") == "errors", answer
        for message in answer["errors"].values():
            assert_no_traceback_shown_in(str(message), "")
    assert_no_traceback_shown(bot, echoed=[i for i in inputs if i], since=seen)

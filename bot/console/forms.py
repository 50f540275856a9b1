"""Modals as console questions, and the answers back as ``view.state.values``.

`modal_to_prompts` turns each input block into a `Prompt`; `build_view_state` turns the
answers into the state Slack would submit, in Slack's exact shape, so the app's own
view_submission handler runs unchanged. Answers Slack's client would refuse before
submitting (an option that is not offered, a malformed date, an empty required input)
raise ValueError with a message the console shows as is.

A choice can be answered in Korean as in English: `영수`, `청구`, `면세`, `세금계산서`, `팝빌`
name the option whose value they mean (`KOREAN_ANSWERS`, and the `/invoice` words of
`commands.slack.parser`), so a Korean console day needs no English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.views import View

from bot.console.mrkdwn import text_of
from commands.slack.parser.korean import nfc
from commands.slack.parser.tokens import KIND_WORDS, PROVIDER_WORDS
from providers.models import DocumentKind, Purpose

__all__ = ["KOREAN_ANSWERS", "Prompt", "build_view_state", "modal_to_prompts"]

_OPTION_TYPES = frozenset({"static_select", "radio_buttons", "external_select"})
_MULTI_OPTION_TYPES = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})
#: Inputs whose state is one string under a type-specific key.
_SINGLE_KEYS = {"timepicker": "selected_time", "users_select": "selected_user",
                "conversations_select": "selected_conversation", "channels_select": "selected_channel"}
_YES = frozenset({"y", "yes", "true", "on", "x", "✓", "예", "네", "응"})
_NO = frozenset({"n", "no", "false", "off", "아니오", "아니요", "아니"})

#: Korean answers to the modal's choices, each naming an option value
KOREAN_ANSWERS: Mapping[str, str] = {
    "영수": Purpose.RECEIPT.value,
    "청구": Purpose.CHARGE.value,
    "면세": DocumentKind.EXEMPT_INVOICE.value,
    "과세": DocumentKind.TAX_INVOICE.value,
    **{word: kind.value for word, kind in KIND_WORDS.items() if not word.isascii()},
    **{word: provider.value for word, provider in PROVIDER_WORDS.items() if not word.isascii()},
}


class Prompt(BaseModel):
    """One modal input the console asks for."""

    model_config = ConfigDict(frozen=True)

    block_id: str
    action_id: str
    label: str
    type: str
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    optional: bool = False
    initial: str | tuple[str, ...] | None = None
    hint: str | None = None
    multiline: bool = False
    placeholder: str | None = None
    option_texts: tuple[Mapping[str, Any], ...] = ()  # the options' `text` objects, echoed back in state
    dispatch: bool = False  # the block sets ``dispatch_action``: the app may rebuild the form on this answer


# -- modal -> prompts ----------------------------------------------------------------------


def _initial_of(element: Mapping[str, Any]) -> str | tuple[str, ...] | None:
    """What the input shows before the user touches it (kept when the answer is empty)."""
    if isinstance(element.get("initial_value"), str):
        return str(element["initial_value"])
    if isinstance(element.get("initial_option"), Mapping):
        return str(element["initial_option"].get("value", ""))
    for key in ("initial_date", "initial_time"):
        if isinstance(element.get(key), str):
            return str(element[key])
    if isinstance(element.get("initial_options"), list):
        return tuple(str(o.get("value", "")) for o in element["initial_options"])
    if isinstance(element.get("initial_users"), list):
        return tuple(str(u) for u in element["initial_users"])
    for key in ("initial_conversation", "initial_channel", "initial_user"):
        if isinstance(element.get(key), str):
            return str(element[key])
    return None


def _prompt(block: Mapping[str, Any]) -> Prompt:
    element = block.get("element") or {}
    raw_options = list(element.get("options", []) or [])
    for group in element.get("option_groups", []) or []:
        raw_options.extend(group.get("options", []) or [])
    return Prompt(
        block_id=str(block.get("block_id", "")),
        action_id=str(element.get("action_id", "")),
        label=text_of(block.get("label")),
        type=str(element.get("type", "")),
        options=tuple((str(o.get("value", "")), text_of(o.get("text"))) for o in raw_options),
        optional=bool(block.get("optional", False)),
        initial=_initial_of(element),
        hint=text_of(block.get("hint")) or None,
        multiline=bool(element.get("multiline", False)),
        placeholder=text_of(element.get("placeholder")) or None,
        option_texts=tuple(dict(o.get("text") or {}) for o in raw_options),
        dispatch=bool(block.get("dispatch_action", False)),
    )


def modal_to_prompts(view: View | Mapping[str, Any]) -> list[Prompt]:
    """Each input block of a modal as a question for the console, in order."""
    data = view.to_dict() if isinstance(view, View) else dict(view)
    return [_prompt(block) for block in data.get("blocks", []) or []
            if isinstance(block, Mapping) and block.get("type") == "input"]


# -- answers -> view.state -------------------------------------------------------------------


def _pick(prompt: Prompt, answer: str) -> int:
    """Index of the option an answer names: its value, its label, or its 1-based number."""
    wanted = answer.strip()
    for i, (value, _label) in enumerate(prompt.options):
        if wanted == value:
            return i
    lowered = wanted.lower()
    for i, (value, label) in enumerate(prompt.options):
        if lowered in (value.lower(), label.lower()):
            return i
    if wanted.isdigit() and 1 <= int(wanted) <= len(prompt.options):
        return int(wanted) - 1
    meant = KOREAN_ANSWERS.get(nfc(wanted))
    for i, (value, _label) in enumerate(prompt.options):
        if meant == value:
            return i
    offered = ", ".join(f"{n}) {label}" for n, (_, label) in enumerate(prompt.options, start=1))
    raise ValueError(f"“{answer}” is not one of the choices for {prompt.label}: {offered}")


def _option(prompt: Prompt, index: int) -> dict[str, Any]:
    value, label = prompt.options[index]
    text = dict(prompt.option_texts[index]) if index < len(prompt.option_texts) else {}
    return {"text": text or {"type": "plain_text", "text": label, "emoji": True}, "value": value}


def _selected_options(prompt: Prompt, answer: Any) -> list[dict[str, Any]]:
    """Checkbox-like answers: yes/no for a single box, else a list or comma-separated choices."""
    if isinstance(answer, str):
        said = nfc(answer.strip().lower())
        if len(prompt.options) == 1 and said in _YES:
            answer = [prompt.options[0][0]]
        elif said in _NO:
            answer = []
        else:
            answer = [a for a in answer.split(",") if a.strip()]
    return [_option(prompt, _pick(prompt, str(a))) for a in answer]


def _checked_date(prompt: Prompt, answer: Any) -> str:
    text = str(answer).strip()
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{prompt.label}: “{answer}” is not a date (YYYY-MM-DD)") from None
    return text


def _state_for(prompt: Prompt, answer: Any, enforce_required: bool) -> dict[str, Any]:
    kind = prompt.type
    empty = answer is None or (isinstance(answer, str) and not answer.strip()) or (
        isinstance(answer, (list, tuple)) and not answer)
    if empty and prompt.initial is not None:
        answer, empty = prompt.initial, False
    if empty and not prompt.optional and enforce_required:
        raise ValueError(f"{prompt.label} is required")
    if kind in _OPTION_TYPES:
        return {"type": kind, "selected_option": None if empty else _option(prompt, _pick(prompt, str(answer)))}
    if kind in _MULTI_OPTION_TYPES:
        return {"type": kind, "selected_options": [] if empty else _selected_options(prompt, answer)}
    if kind == "datepicker":
        return {"type": kind, "selected_date": None if empty else _checked_date(prompt, answer)}
    if kind == "multi_users_select":
        users = answer.replace(",", " ").split() if isinstance(answer, str) else list(answer or [])
        return {"type": kind, "selected_users": [] if empty else [str(u) for u in users]}
    if kind in _SINGLE_KEYS:
        return {"type": kind, _SINGLE_KEYS[kind]: None if empty else str(answer).strip()}
    # text and number inputs, and any input the console does not know, answer a plain value
    return {"type": kind, "value": None if empty else str(answer)}


def build_view_state(prompts: Sequence[Prompt], answers: Mapping[str, Any], *,
                     enforce_required: bool = True) -> dict[str, dict[str, Any]]:
    """``view.state.values`` for the answers (keyed by block_id), shaped exactly as Slack sends it.

    An unanswered input keeps its initial value, as in Slack. Raises ValueError when an
    answer is not one of a select's options, a date is malformed, or (unless
    `enforce_required` is False) a required input is left empty: Slack's client refuses
    those before submitting.
    """
    return {p.block_id: {p.action_id: _state_for(p, answers.get(p.block_id), enforce_required)} for p in prompts}

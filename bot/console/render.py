"""Render what the app asks Slack to do as terminal text, and drive modals from a console.

The console runs the real app against the Slack double; the double's event sink hands
each recorded call to `render_call`, which prints a readable version. Buttons become
numbered choices (`Choice`) the console can "click" by building a block_actions
payload, and `modal_to_prompts` / `build_view_state` turn a modal into questions and
the answers back into ``view.state.values`` in Slack's exact shape, so the app's own
view_submission handler runs unchanged.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from commands.slack.formatting import format_bytes

__all__ = [
    "Choice",
    "Prompt",
    "Rendered",
    "build_view_state",
    "collect_choices",
    "modal_to_prompts",
    "render_blocks",
    "render_call",
    "render_message",
    "strip_mrkdwn",
]

_RULE = "─" * 40

_VALUE_TYPES = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_input"})
_OPTION_TYPES = frozenset({"static_select", "radio_buttons", "external_select"})
_MULTI_OPTION_TYPES = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})
_YES = frozenset({"y", "yes", "true", "on", "x", "✓"})


class Choice(NamedTuple):
    """A clickable element shown as ``[number] label``."""

    number: int
    action_id: str
    value: str | None
    block_id: str | None
    label: str


class Rendered(NamedTuple):
    text: str
    choices: list[Choice]


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


# -- mrkdwn ------------------------------------------------------------------------------

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])")
_CODE = re.compile(r"`([^`\n]+)`")


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        if label:
            return label
        return "@" + target[1:].split("^")[0]
    if target.startswith("mailto:"):
        return label or target[7:]
    return f"{label} ({target})" if label and label != target else target


def strip_mrkdwn(text: str) -> str:
    """Slack mrkdwn to plain text: links and mentions readable, emphasis markers removed."""
    text = _LINK.sub(_link, text)
    text = text.replace("```", "")
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRIKE.sub(r"\1", text)
    return html.unescape(text)


# -- blocks ------------------------------------------------------------------------------


def _as_dicts(blocks: Sequence[Block | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for block in blocks or ():
        if isinstance(block, Block):
            out.append(block.to_dict())
        elif isinstance(block, Mapping):
            out.append(dict(block))
    return out


def _text_of(obj: Any) -> str:
    """The text of a text object (plain or mrkdwn), stripped."""
    if isinstance(obj, str):
        return strip_mrkdwn(obj)
    if isinstance(obj, Mapping):
        text = obj.get("text")
        if isinstance(text, str):
            return strip_mrkdwn(text) if obj.get("type") == "mrkdwn" else html.unescape(text)
    return ""


def _rich_text(element: Any) -> str:
    if isinstance(element, Mapping):
        if isinstance(element.get("text"), str):
            return str(element["text"])
        if element.get("type") == "user":
            return f"@{element.get('user_id', '')}"
        if element.get("type") == "link":
            return str(element.get("text") or element.get("url", ""))
        return "".join(_rich_text(e) for e in element.get("elements", []) or [])
    return ""


def _field(obj: Any) -> str:
    lines = [line for line in _text_of(obj).splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]}: {' · '.join(lines[1:])}"


class _Walker:
    def __init__(self, start: int) -> None:
        self.number = start
        self.choices: list[Choice] = []

    def element(self, element: Mapping[str, Any], block_id: str | None) -> str:
        kind = element.get("type")
        if kind == "button":
            label = _text_of(element.get("text"))
            if element.get("url"):
                return f"{label if label.startswith('🔗') else '🔗 ' + label}: {element['url']}"
            choice = Choice(self.number, str(element.get("action_id", "")), element.get("value"), block_id, label)
            self.choices.append(choice)
            self.number += 1
            marker = {"primary": " ✔", "danger": " ✖"}.get(str(element.get("style")), "")
            return f"[{choice.number}] {label}{marker}"
        if kind in ("static_select", "overflow", "radio_buttons", "checkboxes"):
            labels = [_text_of(o.get("text")) for o in element.get("options", []) or [] if isinstance(o, Mapping)]
            return f"(choose: {' / '.join(labels)})"
        if kind == "image":
            return f"[image: {element.get('alt_text', '')}]"
        if kind in ("plain_text", "mrkdwn"):
            return _text_of(element)
        return f"[{kind}]"

    def block(self, block: Mapping[str, Any]) -> list[str]:
        kind = block.get("type")
        block_id = block.get("block_id")
        if kind == "header":
            title = _text_of(block.get("text"))
            return ["", title, "═" * min(max(len(title), 3), 60)]
        if kind == "section":
            lines = []
            if block.get("text"):
                lines.extend(_text_of(block["text"]).splitlines())
            fields = [_field(f) for f in block.get("fields", []) or []]
            lines.extend(f"  {f}" for f in fields if f)
            accessory = block.get("accessory")
            if isinstance(accessory, Mapping):
                shown = self.element(accessory, block_id)
                if lines:
                    lines[-1] += f"   {shown}"
                else:
                    lines.append(shown)
            return lines
        if kind == "context":
            parts = [self.element(e, block_id) for e in block.get("elements", []) or [] if isinstance(e, Mapping)]
            return [f"  · {p}" for p in " ".join(parts).splitlines() if p.strip()]
        if kind == "divider":
            return [_RULE]
        if kind == "actions":
            parts = [self.element(e, block_id) for e in block.get("elements", []) or [] if isinstance(e, Mapping)]
            return ["   ".join(parts)]
        if kind == "image":
            title = _text_of(block.get("title")) if block.get("title") else ""
            return [f"[image: {title or block.get('alt_text', '')}] {block.get('image_url', '')}".rstrip()]
        if kind == "input":
            optional = " (optional)" if block.get("optional") else ""
            element = block.get("element") or {}
            return [f"▸ {_text_of(block.get('label'))}{optional} — {element.get('type', '?')}"]
        if kind == "markdown":
            return str(block.get("text", "")).splitlines()
        if kind == "rich_text":
            return _rich_text(block).splitlines()
        return [f"[{kind} block]"]


def render_message(blocks: Sequence[Block | Mapping[str, Any]] | None, *, start: int = 1) -> Rendered:
    """Blocks as text plus the numbered choices (buttons) found in them, numbered from `start`."""
    walker = _Walker(start)
    lines: list[str] = []
    for block in _as_dicts(blocks):
        lines.extend(walker.block(block))
    while lines and not lines[0].strip():
        lines.pop(0)
    return Rendered("\n".join(lines), walker.choices)


def render_blocks(blocks: Sequence[Block | Mapping[str, Any]] | None, *, start: int = 1) -> str:
    return render_message(blocks, start=start).text


def collect_choices(blocks: Sequence[Block | Mapping[str, Any]] | None, *, start: int = 1) -> list[Choice]:
    return render_message(blocks, start=start).choices


# -- calls --------------------------------------------------------------------------------


def _where(channel: Any, names: Mapping[str, str]) -> str:
    channel = str(channel or "?")
    if channel in names:
        return f"#{names[channel].lstrip('#')}"
    if channel.startswith("D"):
        return "a DM"
    if channel.startswith(("U", "W")):
        return f"a DM with @{channel}"
    if channel.startswith("#"):
        return channel
    return f"#{channel}"


def _body(args: Mapping[str, Any]) -> str:
    blocks = args.get("blocks")
    if isinstance(blocks, list) and blocks:
        return render_blocks(blocks)
    return strip_mrkdwn(str(args.get("text") or ""))


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


def _view_of(args: Mapping[str, Any]) -> Mapping[str, Any]:
    view = args.get("view")
    return view if isinstance(view, Mapping) else {}


def render_call(method: str, args: Mapping[str, Any], response: Mapping[str, Any] | None = None, *,
                channel_names: Mapping[str, str] | None = None) -> str:
    """A readable line (and body) for one Web API call; "" for calls nobody needs to see.

    Args:
        method: e.g. ``chat.postMessage`` (or ``response_url`` from the double).
        args: the call's arguments.
        response: Slack's answer, if known (gives uploaded files' names and sizes).
        channel_names: channel id -> name, for ``#finance`` rather than ``#C0123``.
    """
    names = channel_names or {}
    response = response or {}
    if response and response.get("ok") is False:
        return f"⚠️ {method} failed: {response.get('error', 'unknown error')}"
    if method == "chat.postMessage":
        thread = " (in a thread)" if args.get("thread_ts") else ""
        return f"💬 to {_where(args.get('channel'), names)}{thread}:\n{_indent(_body(args))}"
    if method == "chat.update":
        return f"✏️ updated a message in {_where(args.get('channel'), names)}:\n{_indent(_body(args))}"
    if method == "chat.postEphemeral":
        return (f"👁 only @{args.get('user', '?')} sees this in {_where(args.get('channel'), names)}:\n"
                f"{_indent(_body(args))}")
    if method == "chat.delete":
        return f"🗑️ deleted a message in {_where(args.get('channel'), names)}"
    if method in ("views.open", "views.push", "views.update"):
        view = _view_of(args)
        verb = {"views.open": "opened", "views.push": "pushed", "views.update": "updated"}[method]
        title = _text_of(view.get("title")) or "untitled"
        return f"🪟 modal “{title}” {verb}:\n{_indent(render_blocks(view.get('blocks') or []))}"
    if method == "views.publish":
        home = render_blocks(_view_of(args).get("blocks") or [])
        return f"🏠 App Home of @{args.get('user_id', '?')} updated:\n{_indent(home)}"
    if method == "files.completeUploadExternal":
        return _render_upload(args, response, names)
    if method == "response_url":
        if args.get("delete_original"):
            return "↩️ deleted the original message"
        audience = "in the channel" if args.get("response_type") == "in_channel" else "only you see it"
        replace = ", replacing the original message" if args.get("replace_original") else ""
        return f"↩️ reply ({audience}{replace}):\n{_indent(_body(args))}"
    if method in ("auth.test", "users.info", "usergroups.users.list", "conversations.open",
                  "files.getUploadURLExternal", "file.upload"):
        return ""
    return f"⚙️ {method}"


def _render_upload(args: Mapping[str, Any], response: Mapping[str, Any], names: Mapping[str, str]) -> str:
    files = response.get("files") if isinstance(response.get("files"), list) else args.get("files")
    where = _where(args.get("channel_id") or args.get("channels"), names) if (
        args.get("channel_id") or args.get("channels")) else "nowhere (not shared)"
    lines = []
    for f in files if isinstance(files, list) else []:
        if not isinstance(f, Mapping):
            continue
        name = f.get("name") or f.get("title") or f.get("id", "a file")
        size = f" ({format_bytes(int(f['size']))})" if isinstance(f.get("size"), int) else ""
        lines.append(f"📎 uploaded {name}{size} to {where}")
    if args.get("initial_comment"):
        lines.append(_indent(strip_mrkdwn(str(args["initial_comment"]))))
    return "\n".join(lines) or f"📎 uploaded a file to {where}"


# -- modals ---------------------------------------------------------------------------------


def modal_to_prompts(view: View | Mapping[str, Any]) -> list[Prompt]:
    """Each input block of a modal as a question for the console, in order."""
    data = view.to_dict() if isinstance(view, View) else dict(view)
    prompts = []
    for block in data.get("blocks", []) or []:
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        kind = str(element.get("type", ""))
        raw_options = list(element.get("options", []) or [])
        for group in element.get("option_groups", []) or []:
            raw_options.extend(group.get("options", []) or [])
        options = tuple((str(o.get("value", "")), _text_of(o.get("text"))) for o in raw_options)
        initial: str | tuple[str, ...] | None = None
        if isinstance(element.get("initial_value"), str):
            initial = element["initial_value"]
        elif isinstance(element.get("initial_option"), Mapping):
            initial = str(element["initial_option"].get("value", ""))
        elif isinstance(element.get("initial_date"), str):
            initial = element["initial_date"]
        elif isinstance(element.get("initial_time"), str):
            initial = element["initial_time"]
        elif isinstance(element.get("initial_options"), list):
            initial = tuple(str(o.get("value", "")) for o in element["initial_options"])
        prompts.append(Prompt(
            block_id=str(block.get("block_id", "")),
            action_id=str(element.get("action_id", "")),
            label=_text_of(block.get("label")),
            type=kind,
            options=options,
            optional=bool(block.get("optional", False)),
            initial=initial,
            hint=_text_of(block.get("hint")) or None,
            multiline=bool(element.get("multiline", False)),
            placeholder=_text_of(element.get("placeholder")) or None,
            option_texts=tuple(dict(o.get("text") or {}) for o in raw_options),
        ))
    return prompts


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
    offered = ", ".join(f"{n}) {label}" for n, (_, label) in enumerate(prompt.options, start=1))
    raise ValueError(f"“{answer}” is not one of the choices for {prompt.label}: {offered}")


def _option(prompt: Prompt, index: int) -> dict[str, Any]:
    value, label = prompt.options[index]
    text = dict(prompt.option_texts[index]) if index < len(prompt.option_texts) else {}
    return {"text": text or {"type": "plain_text", "text": label, "emoji": True}, "value": value}


def _state_for(prompt: Prompt, answer: Any, enforce_required: bool) -> dict[str, Any]:
    kind = prompt.type
    empty = answer is None or (isinstance(answer, str) and not answer.strip()) or (
        isinstance(answer, (list, tuple)) and not answer)
    if empty and prompt.initial is not None:
        answer, empty = prompt.initial, False
    if empty and not prompt.optional and enforce_required:
        raise ValueError(f"{prompt.label} is required")
    state: dict[str, Any] = {"type": kind}
    if kind in _VALUE_TYPES:
        state["value"] = None if empty else str(answer)
    elif kind in _OPTION_TYPES:
        state["selected_option"] = None if empty else _option(prompt, _pick(prompt, str(answer)))
    elif kind in _MULTI_OPTION_TYPES:
        if empty:
            state["selected_options"] = []
        else:
            if isinstance(answer, str):
                if len(prompt.options) == 1 and answer.strip().lower() in _YES:
                    answer = [prompt.options[0][0]]
                elif answer.strip().lower() in ("n", "no", "false", "off"):
                    answer = []
                else:
                    answer = [a for a in answer.split(",") if a.strip()]
            state["selected_options"] = [_option(prompt, _pick(prompt, str(a))) for a in answer]
    elif kind == "datepicker":
        if not empty:
            try:
                dt.date.fromisoformat(str(answer).strip())
            except ValueError:
                raise ValueError(f"{prompt.label}: “{answer}” is not a date (YYYY-MM-DD)") from None
        state["selected_date"] = None if empty else str(answer).strip()
    elif kind == "timepicker":
        state["selected_time"] = None if empty else str(answer).strip()
    elif kind == "users_select":
        state["selected_user"] = None if empty else str(answer).strip()
    elif kind == "conversations_select":
        state["selected_conversation"] = None if empty else str(answer).strip()
    elif kind == "channels_select":
        state["selected_channel"] = None if empty else str(answer).strip()
    else:
        state["value"] = None if empty else str(answer)
    return state


def build_view_state(prompts: Sequence[Prompt], answers: Mapping[str, Any], *,
                     enforce_required: bool = True) -> dict[str, dict[str, Any]]:
    """``view.state.values`` for the answers (keyed by block_id), shaped exactly as Slack sends it.

    An unanswered input keeps its initial value, as in Slack. Raises ValueError when an
    answer is not one of a select's options, a date is malformed, or (unless
    `enforce_required` is False) a required input is left empty: Slack's client refuses
    those before submitting.
    """
    return {p.block_id: {p.action_id: _state_for(p, answers.get(p.block_id), enforce_required)} for p in prompts}

"""Render what the app asks Slack to do as terminal text.

The console runs the real app against the Slack double; the double's event sink hands
each recorded call to `render_call`, which prints a readable version. Buttons become
numbered choices (`Choice`) the console can "click" by building a block_actions payload.
Modals become questions through `bot.console.forms` (re-exported here, where callers
have always found them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from slack_sdk.models.blocks import Block

from bot.console.forms import Prompt, build_view_state, modal_to_prompts
from bot.console.mrkdwn import rich_text, strip_mrkdwn, text_of
from commands.i18n import _
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
#: Calls that change nothing a user sees.
_QUIET = frozenset({"auth.test", "users.info", "usergroups.users.list", "conversations.open",
                    "files.getUploadURLExternal", "file.upload"})


class Choice(NamedTuple):
    """A clickable element shown as ``[number] label``."""

    number: int
    action_id: str
    value: str | None
    block_id: str | None
    label: str


class Rendered(NamedTuple):
    """A message as text, and the buttons in it the console can click."""

    text: str
    choices: list[Choice]


# -- blocks ------------------------------------------------------------------------------


def _as_dicts(blocks: Sequence[Block | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for block in blocks or ():
        if isinstance(block, Block):
            out.append(block.to_dict())
        elif isinstance(block, Mapping):
            out.append(dict(block))
    return out


def _field(obj: Any) -> str:
    lines = [line for line in text_of(obj).splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]}: {' · '.join(lines[1:])}"


class _Walker:
    """Walks a message's blocks in order, numbering buttons as it meets them, so the
    numbers printed are the ones the console's ``3`` clicks."""

    def __init__(self, start: int) -> None:
        self.number = start
        self.choices: list[Choice] = []

    def element(self, element: Mapping[str, Any], block_id: str | None) -> str:
        kind = element.get("type")
        if kind == "button":
            label = text_of(element.get("text"))
            if element.get("url"):
                return f"{label if label.startswith('🔗') else '🔗 ' + label}: {element['url']}"
            choice = Choice(self.number, str(element.get("action_id", "")), element.get("value"), block_id, label)
            self.choices.append(choice)
            self.number += 1
            marker = {"primary": " ✔", "danger": " ✖"}.get(str(element.get("style")), "")
            return f"[{choice.number}] {label}{marker}"
        if kind in ("static_select", "overflow", "radio_buttons", "checkboxes"):
            labels = [text_of(o.get("text")) for o in element.get("options", []) or [] if isinstance(o, Mapping)]
            return _("(choose: {options})").format(options=" / ".join(labels))
        if kind == "image":
            return f"[image: {element.get('alt_text', '')}]"
        if kind in ("plain_text", "mrkdwn"):
            return text_of(element)
        return f"[{kind}]"

    def section(self, block: Mapping[str, Any], block_id: str | None) -> list[str]:
        """Text, then fields one per line, with the accessory at the end of the last line."""
        lines = []
        if block.get("text"):
            lines.extend(text_of(block["text"]).splitlines())
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

    def block(self, block: Mapping[str, Any]) -> list[str]:
        kind = block.get("type")
        block_id = block.get("block_id")
        if kind == "header":
            title = text_of(block.get("text"))
            return ["", title, "═" * min(max(len(title), 3), 60)]
        if kind == "section":
            return self.section(block, block_id)
        if kind == "context":
            parts = [self.element(e, block_id) for e in block.get("elements", []) or [] if isinstance(e, Mapping)]
            return [f"  · {p}" for p in " ".join(parts).splitlines() if p.strip()]
        if kind == "divider":
            return [_RULE]
        if kind == "actions":
            parts = [self.element(e, block_id) for e in block.get("elements", []) or [] if isinstance(e, Mapping)]
            return ["   ".join(parts)]
        if kind == "image":
            title = text_of(block.get("title")) if block.get("title") else ""
            return [f"[image: {title or block.get('alt_text', '')}] {block.get('image_url', '')}".rstrip()]
        if kind == "input":
            optional = " (optional)" if block.get("optional") else ""
            element = block.get("element") or {}
            return [f"▸ {text_of(block.get('label'))}{optional} — {element.get('type', '?')}"]
        if kind == "markdown":
            return str(block.get("text", "")).splitlines()
        if kind == "rich_text":
            return rich_text(block).splitlines()
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
        return "⚠️ " + _("{method} failed: {error}").format(method=method,
                                                          error=response.get("error", _("unknown error")))
    where = _where(args.get("channel"), names)
    if method == "chat.postMessage":
        said = _("to {where} (in a thread):") if args.get("thread_ts") else _("to {where}:")
        return "💬 " + said.format(where=where) + f"\n{_indent(_body(args))}"
    if method == "chat.update":
        return "✏️ " + _("updated a message in {where}:").format(where=where) + f"\n{_indent(_body(args))}"
    if method == "chat.postEphemeral":
        return "👁 " + _("only {user} sees this in {where}:").format(user=f"@{args.get('user', '?')}", where=where) \
            + f"\n{_indent(_body(args))}"
    if method == "chat.delete":
        return "🗑️ " + _("deleted a message in {where}").format(where=where)
    if method in ("views.open", "views.push", "views.update"):
        view = _view_of(args)
        verb = {"views.open": _("opened"), "views.push": _("pushed"), "views.update": _("updated")}[method]
        title = text_of(view.get("title")) or _("untitled")
        return "🪟 " + _("modal “{title}” {verb}:").format(title=title, verb=verb) \
            + f"\n{_indent(render_blocks(view.get('blocks') or []))}"
    if method == "views.publish":
        home = render_blocks(_view_of(args).get("blocks") or [])
        return "🏠 " + _("App Home of {user} updated:").format(user=f"@{args.get('user_id', '?')}") \
            + f"\n{_indent(home)}"
    if method == "files.completeUploadExternal":
        return _render_upload(args, response, names)
    if method == "response_url":
        return _render_reply(args)
    return "" if method in _QUIET else f"⚙️ {method}"


def _render_reply(args: Mapping[str, Any]) -> str:
    """What the app posted to a response URL (Bolt's ``respond()``)."""
    if args.get("delete_original"):
        return "↩️ " + _("deleted the original message")
    audience = _("in the channel") if args.get("response_type") == "in_channel" else _("only you see it")
    replace = ", " + _("replacing the original message") if args.get("replace_original") else ""
    return "↩️ " + _("reply ({audience}):").format(audience=audience + replace) + f"\n{_indent(_body(args))}"


def _render_upload(args: Mapping[str, Any], response: Mapping[str, Any], names: Mapping[str, str]) -> str:
    files = response.get("files") if isinstance(response.get("files"), list) else args.get("files")
    where = _where(args.get("channel_id") or args.get("channels"), names) if (
        args.get("channel_id") or args.get("channels")) else _("nowhere (not shared)")
    lines = []
    for f in files if isinstance(files, list) else []:
        if not isinstance(f, Mapping):
            continue
        name = f.get("name") or f.get("title") or f.get("id", _("a file"))
        size = f" ({format_bytes(int(f['size']))})" if isinstance(f.get("size"), int) else ""
        lines.append("📎 " + _("uploaded {name} to {where}").format(name=f"{name}{size}", where=where))
    if args.get("initial_comment"):
        lines.append(_indent(strip_mrkdwn(str(args["initial_comment"]))))
    return "\n".join(lines) or "📎 " + _("uploaded a file to {where}").format(where=where)

"""Slack text as a terminal shows it: mrkdwn stripped, links and mentions readable.

Both the message renderer and the modal prompts read labels and text objects through
`text_of`, so a label reads the same in a card and in the question that fills it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["rich_text", "strip_mrkdwn", "text_of"]

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


def text_of(obj: Any) -> str:
    """The text of a text object (plain or mrkdwn) or a bare string, stripped; "" for anything else."""
    if isinstance(obj, str):
        return strip_mrkdwn(obj)
    if isinstance(obj, Mapping):
        text = obj.get("text")
        if isinstance(text, str):
            return strip_mrkdwn(text) if obj.get("type") == "mrkdwn" else html.unescape(text)
    return ""


def rich_text(element: Any) -> str:
    """The words of a rich_text block or element, its sections joined."""
    if isinstance(element, Mapping):
        if isinstance(element.get("text"), str):
            return str(element["text"])
        if element.get("type") == "user":
            return f"@{element.get('user_id', '')}"
        if element.get("type") == "link":
            return str(element.get("text") or element.get("url", ""))
        return "".join(rich_text(e) for e in element.get("elements", []) or [])
    return ""

"""Hostile user text, and where in a Slack payload it must never arrive raw.

Slack parses a message's top-level ``text`` (the notification) and every ``mrkdwn`` text
object: there ``<!channel>`` notifies everyone, ``<@U…>`` pings someone, ``<url|label>`` is a
link with a lying label, ``*bold*`` formats. ``plain_text`` objects and input values are
shown as typed, so they are not searched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: one hostile string per control sequence, each typed where a person may type text
HOSTILE = (
    "<!channel> pay now",
    "<@U0BADBAD> approve this",
    "<https://evil.example/pay|Click to pay>",
    "Smith & Sons <b>",
    "*bold* and _italic_ and ~struck~",
)

#: what may not appear raw anywhere Slack renders mrkdwn
RAW_MARKERS = ("<!channel", "<@U0BADBAD", "<https://evil.example", "Smith & Sons", "<b>", "*bold*", "_italic_",
               "~struck~")


def mrkdwn_texts(payload: Any, *, top_level: bool = True) -> Iterator[str]:
    """Every string Slack would read as mrkdwn in `payload` (a message's args, blocks, a view)."""
    if isinstance(payload, str):
        if top_level:
            yield payload
        return
    if isinstance(payload, list):
        for item in payload:
            yield from mrkdwn_texts(item, top_level=False)
        return
    if not isinstance(payload, dict):
        return
    if payload.get("type") == "mrkdwn" and isinstance(payload.get("text"), str):
        yield payload["text"]
        return
    if payload.get("type") == "plain_text":
        return
    for key, value in payload.items():
        if key == "text" and isinstance(value, str) and top_level:
            yield value  # a message's top-level text (its notification)
        elif key == "blocks" and isinstance(value, str):
            yield from mrkdwn_texts(json.loads(value), top_level=False)  # form-encoded Web API args
        elif isinstance(value, (dict, list)):
            yield from mrkdwn_texts(value, top_level=False)


def raw_markers(payload: Any) -> list[tuple[str, str]]:
    """(marker, text) for every hostile sequence that arrived raw in a mrkdwn text of `payload`."""
    found = []
    for text in mrkdwn_texts(payload):
        for marker in RAW_MARKERS:
            if marker in text:
                found.append((marker, text[:300]))
    return found

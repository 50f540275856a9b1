"""The small Block Kit pieces every builder is made of.

Each one clips its text to the limit Slack enforces for that field, so a builder can pass
user text straight in and a message is never refused for a long buyer name. The digest
and App Home build from the same pieces, so a section looks the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from commands.slack.formatting import SANDBOX_NOTICE, clip, escape_mrkdwn

__all__ = [
    "LINE_LIMIT",
    "ROWS_PER_SECTION",
    "channel_mention",
    "context",
    "fields",
    "flat",
    "header",
    "lines_sections",
    "md",
    "plain",
    "sandbox_context",
    "section",
    "user_mention",
]

#: what a Slack user or channel id is made of (U123ABC; test workspaces use U_BOB)
_SLACK_ID = re.compile(r"[A-Za-z0-9_]{1,40}")
ROWS_PER_SECTION = 10
LINE_LIMIT = 290  # 10 lines x 290 < 3000, the section text limit


def plain(text: str, limit: int = 3000) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def md(text: str, limit: int = 3000) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit))


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text.replace("\n", " "), 150))


def section(text: str) -> SectionBlock:
    return SectionBlock(text=md(text))


def fields(pairs: Sequence[tuple[str, str]]) -> SectionBlock:
    """A two-column section; at most 10 fields, each clipped to Slack's 2000 (not checked by slack_sdk)."""
    return SectionBlock(fields=[md(f"*{label}*\n{value}", 2000) for label, value in pairs[:10]])


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[md(t) for t in texts[:10]])


def sandbox_context() -> ContextBlock:
    """The visible SANDBOX marker every sandbox document message carries."""
    return context(SANDBOX_NOTICE)


def user_mention(user_id: str | None) -> str:
    """A Slack user id as a mention; anything else (a system actor) as escaped text."""
    if not user_id:
        return "—"
    if _SLACK_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape_mrkdwn(clip(user_id, 80))


def channel_mention(channel_id: str) -> str:
    """A Slack channel id as a channel link; anything else as escaped text."""
    if _SLACK_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escape_mrkdwn(clip(channel_id, 80))


def flat(text: str) -> str:
    """`text` on one line: user text must not break a list line or a header."""
    return " ".join(text.split())


def lines_sections(lines: Sequence[str]) -> list[Block]:
    """Lines grouped into sections of ten, each line clipped so a section stays under 3000."""
    blocks: list[Block] = []
    for start in range(0, len(lines), ROWS_PER_SECTION):
        chunk = [clip(line, LINE_LIMIT) for line in lines[start:start + ROWS_PER_SECTION]]
        blocks.append(section("\n".join(chunk)))
    return blocks

"""Slack's own limits on blocks and views, checked with slack_sdk's models.

The double refuses what Slack would refuse (``invalid_blocks``, ``invalid_arguments``), so a
Block Kit builder that breaks a limit fails in tests and in the console, not first in Slack.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

__all__ = ["MAX_MESSAGE_BLOCKS", "invalid_blocks", "invalid_view"]

MAX_MESSAGE_BLOCKS = 50

#: What slack_sdk raises when a model breaks one of Slack's limits or is malformed.
_MODEL_ERRORS = (SlackObjectFormationError, TypeError, KeyError, AttributeError, ValueError)


def invalid_blocks(blocks: Any) -> list[str]:
    """Problems Slack would report for `blocks` (empty when they would be accepted or absent)."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["blocks must be a JSON array"]
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        return [f"no more than {MAX_MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"]
    problems = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"missing type [json-pointer:/blocks/{i}]")
            continue
        try:
            parsed = Block.parse(block)
            if parsed is not None:
                parsed.to_dict()
        except _MODEL_ERRORS as exc:
            problems.append(f"{exc} [json-pointer:/blocks/{i}]")
    return problems


def invalid_view(view: Any) -> list[str]:
    """Problems Slack would report for a modal or App Home `view`."""
    if not isinstance(view, dict):
        return ["view must be a JSON object"]
    try:
        View(**view).to_dict()
    except _MODEL_ERRORS as exc:
        return [str(exc)]
    return []

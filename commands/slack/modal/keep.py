"""Keeping what the user typed when the issue modal is rebuilt for another provider or kind.

When the provider or kind select changes, the form is rebuilt (other kinds, other fields) and
sent with ``views.update``. Slack keeps an input's entry across an update only when the new view
has the same block_id and action_id; here every input of the rebuilt view also gets the entry
from ``view.state.values`` as its initial value, so nothing typed is lost whichever way Slack
(or the console, which renders initial values) shows it. A kept choice that the new form no
longer offers (a kind the new provider does not issue, a 영세율 treatment on a cash receipt) is
dropped, and the builder's own default stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DatePickerElement,
    EmailInputElement,
    InputBlock,
    PlainTextInputElement,
    StaticSelectElement,
)

from commands.slack.formatting import clip

__all__ = ["keep_entries"]


def _entry(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any] | None:
    """The state of a block's (single) action, whatever its action id was."""
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return None
    return next((v for v in block.values() if isinstance(v, Mapping)), None)


def _keep(element: Any, entry: Mapping[str, Any]) -> None:
    if isinstance(element, (PlainTextInputElement, EmailInputElement)):
        if isinstance(entry.get("value"), str) and entry["value"]:
            limit = getattr(element, "max_length", None) or 3000
            element.initial_value = clip(entry["value"], limit)
    elif isinstance(element, StaticSelectElement):
        option = entry.get("selected_option")
        wanted = option.get("value") if isinstance(option, Mapping) else None
        found = next((o for o in element.options or [] if getattr(o, "value", None) == wanted), None)
        if found is not None:
            element.initial_option = found
    elif isinstance(element, DatePickerElement):
        if isinstance(entry.get("selected_date"), str):
            element.initial_date = entry["selected_date"]
    elif isinstance(element, CheckboxesElement):
        chosen = entry.get("selected_options")
        if isinstance(chosen, list):
            wanted_values = {o.get("value") for o in chosen if isinstance(o, Mapping)}
            element.initial_options = [o for o in element.options or []
                                       if getattr(o, "value", None) in wanted_values] or None


def keep_entries(blocks: Iterable[Block], values: Mapping[str, Any] | None) -> None:
    """Give each input block of `blocks` the entry `values` (``view.state.values``) has for it."""
    if not isinstance(values, Mapping):
        return
    for block in blocks:
        if isinstance(block, InputBlock) and block.block_id:
            entry = _entry(values, block.block_id)
            if entry is not None:
                _keep(block.element, entry)

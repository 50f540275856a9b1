"""A "Request an invoice" step's inputs, read as the issue form's answers.

Workflow Builder hands the step plain values (``inputs``); they are put in the shape of the
issue modal's ``view.state.values`` and read by the same `parse_issue_submission`, so a step
is checked exactly as the form is (provider and kind, business number, contacts, items,
amounts, dates), before the workflow's own checks and approvals.

Inputs (manifest.yml ``functions.request_invoice``): ``provider``, ``kind`` (English or Korean
words, as `/invoice issue` takes them), ``requester`` (a user), ``channel`` (optional),
``buyer_business_number``, ``buyer_name``, ``buyer_email``, ``buyer_phone``, ``items`` (one
``name | quantity | unit price`` per line) or ``amount`` with ``description``, ``write_date``,
``memo``, ``purpose`` (charge/receipt), ``currency``, ``closure_override``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import _
from commands.slack.modal import parse_issue_submission
from commands.slack.modal.fields import IssueBlocks as B
from commands.slack.parser.tokens import KIND_WORDS, PROVIDER_WORDS
from commands.workflow import IssueDraft
from providers.base import Capabilities
from providers.models import DocumentKind, Provider

__all__ = ["RequestInputs", "read_request_inputs"]

#: text inputs, by the form block that reads them
_TEXT = {"buyer_business_number": B.BUYER_BIZNO, "buyer_name": B.BUYER_NAME, "buyer_ceo": B.BUYER_CEO,
         "buyer_email": B.BUYER_EMAIL, "buyer_phone": B.BUYER_PHONE, "items": B.ITEMS, "memo": B.MEMO,
         "closure_override": B.CLOSURE_OVERRIDE}
#: the input's name, by the form block, so a problem names what the workflow's author typed
_INPUT_OF = {**{block: name for name, block in _TEXT.items()}, B.PROVIDER: "provider", B.KIND: "kind",
             B.WRITE_DATE: "write_date", B.DUE_DATE: "due_date", B.PURPOSE: "purpose", B.CURRENCY: "currency",
             B.TRADE_USAGE: "trade_usage", B.IDENTITY: "identity_number"}


@dataclass(frozen=True)
class RequestInputs:
    """The draft and who asks, or the problems (`error`) to fail the step with."""

    draft: IssueDraft | None
    requester: str
    channel: str | None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def _word(value: Any) -> str:
    return str(value).strip().lower() if value is not None else ""


def _choice(value: Any, words: Mapping[str, Any], enum: type[Provider] | type[DocumentKind]) -> str | None:
    word = _word(value)
    found = words.get(word) or next((m for m in enum if m.value == word), None)
    return found.value if found is not None else (word or None)


def _items_text(inputs: Mapping[str, Any]) -> str | None:
    """The ``items`` lines, else one line from ``amount`` (and ``description``)."""
    items = inputs.get("items")
    if isinstance(items, list):
        items = "\n".join(str(i) for i in items)
    if items:
        return str(items)
    amount = inputs.get("amount")
    if amount in (None, ""):
        return None
    description = str(inputs.get("description") or _("Invoice")).replace("|", "/")
    return f"{description} | 1 | {amount}"


def _form_values(inputs: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """The inputs in the issue modal's ``view.state.values`` shape."""
    values: dict[str, Any] = {}

    def put(block: str, state: dict[str, Any]) -> None:
        values[block] = {B.action(block): state}

    for name, block in _TEXT.items():
        if inputs.get(name) not in (None, ""):
            put(block, {"type": "plain_text_input", "value": str(inputs[name])})
    items = _items_text(inputs)
    if items is not None:
        put(B.ITEMS, {"type": "plain_text_input", "value": items})
    for block, value in ((B.PROVIDER, _choice(inputs.get("provider"), PROVIDER_WORDS, Provider)),
                         (B.KIND, _choice(inputs.get("kind"), KIND_WORDS, DocumentKind)),
                         (B.PURPOSE, _word(inputs.get("purpose")) or None),
                         (B.CURRENCY, str(inputs.get("currency") or "").upper() or None)):
        if value:
            put(block, {"type": "static_select", "selected_option": {"value": value}})
    write_date = str(inputs.get("write_date") or today.isoformat())
    put(B.WRITE_DATE, {"type": "datepicker", "selected_date": write_date})
    if inputs.get("due_date"):
        put(B.DUE_DATE, {"type": "datepicker", "selected_date": str(inputs["due_date"])})
    return values


def read_request_inputs(inputs: Mapping[str, Any], *, today: dt.date,
                        offered: Mapping[Provider, Collection[DocumentKind]],
                        capabilities: Mapping[Provider, Capabilities]) -> RequestInputs:
    """Check the step's inputs as the issue form checks its answers."""
    requester = str(inputs.get("requester") or "").strip()
    channel = str(inputs.get("channel") or "").strip() or None
    if not requester:
        return RequestInputs(None, "", channel, _("requester: choose who asks for the invoice (a person)."))
    draft, errors, warnings = parse_issue_submission(_form_values(inputs, today), today=today, offered=offered,
                                                     capabilities=capabilities)
    if errors or draft is None:
        problems = "; ".join(f"{_INPUT_OF.get(block, block)}: {message}" for block, message in errors.items())
        return RequestInputs(None, requester, channel, problems or _("provider: check the step's inputs."), warnings)
    return RequestInputs(draft, requester, channel, None, warnings)

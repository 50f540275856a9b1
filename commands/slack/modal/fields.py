"""The issue modal's inputs: their block ids, and reading their submitted values.

Slack sends ``view.state.values`` as ``{block_id: {action_id: state}}``; these readers
tolerate any shape (a missing block, an unexpected action id, a wrong type) and answer
None, so validation never crashes on a payload it did not expect.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from providers.models import DocumentKind, Provider, Purpose
from providers.registry import CAPABILITIES

__all__ = [
    "CHECK_FIELD_BLOCKS",
    "CONFIRM_VALUE",
    "DEFAULT_KINDS",
    "NEEDS_BIZNO",
    "PURPOSE_LABELS",
    "IssueBlocks",
    "checked",
    "date_value",
    "selected",
    "text_value",
]

#: Which kinds each provider issues, unless the caller passes the live capabilities.
DEFAULT_KINDS: Mapping[Provider, frozenset[DocumentKind]] = {p: caps.kinds for p, caps in CAPABILITIES.items()}

#: Kinds filed with the tax office, which always need the buyer's business number.
NEEDS_BIZNO = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE,
                          DocumentKind.EXEMPT_INVOICE, DocumentKind.STATEMENT})

PURPOSE_LABELS: Mapping[Purpose, str] = {
    Purpose.CHARGE: "청구 — payment requested",
    Purpose.RECEIPT: "영수 — already paid",
}

CONFIRM_VALUE = "bizno_confirmed"


class IssueBlocks:
    """Block ids of the modal's inputs (errors are keyed by these)."""

    PROVIDER = "provider"
    KIND = "kind"
    BUYER_BIZNO = "buyer_bizno"
    BIZNO_CONFIRM = "bizno_confirm"
    BUYER_NAME = "buyer_name"
    BUYER_CEO = "buyer_ceo"
    BUYER_EMAIL = "buyer_email"
    BUYER_PHONE = "buyer_phone"
    ITEMS = "items"
    WRITE_DATE = "write_date"
    DUE_DATE = "due_date"
    PURPOSE = "purpose"
    MEMO = "memo"
    CLOSURE_OVERRIDE = "closure_override"
    CURRENCY = "currency"
    TAXATION = "taxation"
    VAT_RATE = "vat_rate"
    TRADE_USAGE = "trade_usage"
    IDENTITY = "identity_number"

    @staticmethod
    def action(block_id: str) -> str:
        """Each input's action_id is its block_id plus ``_input``."""
        return f"{block_id}_input"


#: the input a `commands.workflow.checks.FieldProblem` field is shown on
CHECK_FIELD_BLOCKS: Mapping[str, str] = {
    "provider": IssueBlocks.PROVIDER,
    "kind": IssueBlocks.KIND,
    "buyer.bizno": IssueBlocks.BUYER_BIZNO,
    "buyer.name": IssueBlocks.BUYER_NAME,
    "buyer.ceo_name": IssueBlocks.BUYER_CEO,
    "buyer.email": IssueBlocks.BUYER_EMAIL,
    "buyer.phone": IssueBlocks.BUYER_PHONE,
    "items": IssueBlocks.ITEMS,
    "closure_override": IssueBlocks.CLOSURE_OVERRIDE,
    "currency": IssueBlocks.CURRENCY,
    "taxation": IssueBlocks.TAXATION,
    "vat_rate": IssueBlocks.VAT_RATE,
    "trade_usage": IssueBlocks.TRADE_USAGE,
    "identity_number": IssueBlocks.IDENTITY,
}


def _state(values: Any, block_id: str) -> dict[str, Any]:
    """The state dict of a block's single action, tolerating any shape."""
    if not isinstance(values, Mapping):
        return {}
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return {}
    action = block.get(IssueBlocks.action(block_id))
    if not isinstance(action, Mapping):
        action = next((v for v in block.values() if isinstance(v, Mapping)), {})
    return dict(action)


def text_value(values: Any, block_id: str) -> str | None:
    raw = _state(values, block_id).get("value")
    if not isinstance(raw, str):
        return None
    text = raw.replace("\x00", "").strip()
    return text or None


def selected(values: Any, block_id: str) -> str | None:
    option = _state(values, block_id).get("selected_option")
    if isinstance(option, Mapping) and isinstance(option.get("value"), str):
        return str(option["value"])
    return None


def date_value(values: Any, block_id: str) -> tuple[dt.date | None, bool]:
    """(date, was_invalid)."""
    raw = _state(values, block_id).get("selected_date")
    if raw is None:
        return None, False
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None, True
    try:
        return dt.date.fromisoformat(raw), False
    except ValueError:
        return None, True


def checked(values: Any, block_id: str, value: str) -> bool:
    selected = _state(values, block_id).get("selected_options")
    if not isinstance(selected, list):
        return False
    return any(isinstance(o, Mapping) and o.get("value") == value for o in selected)

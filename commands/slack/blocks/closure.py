"""``/invoice closure``: business numbers' closure (휴폐업) results, closed and suspended first."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from commands.slack.blocks.kit import context, flat, header, lines_sections, section
from commands.slack.blocks.models import ClosureRow
from commands.slack.formatting import (
    SEOUL,
    business_state_label,
    clip,
    escape_mrkdwn,
    format_bizno,
    format_date,
    format_datetime,
)
from providers.models import BusinessState

__all__ = ["build_closure_message", "closure_text"]

#: what finance acts on comes first
_CLOSURE_ORDER = {BusinessState.CLOSED: 0, BusinessState.SUSPENDED: 1, BusinessState.UNREGISTERED: 2,
                  BusinessState.UNKNOWN: 3, BusinessState.ACTIVE: 4}


def _closure_line(row: ClosureRow) -> str:
    line = f"{business_state_label(row.state)} `{escape_mrkdwn(clip(format_bizno(row.bizno), 40))}`"
    if row.state_date and row.state in (BusinessState.CLOSED, BusinessState.SUSPENDED):
        line += f" since {format_date(row.state_date)}"
    if row.tax_type:
        line += f" · {escape_mrkdwn(clip(flat(row.tax_type), 60))}"
    if row.changed:
        was = f" (was {row.previous_state.value})" if row.previous_state else ""
        line += f" · 🔔 *changed*{was}"
    if row.warning:
        line += f"\n    ⚠️ {escape_mrkdwn(clip(flat(row.warning), 150))}"
    return line


def build_closure_message(rows: Sequence[ClosureRow], *, sandbox: bool = False,
                          tz: dt.tzinfo = SEOUL) -> list[Block]:
    """Closure results, closed and suspended businesses first (what finance acts on)."""
    counts = Counter(r.state for r in rows)
    blocks: list[Block] = [header(f"Closure check — {len(rows)} number(s)")]
    if sandbox:
        blocks.append(context("🧪 *SANDBOX* — these results come from the provider sandbox, not the tax office"))
    summary = " · ".join(f"{business_state_label(state)} {counts[state]}"
                         for state in sorted(counts, key=lambda s: _CLOSURE_ORDER.get(s, 9)))
    changed = sum(1 for r in rows if r.changed)
    if changed:
        summary += f" · 🔔 {changed} changed since the last check"
    blocks.append(section(summary or "No numbers were checked."))
    ordered = sorted(rows, key=lambda r: (_CLOSURE_ORDER.get(r.state, 9), not r.changed))
    blocks.extend(lines_sections([_closure_line(r) for r in ordered]))
    checked = [r.checked_at for r in rows if r.checked_at]
    if checked:
        blocks.append(context(f"Checked {format_datetime(max(checked), tz)}"))
    return blocks[:50]


def closure_text(rows: Sequence[ClosureRow], *, sandbox: bool = False) -> str:
    counts = Counter(r.state for r in rows)
    bad = counts[BusinessState.CLOSED] + counts[BusinessState.SUSPENDED]
    prefix = "[SANDBOX] " if sandbox else ""
    return f"{prefix}Closure check: {len(rows)} number(s), {bad} closed or suspended"

"""``/invoice export``: the message posted with the uploaded CSV."""

from __future__ import annotations

import datetime as dt

from slack_sdk.models.blocks import Block

from commands.slack.blocks.kit import context, section
from commands.slack.formatting import clip, escape_mrkdwn, format_bytes, format_date

__all__ = ["build_export_message", "export_text"]


def build_export_message(file_name: str, rows: int, start: dt.date, end: dt.date, *,
                         sandbox: bool = False, size: int | None = None) -> list[Block]:
    """Posted with the uploaded CSV once an export is done."""
    size_text = f" ({format_bytes(size)})" if size is not None else ""
    blocks: list[Block] = [section(
        f"📤 *Export ready*: `{escape_mrkdwn(clip(file_name, 200))}`{size_text}\n"
        f"{rows} document(s) from {format_date(start)} to {format_date(end)}."
    )]
    if sandbox:
        blocks.append(context("🧪 *SANDBOX* — includes sandbox documents; nothing in them was really issued"))
    if rows == 0:
        blocks.append(context("Nothing was issued in that range; the file has only the header row."))
    return blocks


def export_text(file_name: str, rows: int, start: dt.date, end: dt.date) -> str:
    return f"Export ready: {clip(file_name, 200)} — {rows} document(s) from {start} to {end}"

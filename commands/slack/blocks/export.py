"""``/invoice export``: the answer to the person who asked, whose direct messages hold the CSV.

It repeats what the file includes (`commands.workflow.export.export_scope`: the range by
write date and the standings listed), so nobody reads a tax export as "everything we asked for".
"""

from __future__ import annotations

import datetime as dt

from slack_sdk.models.blocks import Block

from commands.i18n import _
from commands.slack.blocks.kit import context, section
from commands.slack.formatting import clip, escape_mrkdwn, format_bytes
from commands.workflow.export import ExportLayout, export_scope

__all__ = ["build_export_message", "export_text"]


def build_export_message(file_name: str, rows: int, start: dt.date, end: dt.date, *,
                         sandbox: bool = False, size: int | None = None,
                         layout: ExportLayout = ExportLayout.STANDARD) -> list[Block]:
    """The asker's private answer once the CSV is in their direct messages with the app."""
    size_text = f" ({format_bytes(size)})" if size is not None else ""
    blocks: list[Block] = [section(
        f"📤 *Export ready*: `{escape_mrkdwn(clip(file_name, 200))}`{size_text}\n"
        f"{rows} document(s). {escape_mrkdwn(export_scope(start, end, layout))}."
    )]
    blocks.append(context(_("📬 The file is in your direct messages with the app; nobody else received it.")))
    if layout is ExportLayout.HOMETAX:
        blocks.append(context(_("Columns as Hometax's e-tax invoice list: 작성일자, 승인번호, 발급일자, 전송일자, "
                                "supplier and buyer, 합계금액, 공급가액, 세액, 분류 and 종류, the first 품목.")))
    else:
        blocks.append(context("Columns: write date, issue date, standing, provider state (and its raw code), "
                              "provider and NTS ids, buyer, amounts, line items, requester. The last row (`#`) "
                              "repeats this scope."))
    if sandbox:
        blocks.append(context("🧪 *SANDBOX* — includes sandbox documents; nothing in them was really issued"))
    if rows == 0:
        blocks.append(context("No document was written in that range; the file has only the header row."))
    return blocks


def export_text(file_name: str, rows: int, start: dt.date, end: dt.date,
                layout: ExportLayout = ExportLayout.STANDARD) -> str:
    name = escape_mrkdwn(clip(file_name, 200))
    return (f"Export ready: {name} — {rows} document(s). {export_scope(start, end, layout)} "
            + _("(in your direct messages with the app)"))

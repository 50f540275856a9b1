"""The message posted with an export says which layout the file has (blocks/export.py)."""

from __future__ import annotations

import datetime as dt
import json

from commands.slack.blocks.export import build_export_message, export_text
from commands.workflow.export import ExportLayout

START, END = dt.date(2024, 5, 1), dt.date(2024, 5, 31)


def test_the_hometax_export_message_names_hometaxs_columns_and_scope() -> None:
    blocks = build_export_message("hometax.csv", 2, START, END, layout=ExportLayout.HOMETAX)
    text = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "Hometax" in text and "승인번호" in text and "that stand issued" in text
    assert "cancelled only" not in text
    assert "Hometax" in export_text("hometax.csv", 2, START, END, ExportLayout.HOMETAX)


def test_the_standard_export_message_is_unchanged() -> None:
    text = json.dumps([b.to_dict() for b in build_export_message("x.csv", 1, START, END)], ensure_ascii=False)
    assert "issued and cancelled only" in text and "Hometax" not in text

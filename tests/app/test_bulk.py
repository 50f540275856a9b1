"""Issue 11, bulk issuance from a file, over signed HTTP against the Slack double and the Popbill
sandbox: a 120-row file with 3 bad rows is refused row by row before anything is requested; the
corrected file is previewed, approved once and issued in two bulkSubmit calls, with one progress
message and a results file in the card's thread; the template comes in both languages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.console.slack_double import SlackWebApiDouble
from commands.workflow.bulk_parse import read_sheet
from tests.app.harness import APPROVALS, FINANCE, BotHarness, running_bot, text_of
from tests.local_http import LOCAL_TLS

ACTIVE = "220-81-62517"  # active at the Popbill sandbox
HEAD = ["provider", "kind", "buyer_bizno", "buyer_name", "buyer_email", "item", "quantity", "unit_price",
        "write_date"]
KOREAN_HEAD = ["발행 서비스", "문서 종류", "공급받는자 사업자번호", "공급받는자 상호", "공급받는자 이메일", "품목",
               "수량", "단가", "작성일자"]
BAD = {14: ("quantity", "1.2345"), 30: ("buyer_bizno", "123"), 77: ("unit_price", "abc")}


def bulk_csv(count: int = 120, *, bad: dict[int, tuple[str, str]] | None = None, head: list[str] = HEAD) -> bytes:
    """`count` rows (spreadsheet rows 2..count+1); `bad`: row number → (column, value) to spoil."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    today = dt.date.today().isoformat()
    for number in range(2, count + 2):
        row = dict(zip(HEAD, ["popbill", "tax", ACTIVE, f"구매자 {number}", "buyer@example.com", "월 구독료", "1",
                              str(10_000 + number), today], strict=True))
        column, value = (bad or {}).get(number, ("", ""))
        if column:
            row[column] = value
        writer.writerow([row[c] for c in HEAD])
    return out.getvalue().encode("utf-8")


def last_ephemeral(bot: BotHarness) -> dict[str, Any]:
    found = bot.ephemerals(user="U_ALICE")
    assert found, "no ephemeral answer"
    return found[-1]


def bulk_submits(bot: BotHarness) -> int:
    return sum(1 for r in bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST")
               if any(k.lower() == "x-pb-submit-id" for k in dict(r.get("headers") or {})))


@pytest.fixture
async def bot(tmp_path: Path) -> Any:
    async with running_bot(tmp_path) as harness:
        yield harness


async def test_three_bad_rows_are_listed_by_row_and_column_and_nothing_is_requested(bot: BotHarness) -> None:
    bot.slack.share_user_file("U_ALICE", FINANCE, "november.csv", bulk_csv(bad=BAD))
    await bot.command("bulk")
    answer = text_of(last_ephemeral(bot))
    assert "3 row(s) have problems, 117 row(s) are fine" in answer, answer
    assert "row 14, Quantity" in answer and "row 30, Buyer business number" in answer
    assert "row 77, " in answer
    assert bot.cards() == [] and bulk_submits(bot) == 0
    assert not bot.calls("views.open")  # the shared file was taken, no form


async def test_the_corrected_file_is_approved_once_and_issued_in_two_bulk_submits(bot: BotHarness) -> None:
    bot.slack.share_user_file("U_ALICE", FINANCE, "november.csv", bulk_csv())
    await bot.command("bulk")
    preview = last_ephemeral(bot)
    assert "120 documents" in text_of(preview) and "No buyer is closed" in text_of(preview)
    await bot.click(preview, "bulk_submit", user="U_ALICE")
    await bot.click(preview, "bulk_submit", user="U_ALICE")  # a double click: one batch
    assert "already submitted" in text_of(last_ephemeral(bot))
    cards = bot.cards()
    assert len(cards) == 1 and "120 documents" in text_of(cards[0])
    await bot.click(cards[0], "approval_approve", user="U_BOB")
    assert bulk_submits(bot) == 2
    async with httpx.AsyncClient(verify=LOCAL_TLS) as http:
        state = (await http.get(bot.sandbox("popbill").base_url + "/_sandbox/state")).json()
    keys = [d["mgtKey"] for d in state["documents"] if str(d["mgtKey"]).startswith("INV-")]
    assert len(keys) == 120 and len(set(keys)) == 120
    card = bot.cards()[0]
    assert "all 120 documents issued" in text_of(card) and "approval_approve" not in json.dumps(card["blocks"])
    thread = [m for m in bot.slack.messages_in(APPROVALS) if m.get("thread_ts") == card["ts"]]
    progress = [m for m in thread if "Bulk issue finished" in text_of(m)]
    assert len(progress) == 1 and "120 issued" in text_of(progress[0])  # one message, updated in place
    assert bot.calls("chat.update")
    shared = [m for m in thread if m.get("subtype") == "file_share"]
    assert shared and shared[0]["files"][0]["name"].endswith("-results.csv")
    results = next(f for f in bot.slack.files.values() if f.filename.endswith("-results.csv"))
    assert results.data is not None and results.data.decode("utf-8-sig").count(",issued,issued,") == 120


async def test_the_upload_form_takes_a_korean_xlsx(bot: BotHarness) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    table = list(csv.reader(io.StringIO(bulk_csv(5, head=KOREAN_HEAD).decode())))
    book = Workbook()
    for row in table:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    shown = bot.slack.share_user_file("U_ALICE", "C_ELSEWHERE", "11월.xlsx", data.getvalue())
    await bot.command("bulk form")
    modal = bot.last_modal()
    assert modal["blocks"][1]["element"]["type"] == "file_input"
    values = {"bulk_file": {"bulk_file_input": {"type": "file_input", "files": [shown]}}}
    await bot.send(bot.factory.view_submission(user_id="U_ALICE", view=modal, values=values))
    assert "5 documents" in text_of(last_ephemeral(bot))


async def test_the_template_comes_as_csv_and_xlsx_and_reads_back(bot: BotHarness) -> None:
    await bot.command("bulk template")
    files = [f for f in bot.slack.files.values() if f.filename.startswith("invoicebot-bulk-")]
    assert sorted(f.filename.rsplit(".", 1)[1] for f in files) == ["csv", "xlsx"]
    for file in files:
        assert file.data is not None
        sheet = read_sheet(file.data, file.filename)
        assert not sheet.problems and len(sheet.rows) == 1


def test_the_double_refuses_a_download_without_the_bot_token() -> None:
    double = SlackWebApiDouble(valid_tokens={"xoxb-test"})
    shown = double.share_user_file("U_ALICE", FINANCE, "a.csv", b"x")
    assert shown["url_private_download"].endswith("/download/a.csv")
    assert double.shared_files.info({"file": shown["id"]})["file"]["user"] == "U_ALICE"
    assert double.shared_files.list({"channel": FINANCE, "user": "U_BOB"})["files"] == []

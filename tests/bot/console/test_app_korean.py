"""A Korean console day: `/invoice 발행 팝빌 세금계산서` through approval to `/invoice 취소`, Korean input only.

The console runs as a process with `--lang ko`, its modal answered with Korean choices, and
everything the bot says is Korean (the Korean catalog). Choice 6 is the destroy card's Approve:
the status answer before it shows three buttons of its own (send to the NTS, PDF, open in provider).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.bot.console.test_app import run_console

pytestmark = pytest.mark.slow  # the console as a process

SCRIPT = """\
/invoice 발행 팝빌 세금계산서
팝빌
세금계산서
220-81-62517
-
주식회사 구매자
김대표
buyer@example.com
010-1234-5678
-
컨설팅 | 2 | 50000
지원 | 1 | 30000


-
영수
-
:as U_BOB
1
/invoice 상태 INV-000001
:as U_ALICE
/invoice 취소 INV-000001 공급받는자 오류
:as U_CAROL
6
/invoice 상태 INV-000001
/invoice 목록 팝빌
:quit
"""

_ANSWER = re.compile(r"^(💬|↩️|✏️|👁)")
_HANGUL = re.compile(r"[가-힣]")
#: two or more English words in a row: a sentence the reader would have to read in English
_ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,'’-]+[A-Za-z][a-z]+)+\b")
#: names and codes that stay as they are in Korean text
_KEPT = re.compile(r"https?://\S+|INV-\d+|popbill:\S+|U_[A-Z]+|SANDBOX|Popbill|KST|NTS|\S+@\S+")


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("korean-day")
    return run_console(folder, SCRIPT, "--lang", "ko"), folder


def answers(out: str) -> list[str]:
    """Each thing the bot said (replies, posts, updates), as one text."""
    found: list[list[str]] = []
    inside = False  # within an answer: its indented lines belong to it
    for line in out.splitlines():
        if _ANSWER.match(line):
            found.append([line])
            inside = True
        elif inside and line.startswith(" "):
            found[-1].append(line)
        else:  # a prompt, the console's own words, a log line
            inside = False
    return ["\n".join(a) for a in found]


def test_the_input_is_korean_only() -> None:
    commands = [line.split(" ", 1)[1] for line in SCRIPT.splitlines() if line.startswith("/invoice ")]
    words = [w for c in commands for w in c.split() if not re.fullmatch(r"INV-\d+", w)]
    assert words and all(_HANGUL.search(w) for w in words), words


def test_a_korean_day_issues_and_cancels_with_korean_input(day: tuple[str, Path]) -> None:
    out, folder = day
    assert "Traceback" not in out and "⚠️" not in out
    with sqlite3.connect(folder / "invoicebot.db") as db:
        lifecycle, kind, provider, request = db.execute(
            "SELECT lifecycle, kind, provider, request FROM documents WHERE ref = 'INV-000001'").fetchone()
    assert (kind, provider) == ("tax_invoice", "popbill")
    assert lifecycle == "destroyed"  # issued, approved, then cancelled through `/invoice 취소`
    assert json.loads(request)["purpose"] == "receipt"  # the modal's `영수`
    assert "143,000원" in out and re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일 \(.\)", out)
    assert "공급받는자 오류" in out  # the reason, as typed


def test_every_amount_and_date_the_bot_shows_is_written_the_korean_way(day: tuple[str, Path]) -> None:
    said = answers(day[0])
    assert len(said) >= 8
    with_amounts = [text for text in said if "143,000" in text]
    assert with_amounts and all("143,000원" in text and "₩" not in text for text in with_amounts)
    assert not any(re.search(r"\b20\d\d-\d\d-\d\d\b", text) for text in said)  # no ISO days in Korean


def test_the_output_is_korean_only(day: tuple[str, Path]) -> None:
    said = answers(day[0])
    without_hangul = [text.splitlines()[0] for text in said if not _HANGUL.search(text)]
    leaks = sorted({m.group(0) for text in said for m in _ENGLISH.finditer(_KEPT.sub(" ", text))})
    assert without_hangul == [] and leaks == [], (
        f"answers without Hangul: {without_hangul}; {len(leaks)} English phrase(s) left: {leaks[:40]}")

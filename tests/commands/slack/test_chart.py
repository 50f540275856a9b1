"""The digest chart speaks the reader's language: 억/만 axes in Korean, compact numbers in English."""

from __future__ import annotations

import datetime as dt

import pytest

from commands.i18n import use_locale
from commands.slack import chart
from commands.slack.chart import chart_days, chart_figure, hangul_font, render_chart_png

END = dt.date(2026, 11, 30)
DATA = {"popbill": {END - dt.timedelta(days=n): 1_400_000_000 for n in range(3)},
        "payssam": {END: 25_000_000}}


def texts(locale: str, font: str | None) -> tuple[str, list[str], list[str]]:
    with use_locale(locale):  # matplotlib formats the ticks again when asked for them
        ax = chart_figure(DATA, chart_days(END, 14), font=font).axes[0]
        return (ax.get_title(), [t.get_text() for t in ax.get_yticklabels()],
                [t.get_text() for t in ax.get_xticklabels()])


def test_english_axes_use_compact_numbers_and_the_days_as_english_writes_them() -> None:
    title, ys, xs = texts("en", None)
    assert "KRW issued per day" in title and "Mon, 30 Nov 2026" in title
    assert "1B" in ys and "200M" in ys, ys
    assert xs[-1] == "30/11"


def test_korean_axes_read_in_eok_and_man_with_a_hangul_font() -> None:
    font = hangul_font()
    if font is None:
        pytest.skip("no Hangul font on this machine (Debian: fonts-nanum)")
    title, ys, xs = texts("ko", font)
    assert "2026년 11월 30일 (월)" in title
    assert any(y.endswith("억") for y in ys), ys
    assert xs[-1] == "11. 30."


def test_korean_y_formatter_for_the_issue_examples() -> None:
    with use_locale("ko"):
        assert chart._won(1_400_000_000) == "14억"
        assert chart._won(25_000_000) == "2,500만"
    with use_locale("en"):
        assert chart._won(1_400_000_000) == "1.4B"


def test_without_a_hangul_font_korean_readers_get_an_english_chart_not_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart, "hangul_font", lambda: None)
    with use_locale("ko"):
        png = render_chart_png(DATA, 14, end=END)  # a missing glyph would warn, and warnings are errors here
    with use_locale("en"):
        assert png == render_chart_png(DATA, 14, end=END)


def test_korean_chart_renders_without_missing_glyphs() -> None:
    if hangul_font() is None:
        pytest.skip("no Hangul font on this machine (Debian: fonts-nanum)")
    with use_locale("ko"):
        korean = render_chart_png(DATA, 14, end=END)
    assert korean.startswith(b"\x89PNG") and korean != render_chart_png(DATA, 14, end=END)

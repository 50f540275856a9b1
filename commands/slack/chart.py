"""The digest's chart: KRW issued per day and provider, as a PNG, in the current locale.

Rendered with matplotlib's object API on the Agg canvas (no pyplot, no global figure
state, no display), so it is safe in a server and in a worker thread (`asyncio.to_thread`
copies the current locale along). The size is fixed and the PNG carries no software or
date metadata, so the same numbers always give the same bytes.

Language: titles and labels go through `_()`; the amount axis reads `14억`, `2,500만` in
Korean and `1.4B`, `25M` in English (`formatting.format_compact`), the days as the locale
writes them. The fonts shipped with matplotlib have no Hangul glyphs (a missing glyph prints
as a box and warns), so Korean needs a Hangul font on the machine (Debian's `fonts-nanum`
or `fonts-noto-cjk`, found by `hangul_font`); without one the chart is drawn in English
rather than in boxes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from commands.i18n import N_, _, current_locale, use_locale
from commands.slack.formatting import format_compact, format_date, format_day_short
from providers.models import Provider

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib is imported where a chart is drawn, not at module import: it costs about a second
# and 40 MB at every start of `serve`, for a chart drawn once a day (bench/start.py).

__all__ = ["CHART_DPI", "CHART_SIZE_INCHES", "chart_days", "chart_figure", "hangul_font", "render_chart_png"]

CHART_SIZE_INCHES = (8.0, 3.6)
CHART_DPI = 100  # 800 x 360 pixels

#: names (translated where shown) and fixed colours, so a provider keeps its colour from day to day.
_NAMES: Mapping[str, str] = {
    Provider.POPBILL.value: N_("Popbill"),
    Provider.PAYSSAM.value: N_("Payssam"),
    Provider.HIWORKS.value: N_("Hiworks"),
    Provider.ABILLIFY.value: N_("Abillify"),
}
_COLOURS: Mapping[str, str] = {
    Provider.POPBILL.value: "#2f6db5",
    Provider.PAYSSAM.value: "#e3892b",
    Provider.HIWORKS.value: "#3a9a5b",
    Provider.ABILLIFY.value: "#8e5bb5",
}
_OTHER_COLOUR = "#888888"
#: font files with Hangul glyphs, as Debian and the common desktops name them
_HANGUL_FONT_FILE = re.compile(r"^(NanumGothic|NanumBarunGothic|NotoSansCJK|NotoSansKR|UnDotum|malgun|AppleSDGothicNeo)"
                               r"[-A-Za-z]*\.(ttf|ttc|otf)$", re.IGNORECASE)


def chart_days(end: dt.date, days: int = 14) -> list[dt.date]:
    """The `days` days ending with `end`, oldest first."""
    return [end - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


@cache
def hangul_font() -> str | None:
    """The family name of a font with Hangul glyphs, registered with matplotlib, or None.

    Looked up once per process among the fonts matplotlib knows and the system's font files
    (matplotlib's font cache predates fonts installed later, so the files are read too).
    """
    from matplotlib import font_manager

    known = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
    for name, fname in known.items():
        if _HANGUL_FONT_FILE.match(Path(fname).name):
            return name
    for path in sorted(font_manager.findSystemFonts()):
        if _HANGUL_FONT_FILE.match(Path(path).name) and not path.endswith(".ttc"):
            font_manager.fontManager.addfont(path)
            return str(font_manager.FontProperties(fname=path).get_name())
    return None


def _won(value: float, _pos: int | None = None) -> str:
    return format_compact(value)


def render_chart_png(
    daily_amounts_by_provider: Mapping[Provider, Mapping[dt.date, int]] | Mapping[str, Mapping[dt.date, int]],
    days: int = 14,
    *,
    end: dt.date | None = None,
    title: str | None = None,
) -> bytes:
    """A stacked bar chart of the amounts, one bar per day, one colour per provider.

    In the current locale; Korean needs a Hangul font (`hangul_font`), else English is drawn.

    Args:
        daily_amounts_by_provider: ``{provider: {day: won}}``; missing days count as 0.
        days: how many days the x axis shows.
        end: the last day shown (default: the latest day in the data, or today when empty).

    Example::

        png = render_chart_png({Provider.POPBILL: {dt.date(2024, 5, 2): 1_100_000}}, end=dt.date(2024, 5, 2))
    """
    if end is None:
        seen = [d for amounts in daily_amounts_by_provider.values() for d in amounts]
        end = max(seen) if seen else dt.date.today()
    font = hangul_font() if current_locale() == "ko" else None
    buffer = io.BytesIO()
    # the axis formats its ticks again when saved: the locale must hold until then
    with use_locale(current_locale() if font or current_locale() != "ko" else "en"):
        figure = chart_figure(daily_amounts_by_provider, chart_days(end, days), title, font)
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def chart_figure(daily_amounts_by_provider: Mapping[Provider, Mapping[dt.date, int]]
                 | Mapping[str, Mapping[dt.date, int]],
                 axis_days: list[dt.date], title: str | None = None, font: str | None = None) -> Figure:
    """The chart's figure, drawn in the current locale with `font` (a Hangul family) if given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    figure = Figure(figsize=CHART_SIZE_INCHES, dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    positions = list(range(len(axis_days)))
    bottoms = [0.0] * len(axis_days)
    series: dict[str, Mapping[dt.date, int]] = {str(k): v for k, v in daily_amounts_by_provider.items()}
    keys = sorted(series)
    for provider in keys:
        amounts = series[provider]
        values = [float(amounts.get(day, 0)) for day in axis_days]
        name = _(_NAMES[provider]) if provider in _NAMES else provider.encode("ascii", "replace").decode("ascii")
        ax.bar(positions, values, bottom=bottoms, label=name, color=_COLOURS.get(provider, _OTHER_COLOUR), width=0.7)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_xticks(positions)
    ax.set_xticklabels([format_day_short(d) for d in axis_days], fontsize=8, family=families)
    ax.yaxis.set_major_formatter(FuncFormatter(_won))
    ax.tick_params(axis="y", labelfontfamily=families[0])
    ax.set_ylabel(_("KRW"), family=families)
    heading = _("{title} ({start} to {end})").format(
        title=title or _("KRW issued per day"), start=format_date(axis_days[0]), end=format_date(axis_days[-1]))
    ax.set_title(heading, fontsize=10, family=families)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if max(bottoms, default=0.0) <= 0:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, _("nothing issued"), transform=ax.transAxes, ha="center", va="center", color="#777777",
                family=families)
    if keys:
        ax.legend(loc="upper left", fontsize=8, frameon=False, prop={"family": families, "size": 8})
    figure.tight_layout()  # draws, so the tick labels exist in the figure from here on
    return figure

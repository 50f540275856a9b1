"""The digest's chart: KRW issued per day and provider, as a PNG.

Rendered with matplotlib's object API on the Agg canvas (no pyplot, no global figure
state, no display), so it is safe in a server and in a worker thread. Labels are ASCII
(provider names without their Korean aliases, "KRW" for the currency) because the
fonts shipped with matplotlib have no Hangul glyphs and a missing glyph would print
as a box and warn. The size is fixed and the PNG carries no software or date
metadata, so the same numbers always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping

from providers.models import Provider

__all__ = ["CHART_DPI", "CHART_SIZE_INCHES", "chart_days", "render_chart_png"]

CHART_SIZE_INCHES = (8.0, 3.6)
CHART_DPI = 100  # 800 x 360 pixels

#: ASCII names and fixed colours, so a provider keeps its colour from day to day.
_NAMES: Mapping[str, str] = {
    Provider.POPBILL.value: "Popbill",
    Provider.PAYSSAM.value: "Payssam",
    Provider.HIWORKS.value: "Hiworks",
    Provider.ABILLIFY.value: "Abillify",
}
_COLOURS: Mapping[str, str] = {
    Provider.POPBILL.value: "#2f6db5",
    Provider.PAYSSAM.value: "#e3892b",
    Provider.HIWORKS.value: "#3a9a5b",
    Provider.ABILLIFY.value: "#8e5bb5",
}
_OTHER_COLOUR = "#888888"


def chart_days(end: dt.date, days: int = 14) -> list[dt.date]:
    """The `days` days ending with `end`, oldest first."""
    return [end - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _won(value: float, _pos: int | None = None) -> str:
    if abs(value) >= 1_000_000_000:
        return f"{value / 1_000_000_000:.1f}B"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:.0f}K"
    return f"{value:.0f}"


def render_chart_png(
    daily_amounts_by_provider: Mapping[Provider, Mapping[dt.date, int]] | Mapping[str, Mapping[dt.date, int]],
    days: int = 14,
    *,
    end: dt.date | None = None,
    title: str = "KRW issued per day",
) -> bytes:
    """A stacked bar chart of the amounts, one bar per day, one colour per provider.

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
    axis_days = chart_days(end, days)
    # imported here, not at module import: matplotlib costs ~1 s and ~40 MB at start for a
    # chart drawn once a day (serve answers /health before it is ever needed)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

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
        name = _NAMES.get(provider, provider.encode("ascii", "replace").decode("ascii"))
        ax.bar(positions, values, bottom=bottoms, label=name, color=_COLOURS.get(provider, _OTHER_COLOUR), width=0.7)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_xticks(positions)
    ax.set_xticklabels([d.strftime("%m-%d") for d in axis_days], fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(_won))
    ax.set_ylabel("KRW")
    ax.set_title(f"{title} ({axis_days[0].isoformat()} to {axis_days[-1].isoformat()})", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if max(bottoms, default=0.0) <= 0:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "nothing issued", transform=ax.transAxes, ha="center", va="center", color="#777777")
    if keys:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()

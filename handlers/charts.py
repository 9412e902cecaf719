"""The digest chart: one tall PNG a manager can read on a phone.

Three panels: 30 days of new vs resolved tickets, the daily refund rate, and the month's
scoreboard as bars. Drawn with matplotlib's object API on the Agg canvas (no pyplot, no GUI,
no global figure state). The bot and `kefu demo` never import it: they draw through
`handlers.chart_process`, whose child process does.

Labels are English and numbers: a CJK font is used for agent names only when one is
installed; otherwise a name the font cannot draw is shown by its rank alone, never as boxes.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from datetime import date
from functools import cache

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from bot.services.digest import Digest
from bot.services.scoreboard import AgentLine
from bot.services.shop_figures import DayPoint

# Bars beyond this many agents would be unreadable on a phone; the text has everyone.
MAX_BARS = 15
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "AR PL UMing CN",
)
NEW_COLOUR = "#1f77b4"
RESOLVED_COLOUR = "#2ca02c"
REFUND_COLOUR = "#d62728"

# matplotlib's settings are process-wide and it is not thread-safe: one chart at a time.
_drawing = threading.Lock()


@cache
def _fonts() -> tuple[list[str], frozenset[int]]:
    """The font families to draw with, and every character they can draw."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans", *(name for name in CJK_FAMILIES if name in installed)]
    drawable: set[int] = set()
    for family in families:
        path = font_manager.findfont(
            font_manager.FontProperties(family=family), fallback_to_default=False
        )
        drawable.update(FT2Font(path).get_charmap())
    return families, frozenset(drawable)


def has_cjk_font() -> bool:
    return len(_fonts()[0]) > 1


def _label(rank: int, name: str) -> str:
    _families, drawable = _fonts()
    if name and all(ord(char) in drawable for char in name):
        short = name if len(name) <= 16 else name[:15] + "…"
        return f"{rank}. {short}"
    return f"{rank}."


def _rate_percent(value: float | None) -> float:
    return math.nan if value is None else value * 100


def _tickets_panel(axes: Axes, series: Sequence[DayPoint]) -> None:
    days = [point.day for point in series]
    positions = range(len(days))
    width = 0.4
    axes.bar(
        [p - width / 2 for p in positions],
        [point.new for point in series],
        width,
        label="New",
        color=NEW_COLOUR,
    )
    axes.bar(
        [p + width / 2 for p in positions],
        [point.resolved for point in series],
        width,
        label="Resolved",
        color=RESOLVED_COLOUR,
    )
    axes.set_title("Tickets per day: new vs resolved", loc="left")
    # Headroom above the tallest bar keeps the legend clear of the bars.
    tallest = max([point.new for point in series] + [point.resolved for point in series] + [1])
    axes.set_ylim(0, tallest * 1.3)
    axes.legend(loc="upper left", frameon=False, ncols=2)
    _day_ticks(axes, days)


def _refund_panel(axes: Axes, series: Sequence[DayPoint]) -> None:
    days = [point.day for point in series]
    rates = [_rate_percent(point.refund_rate) for point in series]
    axes.plot(range(len(days)), rates, marker="o", markersize=3, color=REFUND_COLOUR)
    axes.set_title("Refund rate per day (%)", loc="left")
    axes.set_ylim(bottom=0)
    if all(math.isnan(rate) for rate in rates):
        axes.text(
            0.5, 0.5, "no orders recorded", transform=axes.transAxes, ha="center", va="center"
        )
    _day_ticks(axes, days)


def _day_ticks(axes: Axes, days: Sequence[date]) -> None:
    step = max(len(days) // 6, 1)
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [f"{days[i]:%m-%d}" for i in ticks])
    axes.set_xlim(-0.7, len(days) - 0.3)
    axes.grid(axis="y", alpha=0.3)


def _scoreboard_panel(axes: Axes, agents: Sequence[AgentLine], month: str) -> None:
    shown = list(agents[:MAX_BARS])
    more = f" (top {len(shown)} of {len(agents)})" if len(agents) > len(shown) else ""
    axes.set_title(f"Scoreboard {month}{more}", loc="left")
    if not shown:
        axes.text(0.5, 0.5, "no agents", ha="center", va="center")
        axes.set_axis_off()
        return
    labels = [_label(rank, agent.name) for rank, agent in enumerate(shown, start=1)]
    totals = [agent.total or 0.0 for agent in shown]
    positions = range(len(shown))
    axes.barh(positions, totals, color=NEW_COLOUR)
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    top = max(agent.max_total for agent in shown)
    axes.set_xlim(0, top * 1.25)
    axes.axvline(top, color="grey", linewidth=1, linestyle="--")
    for position, agent in zip(positions, shown, strict=True):
        text = "—" if agent.total is None else f"{agent.total:.1f}/{agent.max_total}"
        axes.text((agent.total or 0.0) + top * 0.01, position, text, va="center")
    axes.grid(axis="x", alpha=0.3)


def warm_up() -> None:
    """Pay once what every first chart pays (the font list, the text engine, the PNG
    writer), so the chart a manager waits for does not."""
    families, _drawable = _fonts()
    with _drawing, matplotlib.rc_context({"font.family": families}):
        figure = Figure(figsize=(2, 2), dpi=50, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.bar([0, 1], [1, 2])
        axes.set_title("warm-up 0123456789")
        figure.savefig(io.BytesIO(), format="png")


def render(digest: Digest) -> bytes:
    """The digest's chart as PNG bytes. Blocking: run it in a thread from async code."""
    families, _drawable = _fonts()
    rc = {"font.family": families, "font.size": 13, "axes.titlesize": 15}
    with _drawing, matplotlib.rc_context(rc):  # type: ignore[arg-type]
        bars = max(min(len(digest.agents), MAX_BARS), 3)
        figure = Figure(figsize=(7.2, 8 + 0.35 * bars), dpi=150, layout="constrained")
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(3, 1, height_ratios=[3, 2.2, 1 + 0.35 * bars])
        figure.suptitle(f"Kefu daily digest {digest.day.isoformat()}", fontsize=17)
        _tickets_panel(figure.add_subplot(grid[0]), digest.series)
        _refund_panel(figure.add_subplot(grid[1]), digest.series)
        _scoreboard_panel(figure.add_subplot(grid[2]), digest.agents, f"{digest.month:%Y-%m}")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()

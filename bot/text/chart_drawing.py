"""Insights charts drawn with matplotlib: metrics over time as a PNG.

Imported only by :class:`bot.text.charts.ChartRenderer` on the first chart it draws (matplotlib
and numpy cost about 40 MiB of resident memory, which a bot that never draws a chart should not
pay), and by tests that look at a figure.

Drawn with matplotlib's object API (a :class:`~matplotlib.figure.Figure` on its own Agg canvas),
never ``pyplot``: no global figure state, so :func:`render_insights_chart` may run in a worker
thread (``await asyncio.to_thread(...)``). The renderer still serialises renders, because
matplotlib does not promise thread safety and a render takes a fraction of a second.

Persian text: matplotlib 3.11+ lays text out with libraqm (HarfBuzz shaping + FriBiDi), so
Persian titles, labels and legends come out joined and in the right order with no extra package,
and the bundled DejaVu Sans has the Arabic-script glyphs Persian needs. A glyph missing from the
font (an emoji, CJK) draws as a box with a warning instead of failing. Strings containing
Arabic-script letters get a leading RIGHT-TO-LEFT MARK so a title that starts with a Latin word
("Instagram …") still reads right to left. Text is never run through mathtext (``$`` is escaped).

Metrics the API did not return are listed in a note under the title ("Not reported by Resont:
reach"), never drawn as zero; a metric with no points at all counts as not reported too, and a
point whose value is ``None`` or NaN is a gap in its line. With nothing to draw the function still
returns a PNG of the requested size saying "No data for this period" (see
:func:`bot.text.charts.has_data` to decide up front whether to send it at all).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, tzinfo
from typing import Any, Protocol

import jdatetime
import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.text.charts import Point
from bot.text.digits import to_persian_digits
from bot.text.timewords import JALALI_MONTHS_FA

__all__ = ["insights_figure", "render_insights_chart"]

_RLM = "\u200f"
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_MIN_SIDE, _MAX_SIDE = 200, 4096
_SHORT_SIDE_INCHES = 4.5  # fonts are in points: a fixed short side in inches scales them with the image
_TITLE_SIZE, _LABEL_SIZE, _TICK_SIZE, _NOTE_SIZE = 20.0, 15.0, 13.0, 13.0  # points


class Texts(Protocol):
    """The message catalogue as the charts use it (``bot.runtime.i18n.Catalogue`` fits)."""

    def t(self, key: str, lang: str | None = None, /, **values: Any) -> str: ...


def _clean_points(points: Sequence[Point] | None, zone: tzinfo | None) -> list[tuple[datetime, float]]:
    """Sorted ``(naive datetime, value)`` pairs; ``None``/NaN values become NaN (gaps)."""
    out: list[tuple[datetime, float]] = []
    for x, value in points or ():
        if isinstance(x, datetime):
            if x.tzinfo is not None:
                x = (x.astimezone(zone) if zone is not None else x).replace(tzinfo=None)
        elif isinstance(x, date):
            x = datetime.combine(x, time())
        else:
            raise TypeError(f"chart x values must be dates or datetimes, not {type(x).__name__}")
        y = math.nan if value is None else float(value)
        out.append((x, y if math.isfinite(y) else math.nan))
    out.sort(key=lambda item: item[0])
    return out


def _text(value: str, lang: str) -> str:
    value = value.replace("$", r"\$")
    if lang == "fa" and _ARABIC_SCRIPT.search(value):
        return _RLM + value
    return value


_COMPACT_EN = ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K"))  # (from, divisor, suffix)
_COMPACT_FA = ((1e9, 1e9, " میلیارد"), (1e6, 1e6, " میلیون"), (1e4, 1e3, " هزار"))


def _number(value: float, lang: str, *, compact: bool = True) -> str:
    """A tick label: ``950``, ``12,345`` → ``12.3K``, ``1.2M``; Persian digits in Persian.

    With ``compact`` every value from 1,000 up is shown in thousands (so an axis whose top is
    over 10,000 reads 6K, 12K … rather than 6,000, 12K …); without it, only from 10,000.
    """
    suffix = ""
    for threshold, divisor, word in _COMPACT_FA if lang == "fa" else _COMPACT_EN:
        if abs(value) >= (min(threshold, divisor) if compact else threshold) and value != 0:
            value, suffix = value / divisor, word
            break
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}".rstrip("0").rstrip(".")
    if lang == "fa":
        shown = to_persian_digits(shown).replace(",", "٬").replace(".", "٫")
    return shown + suffix


def _jalali_date_formatter(span_days: float) -> FuncFormatter:
    def fmt(x: float, _pos: int | None = None) -> str:
        moment = mdates.num2date(x).replace(tzinfo=None)
        if span_days <= 2:
            return to_persian_digits(f"{moment:%H:%M}")
        j = jdatetime.date.fromgregorian(date=moment.date())
        return to_persian_digits(f"{j.day} {JALALI_MONTHS_FA[j.month - 1]}")

    return FuncFormatter(fmt)


def render_insights_chart(
    series: Mapping[str, Sequence[Point] | None],
    *,
    title: str,
    x_label: str,
    y_label: str,
    missing: Sequence[str] = (),
    lang: str = "en",
    size_px: tuple[int, int] = (1280, 720),
    tz: tzinfo | None = None,
    catalogue: Texts,
) -> bytes:
    """A PNG of exactly ``size_px`` pixels: one line per metric over time.

    ``series`` maps a metric's display name to its ``(date or datetime, value)`` points (any
    order; aware datetimes are shown in ``tz``). ``missing`` lists display names of metrics the
    API did not return; they and metrics with no points are named in a note, not drawn. The
    title, axis labels and note are drawn as given (Persian is shaped and ordered right to left);
    the note and "no data" texts come from the catalogue keys ``time.chart.not_reported`` and
    ``time.chart.no_data``. Dates on the axis are Jalali with Persian digits when ``lang`` is
    ``"fa"``. Never returns an empty image: with nothing to draw it says "no data".
    Raises ``ValueError`` for a side outside 200–4096 pixels and ``TypeError`` for x values
    that are not dates. Not serialised: :class:`bot.text.charts.ChartRenderer` runs one render at a
    time.
    """
    fig = insights_figure(
        series, title=title, x_label=x_label, y_label=y_label, missing=missing, lang=lang,
        size_px=size_px, tz=tz, catalogue=catalogue,
    )  # fmt: skip
    return _png(fig)


def insights_figure(
    series: Mapping[str, Sequence[Point] | None],
    *,
    title: str,
    x_label: str,
    y_label: str,
    missing: Sequence[str] = (),
    lang: str = "en",
    size_px: tuple[int, int] = (1280, 720),
    tz: tzinfo | None = None,
    catalogue: Texts,
) -> Figure:
    """The :class:`~matplotlib.figure.Figure` behind :func:`render_insights_chart` (on its own
    Agg canvas), for tests and callers that want another format. Not serialised: call it from
    one thread at a time, or use :func:`render_insights_chart`."""
    width, height = (int(side) for side in size_px)
    if not (_MIN_SIDE <= width <= _MAX_SIDE and _MIN_SIDE <= height <= _MAX_SIDE):
        raise ValueError(f"size_px must be between {_MIN_SIDE} and {_MAX_SIDE} pixels a side, got {size_px}")
    cat = catalogue

    drawn: dict[str, list[tuple[datetime, float]]] = {}
    for name, points in series.items():
        clean = _clean_points(points, tz)
        if any(not math.isnan(y) for _, y in clean):
            drawn[name] = clean
    not_reported = [name for name in dict.fromkeys([*missing, *series]) if name not in drawn]
    return _draw(drawn, not_reported, title, x_label, y_label, lang, width, height, cat)


def _draw(
    drawn: Mapping[str, list[tuple[datetime, float]]],
    not_reported: Sequence[str],
    title: str,
    x_label: str,
    y_label: str,
    lang: str,
    width: int,
    height: int,
    cat: Texts,
) -> Figure:
    """The figure: a title, a note naming the metrics not reported, and one line per metric (or
    "no data")."""
    dpi = min(width, height) / _SHORT_SIDE_INCHES
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    width_inches = width / dpi
    fig.suptitle(_wrapped(title, _TITLE_SIZE, width_inches, lang), fontsize=_TITLE_SIZE, fontweight="bold")
    ax = fig.add_subplot()
    if not_reported:
        separator = "، " if lang == "fa" else ", "
        note = cat.t("time.chart.not_reported", lang, metrics=separator.join(not_reported))
        # upright on purpose: DejaVu Sans Oblique has no Arabic-script glyphs
        ax.set_title(_wrapped(note, _NOTE_SIZE, width_inches, lang), fontsize=_NOTE_SIZE, color="#7a4b00")
    if not drawn:
        ax.set_axis_off()
        ax.text(
            0.5, 0.5, _text(cat.t("time.chart.no_data", lang), lang),
            transform=ax.transAxes, ha="center", va="center", fontsize=_TITLE_SIZE, color="#555555",
        )  # fmt: skip
        return fig
    _plot_lines(ax, drawn, lang)
    _format_axes(ax, drawn, lang, x_label, y_label)
    fig.legend(fontsize=_TICK_SIZE, frameon=False, loc="outside lower center", ncols=min(len(drawn), 4))
    return fig


def _wrapped(text: str, size: float, width_inches: float, lang: str) -> str:
    """Long titles wrap rather than run off a narrow (portrait) image."""
    chars = max(12, int(width_inches * 72 / (size * 0.62)))
    return "\n".join(_text(line, lang) for line in textwrap.wrap(text, chars) or [""])


def _plot_lines(ax: Axes, drawn: Mapping[str, list[tuple[datetime, float]]], lang: str) -> None:
    many_points = max(len(points) for points in drawn.values()) > 60
    for name, points in drawn.items():
        xs = mdates.date2num([x for x, _ in points])
        ys = [y for _, y in points]
        ax.plot(
            xs, ys, label=_text(name, lang), linewidth=3.5,
            marker=None if many_points else "o", markersize=7,
        )  # fmt: skip


def _format_axes(
    ax: Axes, drawn: Mapping[str, list[tuple[datetime, float]]], lang: str, x_label: str, y_label: str
) -> None:
    """Dates along x (Jalali in Persian), compact numbers up y, labels, grid."""
    all_x = [x for points in drawn.values() for x, _ in points]
    span_days = (max(all_x) - min(all_x)).total_seconds() / 86400
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    if lang == "fa":
        ax.xaxis.set_major_formatter(_jalali_date_formatter(span_days))
    else:
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    if span_days == 0:  # one instant: give the axis some room around it
        center = mdates.date2num(all_x[0])
        ax.set_xlim(center - 1, center + 1)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=_all_integers(drawn)))
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda y, _pos: _number(y, lang, compact=max(map(abs, ax.get_ylim())) >= 1e4))
    )
    ax.set_xlabel(_text(x_label, lang), fontsize=_LABEL_SIZE)
    ax.set_ylabel(_text(y_label, lang), fontsize=_LABEL_SIZE)
    ax.tick_params(labelsize=_TICK_SIZE, length=6, width=1.2)
    ax.grid(True, alpha=0.35, linewidth=1)
    ax.spines[["top", "right"]].set_visible(False)
    if _all_nonnegative(drawn):
        ax.set_ylim(bottom=0)


def _all_integers(drawn: Mapping[str, list[tuple[datetime, float]]]) -> bool:
    return all(math.isnan(y) or y == int(y) for points in drawn.values() for _, y in points)


def _all_nonnegative(drawn: Mapping[str, list[tuple[datetime, float]]]) -> bool:
    return all(math.isnan(y) or y >= 0 for points in drawn.values() for _, y in points)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=fig.dpi, facecolor="white",
        metadata={"Software": f"matplotlib {matplotlib.__version__}"},
    )  # fmt: skip
    return buffer.getvalue()

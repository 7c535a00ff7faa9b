"""Insights charts: the caption's headline figures, and a renderer that draws the chart PNG.

The figures are plain arithmetic. The drawing needs matplotlib and numpy, which cost about 40 MiB
of resident memory — more than the rest of the bot at rest — so they are not imported at start-up:
:class:`ChartRenderer` imports the drawing module (:mod:`bot.text.chart_drawing`) the first time
it draws. That is the one place in the bot that imports a module by name, on purpose: a plain
import anywhere on the start-up path would load matplotlib for every process, including the many
that never draw a chart. The composition root gives the bot one renderer
(``Services.charts``); it is created cheaply and loads nothing until :meth:`ChartRenderer.render`.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Protocol, TypedDict, cast

__all__ = ["DRAWING_MODULE", "ChartRenderer", "Headline", "Point", "has_data", "headline_figures"]

Point = tuple[date | datetime, float | int | None]
_Value = tuple[date | datetime, float]  # a point with a real value

#: The module :class:`ChartRenderer` loads on its first render.
DRAWING_MODULE = "bot.text.chart_drawing"


class ChartDrawing(Protocol):
    """What the renderer needs of the drawing module (see :mod:`bot.text.chart_drawing`)."""

    def render_insights_chart(self, series: Mapping[str, Sequence[Point] | None], **options: Any) -> bytes: ...


class ChartRenderer:
    """Draws insights charts; imports the drawing module (and matplotlib) on its first render.

    Renders are serialised (matplotlib does not promise thread safety), so :meth:`render` may be
    called from worker threads (``await asyncio.to_thread(renderer.render, ...)``).
    """

    def __init__(self, module: str = DRAWING_MODULE) -> None:
        self._module = module
        self._drawing: ChartDrawing | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the drawing module was loaded (a chart was drawn)."""
        return self._drawing is not None

    def render(self, series: Mapping[str, Sequence[Point] | None], **options: Any) -> bytes:
        """A PNG of ``series``: see :func:`bot.text.chart_drawing.render_insights_chart` for
        ``options`` (title, axis labels, missing metrics, language, size, zone, catalogue)."""
        with self._lock:
            return self._load().render_insights_chart(series, **options)

    def _load(self) -> ChartDrawing:
        """The drawing module, imported on first use (the reason is in the module docstring)."""
        if self._drawing is None:
            self._drawing = cast(ChartDrawing, importlib.import_module(self._module))
        return self._drawing


def has_data(series: Mapping[str, Sequence[Point] | None]) -> bool:
    """Whether any metric has at least one real value to draw."""
    return any(
        value is not None and math.isfinite(float(value)) for points in series.values() for _, value in points or ()
    )


class Headline(TypedDict):
    """The caption's numbers for one metric (see :func:`headline_figures`)."""

    total: float | int
    last: float | int
    last_at: date | datetime
    peak: float | int
    peak_at: date | datetime
    points: int
    change: float | int | None
    change_pct: float | None


def headline_figures(
    series: Mapping[str, Sequence[Point] | None],
    *,
    previous: Mapping[str, Sequence[Point] | None] | None = None,
    cumulative: Collection[str] = (),
) -> dict[str, Headline]:
    """The caption's numbers for each metric that has data (metrics without any are left out).

    For each metric: ``total`` (sum of the values; for a ``cumulative`` metric such as followers,
    the last value), ``last`` and ``last_at`` (the latest value and its date), ``peak`` and
    ``peak_at``, ``points`` (how many values), and ``change`` / ``change_pct``: ``total`` minus
    the same figure over ``previous`` (the preceding period, when the caller fetched it); for a
    cumulative metric without ``previous``, the growth over the period (last − first). ``None``
    where it cannot be derived (no previous period, or a percentage of zero).
    """
    out: dict[str, Headline] = {}
    for name, points in series.items():
        values = _values(points)
        if values:
            earlier = _values((previous or {}).get(name))
            out[name] = _headline(values, earlier, cumulative=name in cumulative)
    return out


def _headline(values: list[_Value], earlier: list[_Value], *, cumulative: bool) -> Headline:
    """The figures of one metric's ``values``, compared with ``earlier`` (the previous period)."""
    total = values[-1][1] if cumulative else math.fsum(v for _, v in values)
    peak_at, peak = max(values, key=lambda item: item[1])
    base: float | None = None
    if earlier:
        base = earlier[-1][1] if cumulative else math.fsum(v for _, v in earlier)
    elif cumulative and len(values) >= 2:
        base = values[0][1]
    change = None if base is None else total - base
    return {
        "total": _tidy(total),
        "last": _tidy(values[-1][1]),
        "last_at": values[-1][0],
        "peak": _tidy(peak),
        "peak_at": peak_at,
        "points": len(values),
        "change": None if change is None else _tidy(change),
        "change_pct": None if change is None or not base else round(change / abs(base) * 100, 1),
    }


def _values(points: Sequence[Point] | None) -> list[_Value]:
    clean = [(x, float(v)) for x, v in points or () if v is not None and math.isfinite(float(v))]
    clean.sort(key=lambda item: _sort_key(item[0]))
    return clean


def _sort_key(x: date | datetime) -> datetime:
    if not isinstance(x, datetime):
        return datetime.combine(x, time())
    return x.astimezone(UTC).replace(tzinfo=None) if x.tzinfo is not None else x


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)

"""Insights data: what is asked of Resont, and reading its many answer shapes into series.

Resont's ``Insights.data`` is documented only as ``integer|string|array|object``:
:func:`points_of` reads the shapes seen in social-media APIs (a number, a list of
``{date, value}`` objects or ``[date, value]`` pairs, a ``{date: value}`` mapping, an object with a
``values`` list) and leaves anything else out as "not reported".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.clients.resont.dates import DateParser
from bot.runtime.services import Services
from bot.text.charts import Headline, Point, headline_figures
from bot.text.digits import to_ascii_digits

#: Period code (in callback data and catalogue keys) → the value Resont expects.
PERIODS: dict[str, str] = {
    "week": "week",
    "month": "month",
    "three_months": "three months",
    "lifetime": "lifetime",
    "custom": "custom",
}
#: Days covered by a fixed period (to place undated values; lifetime has no fixed length).
PERIOD_DAYS = {"week": 7, "month": 30, "three_months": 90}

#: Metrics asked for. Resont's document names no metric; these are the usual ones of the
#: networks it serves. Whatever else Resont sends back is shown too.
ACCOUNT_METRICS: tuple[str, ...] = ("followers", "impressions", "reach", "engagement", "profile_views")
POST_METRICS: tuple[str, ...] = ("impressions", "reach", "likes", "comments", "shares", "saves")
#: Metrics that are a running level (the period's figure is the last value, not the sum).
CUMULATIVE = frozenset({"followers", "following", "followers_count", "media_count"})

_DATE_KEYS = ("date", "end_time", "day", "time", "timestamp", "x", "label", "period", "start_time")
_VALUE_KEYS = ("value", "count", "y", "total", "amount")
_NESTED_KEYS = ("values", "data", "series", "points", "items")


@dataclass(frozen=True)
class Target:
    """What insights are asked for: an account or a post group."""

    kind: str  # "account" | "post"
    item_id: int

    @property
    def code(self) -> str:
        return str(self.item_id) if self.kind == "account" else f"p{self.item_id}"

    @classmethod
    def from_code(cls, code: str) -> Target:
        if code.startswith("p"):
            return cls("post", int(code[1:]))
        return cls("account", int(code))

    @property
    def metrics(self) -> tuple[str, ...]:
        return ACCOUNT_METRICS if self.kind == "account" else POST_METRICS


@dataclass
class Report:
    """One insights answer, read and ready to draw."""

    name: str  # plain text (not HTML-escaped)
    period_label: str
    series: dict[str, list[Point]]  # raw metric name → points (only metrics with data)
    missing: list[str]  # raw metric names requested or returned without data
    figures: dict[str, Headline] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.figures


# --- reading Resont's data -----------------------------------------------------------------


def number_of(value: Any) -> float | int | None:
    """A finite number from a number or a numeric string (Persian digits, separators), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number: float | int = value
    elif isinstance(value, str):
        text = to_ascii_digits(value).strip().replace(",", "").replace("٬", "").replace("٫", ".")
        if not re.fullmatch(r"[-+]?\d+(?:\.\d+)?", text):
            return None
        number = float(text) if "." in text else int(text)
    else:
        return None
    if isinstance(number, float):
        if not math.isfinite(number):
            return None
        if number.is_integer():
            return int(number)
    return number


def _date_of(value: Any, dates: DateParser, tz: tzinfo) -> date | datetime | None:
    """A date (midnight values) or an aware datetime, read through the user's date settings."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 1e8:
        return None  # a small number is a value or an index, not a unix time
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    parsed = dates.parse(value)
    if parsed is None:
        return None
    if parsed.time() == time(0, 0):
        return parsed.date()
    return parsed.astimezone(tz)


def _point_of(item: Mapping[str, Any], dates: DateParser, tz: tzinfo) -> tuple[bool, Point | None]:
    """(looks like a point, the point). A point with no usable value keeps its date as a gap."""
    when = next((_date_of(item[k], dates, tz) for k in _DATE_KEYS if k in item and item[k] is not None), None)
    if when is None:
        return False, None
    raw = next((item[k] for k in _VALUE_KEYS if k in item), None)
    return True, (when, number_of(raw))


def points_of(data: Any, *, dates: DateParser, tz: tzinfo, end: date, depth: int = 0) -> list[Point] | None:
    """The ``(date, value)`` points of one metric's ``data``, or None when there is nothing usable.

    A lone number is one point at ``end`` (the period's last day); a list of bare numbers is one
    value a day ending at ``end``.
    """
    if data is None or depth > 3:
        return None
    single = number_of(data)
    if single is not None:
        return [(end, single)]
    if isinstance(data, Mapping):
        return _points_of_mapping(data, dates=dates, tz=tz, end=end, depth=depth)
    if isinstance(data, (list, tuple)):
        return _points_of_list(data, dates=dates, tz=tz, end=end)
    return None


def _points_of_mapping(
    data: Mapping[str, Any], *, dates: DateParser, tz: tzinfo, end: date, depth: int
) -> list[Point] | None:
    """A nested list, one ``{date, value}`` point, a ``{total: n}`` figure, or ``{date: value}``."""
    for key in _NESTED_KEYS:
        if isinstance(data.get(key), (list, Mapping)):
            return points_of(data[key], dates=dates, tz=tz, end=end, depth=depth + 1)
    is_point, point = _point_of(data, dates, tz)
    if is_point:
        return [point] if point is not None else None
    for key in _VALUE_KEYS:
        value = number_of(data.get(key))
        if value is not None:
            return [(end, value)]
    by_date = [(_date_of(k, dates, tz), number_of(v)) for k, v in data.items()]
    points = [(when, value) for when, value in by_date if when is not None]
    return points or None


def _points_of_list(data: Sequence[Any], *, dates: DateParser, tz: tzinfo, end: date) -> list[Point] | None:
    """Dated objects or ``[date, value]`` pairs; else bare numbers, one a day ending at ``end``."""
    points: list[Point] = []
    bare: list[float | int | None] = []
    for item in data:
        if isinstance(item, Mapping):
            is_point, point = _point_of(item, dates, tz)
            if is_point and point is not None:
                points.append(point)
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            when = _date_of(item[0], dates, tz)
            if when is not None:
                points.append((when, number_of(item[1])))
        elif item is None or number_of(item) is not None:
            bare.append(number_of(item))
    if not points and any(v is not None for v in bare):
        first = end - timedelta(days=len(bare) - 1)
        points = [(first + timedelta(days=i), value) for i, value in enumerate(bare)]
    return points or None


def read_insights(
    by_metric: Mapping[str, Any],
    requested: Sequence[str],
    *,
    dates: DateParser,
    tz: tzinfo,
    end: date,
) -> tuple[dict[str, list[Point]], list[str]]:
    """(metric → points for metrics with at least one value, metrics without any), in the order
    requested then returned."""
    series: dict[str, list[Point]] = {}
    missing: list[str] = []
    for name in dict.fromkeys([*requested, *by_metric]):
        points = points_of(by_metric.get(name), dates=dates, tz=tz, end=end)
        if points and any(value is not None for _, value in points):
            series[name] = points
        else:
            missing.append(name)
    return series, missing


# --- fetching ------------------------------------------------------------------------------


async def connected_accounts(services: Services) -> list[Any]:
    """Resont's accounts that have an id, in their insights order. Raises ResontError."""
    accounts = [a for a in await services.resont.accounts.all() if a.id is not None]
    accounts.sort(key=lambda a: (a.insights_order if a.insights_order is not None else 1 << 30, a.id))
    return accounts


async def fetch_report(
    services: Services,
    target: Target,
    period: str,
    *,
    name: str,
    label: str,
    start: date | None = None,
    end: date | None = None,
) -> Report:
    """Ask Resont for ``target``'s insights over ``period`` and read them. Raises ResontError."""
    kwargs: dict[str, Any] = {"date_from": start, "date_to": end} if period == "custom" else {}
    insights = services.resont.insights
    if target.kind == "account":
        response = await insights.account(target.item_id, target.metrics, PERIODS[period], **kwargs)
    else:
        response = await insights.post(target.item_id, target.metrics, PERIODS[period], **kwargs)
    tz = services.tz
    dates = DateParser.from_settings(services.resont.users.last, tz)
    last_day = end if (period == "custom" and end is not None) else services.clock().astimezone(tz).date()
    series, missing = read_insights(response.by_metric(), target.metrics, dates=dates, tz=tz, end=last_day)
    report = Report(name=name, period_label=label, series=series, missing=missing)
    report.figures = headline_figures(series, cumulative=CUMULATIVE)
    return report

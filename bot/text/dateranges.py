"""Ranges of calendar dates typed by people, in English or Persian: the insights command's
custom periods (:func:`parse_date_range`)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.text.timeparse import format_date
from bot.text.timewords import (
    DAY_MONTH_RE,
    DMY_RE,
    FILLER_PUNCT_RE,
    LAST_N_RE,
    MONTH_DAY_RE,
    RANGE_FILLERS,
    RANGE_SEP_RE,
    YMD_RE,
    TimeParseError,
    calendar_of_year,
    check_yearless,
    make_date,
    month_of,
    normalize,
    quoted,
    year_of,
)

__all__ = ["parse_date_range"]


def parse_date_range(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo | tzinfo,
    lang: str = "en",
    allow_future: bool = False,
    max_days: int | None = 366,
) -> tuple[date, date]:
    """A range of local calendar dates ``(start, end)``, both included.

    Accepted: ``2026-11-01..2026-11-20``, ``2026-11-01 2026-11-20``, ``2026-11-01 to 2026-11-20``,
    ``from 1 nov 2026 to 20 nov 2026``, Jalali ``۱۴۰۵/۰۸/۱۰ تا ۱۴۰۵/۰۸/۳۰`` or
    ``از ۱۰ آبان تا ۳۰ آبان``, a single date (a one-day range), and ``last 7 days`` /
    ``۷ روز گذشته`` (ending today). A date without a year is its latest occurrence up to today.
    Errors (:class:`~bot.text.timewords.TimeParseError`): ``time.err_range_format``, ``time.err_invalid_date``,
    ``time.err_ambiguous_date``, ``time.err_range_order``, ``time.err_range_future`` (unless
    ``allow_future``), ``time.err_range_too_long`` (more than ``max_days`` days).
    """
    shown = quoted(text or "")
    shown = quoted(text or "")
    s = normalize(text or "")
    today = now.astimezone(tz).date()
    if not s:
        raise TimeParseError("time.err_range_format", text=shown)
    m = LAST_N_RE.fullmatch(s)
    if m:
        return _last_days(m, shown, today, max_days)
    start, end = _typed_range(s, shown, today)
    if end < start:
        raise TimeParseError(
            "time.err_range_order", start=format_date(start, lang=lang), end=format_date(end, lang=lang)
        )
    if not allow_future and end > today:
        raise TimeParseError("time.err_range_future", end=format_date(end, lang=lang))
    _check_length((end - start).days + 1, max_days)
    return start, end


def _last_days(m: re.Match[str], shown: str, today: date, max_days: int | None) -> tuple[date, date]:
    """``last 7 days`` / ``۲ هفته گذشته``: the days up to today."""
    count, unit = (int(m[1]), m[2]) if m[1] else (int(m[3]), m[4])
    days = count * (7 if unit.startswith("w") or unit == "هفته" else 1)
    if days < 1:
        raise TimeParseError("time.err_range_format", text=shown)
    _check_length(days, max_days)
    return today - timedelta(days=days - 1), today


def _check_length(days: int, max_days: int | None) -> None:
    if max_days is not None and days > max_days:
        raise TimeParseError("time.err_range_too_long", days=days, max=max_days)


def _typed_range(s: str, shown: str, today: date) -> tuple[date, date]:
    """The first and last of the one or two dates in ``s``; only separators and filler words
    may surround them."""
    dates, rest = _dates_in(s, today)
    day_first = DMY_RE.search(rest)
    if day_first is not None:
        raise TimeParseError("time.err_ambiguous_date", text=day_first[0])
    rest = RANGE_SEP_RE.sub(" ", rest.replace("|", " "))
    leftover = [w for w in FILLER_PUNCT_RE.sub(" ", rest).split() if w not in RANGE_FILLERS]
    if leftover or not 1 <= len(dates) <= 2:
        raise TimeParseError("time.err_range_format", text=shown)
    return dates[0], dates[-1]


def _dates_in(s: str, today: date) -> tuple[list[date], str]:
    """Every date in ``s`` from left to right, and ``s`` with each replaced by ``|``."""
    dates: list[date] = []
    rest = s
    while True:
        found = [
            (m.start(), pattern, m) for pattern in (YMD_RE, DAY_MONTH_RE, MONTH_DAY_RE) if (m := pattern.search(rest))
        ]
        if not found:
            return dates, rest
        _, pattern, m = min(found, key=lambda item: item[0])
        rest = rest[: m.start()] + " | " + rest[m.end() :]
        dates.append(_date_of(pattern, m, today))


def _date_of(pattern: re.Pattern[str], m: re.Match[str], today: date) -> date:
    if pattern is YMD_RE:
        year = int(m[1])
        return make_date(calendar_of_year(year), year, int(m[3]), int(m[4]), m[0])
    day_group, month_group = (1, 2) if pattern is DAY_MONTH_RE else (2, 1)
    calendar, month = month_of(m[month_group])
    dom = int(m[day_group])
    if m[3]:
        return make_date(calendar, int(m[3]), month, dom, m[0])
    return _latest_yearless(calendar, month, dom, today, m[0])


def _latest_yearless(calendar: str, month: int, dom: int, today: date, shown: str) -> date:
    """The latest ``dom`` of ``month`` in ``calendar`` up to ``today``."""
    base = year_of(today, calendar)
    check_yearless(calendar, month, dom, shown)
    for year in range(base, base - 9, -1):
        try:
            candidate = make_date(calendar, year, month, dom, shown)
        except TimeParseError:
            continue
        if candidate <= today:
            return candidate
    raise TimeParseError("time.err_invalid_date", text=shown)  # pragma: no cover - 29 Feb thrice

"""Dates and times typed by people, in English or Persian, in the configured time zone.

:func:`parse_when` turns what a user typed into an aware UTC :class:`~datetime.datetime`;
:func:`format_when` shows an instant back to them (Gregorian in English, Jalali with Persian
month names and digits in Persian) so a handler can confirm the parsed time before acting;
:func:`bot.text.dateranges.parse_date_range` reads the custom ranges of the insights command.
Every failure is a :class:`bot.text.timewords.TimeParseError`; :mod:`bot.text.timewords` holds the
words and patterns all three share, :mod:`bot.text.timeparts` reads an absolute time's parts.

Accepted by :func:`parse_when` (both languages are always accepted, whatever ``lang`` is;
Persian and Arabic-Indic digits, Arabic yeh/kaf, ZWNJ and bidi marks are normalised first):

* absolute: ``2026-12-01 18:30``, ``2026/12/01 18:30``, ``2026.12.01 6:30pm``,
  ``2026-12-01T18:30``, ``1 dec 2026 18:30``, ``dec 1, 2026 9am``, ``۱۰ آذر ۱۴۰۵ ۱۸:۳۰``;
  a year 1300–1499 means the Jalali calendar (``۱۴۰۵/۰۹/۱۰ ۱۸:۳۰``, ``1405-09-10 18:30``),
  a year 1900 or later the Gregorian one; Jalali month names always mean Jalali dates, English
  month names Gregorian ones; without a year the next such date is meant;
  day-first numeric dates (``01.12.2026``) are refused as ambiguous (``time.err_ambiguous_date``);
* a date without a time means :data:`DEFAULT_TIME` (09:00 local);
* a time alone (``18:30``, ``9pm``, ``ساعت ۹ شب``) means today, or tomorrow if that time has
  passed;
* day words: ``today``/``امروز``, ``tomorrow``/``فردا``, ``day after tomorrow``/``پس‌فردا``;
* weekday names (``mon``, ``friday``, ``next friday``, ``جمعه``, ``سه‌شنبه``): the soonest such
  day on which the time is still ahead (today included). A weekday next to an explicit date is
  checked against it (``time.err_weekday_mismatch``), so ``format_when`` output parses back;
* times: ``18:30``, ``18:30:15``, ``9am``, ``9:30 pm``, ``at 9``, ``ساعت ۹``, ``۹ صبح``,
  ``۵ عصر``, ``۱۰ شب`` (``شب``: 6–11 → evening, 12 → midnight, 1–5 → small hours),
  ``noon``/``ظهر`` (1–5 with it → afternoon);
* relative, counted as exact durations from ``now``: ``+2h``, ``+90m``, ``+1d``, ``+1d 3h``,
  ``+1.5h``, ``in 2 hours``, ``in 30 minutes``, ``2 hours later``, ``۲ ساعت دیگر``,
  ``نیم ساعت دیگر``, ``۱ روز و ۳ ساعت بعد`` (units: m/min/minute, h/hr/hour, d/day, w/week,
  دقیقه, ساعت, روز, هفته; ``1d`` is 24 hours, not "same wall-clock time tomorrow");
* ``now``/``الان``;
* an ISO timestamp with its own offset (``2026-12-01T15:00:00+00:00``) is taken as it is, and
  a trailing ``UTC``/``GMT`` means the wall time is UTC rather than the configured zone.

Time-zone transitions are handled deliberately: a local time that does not exist (the hour
skipped when clocks go forward) is refused with ``time.err_nonexistent``; a local time that
happens twice (clocks go back) means the first occurrence, unless the zone's abbreviation for
the second one follows (``2026-10-25 02:30 CET``) — :func:`format_when` writes that abbreviation
exactly when a time is ambiguous, so what it shows parses back to the same instant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import jdatetime

from bot.text.digits import FSI, PDI, to_persian_digits
from bot.text.timeparts import Parts, read_parts
from bot.text.timewords import (
    JALALI_MONTHS_FA,
    NOW_RE,
    NUMBER_WORDS,
    PIECE_RE,
    RELATIVE_RE,
    UNITS,
    WEEKDAYS_EN,
    WEEKDAYS_FA,
    TimeParseError,
    make_date,
    normalize,
    quoted,
    weekday_name,
    year_of,
)

__all__ = ["DEFAULT_TIME", "MAX_AHEAD", "format_date", "format_when", "parse_when"]

DEFAULT_TIME = time(9, 0)
"""The local time meant by a date typed without a time."""

MAX_AHEAD = timedelta(days=5 * 365 + 1)
"""How far ahead :func:`parse_when` accepts by default (a farther time is almost surely a typo)."""


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo | tzinfo,
    lang: str = "en",
    allow_past: bool = False,
    max_ahead: timedelta | None = MAX_AHEAD,
    default_time: time = DEFAULT_TIME,
) -> datetime:
    """The instant meant by ``text``, typed in zone ``tz``, as an aware UTC datetime.

    ``now`` must be aware (it is the reference for "today", "+2h" and the past check).
    ``lang`` only chooses how values inside errors are written (both languages are always
    accepted). A result before ``now`` raises ``time.err_in_past`` unless ``allow_past``; one
    more than ``max_ahead`` after ``now`` raises ``time.err_too_far``. See the module docstring
    for the accepted forms. Every failure is a :class:`TimeParseError`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    shown = quoted(text or "")
    s = normalize(text or "")
    if not s:
        raise TimeParseError("time.err_empty")
    try:
        result = _parse(s, shown, now=now, tz=tz, lang=lang, max_ahead=max_ahead, default_time=default_time)
    except TimeParseError:
        raise
    except (OverflowError, ValueError):  # a date at the very edge of what datetime can hold
        raise TimeParseError("time.err_invalid_date", text=shown) from None
    if not allow_past and result < now:
        raise TimeParseError("time.err_in_past", when=format_when(result, tz=tz, lang=lang))
    if max_ahead is not None and result - now > max_ahead:
        raise TimeParseError("time.err_too_far", when=format_when(result, tz=tz, lang=lang), days=max_ahead.days)
    return result


def _parse(
    s: str,
    shown: str,
    *,
    now: datetime,
    tz: tzinfo,
    lang: str,
    max_ahead: timedelta | None,
    default_time: time,
) -> datetime:
    if NOW_RE.fullmatch(s):
        return now
    m = RELATIVE_RE.fullmatch(s)
    if m:
        return _relative(m["body"], shown, now, max_ahead)
    iso = _iso_with_offset(s)
    if iso is not None:
        return iso
    parts = read_parts(s, shown)
    resolver = _Resolver(parts, shown, now=now, zone=UTC if parts.utc else tz, lang=lang)
    return resolver.resolve(default_time)


def _relative(body: str, shown: str, now: datetime, max_ahead: timedelta | None) -> datetime:
    """``now`` plus the durations in ``body`` (``1d 3h``, ``half an hour``)."""
    minutes = 0.0
    for digits, word, unit in PIECE_RE.findall(body):
        value = float(digits) if digits else NUMBER_WORDS[re.sub(r"\s+", " ", word)]
        minutes += value * UNITS[unit]
    limit = (max_ahead or timedelta.max).total_seconds() / 60
    if not math.isfinite(minutes) or minutes > limit:
        raise TimeParseError("time.err_too_far", when=shown, days=(max_ahead or timedelta.max).days)
    return now + timedelta(minutes=minutes)


def _iso_with_offset(s: str) -> datetime | None:
    candidate = s.upper().replace(" ", "T", 1)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})", candidate):
        return None
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else None


class _Resolver:
    """The instant an absolute time's parts mean, counted from ``now`` in ``zone``: the soonest
    one still ahead where the parts leave a choice (a time alone, a weekday, a date without a
    year)."""

    def __init__(self, parts: Parts, shown: str, *, now: datetime, zone: tzinfo, lang: str) -> None:
        self.parts = parts
        self.shown = shown
        self.now = now
        self.zone = zone
        self.lang = lang
        self.today = now.astimezone(zone).date()

    def resolve(self, default_time: time) -> datetime:
        parts = self.parts
        when = parts.clock or default_time
        day = parts.date
        if day is None and parts.day_offset is not None:
            day = self.today + timedelta(days=parts.day_offset)
        if day is not None:
            self._check_weekday(day)
            return self.at(day, when)
        if parts.yearless is not None:
            result = self.first_ahead(self._yearly(*parts.yearless), when)
            self._check_weekday(result.astimezone(self.zone).date())
            return result
        if parts.weekday is not None:
            return self.first_ahead(self._weekdays(parts.weekday), when)
        if parts.clock is not None:
            return self.first_ahead([self.today + timedelta(days=k) for k in range(3)], parts.clock)
        raise TimeParseError("time.err_unknown_format", text=self.shown)

    def at(self, day: date, when: time) -> datetime:
        """``day`` at wall time ``when`` in the zone, as aware UTC."""
        return _localize(datetime.combine(day, when), self.zone, self.parts.zone_abbr, self.lang, self.shown)

    def first_ahead(self, days: Iterable[date], when: time) -> datetime:
        """The first of ``days`` at ``when`` that is after now (else the last: the caller reports
        it as past)."""
        last: datetime | None = None
        for day in days:
            last = self.at(day, when)
            if last > self.now:
                return last
        if last is None:
            raise TimeParseError("time.err_invalid_date", text=self.shown)
        return last

    def _yearly(self, calendar: str, month: int, dom: int) -> list[date]:
        """That day and month in this year and the next eight (30 Esfand / 29 Feb: up to the
        next leap year), skipping years without it."""
        out = []
        base = year_of(self.today, calendar)
        for year in range(base, base + 9):
            try:
                out.append(make_date(calendar, year, month, dom, self.shown))
            except TimeParseError:
                continue  # 30 Esfand or 29 Feb in a common year
        return out

    def _weekdays(self, wanted: int) -> list[date]:
        """The days of the coming two weeks (today included) that are weekday ``wanted``."""
        days = (self.today + timedelta(days=k) for k in range(15))
        return [day for day in days if day.weekday() == wanted]

    def _check_weekday(self, day: date) -> None:
        """A weekday typed next to a date must be that date's (``time.err_weekday_mismatch``)."""
        wanted = self.parts.weekday
        if wanted is not None and day.weekday() != wanted:
            raise TimeParseError(
                "time.err_weekday_mismatch",
                date=format_date(day, lang=self.lang),
                weekday=weekday_name(wanted, self.lang),
            )


def _localize(naive: datetime, zone: tzinfo, zone_abbr: str | None, lang: str, shown: str) -> datetime:
    """``naive`` wall time in ``zone`` → aware UTC; refuses skipped times, picks a fold."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        shown_when = _format_local(naive, lang)
        raise TimeParseError("time.err_nonexistent", when=shown_when, zone=_zone_name(zone))
    chosen = first
    if zone_abbr is not None:
        names = {(first.tzname() or "").casefold(): first, (second.tzname() or "").casefold(): second}
        if zone_abbr not in names:
            raise TimeParseError("time.err_unknown_format", text=shown)
        chosen = names[zone_abbr]
    return chosen.astimezone(UTC)


def _zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


# --- formatting --------------------------------------------------------------------------------


def _format_local(local: datetime, lang: str) -> str:
    if lang == "fa":
        return f"{format_date(local.date(), lang='fa', weekday=True)}، {to_persian_digits(f'{local:%H:%M}')}"
    return f"{local:%Y-%m-%d %H:%M} ({WEEKDAYS_EN[local.weekday()]})"


def format_when(dt: datetime, *, tz: ZoneInfo | tzinfo, lang: str = "en") -> str:
    """An instant as a person in ``tz`` reads it.

    English: ``2026-12-01 18:30 (Tue)``. Persian: ``سه‌شنبه ۱۰ آذر ۱۴۰۵، ۱۸:۳۰`` (Jalali,
    Persian month name and digits). When that wall time happens twice in ``tz`` (clocks going
    back), the zone abbreviation is added (``2026-10-25 02:30 (Sun) CET``; isolated in Persian).
    :func:`parse_when` reads every output back to the same minute.
    """
    if dt.tzinfo is None:
        raise ValueError("dt must be an aware datetime")
    local = dt.astimezone(tz)
    text = _format_local(local, lang)
    naive = local.replace(tzinfo=None)
    other = naive.replace(tzinfo=tz, fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset() and other.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        abbr = local.tzname() or ""
        text += f" {FSI}{abbr}{PDI}" if lang == "fa" else f" {abbr}"
    return text


def format_date(day: date, *, lang: str = "en", weekday: bool = False) -> str:
    """A calendar date: ``2026-12-01`` in English, ``۱۰ آذر ۱۴۰۵`` (Jalali) in Persian."""
    if lang == "fa":
        try:
            j = jdatetime.date.fromgregorian(date=day)
            text = to_persian_digits(f"{j.day} {JALALI_MONTHS_FA[j.month - 1]} {j.year}")
        except (ValueError, OverflowError):  # beyond the Jalali range jdatetime supports
            text = to_persian_digits(f"{day:%Y-%m-%d}")
        return f"{WEEKDAYS_FA[day.weekday()]} {text}" if weekday else text
    text = f"{day:%Y-%m-%d}"
    return f"{text} ({WEEKDAYS_EN[day.weekday()]})" if weekday else text

"""Dates and times typed by people, in English or Persian, in the configured time zone.

:func:`parse_when` turns what a user typed into an aware UTC :class:`~datetime.datetime`;
:func:`format_when` shows an instant back to them (Gregorian in English, Jalali with Persian
month names and digits in Persian) so a handler can confirm the parsed time before acting;
:func:`parse_date_range` reads the custom ranges of the insights command.

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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime

from bot.text.digits import FSI, PDI, to_ascii_digits, to_persian_digits

__all__ = [
    "DEFAULT_TIME",
    "MAX_AHEAD",
    "TimeParseError",
    "format_date",
    "format_when",
    "parse_date_range",
    "parse_when",
]

DEFAULT_TIME = time(9, 0)
"""The local time meant by a date typed without a time."""

MAX_AHEAD = timedelta(days=5 * 365 + 1)
"""How far ahead :func:`parse_when` accepts by default (a farther time is almost surely a typo)."""

JALALI_YEARS = range(1300, 1500)
"""Four-digit years read as Jalali (Solar Hijri) years: 1300 AP is 1921 CE, 1499 AP is 2120 CE."""

_MIN_GREGORIAN_YEAR = 1900


class TimeParseError(ValueError):
    """What the user typed is not a usable time.

    ``reason_key`` is a catalogue key (``time.err_*``) and ``values`` fill its placeholders:
    ``catalogue.t(err.reason_key, lang, **err.values)`` or ``err.render(catalogue, lang)``.
    """

    def __init__(self, reason_key: str, /, **values: Any) -> None:
        self.reason_key = reason_key
        self.values = values
        super().__init__(f"{reason_key} {values}" if values else reason_key)

    @property
    def key(self) -> str:
        return self.reason_key

    def render(self, catalogue: Any, lang: str | None = None) -> str:
        return catalogue.t(self.reason_key, lang, **self.values)


# --- names -------------------------------------------------------------------------------------

_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAYS_EN_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# index = datetime.weekday() (Monday = 0)
_WEEKDAYS_FA = ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه")
_JALALI_MONTHS_FA = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip

# Patterns work on normalised text: lower case, ASCII digits, ZWNJ → space, Persian yeh/kaf.
_WEEKDAY_WORDS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_WEEKDAY_FA_PATTERNS = (
    (r"یک\s*شنبه", 6), (r"دو\s*شنبه", 0), (r"سه\s*شنبه", 1), (r"چهار\s*شنبه", 2),
    (r"پنج\s*شنبه", 3), (r"شنبه", 5), (r"جمعه", 4),
)  # fmt: skip
_MONTHS_EN: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_MONTHS_FA: dict[str, int] = {name: i for i, name in enumerate(_JALALI_MONTHS_FA, 1)}
_MONTHS_FA["امرداد"] = 5

_W = r"A-Za-z0-9_\u0600-\u06FF"  # what counts as part of a word around a keyword
_B = rf"(?<![{_W}])"  # word start
_E = rf"(?![{_W}])"  # word end


def _alt(words: Any) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_NOW_RE = re.compile(r"(?:right\s+)?now|(?:همین\s*)?(?:الان|الآن|حالا)|اکنون|هم\s*اکنون")

# relative durations
_UNITS: dict[str, float] = {}  # unit word → minutes
for _words, _minutes in (
    (("m", "min", "mins", "minute", "minutes", "دقیقه"), 1),
    (("h", "hr", "hrs", "hour", "hours", "ساعت"), 60),
    (("d", "day", "days", "روز"), 1440),
    (("w", "wk", "wks", "week", "weeks", "هفته"), 10080),
):
    for _word in _words:
        _UNITS[_word] = _minutes
_NUMBER_WORDS: dict[str, float] = {"a": 1, "an": 1, "half an": 0.5, "half a": 0.5, "نیم": 0.5}
for _i, (_en, _fa) in enumerate(
    zip(
        ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
        ("یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه", "ده"),
        strict=True,
    ),
    1,
):
    _NUMBER_WORDS[_en] = _NUMBER_WORDS[_fa] = _i
_NUMBER_WORD = _alt(_NUMBER_WORDS).replace(r"\ ", r"\s+")
_UNIT_END = r"(?![A-Za-z\u0600-\u06FF])"  # "+1d3h": a digit may follow a unit
# a number word stands alone before its unit ("an hour", never "an" + "d" inside "and")
_PIECE = rf"(?:\d+(?:\.\d+)?\s*|{_B}(?:{_NUMBER_WORD})\s+)(?:{_alt(_UNITS)}){_UNIT_END}"
_PIECE_RE = re.compile(rf"(?:(\d+(?:\.\d+)?)\s*|{_B}({_NUMBER_WORD})\s+)({_alt(_UNITS)}){_UNIT_END}")
_RELATIVE_RE = re.compile(
    rf"(?:(?:in|تا)\s+|\+\s*)?"
    rf"(?P<body>{_PIECE}(?:\s*(?:,|and|و|\+)?\s*{_PIECE})*)"
    rf"(?:\s*(?:later|from\s+now|دیگر|بعد))?"
)

# absolute parts
_YMD_RE = re.compile(r"(?<!\d)(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?![\d])")
_DMY_RE = re.compile(r"(?<!\d)\d{1,2}\s*([-/.])\s*\d{1,2}\s*\1\s*\d{4}(?!\d)")
_MONTH_ALT = _alt([*_MONTHS_EN, *_MONTHS_FA])
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:\s*,?\s*(\d{4})(?![\d:]))?"
_DAY_MONTH_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}}){_ORD}\s*(?:of\s+)?{_B}({_MONTH_ALT}){_E}{_YEAR}")
_MONTH_DAY_RE = re.compile(rf"{_B}({_MONTH_ALT}){_E}\s*(\d{{1,2}}){_ORD}(?![\d:]){_YEAR}")

_MERIDIEM: dict[str, str] = {
    "am": "am", "a.m.": "am", "a.m": "am", "صبح": "am", "ق.ظ": "am", "قبل از ظهر": "am",
    "pm": "pm", "p.m.": "pm", "p.m": "pm", "ب.ظ": "pm", "بعد از ظهر": "pm", "بعدازظهر": "pm",
    "عصر": "pm", "noon": "noon", "ظهر": "noon", "night": "night", "شب": "night",
}  # fmt: skip
_MERIDIEM_BY_LETTERS = {word.replace(" ", ""): kind for word, kind in _MERIDIEM.items()}
_MERIDIEM_ALT = "|".join(sorted((re.escape(w).replace(r"\ ", r"\s*") for w in _MERIDIEM), key=len, reverse=True))
_MERIDIEM_TAIL = rf"(?:\s*(?:in\s+the\s+)?({_MERIDIEM_ALT})(?![A-Za-z\u0600-\u06FF]))?"
_CLOCK_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}})\s*:\s*(\d{{2}})(?:\s*:\s*(\d{{2}}))?(?![\d:]){_MERIDIEM_TAIL}")
_HOUR_MERIDIEM_RE = re.compile(
    rf"(?<![\d:.])(\d{{1,2}})\s*(?:o'?clock\s*)?(?:in\s+the\s+)?({_MERIDIEM_ALT})(?![A-Za-z\u0600-\u06FF])"
)
_AT_HOUR_RE = re.compile(rf"{_B}(?:at|ساعت)\s*(\d{{1,2}})(?![\d:.]){_MERIDIEM_TAIL}")
_MERIDIEM_ALONE_RE = re.compile(rf"{_B}(?:in\s+the\s+)?({_MERIDIEM_ALT})(?![A-Za-z\u0600-\u06FF])")
_BARE_HOUR_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}})(?:\s*o'?clock)?(?![\d:.]){_MERIDIEM_TAIL}")
_DAY_WORD_RES = (
    (re.compile(rf"{_B}(?:the\s+)?day\s+after\s+tomorrow{_E}|{_B}پس\s*فردا{_E}"), 2),
    (re.compile(rf"{_B}(?:tomorrow|tmrw|tmr){_E}|{_B}فردا{_E}"), 1),
    (re.compile(rf"{_B}today{_E}|{_B}امروز{_E}"), 0),
)
_WEEKDAY_RE = re.compile(
    rf"{_B}(?:{_alt(_WEEKDAY_WORDS)}){_E}|" + "|".join(rf"{_B}{p}{_E}" for p, _ in _WEEKDAY_FA_PATTERNS)
)
_FILLERS = {
    "at", "on", "the", "next", "this", "coming", "of", "o'clock", "oclock", "by",
    "ساعت", "در", "روز", "آینده", "این", "بعدی", "برای",
}  # fmt: skip
_FILLER_PUNCT_RE = re.compile(r"[,;()\[\]\-–—]+")

# ranges
_RANGE_SEP_RE = re.compile(rf"\.\.+|…|–|—|\s-\s|{_B}(?:to|until|till|تا){_E}")
_RANGE_FILLERS = {"from", "از", "between", "and", "و", "بین", "from:"}
_LAST_N_RE = re.compile(
    rf"(?:last|past)\s+(\d+)\s*(d|days?|w|weeks?){_E}"
    rf"|(\d+)\s*(روز|هفته)\s*(?:گذشته|اخیر)"
)


# --- normalisation -----------------------------------------------------------------------------

_DROP = dict.fromkeys(
    map(ord, "\u200e\u200f\u200d\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\u0640\ufeff\u061c"),
    None,
)
_MAP = str.maketrans(
    {
        "\u200c": " ",  # ZWNJ: "سه‌شنبه" → "سه شنبه" (patterns allow the space)
        "\u00a0": " ",
        "ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه",
        "،": ",", "؛": ";", "٫": ".", "٬": ",", "：": ":",
        "\u2212": "-",
    }
)  # fmt: skip


def _normalize(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).translate(_DROP).translate(_MAP)
    s = to_ascii_digits(s).casefold()
    s = re.sub(r"(\d)t(\d)", r"\1 \2", s)  # ISO "2026-12-01T18:30"
    return re.sub(r"\s+", " ", s).strip()


def _shown(text: str) -> str:
    """The user's text as quoted back in an error (bounded, one line)."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= 60 else one_line[:59] + "…"


# --- parsing -----------------------------------------------------------------------------------


@dataclass
class _Parts:
    date: date | None = None  # an explicit calendar date
    yearless: tuple[str, int, int] | None = None  # (calendar, month, day) without a year
    day_offset: int | None = None  # today / tomorrow / day after
    weekday: int | None = None
    clock: time | None = None
    meridiem: str | None = None
    utc: bool = False
    zone_abbr: str | None = None


def _take(pattern: re.Pattern[str], s: str) -> tuple[re.Match[str] | None, str]:
    """The first match of ``pattern`` in ``s`` and ``s`` with that match blanked out."""
    m = pattern.search(s)
    if m is None:
        return None, s
    return m, s[: m.start()] + " " + s[m.end() :]


def _make_date(calendar: str, year: int, month: int, day: int, shown: str) -> date:
    try:
        if calendar == "jalali":
            if year not in JALALI_YEARS:
                raise ValueError
            return jdatetime.date(year, month, day).togregorian()
        if year < _MIN_GREGORIAN_YEAR:
            raise ValueError
        return date(year, month, day)
    except (ValueError, OverflowError):
        raise TimeParseError("time.err_invalid_date", text=shown) from None


def _calendar_of_year(year: int) -> str:
    return "jalali" if year in JALALI_YEARS else "gregorian"


def _apply_meridiem(hour: int, meridiem: str | None, shown: str) -> int:
    if meridiem is None:
        if not 0 <= hour <= 23:
            raise TimeParseError("time.err_invalid_time", text=shown)
        return hour
    if hour >= 13 and meridiem in ("pm", "night", "noon") and hour <= 23:
        return hour  # "۲۱:۰۰ شب", "18:30 pm": already a 24-hour time
    if not 1 <= hour <= 12:
        raise TimeParseError("time.err_invalid_time", text=shown)
    if meridiem == "am":
        return 0 if hour == 12 else hour
    if meridiem == "pm":
        return 12 if hour == 12 else hour + 12
    if meridiem == "noon":
        return hour + 12 if hour <= 5 else hour
    # night
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _meridiem_of(word: str | None) -> str | None:
    return None if word is None else _MERIDIEM_BY_LETTERS[re.sub(r"\s+", "", word)]


def _clock(hour: int, minute: int, second: int, meridiem: str | None, shown: str) -> time:
    hour = _apply_meridiem(hour, meridiem, shown)
    if not (0 <= minute <= 59 and 0 <= second <= 59):
        raise TimeParseError("time.err_invalid_time", text=shown)
    return time(hour, minute, second)


def _parse_parts(s: str, shown: str) -> _Parts:
    parts = _Parts()
    rest = s

    # explicit dates
    m, rest = _take(_YMD_RE, rest)
    if m:
        year, month, day = int(m[1]), int(m[3]), int(m[4])
        parts.date = _make_date(_calendar_of_year(year), year, month, day, m[0])
    elif _DMY_RE.search(rest):
        raise TimeParseError("time.err_ambiguous_date", text=_DMY_RE.search(rest)[0])  # type: ignore[index]
    for pattern, day_group, month_group, year_group in (
        (_DAY_MONTH_RE, 1, 2, 3),
        (_MONTH_DAY_RE, 2, 1, 3),
    ):
        if parts.date is not None or parts.yearless is not None:
            break
        m, rest = _take(pattern, rest)
        if m:
            name, day = m[month_group], int(m[day_group])
            calendar, month = ("jalali", _MONTHS_FA[name]) if name in _MONTHS_FA else ("gregorian", _MONTHS_EN[name])
            if m[year_group]:
                parts.date = _make_date(calendar, int(m[year_group]), month, day, m[0])
            else:
                # validate day/month against a leap year of that calendar
                _make_date(calendar, 1403 if calendar == "jalali" else 2024, month, day, m[0])
                parts.yearless = (calendar, month, day)
    if parts.date is not None or parts.yearless is not None:
        if _YMD_RE.search(rest) or _DAY_MONTH_RE.search(rest) or _MONTH_DAY_RE.search(rest):
            raise TimeParseError("time.err_unknown_format", text=shown)

    # day words and weekdays
    for pattern, offset in _DAY_WORD_RES:
        m, rest = _take(pattern, rest)
        if m:
            if parts.day_offset is not None or parts.date is not None or parts.yearless is not None:
                raise TimeParseError("time.err_unknown_format", text=shown)
            parts.day_offset = offset
    m, rest = _take(_WEEKDAY_RE, rest)
    if m:
        parts.weekday = _weekday_of(m[0])
        if _WEEKDAY_RE.search(rest):
            raise TimeParseError("time.err_unknown_format", text=shown)

    # time of day
    has_day = any(x is not None for x in (parts.date, parts.yearless, parts.day_offset, parts.weekday))
    m, rest = _take(_CLOCK_RE, rest)
    if m:
        parts.meridiem = _meridiem_of(m[4])
        parts.clock = _clock(int(m[1]), int(m[2]), int(m[3] or 0), parts.meridiem, m[0])
    else:
        m, rest = _take(_HOUR_MERIDIEM_RE, rest)
        if m:
            parts.meridiem = _meridiem_of(m[2])
            parts.clock = _clock(int(m[1]), 0, 0, parts.meridiem, m[0])
        else:
            m, rest = _take(_AT_HOUR_RE, rest)
            if m is None and has_day:
                m, rest = _take(_BARE_HOUR_RE, rest)
            if m:
                hour, word = int(m[1]), m[2]
                if word is None:
                    alone, rest = _take(_MERIDIEM_ALONE_RE, rest)
                    word = alone[1] if alone else None
                parts.meridiem = _meridiem_of(word)
                parts.clock = _clock(hour, 0, 0, parts.meridiem, m[0])
            else:
                alone, rest = _take(_MERIDIEM_ALONE_RE, rest)
                if alone:
                    if _meridiem_of(alone[1]) != "noon":
                        raise TimeParseError("time.err_unknown_format", text=shown)
                    parts.clock = time(12, 0)
    if parts.clock is not None and parts.meridiem is None:
        alone, rest = _take(_MERIDIEM_ALONE_RE, rest)
        if alone:  # "فردا صبح ساعت ۸:۳۰"
            parts.meridiem = _meridiem_of(alone[1])
            parts.clock = _clock(parts.clock.hour, parts.clock.minute, parts.clock.second, parts.meridiem, shown)

    # what is left must be filler words, or a zone name
    rest = _FILLER_PUNCT_RE.sub(" ", rest)
    leftover = [w for w in rest.split() if w not in _FILLERS]
    if len(leftover) == 1 and leftover[0] in ("utc", "gmt", "z"):
        parts.utc = True
    elif len(leftover) == 1 and re.fullmatch(r"[a-z]{2,6}|[+-]\d{2,4}", leftover[0]):
        parts.zone_abbr = leftover[0]
    elif leftover:
        raise TimeParseError("time.err_unknown_format", text=shown)
    return parts


def _weekday_of(word: str) -> int:
    if word in _WEEKDAY_WORDS:
        return _WEEKDAY_WORDS[word]
    for pattern, index in _WEEKDAY_FA_PATTERNS:
        if re.fullmatch(pattern, word):
            return index
    raise AssertionError(word)  # pragma: no cover - the regex only matches known names


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
    shown = _shown(text or "")
    s = _normalize(text or "")
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
    if _NOW_RE.fullmatch(s):
        return now

    m = _RELATIVE_RE.fullmatch(s)
    if m:
        minutes = 0.0
        for digits, word, unit in _PIECE_RE.findall(m["body"]):
            value = float(digits) if digits else _NUMBER_WORDS[re.sub(r"\s+", " ", word)]
            minutes += value * _UNITS[unit]
        limit = (max_ahead or timedelta.max).total_seconds() / 60
        if not math.isfinite(minutes) or minutes > limit:
            raise TimeParseError("time.err_too_far", when=shown, days=(max_ahead or timedelta.max).days)
        return now + timedelta(minutes=minutes)

    iso = _iso_with_offset(s)
    if iso is not None:
        return iso

    parts = _parse_parts(s, shown)
    zone: tzinfo = UTC if parts.utc else tz
    local_now = now.astimezone(zone)
    today = local_now.date()
    clock = parts.clock

    def at(day: date, when: time) -> datetime:
        return _localize(datetime.combine(day, when), zone, parts.zone_abbr, lang, shown)

    def first_ahead(days: Callable[[], Any], when: time) -> datetime:
        last = None
        for day in days():
            last = at(day, when)
            if last > now:
                return last
        if last is None:
            raise TimeParseError("time.err_invalid_date", text=shown)
        return last  # in the past: reported by the caller

    day: date | None = parts.date
    if day is None and parts.day_offset is not None:
        day = today + timedelta(days=parts.day_offset)
    if day is not None:
        if parts.weekday is not None and day.weekday() != parts.weekday:
            raise TimeParseError(
                "time.err_weekday_mismatch",
                date=format_date(day, lang=lang),
                weekday=_weekday_name(parts.weekday, lang),
            )
        return at(day, clock or default_time)
    if parts.yearless is not None:
        calendar, month, dom = parts.yearless
        when = clock or default_time

        def yearly() -> list[date]:
            out = []
            base = jdatetime.date.fromgregorian(date=today).year if calendar == "jalali" else today.year
            for year in range(base, base + 9):  # 30 Esfand / 29 Feb: up to the next leap year
                try:
                    out.append(_make_date(calendar, year, month, dom, shown))
                except TimeParseError:
                    continue  # 30 Esfand or 29 Feb in a common year
            return out

        result = first_ahead(yearly, when)
        if parts.weekday is not None and result.astimezone(zone).weekday() != parts.weekday:
            raise TimeParseError(
                "time.err_weekday_mismatch",
                date=format_date(result.astimezone(zone).date(), lang=lang),
                weekday=_weekday_name(parts.weekday, lang),
            )
        return result
    if parts.weekday is not None:
        wanted = parts.weekday
        return first_ahead(
            lambda: [today + timedelta(days=k) for k in range(15) if (today + timedelta(days=k)).weekday() == wanted],
            clock or default_time,
        )
    if clock is not None:
        return first_ahead(lambda: [today, today + timedelta(days=1), today + timedelta(days=2)], clock)
    raise TimeParseError("time.err_unknown_format", text=shown)


def _iso_with_offset(s: str) -> datetime | None:
    candidate = s.upper().replace(" ", "T", 1)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})", candidate):
        return None
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else None


# --- formatting --------------------------------------------------------------------------------


def _weekday_name(index: int, lang: str) -> str:
    return _WEEKDAYS_FA[index] if lang == "fa" else _WEEKDAYS_EN_LONG[index]


def _format_local(local: datetime, lang: str) -> str:
    if lang == "fa":
        return f"{format_date(local.date(), lang='fa', weekday=True)}، {to_persian_digits(f'{local:%H:%M}')}"
    return f"{local:%Y-%m-%d %H:%M} ({_WEEKDAYS_EN[local.weekday()]})"


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
            text = to_persian_digits(f"{j.day} {_JALALI_MONTHS_FA[j.month - 1]} {j.year}")
        except (ValueError, OverflowError):  # beyond the Jalali range jdatetime supports
            text = to_persian_digits(f"{day:%Y-%m-%d}")
        return f"{_WEEKDAYS_FA[day.weekday()]} {text}" if weekday else text
    text = f"{day:%Y-%m-%d}"
    return f"{text} ({_WEEKDAYS_EN[day.weekday()]})" if weekday else text


# --- date ranges -------------------------------------------------------------------------------


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
    Errors (:class:`TimeParseError`): ``time.err_range_format``, ``time.err_invalid_date``,
    ``time.err_ambiguous_date``, ``time.err_range_order``, ``time.err_range_future`` (unless
    ``allow_future``), ``time.err_range_too_long`` (more than ``max_days`` days).
    """
    shown = _shown(text or "")
    s = _normalize(text or "")
    today = now.astimezone(tz).date()
    if not s:
        raise TimeParseError("time.err_range_format", text=shown)

    m = _LAST_N_RE.fullmatch(s)
    if m:
        count, unit = (int(m[1]), m[2]) if m[1] else (int(m[3]), m[4])
        days = count * (7 if unit.startswith("w") or unit == "هفته" else 1)
        if days < 1:
            raise TimeParseError("time.err_range_format", text=shown)
        if max_days is not None and days > max_days:
            raise TimeParseError("time.err_range_too_long", days=days, max=max_days)
        return today - timedelta(days=days - 1), today

    dates: list[date] = []
    rest = s
    while True:
        found = [
            (m.start(), pattern, m)
            for pattern in (_YMD_RE, _DAY_MONTH_RE, _MONTH_DAY_RE)
            if (m := pattern.search(rest))
        ]
        if not found:
            break
        _, pattern, m = min(found, key=lambda item: item[0])
        rest = rest[: m.start()] + " | " + rest[m.end() :]
        if pattern is _YMD_RE:
            year = int(m[1])
            dates.append(_make_date(_calendar_of_year(year), year, int(m[3]), int(m[4]), m[0]))
            continue
        day_group, month_group = (1, 2) if pattern is _DAY_MONTH_RE else (2, 1)
        name, dom = m[month_group], int(m[day_group])
        calendar, month = ("jalali", _MONTHS_FA[name]) if name in _MONTHS_FA else ("gregorian", _MONTHS_EN[name])
        if m[3]:
            dates.append(_make_date(calendar, int(m[3]), month, dom, m[0]))
        else:
            dates.append(_latest_yearless(calendar, month, dom, today, m[0]))
    if _DMY_RE.search(rest):
        raise TimeParseError("time.err_ambiguous_date", text=_DMY_RE.search(rest)[0])  # type: ignore[index]
    rest = _RANGE_SEP_RE.sub(" ", rest.replace("|", " "))
    leftover = [w for w in _FILLER_PUNCT_RE.sub(" ", rest).split() if w not in _RANGE_FILLERS]
    if leftover or not 1 <= len(dates) <= 2:
        raise TimeParseError("time.err_range_format", text=shown)
    start, end = dates[0], dates[-1]
    if end < start:
        raise TimeParseError(
            "time.err_range_order", start=format_date(start, lang=lang), end=format_date(end, lang=lang)
        )
    if not allow_future and end > today:
        raise TimeParseError("time.err_range_future", end=format_date(end, lang=lang))
    days = (end - start).days + 1
    if max_days is not None and days > max_days:
        raise TimeParseError("time.err_range_too_long", days=days, max=max_days)
    return start, end


def _latest_yearless(calendar: str, month: int, dom: int, today: date, shown: str) -> date:
    base = jdatetime.date.fromgregorian(date=today).year if calendar == "jalali" else today.year
    _make_date(calendar, 1403 if calendar == "jalali" else 2024, month, dom, shown)  # valid at all?
    for year in range(base, base - 9, -1):
        try:
            candidate = _make_date(calendar, year, month, dom, shown)
        except TimeParseError:
            continue
        if candidate <= today:
            return candidate
    raise TimeParseError("time.err_invalid_date", text=shown)  # pragma: no cover - 29 Feb thrice

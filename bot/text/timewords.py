"""The words and patterns of typed dates and times, in English and Persian.

What :mod:`bot.text.timeparse`, :mod:`bot.text.timeparts` and :mod:`bot.text.dateranges` share:
the error they raise (:class:`TimeParseError`), the names of months and weekdays, the compiled
patterns (they work on :func:`normalize`'d text: lower case, ASCII digits, ZWNJ → space, Persian
yeh/kaf), and the calendar helpers that turn a matched date into a Gregorian :class:`date`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

import jdatetime

from bot.text.digits import to_ascii_digits

__all__ = [
    "AT_HOUR_RE",
    "BARE_HOUR_RE",
    "CLOCK_RE",
    "DAY_MONTH_RE",
    "DAY_WORD_RES",
    "DMY_RE",
    "FILLERS",
    "FILLER_PUNCT_RE",
    "HOUR_MERIDIEM_RE",
    "JALALI_MONTHS_FA",
    "JALALI_YEARS",
    "LAST_N_RE",
    "MERIDIEM_ALONE_RE",
    "MIN_GREGORIAN_YEAR",
    "MONTHS_EN",
    "MONTHS_FA",
    "MONTH_DAY_RE",
    "NOW_RE",
    "NUMBER_WORDS",
    "PIECE_RE",
    "RANGE_FILLERS",
    "RANGE_SEP_RE",
    "RELATIVE_RE",
    "UNITS",
    "WEEKDAYS_EN",
    "WEEKDAYS_EN_LONG",
    "WEEKDAYS_FA",
    "WEEKDAY_FA_PATTERNS",
    "WEEKDAY_RE",
    "WEEKDAY_WORDS",
    "YMD_RE",
    "Texts",
    "TimeParseError",
    "alternation",
    "calendar_of_year",
    "check_yearless",
    "make_date",
    "meridiem_of",
    "month_of",
    "normalize",
    "quoted",
    "weekday_name",
    "weekday_of",
    "year_of",
]

JALALI_YEARS = range(1300, 1500)
"""Four-digit years read as Jalali (Solar Hijri) years: 1300 AP is 1921 CE, 1499 AP is 2120 CE."""

MIN_GREGORIAN_YEAR = 1900
"""The earliest Gregorian year a typed date may have (an earlier one is a typo)."""


class Texts(Protocol):
    """What :meth:`TimeParseError.render` needs of a message catalogue."""

    def t(self, key: str, lang: str | None = None, /, **values: Any) -> str: ...


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

    def render(self, catalogue: Texts, lang: str | None = None) -> str:
        return catalogue.t(self.reason_key, lang, **self.values)


# --- names -------------------------------------------------------------------------------------

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS_EN_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# index = datetime.weekday() (Monday = 0)
WEEKDAYS_FA = ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه")
JALALI_MONTHS_FA = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip

# Patterns work on normalised text: lower case, ASCII digits, ZWNJ → space, Persian yeh/kaf.
WEEKDAY_WORDS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
WEEKDAY_FA_PATTERNS = (
    (r"یک\s*شنبه", 6), (r"دو\s*شنبه", 0), (r"سه\s*شنبه", 1), (r"چهار\s*شنبه", 2),
    (r"پنج\s*شنبه", 3), (r"شنبه", 5), (r"جمعه", 4),
)  # fmt: skip
MONTHS_EN: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
MONTHS_FA: dict[str, int] = {
    "فروردین": 1, "اردیبهشت": 2, "خرداد": 3, "تیر": 4, "مرداد": 5, "شهریور": 6,
    "مهر": 7, "آبان": 8, "آذر": 9, "دی": 10, "بهمن": 11, "اسفند": 12,
    "امرداد": 5,
}  # fmt: skip

#: unit word → minutes
UNITS: dict[str, float] = {
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "دقیقه": 1,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60, "ساعت": 60,
    "d": 1440, "day": 1440, "days": 1440, "روز": 1440,
    "w": 10080, "wk": 10080, "wks": 10080, "week": 10080, "weeks": 10080, "هفته": 10080,
}  # fmt: skip
#: number word → value, in both languages
NUMBER_WORDS: dict[str, float] = {
    "a": 1, "an": 1, "half an": 0.5, "half a": 0.5, "نیم": 0.5,
    "one": 1, "یک": 1, "two": 2, "دو": 2, "three": 3, "سه": 3, "four": 4, "چهار": 4,
    "five": 5, "پنج": 5, "six": 6, "شش": 6, "seven": 7, "هفت": 7, "eight": 8, "هشت": 8,
    "nine": 9, "نه": 9, "ten": 10, "ده": 10,
}  # fmt: skip

# --- patterns ----------------------------------------------------------------------------------

_W = r"A-Za-z0-9_\u0600-\u06FF"  # what counts as part of a word around a keyword
_B = rf"(?<![{_W}])"  # word start
_E = rf"(?![{_W}])"  # word end


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first (so "tues" wins over "tue")."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


NOW_RE = re.compile(r"(?:right\s+)?now|(?:همین\s*)?(?:الان|الآن|حالا)|اکنون|هم\s*اکنون")

# relative durations
_NUMBER_WORD = alternation(NUMBER_WORDS).replace(r"\ ", r"\s+")
_UNIT_END = r"(?![A-Za-z\u0600-\u06FF])"  # "+1d3h": a digit may follow a unit
# a number word stands alone before its unit ("an hour", never "an" + "d" inside "and")
_PIECE = rf"(?:\d+(?:\.\d+)?\s*|{_B}(?:{_NUMBER_WORD})\s+)(?:{alternation(UNITS)}){_UNIT_END}"
PIECE_RE = re.compile(rf"(?:(\d+(?:\.\d+)?)\s*|{_B}({_NUMBER_WORD})\s+)({alternation(UNITS)}){_UNIT_END}")
RELATIVE_RE = re.compile(
    rf"(?:(?:in|تا)\s+|\+\s*)?"
    rf"(?P<body>{_PIECE}(?:\s*(?:,|and|و|\+)?\s*{_PIECE})*)"
    rf"(?:\s*(?:later|from\s+now|دیگر|بعد))?"
)

# absolute parts
YMD_RE = re.compile(r"(?<!\d)(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?![\d])")
DMY_RE = re.compile(r"(?<!\d)\d{1,2}\s*([-/.])\s*\d{1,2}\s*\1\s*\d{4}(?!\d)")
_MONTH_ALT = alternation([*MONTHS_EN, *MONTHS_FA])
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:\s*,?\s*(\d{4})(?![\d:]))?"
DAY_MONTH_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}}){_ORD}\s*(?:of\s+)?{_B}({_MONTH_ALT}){_E}{_YEAR}")
MONTH_DAY_RE = re.compile(rf"{_B}({_MONTH_ALT}){_E}\s*(\d{{1,2}}){_ORD}(?![\d:]){_YEAR}")

_MERIDIEM: dict[str, str] = {
    "am": "am", "a.m.": "am", "a.m": "am", "صبح": "am", "ق.ظ": "am", "قبل از ظهر": "am",
    "pm": "pm", "p.m.": "pm", "p.m": "pm", "ب.ظ": "pm", "بعد از ظهر": "pm", "بعدازظهر": "pm",
    "عصر": "pm", "noon": "noon", "ظهر": "noon", "night": "night", "شب": "night",
}  # fmt: skip
_MERIDIEM_BY_LETTERS = {word.replace(" ", ""): kind for word, kind in _MERIDIEM.items()}
_MERIDIEM_ALT = "|".join(sorted((re.escape(w).replace(r"\ ", r"\s*") for w in _MERIDIEM), key=len, reverse=True))
_MERIDIEM_TAIL = rf"(?:\s*(?:in\s+the\s+)?({_MERIDIEM_ALT})(?![A-Za-z\u0600-\u06FF]))?"
CLOCK_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}})\s*:\s*(\d{{2}})(?:\s*:\s*(\d{{2}}))?(?![\d:]){_MERIDIEM_TAIL}")
HOUR_MERIDIEM_RE = re.compile(
    rf"(?<![\d:.])(\d{{1,2}})\s*(?:o'?clock\s*)?(?:in\s+the\s+)?({_MERIDIEM_ALT})(?![A-Za-z\u0600-\u06FF])"
)
AT_HOUR_RE = re.compile(rf"{_B}(?:at|ساعت)\s*(\d{{1,2}})(?![\d:.]){_MERIDIEM_TAIL}")
MERIDIEM_ALONE_RE = re.compile(rf"{_B}(?:in\s+the\s+)?({_MERIDIEM_ALT})(?![A-Za-z\u0600-\u06FF])")
BARE_HOUR_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}})(?:\s*o'?clock)?(?![\d:.]){_MERIDIEM_TAIL}")
DAY_WORD_RES = (
    (re.compile(rf"{_B}(?:the\s+)?day\s+after\s+tomorrow{_E}|{_B}پس\s*فردا{_E}"), 2),
    (re.compile(rf"{_B}(?:tomorrow|tmrw|tmr){_E}|{_B}فردا{_E}"), 1),
    (re.compile(rf"{_B}today{_E}|{_B}امروز{_E}"), 0),
)
WEEKDAY_RE = re.compile(
    rf"{_B}(?:{alternation(WEEKDAY_WORDS)}){_E}|" + "|".join(rf"{_B}{p}{_E}" for p, _ in WEEKDAY_FA_PATTERNS)
)
FILLERS = {
    "at", "on", "the", "next", "this", "coming", "of", "o'clock", "oclock", "by",
    "ساعت", "در", "روز", "آینده", "این", "بعدی", "برای",
}  # fmt: skip
FILLER_PUNCT_RE = re.compile(r"[,;()\[\]\-–—]+")

# ranges
RANGE_SEP_RE = re.compile(rf"\.\.+|…|–|—|\s-\s|{_B}(?:to|until|till|تا){_E}")
RANGE_FILLERS = {"from", "از", "between", "and", "و", "بین", "from:"}
LAST_N_RE = re.compile(
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


def normalize(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).translate(_DROP).translate(_MAP)
    s = to_ascii_digits(s).casefold()
    s = re.sub(r"(\d)t(\d)", r"\1 \2", s)  # ISO "2026-12-01T18:30"
    return re.sub(r"\s+", " ", s).strip()


def quoted(text: str) -> str:
    """The user's text as quoted back in an error (bounded, one line)."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= 60 else one_line[:59] + "…"


# --- calendars ---------------------------------------------------------------------------------


def make_date(calendar: str, year: int, month: int, day: int, shown: str) -> date:
    """The Gregorian date of ``year-month-day`` in ``calendar`` (``"jalali"`` or ``"gregorian"``);
    ``time.err_invalid_date`` quoting ``shown`` when there is no such day or the year is off."""
    try:
        if calendar == "jalali":
            if year not in JALALI_YEARS:
                raise ValueError
            gregorian: date = jdatetime.date(year, month, day).togregorian()
            return gregorian
        if year < MIN_GREGORIAN_YEAR:
            raise ValueError
        return date(year, month, day)
    except (ValueError, OverflowError):
        raise TimeParseError("time.err_invalid_date", text=shown) from None


def check_yearless(calendar: str, month: int, day: int, shown: str) -> None:
    """Refuse a day and month that no year of ``calendar`` has (checked against a leap year)."""
    make_date(calendar, 1403 if calendar == "jalali" else 2024, month, day, shown)


def calendar_of_year(year: int) -> str:
    """``"jalali"`` for a year in :data:`JALALI_YEARS`, else ``"gregorian"``."""
    return "jalali" if year in JALALI_YEARS else "gregorian"


def month_of(name: str) -> tuple[str, int]:
    """``(calendar, month)`` of a month name: Persian names are Jalali, English ones Gregorian."""
    return ("jalali", MONTHS_FA[name]) if name in MONTHS_FA else ("gregorian", MONTHS_EN[name])


def year_of(today: date, calendar: str) -> int:
    """The current year of ``calendar`` on the Gregorian day ``today``."""
    return jdatetime.date.fromgregorian(date=today).year if calendar == "jalali" else today.year


def weekday_of(word: str) -> int:
    """The weekday index (Monday = 0) of a weekday name :data:`WEEKDAY_RE` matched."""
    if word in WEEKDAY_WORDS:
        return WEEKDAY_WORDS[word]
    for pattern, index in WEEKDAY_FA_PATTERNS:
        if re.fullmatch(pattern, word):
            return index
    raise AssertionError(word)  # pragma: no cover - the regex only matches known names


def weekday_name(index: int, lang: str) -> str:
    """The full name of weekday ``index`` (Monday = 0) in ``lang``."""
    return WEEKDAYS_FA[index] if lang == "fa" else WEEKDAYS_EN_LONG[index]


def meridiem_of(word: str | None) -> str | None:
    """``am``, ``pm``, ``noon`` or ``night`` for a word the meridiem patterns matched."""
    return None if word is None else _MERIDIEM_BY_LETTERS[re.sub(r"\s+", "", word)]

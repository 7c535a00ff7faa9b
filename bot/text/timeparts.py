"""The parts of a typed absolute time: a date, a day word, a weekday, a clock time, a zone.

:func:`read_parts` takes them out of :func:`bot.text.timewords.normalize`'d text one kind at a
time; :mod:`bot.text.timeparse` then resolves them against "now" into an instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.text.timewords import (
    AT_HOUR_RE,
    BARE_HOUR_RE,
    CLOCK_RE,
    DAY_MONTH_RE,
    DAY_WORD_RES,
    DMY_RE,
    FILLER_PUNCT_RE,
    FILLERS,
    HOUR_MERIDIEM_RE,
    MERIDIEM_ALONE_RE,
    MONTH_DAY_RE,
    WEEKDAY_RE,
    YMD_RE,
    TimeParseError,
    calendar_of_year,
    check_yearless,
    make_date,
    meridiem_of,
    month_of,
    weekday_of,
)

__all__ = ["Parts", "read_parts"]


@dataclass
class Parts:
    """What a typed absolute time says; ``None`` where it says nothing of that kind."""

    date: date | None = None  # an explicit calendar date
    yearless: tuple[str, int, int] | None = None  # (calendar, month, day) without a year
    day_offset: int | None = None  # today / tomorrow / day after
    weekday: int | None = None
    clock: time | None = None
    meridiem: str | None = None
    utc: bool = False
    zone_abbr: str | None = None


def read_parts(s: str, shown: str) -> Parts:
    """The parts of normalised text ``s``; errors quote ``shown`` (what the user typed).

    Anything left over that is neither a filler word nor a zone name is
    ``time.err_unknown_format``, as are two dates, two day words or two weekdays.
    """
    reader = _Reader(s, shown)
    reader.read_date()
    reader.read_day()
    reader.read_clock()
    reader.read_zone()
    return reader.parts


class _Reader:
    """Takes the parts out of the text in order; each match taken is blanked out of ``rest``."""

    def __init__(self, s: str, shown: str) -> None:
        self.rest = s
        self.shown = shown
        self.parts = Parts()

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """The first match of ``pattern`` in what is left, which then no longer holds it."""
        m = pattern.search(self.rest)
        if m is not None:
            self.rest = self.rest[: m.start()] + " " + self.rest[m.end() :]
        return m

    def unknown(self) -> TimeParseError:
        return TimeParseError("time.err_unknown_format", text=self.shown)

    def read_date(self) -> None:
        """An explicit date (year first, or with a month name); day-first numbers are ambiguous."""
        m = self.take(YMD_RE)
        if m:
            year = int(m[1])
            self.parts.date = make_date(calendar_of_year(year), year, int(m[3]), int(m[4]), m[0])
        elif (day_first := DMY_RE.search(self.rest)) is not None:
            raise TimeParseError("time.err_ambiguous_date", text=day_first[0])
        else:
            self._read_named_date()
        if self.parts.date is not None or self.parts.yearless is not None:
            if any(pattern.search(self.rest) for pattern in (YMD_RE, DAY_MONTH_RE, MONTH_DAY_RE)):
                raise self.unknown()

    def _read_named_date(self) -> None:
        for pattern, day_group, month_group in ((DAY_MONTH_RE, 1, 2), (MONTH_DAY_RE, 2, 1)):
            m = self.take(pattern)
            if m:
                calendar, month = month_of(m[month_group])
                day = int(m[day_group])
                if m[3]:
                    self.parts.date = make_date(calendar, int(m[3]), month, day, m[0])
                else:
                    check_yearless(calendar, month, day, m[0])
                    self.parts.yearless = (calendar, month, day)
                return

    def read_day(self) -> None:
        """A day word (today, tomorrow, …) and a weekday name."""
        parts = self.parts
        for pattern, offset in DAY_WORD_RES:
            if self.take(pattern):
                if parts.day_offset is not None or parts.date is not None or parts.yearless is not None:
                    raise self.unknown()
                parts.day_offset = offset
        m = self.take(WEEKDAY_RE)
        if m:
            parts.weekday = weekday_of(m[0])
            if WEEKDAY_RE.search(self.rest):
                raise self.unknown()

    def read_clock(self) -> None:
        """A time of day: ``18:30``, ``9pm``, ``at 9``, a bare hour after a day, or ``noon``."""
        parts = self.parts
        has_day = any(x is not None for x in (parts.date, parts.yearless, parts.day_offset, parts.weekday))
        if not (self._read_clock_face() or self._read_hour_meridiem() or self._read_hour(has_day)):
            self._read_noon()
        if parts.clock is not None and parts.meridiem is None:
            alone = self.take(MERIDIEM_ALONE_RE)
            if alone:  # "فردا صبح ساعت ۸:۳۰"
                parts.meridiem = meridiem_of(alone[1])
                c = parts.clock
                parts.clock = clock_at(c.hour, c.minute, c.second, parts.meridiem, self.shown)

    def _read_clock_face(self) -> bool:
        m = self.take(CLOCK_RE)
        if m is None:
            return False
        self.parts.meridiem = meridiem_of(m[4])
        self.parts.clock = clock_at(int(m[1]), int(m[2]), int(m[3] or 0), self.parts.meridiem, m[0])
        return True

    def _read_hour_meridiem(self) -> bool:
        m = self.take(HOUR_MERIDIEM_RE)
        if m is None:
            return False
        self.parts.meridiem = meridiem_of(m[2])
        self.parts.clock = clock_at(int(m[1]), 0, 0, self.parts.meridiem, m[0])
        return True

    def _read_hour(self, has_day: bool) -> bool:
        m = self.take(AT_HOUR_RE)
        if m is None and has_day:
            m = self.take(BARE_HOUR_RE)
        if m is None:
            return False
        word = m[2]
        if word is None:
            alone = self.take(MERIDIEM_ALONE_RE)
            word = alone[1] if alone else None
        self.parts.meridiem = meridiem_of(word)
        self.parts.clock = clock_at(int(m[1]), 0, 0, self.parts.meridiem, m[0])
        return True

    def _read_noon(self) -> None:
        alone = self.take(MERIDIEM_ALONE_RE)
        if alone:
            if meridiem_of(alone[1]) != "noon":
                raise self.unknown()
            self.parts.clock = time(12, 0)

    def read_zone(self) -> None:
        """What is left must be filler words, or one zone name."""
        leftover = [w for w in FILLER_PUNCT_RE.sub(" ", self.rest).split() if w not in FILLERS]
        if len(leftover) == 1 and leftover[0] in ("utc", "gmt", "z"):
            self.parts.utc = True
        elif len(leftover) == 1 and re.fullmatch(r"[a-z]{2,6}|[+-]\d{2,4}", leftover[0]):
            self.parts.zone_abbr = leftover[0]
        elif leftover:
            raise self.unknown()


def clock_at(hour: int, minute: int, second: int, meridiem: str | None, shown: str) -> time:
    """The time of day ``hour:minute:second`` with ``meridiem`` applied (``time.err_invalid_time``)."""
    hour = _apply_meridiem(hour, meridiem, shown)
    if not (0 <= minute <= 59 and 0 <= second <= 59):
        raise TimeParseError("time.err_invalid_time", text=shown)
    return time(hour, minute, second)


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

"""Reading (and writing) Resont's dates.

Resont renders every date as a string in the account owner's own format and time zone (``me``:
``dateformat``/``timeformat`` in PHP ``date()`` notation such as ``Y-m-d`` and ``H:i``, and
``timezone`` such as ``Asia/Tehran``). :class:`DateParser` reads such strings through those
settings and falls back to ISO 8601, unix timestamps and common layouts; a Jalali (Persian
calendar) year is recognised and converted. Anything unreadable is None, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime

#: PHP date() letters → (regex, group name or None). Letters not listed are literal.
_PHP_TOKENS: MappingProxyType[str, tuple[str, str | None]] = MappingProxyType(
    {
        "d": (r"\d{1,2}", "day"),
        "j": (r"\d{1,2}", "day"),
        "m": (r"\d{1,2}", "month"),
        "n": (r"\d{1,2}", "month"),
        "M": (r"[^\W\d_]{3,}\.?", "month_name"),
        "F": (r"[^\W\d_]+", "month_name"),
        "Y": (r"\d{4}", "year"),
        "y": (r"\d{2}", "year2"),
        "H": (r"\d{1,2}", "hour"),
        "G": (r"\d{1,2}", "hour"),
        "h": (r"\d{1,2}", "hour12"),
        "g": (r"\d{1,2}", "hour12"),
        "i": (r"\d{2}", "minute"),
        "s": (r"\d{2}", "second"),
        "A": (r"[AaPp]\.?[Mm]\.?", "ampm"),
        "a": (r"[AaPp]\.?[Mm]\.?", "ampm"),
        "D": (r"[^\W\d_]+\.?", None),
        "l": (r"[^\W\d_]+", None),
        "N": (r"\d", None),
        "w": (r"\d", None),
        "S": (r"(?:st|nd|rd|th)", None),
        "u": (r"\d+", None),
        "v": (r"\d+", None),
        "U": (r"\d+", "epoch"),
        "e": (r"[A-Za-z_]+(?:/[A-Za-z_+\-]+)*|UTC", "zone"),
        "T": (r"[A-Z]{2,5}|[+-]\d{2}(?::?\d{2})?", "zone"),
        "P": (r"[+-]\d{2}:\d{2}|Z", "zone"),
        "p": (r"[+-]\d{2}:\d{2}|Z", "zone"),
        "O": (r"[+-]\d{4}", "zone"),
    }
)

_MONTHS = MappingProxyType(
    {
        name: number
        for number, names in enumerate(
            (
                ("jan", "january"),
                ("feb", "february"),
                ("mar", "march"),
                ("apr", "april"),
                ("may",),
                ("jun", "june"),
                ("jul", "july"),
                ("aug", "august"),
                ("sep", "sept", "september"),
                ("oct", "october"),
                ("nov", "november"),
                ("dec", "december"),
            ),
            start=1,
        )
        for name in names
    }
)

#: Layouts tried after the user's own, in PHP notation.
_FALLBACK_LAYOUTS = (
    "Y-m-d H:i:s",
    "Y-m-d H:i",
    "Y/m/d H:i:s",
    "Y/m/d H:i",
    "Y.m.d H:i:s",
    "Y.m.d H:i",
    "d-m-Y H:i:s",
    "d-m-Y H:i",
    "d/m/Y H:i:s",
    "d/m/Y H:i",
    "d.m.Y H:i:s",
    "d.m.Y H:i",
    "Y-m-d g:i A",
    "Y/m/d g:i A",
    "H:i:s Y-m-d",
    "H:i Y-m-d",
    "H:i:s Y/m/d",
    "H:i Y/m/d",
    "Y-m-d",
    "Y/m/d",
    "Y.m.d",
    "d-m-Y",
    "d/m/Y",
    "d.m.Y",
    "d M Y H:i",
    "d M Y",
    "M d, Y H:i",
    "M d, Y",
    "F j, Y g:i A",
    "F j, Y",
)

# Persian and Arabic-Indic digits: Resont renders them for Persian-speaking users.
_DIGITS = MappingProxyType(str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789"))

#: Years below this are Jalali (the Persian calendar is ~621 years behind).
_JALALI_BEFORE = 1700


def to_timezone(name: Any, fallback: tzinfo = UTC) -> tzinfo:
    """A tzinfo for an IANA name or a ``+03:30`` offset; ``fallback`` when unknown."""
    if isinstance(name, tzinfo):
        return name
    text = str(name or "").strip()
    if not text:
        return fallback
    offset = _offset(text)
    if offset is not None:
        return offset
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def _offset(text: str) -> tzinfo | None:
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    match = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?", text, re.IGNORECASE)
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
    return timezone(sign * delta)


def _layout_regex(layout: str) -> re.Pattern[str] | None:
    """Compile a PHP date() layout into a regex with named groups (None if unusable)."""
    parts: list[str] = []
    used: set[str] = set()
    escaped = False
    for char in layout:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _PHP_TOKENS:
            pattern, name = _PHP_TOKENS[char]
            if name and name not in used:
                used.add(name)
                parts.append(f"(?P<{name}>{pattern})")
            else:
                parts.append(f"(?:{pattern})")
        elif char.isspace():
            if not parts or parts[-1] != r"\s+":
                parts.append(r"\s+")
        else:
            parts.append(re.escape(char))
    if not used:
        return None
    return re.compile("".join(parts), re.IGNORECASE)


def _year(groups: dict[str, str]) -> int | None:
    if groups.get("year"):
        return int(groups["year"])
    if groups.get("year2"):
        return 2000 + int(groups["year2"])
    return None


def _month(groups: dict[str, str]) -> int | None:
    if groups.get("month"):
        return int(groups["month"])
    name = (groups.get("month_name") or "").lower().rstrip(".")
    return _MONTHS.get(name)


def _hour(groups: dict[str, str]) -> int:
    if groups.get("hour"):
        return int(groups["hour"])
    if not groups.get("hour12"):
        return 0
    hour = int(groups["hour12"]) % 12
    if (groups.get("ampm") or "").lower().startswith("p"):
        hour += 12
    return hour


def _calendar_date(year: int, month: int, day: int) -> date:
    if year < _JALALI_BEFORE:
        gregorian: date = jdatetime.date(year, month, day).togregorian()
        return gregorian
    return date(year, month, day)


def _from_groups(groups: dict[str, str], default_tz: tzinfo) -> datetime | None:
    if groups.get("epoch"):
        return datetime.fromtimestamp(int(groups["epoch"]), UTC)
    year, month = _year(groups), _month(groups)
    if year is None or month is None:
        return None
    day = int(groups.get("day") or 1)
    clock = time(_hour(groups), int(groups.get("minute") or 0), int(groups.get("second") or 0))
    moment = datetime.combine(_calendar_date(year, month, day), clock)
    zone = to_timezone(groups.get("zone"), default_tz) if groups.get("zone") else default_tz
    return moment.replace(tzinfo=zone)


@dataclass(frozen=True)
class DateParser:
    """Reads Resont date strings: the user's layout first, then ISO, unix time, common layouts.

    ``tz`` is the user's time zone: a date without an explicit offset is wall time there.
    """

    tz: tzinfo = UTC
    dateformat: str = "Y-m-d"
    timeformat: str = "H:i:s"
    patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        own = (
            f"{self.dateformat} {self.timeformat}",
            f"{self.timeformat} {self.dateformat}",
            f"{self.dateformat} H:i:s",
            f"{self.dateformat} H:i",
            self.dateformat,
        )
        layouts = dict.fromkeys(layout for layout in own + _FALLBACK_LAYOUTS if layout.strip())
        patterns = tuple(p for p in map(_layout_regex, layouts) if p is not None)
        object.__setattr__(self, "patterns", patterns)

    @classmethod
    def from_settings(cls, settings: Any, fallback_tz: tzinfo | str = UTC) -> DateParser:
        """A parser for a ``me`` answer (a User or its raw dict); defaults where a field is missing."""
        raw = getattr(settings, "raw", settings) if settings is not None else {}
        raw = raw if isinstance(raw, dict) else {}
        fallback = to_timezone(fallback_tz)
        return cls(
            tz=to_timezone(raw.get("timezone"), fallback),
            dateformat=str(raw.get("dateformat") or "Y-m-d"),
            timeformat=str(raw.get("timeformat") or "H:i:s"),
        )

    def parse(self, value: Any) -> datetime | None:
        """An aware datetime for ``value`` (string, unix seconds or milliseconds), else None."""
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=self.tz)
        if isinstance(value, (int, float)):
            return _from_unix(value)
        if not isinstance(value, str):
            return None
        text = " ".join(value.translate(_DIGITS).split())
        if not text:
            return None
        if re.fullmatch(r"\d{9,13}(?:\.\d+)?", text):
            return _from_unix(float(text))
        return self._from_layouts(text) or self._from_iso(text)

    def _from_layouts(self, text: str) -> datetime | None:
        for pattern in self.patterns:
            match = pattern.fullmatch(text)
            if match is None:
                continue
            try:
                parsed = _from_groups(match.groupdict(), self.tz)
            except (ValueError, OverflowError):
                continue
            if parsed is not None:
                return parsed
        return None

    def _from_iso(self, text: str) -> datetime | None:
        try:
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError:
            return None
        if parsed.year < _JALALI_BEFORE:
            try:
                parsed = datetime.combine(_calendar_date(parsed.year, parsed.month, parsed.day), parsed.timetz())
            except ValueError:
                return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)

    def format_date(self, moment: datetime | date) -> str:
        """``moment`` rendered in the user's date layout (used for date filters)."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.tz) if moment.tzinfo else moment
        return render_php(moment, self.dateformat)


def _from_unix(value: float) -> datetime | None:
    if value <= 0:
        return None
    if value > 1e11:  # milliseconds
        value /= 1000
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


_RENDER: MappingProxyType[str, str] = MappingProxyType(
    {
        "d": "%d",
        "m": "%m",
        "Y": "%Y",
        "y": "%y",
        "H": "%H",
        "i": "%M",
        "s": "%S",
        "M": "%b",
        "F": "%B",
        "D": "%a",
        "l": "%A",
        "A": "%p",
        "h": "%I",
    }
)


def render_php(moment: datetime | date, layout: str) -> str:
    """Render ``moment`` with a PHP date() layout (the common letters; others stay literal)."""
    out: list[str] = []
    escaped = False
    for char in layout:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _RENDER:
            out.append(moment.strftime(_RENDER[char]))
        elif char == "j":
            out.append(str(moment.day))
        elif char == "n":
            out.append(str(moment.month))
        elif char == "G" and isinstance(moment, datetime):
            out.append(str(moment.hour))
        else:
            out.append(char)
    return "".join(out)

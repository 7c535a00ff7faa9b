"""Reading Resont's answers tolerantly: type coercion and :class:`Reader`, typed access to one raw object.

Parsing tolerates extra and missing fields (a missing field is None, an empty list or False as
fits), numbers sent as strings, PHP arrays sent as objects, and dates in the user's own format
(see :mod:`bot.clients.resont.dates`). An answer that is not an object where one is expected
raises :class:`ResontMalformed` at once, instead of a KeyError three calls later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from bot.clients.resont.dates import DateParser
from bot.clients.resont.errors import ResontMalformed

M = TypeVar("M")


def describe(value: Any) -> str:
    """A short description of a JSON value's kind, for error messages (never its content)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def as_object(raw: Any, what: str) -> dict[str, Any]:
    """``raw`` as a dict, or :class:`ResontMalformed` naming what was expected."""
    if not isinstance(raw, Mapping):
        raise ResontMalformed(f"Resont sent {describe(raw)} where {what} was expected")
    return dict(raw)


def as_items(raw: Any, what: str) -> list[Any]:
    """A JSON list (or a PHP array serialised as an object with index keys) as a list."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, Mapping) and all(str(k).isdigit() for k in raw):
        return [raw[k] for k in sorted(raw, key=lambda k: int(k))]
    raise ResontMalformed(f"Resont sent {describe(raw)} where a list of {what} was expected")


def to_int(value: Any) -> int | None:
    """An int from an int, an integral float or a digit string; None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def to_str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
    return None


def to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Reader:
    """Typed, tolerant access to one raw object."""

    def __init__(self, raw: Mapping[str, Any], dates: DateParser | None) -> None:
        self.raw = raw
        self.dates = dates if dates is not None else DateParser()

    def get(self, *keys: str) -> Any:
        for key in keys:
            if self.raw.get(key) is not None:
                return self.raw[key]
        return None

    def integer(self, *keys: str) -> int | None:
        return to_int(self.get(*keys))

    def text(self, *keys: str) -> str | None:
        return to_str(self.get(*keys))

    def flag(self, *keys: str, default: bool = False) -> bool:
        parsed = to_bool(self.get(*keys))
        return default if parsed is None else parsed

    def number(self, *keys: str) -> float | None:
        return to_float(self.get(*keys))

    def date(self, *keys: str) -> datetime | None:
        return self.dates.parse(self.get(*keys))

    def ints(self, *keys: str) -> list[int]:
        value = self.get(*keys)
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        try:
            items = as_items(value, "ids") if value is not None else []
        except ResontMalformed:
            items = [value]
        return [n for n in (to_int(v) for v in items) if n is not None]

    def strs(self, *keys: str) -> list[str]:
        value = self.get(*keys)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        try:
            return [s for s in (to_str(v) for v in as_items(value, "strings")) if s is not None]
        except ResontMalformed:
            return []

    def one(self, parse: Callable[[Any, DateParser], M], *keys: str) -> M | None:
        value = self.get(*keys)
        if isinstance(value, list):  # documented as X[] where one X is meant
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        return parse(value, self.dates)

    def many(self, parse: Callable[[Any, DateParser], M], *keys: str) -> list[M]:
        value = self.get(*keys)
        if value is None:
            return []
        try:
            items = as_items(value, "objects")
        except ResontMalformed:
            return []
        return [parse(item, self.dates) for item in items if isinstance(item, Mapping)]


#: Raw flags that, when present, say the account itself wrote an item (undocumented).
OUTBOUND_FLAGS = ("is_owner", "from_me", "is_outgoing", "outgoing", "is_echo")


def outbound_flag(raw: Mapping[str, Any]) -> bool | None:
    """Whether the account itself wrote an item, when an undocumented flag says so."""
    for flag in OUTBOUND_FLAGS:
        if flag in raw:
            return to_bool(raw[flag])
    direction = to_str(raw.get("direction"))
    if direction:
        return direction.lower() in ("out", "outbound", "outgoing", "sent")
    return None


def reader(raw: Any, what: str, dates: DateParser | None) -> Reader:
    """A :class:`Reader` over ``raw`` (:class:`ResontMalformed` unless it is an object)."""
    return Reader(as_object(raw, what), dates)

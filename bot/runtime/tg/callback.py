"""Typed callback data: what a button carries, declared once, encoded and checked in one place.

A *namespace* (``post``, ``cmt``, ``lang`` …) is one feature's family of buttons; each kind of
button in it is a frozen dataclass declared with the namespace and its *action*::

    POST = Namespace("post")

    class Approve(ButtonData, namespace=POST, action="ok"):
        pg: int

    Approve(pg=42).encode()            # "post:ok:42"
    POST.decode("post:ok:42")          # Approve(pg=42)

The wire format is ``<namespace>[:<action>]:<field>:<field>…`` — the one the bot has always
used, so buttons already in a chat keep working after an upgrade. Fields are ``int`` (ids,
indexes, pages, times: 0 or more, ASCII digits), ``str`` (non-empty, no ``:``), a ``Literal``
of choices, or ``str`` annotated with :class:`OneOf` (choices from a constant), :class:`Match`
(a pattern) or :data:`TAIL` (the last field, which may contain ``:``). A field defaulting to
``None`` is optional and is left out when unset. Encoding refuses data over Telegram's 64 bytes
and values that would not decode back; decoding refuses anything else
(forged, garbled or from an older layout) with :class:`CallbackDataError`.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union, dataclass_transform

#: Telegram's limit for ``callback_data``, in bytes of UTF-8.
MAX_BYTES = 64
SEPARATOR = ":"
_NAME = re.compile(r"[a-z][a-z0-9_.]{0,15}")
_INT = re.compile(r"[0-9]{1,19}")


class CallbackDataError(ValueError):
    """Button data that cannot be encoded (a programming error) or decoded (forged, garbled,
    from an older layout). The message says why, without echoing more than 64 bytes."""


@dataclass(frozen=True)
class Match:
    """A ``str`` field's values must match ``pattern`` (the whole value)."""

    pattern: str


@dataclass(frozen=True)
class OneOf:
    """A ``str`` field's values are these choices (when they live in a constant, not a ``Literal``)."""

    choices: tuple[str, ...]

    def __init__(self, *choices: str) -> None:
        object.__setattr__(self, "choices", tuple(choices))


@dataclass(frozen=True)
class Tail:
    """The last ``str`` field takes the rest of the data, separators included."""


#: ``Annotated[str, TAIL]``: the last field, which may contain ``:`` (a store key, say).
TAIL = Tail()


@dataclass(frozen=True)
class FieldCodec:
    """How one field of a button is written and read back."""

    name: str
    kind: type  # int or str
    choices: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    tail: bool = False
    optional: bool = False

    def encode(self, value: Any) -> str:
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise CallbackDataError(f"{self.name} must be an int, not {type(value).__name__}")
            if not _INT.fullmatch(str(value)):
                raise CallbackDataError(f"{self.name} must be a whole number from 0 up to 19 digits")
            return str(value)
        if not isinstance(value, str):
            raise CallbackDataError(f"{self.name} must be a str, not {type(value).__name__}")
        self.check(value)
        return value

    def decode(self, text: str) -> Any:
        if self.kind is int:
            if not _INT.fullmatch(text):
                raise CallbackDataError(f"{self.name} is not a number")
            return int(text)
        self.check(text)
        return text

    def check(self, text: str) -> None:
        """Refuse a str value that would not come back unchanged (or is not allowed)."""
        if not text:
            raise CallbackDataError(f"{self.name} is empty")
        if SEPARATOR in text and not self.tail:
            raise CallbackDataError(f"{self.name} contains {SEPARATOR!r}")
        if self.choices and text not in self.choices:
            raise CallbackDataError(f"{self.name} is not one of {', '.join(self.choices)}")
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise CallbackDataError(f"{self.name} does not match {self.pattern.pattern}")


class Namespace:
    """One feature's family of buttons: its name (the data's first part) and its button kinds.

    A namespace holds either button kinds with an action each, or a single kind without one
    (``lang:<code>``)."""

    def __init__(self, name: str) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"bad callback namespace {name!r}")
        self.name = name
        self.kinds: dict[str, type[ButtonData]] = {}

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"

    def register(self, kind: type[ButtonData]) -> None:
        action = kind.action
        if action in self.kinds or ("" in self.kinds) or (action == "" and self.kinds):
            raise ValueError(f"{self.name}: action {action!r} clashes with {sorted(self.kinds)}")
        self.kinds[action] = kind

    def owns(self, data: object) -> bool:
        """Whether ``data`` is in this namespace (it may still fail to decode)."""
        return isinstance(data, str) and namespace_of(data) == self.name

    def decode(self, data: object) -> ButtonData:
        """The button ``data`` stands for; :class:`CallbackDataError` when it does not decode."""
        if not isinstance(data, str) or not self.owns(data):
            raise CallbackDataError(f"not a {self.name} button")
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise CallbackDataError("longer than 64 bytes")
        parts = data.split(SEPARATOR)[1:]
        if "" in self.kinds:
            return self.kinds[""].from_parts(parts)
        kind = self.kinds.get(parts[0]) if parts else None
        if kind is None:
            raise CallbackDataError(f"unknown {self.name} action")
        return kind.from_parts(parts[1:])


def namespace_of(data: object) -> str:
    """The namespace part of raw callback data ("" for none, or data that is not text)."""
    if not isinstance(data, str):
        return ""
    return data.split(SEPARATOR, 1)[0]


@dataclass_transform(frozen_default=True)
class ButtonData:
    """Base of a button kind; subclasses are frozen dataclasses (see the module's docstring)."""

    namespace: ClassVar[Namespace]
    action: ClassVar[str]
    codecs: ClassVar[tuple[FieldCodec, ...]]

    def __init_subclass__(cls, *, namespace: Namespace, action: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if action and not _NAME.fullmatch(action):
            raise ValueError(f"bad callback action {action!r}")
        cls.namespace, cls.action = namespace, action
        dataclass(frozen=True)(cls)
        cls.codecs = field_codecs(cls)
        namespace.register(cls)

    def __post_init__(self) -> None:
        self.encode()  # a button that cannot be sent is refused where it is made

    def encode(self) -> str:
        """The ``callback_data`` string; :class:`CallbackDataError` over 64 bytes."""
        parts = [self.namespace.name, *([self.action] if self.action else [])]
        values = [(codec, getattr(self, codec.name)) for codec in self.codecs]
        while values and values[-1][0].optional and values[-1][1] is None:
            values.pop()  # unset optional fields at the end are left out
        for codec, value in values:
            parts.append(codec.encode(value))
        data = SEPARATOR.join(parts)
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise CallbackDataError(f"{data[:64]!r}… is longer than {MAX_BYTES} bytes")
        return data

    @classmethod
    def from_parts(cls, parts: list[str]) -> ButtonData:
        """The button from the data's parts after the action."""
        values: dict[str, Any] = {}
        rest = list(parts)
        for codec in cls.codecs:
            if not rest:
                if not codec.optional:
                    raise CallbackDataError(f"{codec.name} is missing")
                break
            text = SEPARATOR.join(rest) if codec.tail else rest[0]
            rest = [] if codec.tail else rest[1:]
            values[codec.name] = codec.decode(text)
        if rest:
            raise CallbackDataError("too many parts")
        return cls(**values)


def field_codecs(cls: type) -> tuple[FieldCodec, ...]:
    """The codecs of a button kind's fields, from its annotations (checked once, at import)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    codecs: list[FieldCodec] = []
    for field in dataclasses.fields(cls):
        optional = field.default is None
        codec = codec_for(field.name, hints[field.name], optional)
        if codecs and codecs[-1].tail:
            raise TypeError(f"{cls.__name__}.{field.name}: nothing may follow a tail field")
        if codecs and codecs[-1].optional and not optional:
            raise TypeError(f"{cls.__name__}.{field.name}: a required field after an optional one")
        codecs.append(codec)
    return tuple(codecs)


def codec_for(name: str, hint: Any, optional: bool) -> FieldCodec:
    """A field's codec from its annotation (``int``, ``str``, ``Literal``, ``Annotated``)."""
    if optional:
        hint = _without_none(hint)
    marks: tuple[Any, ...] = ()
    if typing.get_origin(hint) is Annotated:
        hint, *rest = typing.get_args(hint)
        marks = tuple(rest)
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if not all(isinstance(c, str) for c in choices):
            raise TypeError(f"{name}: Literal choices must be str")
        return FieldCodec(name, str, choices=tuple(choices), optional=optional)
    if hint not in (int, str):
        raise TypeError(f"{name}: unsupported button field type {hint!r}")
    pattern = next((re.compile(m.pattern) for m in marks if isinstance(m, Match)), None)
    choices = next((m.choices for m in marks if isinstance(m, OneOf)), ())
    tail = any(isinstance(m, Tail) for m in marks)
    if (pattern is not None or choices or tail) and hint is not str:
        raise TypeError(f"{name}: Match, OneOf and TAIL apply to str fields")
    return FieldCodec(name, hint, choices=choices, pattern=pattern, tail=tail, optional=optional)


def _without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    raise TypeError(f"a field defaulting to None must be Optional (got {hint!r})")

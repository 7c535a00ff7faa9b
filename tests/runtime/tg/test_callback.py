"""The callback-data codec: round trips, the 64-byte limit, field validation, declarations."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from bot.runtime.tg.callback import (
    MAX_BYTES,
    TAIL,
    ButtonData,
    CallbackDataError,
    Match,
    Namespace,
    OneOf,
    namespace_of,
)

DEMO = Namespace("demo")
BARE = Namespace("bare")


class Approve(ButtonData, namespace=DEMO, action="ok"):
    pg: int


class Confirm(ButtonData, namespace=DEMO, action="rsok"):
    pg: int
    ts: int
    approve: Literal["a"] | None = None


class Expand(ButtonData, namespace=DEMO, action="x"):
    key: Annotated[str, TAIL]


class Period(ButtonData, namespace=DEMO, action="period"):
    target: Annotated[str, Match(r"p?\d{1,12}")]
    period: Literal["week", "month"]


class Quit(ButtonData, namespace=DEMO, action="quit"):
    pass


CODES = ("en", "fa")


class Pick(ButtonData, namespace=BARE):
    code: Annotated[str, OneOf(*CODES, "default")]


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (Approve(pg=42), "demo:ok:42"),
        (Confirm(pg=7, ts=1700000000), "demo:rsok:7:1700000000"),
        (Confirm(pg=7, ts=1700000000, approve="a"), "demo:rsok:7:1700000000:a"),
        (Expand(key="d:12:34"), "demo:x:d:12:34"),
        (Period(target="p12", period="week"), "demo:period:p12:week"),
        (Quit(), "demo:quit"),
        (Pick(code="fa"), "bare:fa"),
    ],
)
def test_round_trip_keeps_the_wire_format(data: ButtonData, wire: str) -> None:
    assert data.encode() == wire
    assert data.namespace.decode(wire) == data
    assert namespace_of(wire) == data.namespace.name


def test_encoding_refuses_more_than_64_bytes() -> None:
    fits = "k" * (MAX_BYTES - len("demo:x:"))
    assert len(Expand(key=fits).encode().encode("utf-8")) == MAX_BYTES
    with pytest.raises(CallbackDataError, match="64 bytes"):
        Expand(key=fits + "k")
    with pytest.raises(CallbackDataError, match="64 bytes"):
        Expand(key="ک" * 29)  # 58 bytes of UTF-8 in 29 characters, plus the prefix


def test_decoding_refuses_more_than_64_bytes() -> None:
    with pytest.raises(CallbackDataError):
        DEMO.decode("demo:x:" + "k" * 60)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pg": "42"},  # a str where an int is declared
        {"pg": True},  # bool is not an int here
        {"pg": 4.2},
        {"pg": -1},  # ids, indexes and times are never negative
        {"pg": 10**19},  # more than 19 digits
    ],
)
def test_int_fields_take_ints_only(kwargs: dict[str, object]) -> None:
    with pytest.raises(CallbackDataError, match="pg must be"):
        Approve(**kwargs)  # type: ignore[arg-type]


def test_str_fields_are_checked() -> None:
    with pytest.raises(CallbackDataError, match="not one of"):
        Period(target="p1", period="year")  # type: ignore[arg-type]
    with pytest.raises(CallbackDataError, match="does not match"):
        Period(target="x1", period="week")
    with pytest.raises(CallbackDataError, match="contains"):
        Period(target="p1:2", period="week")
    with pytest.raises(CallbackDataError, match="empty"):
        Expand(key="")


@pytest.mark.parametrize(
    "wire",
    [
        "demo",  # no action
        "demo:",  # empty action
        "demo:zz:1",  # unknown action
        "demo:ok",  # missing field
        "demo:ok:",  # empty field
        "demo:ok:4x",  # not a number
        "demo:ok:١٢",  # non-ASCII digits (int() would take them)
        "demo:ok: 12",  # spaces (int() would take them)
        "demo:ok:1_000",  # underscores (int() would take them)
        "demo:ok:-5",  # negative
        "demo:ok:42:extra",  # too many parts
        "demo:rsok:7:17:b",  # not a declared choice
        "demo:quit:now",
        "demo:period:p1:year",
        "bare:de",
        "bare",
        "other:ok:1",  # another namespace
        "demox:ok:1",  # a namespace that only starts the same
    ],
)
def test_garbled_data_is_refused(wire: str) -> None:
    namespace = BARE if wire.startswith("bare") else DEMO
    with pytest.raises(CallbackDataError):
        namespace.decode(wire)


def test_non_text_data_is_refused() -> None:
    with pytest.raises(CallbackDataError):
        DEMO.decode(None)
    assert namespace_of(None) == ""
    assert not DEMO.owns(None)


def test_declarations_are_checked_at_import() -> None:
    with pytest.raises(ValueError, match="clashes"):

        class Again(ButtonData, namespace=DEMO, action="ok"):
            pg: int

    with pytest.raises(ValueError, match="clashes"):

        class Actionless(ButtonData, namespace=DEMO):
            pg: int

    with pytest.raises(TypeError, match="unsupported"):

        class Floaty(ButtonData, namespace=Namespace("floaty"), action="f"):
            value: float

    with pytest.raises(TypeError, match="tail"):

        class AfterTail(ButtonData, namespace=Namespace("tails"), action="t"):
            key: Annotated[str, TAIL]
            more: int

    with pytest.raises(ValueError, match="namespace"):
        Namespace("Not A Name")


def test_buttons_are_frozen_values() -> None:
    approve = Approve(pg=1)
    with pytest.raises(AttributeError):
        approve.pg = 2  # type: ignore[misc]
    assert approve == Approve(pg=1)
    assert {approve, Approve(pg=1)} == {approve}

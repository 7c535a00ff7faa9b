"""Typed results of the Resont API for support tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clients.resont.dates import DateParser
from bot.clients.resont.values import (
    reader,
)


@dataclass(frozen=True)
class Department:
    id: int | None
    name: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Department:
        r = reader(raw, "a department", dates)
        return cls(r.integer("id"), r.text("name"), dict(r.raw))


@dataclass(frozen=True)
class Ticket:
    id: int | None
    title: str | None
    status: int | None
    status_name: str | None
    date: datetime | None
    department_id: int | None
    rate: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Ticket:
        r = reader(raw, "a ticket", dates)
        return cls(
            r.integer("id"),
            r.text("title"),
            r.integer("status"),
            r.text("status_name"),
            r.date("date"),
            r.integer("department_id"),
            r.integer("rate"),
            dict(r.raw),
        )


@dataclass(frozen=True)
class TicketUser:
    name: str | None
    firstname: str | None
    lastname: str | None
    is_admin: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> TicketUser:
        r = reader(raw, "a ticket user", dates)
        return cls(r.text("name"), r.text("firstname"), r.text("lastname"), r.flag("isAdmin", "is_admin"), dict(r.raw))


@dataclass(frozen=True)
class TicketMeta:
    """One message of a support ticket."""

    id: int | None
    content: str | None
    date: datetime | None
    ticket_id: int | None
    attachment: str | None
    report: str | None
    user: TicketUser | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> TicketMeta:
        r = reader(raw, "a ticket message", dates)
        return cls(
            r.integer("id"),
            r.text("content"),
            r.date("date"),
            r.integer("ticket_id"),
            r.text("attachment"),
            r.text("report"),
            r.one(TicketUser.from_raw, "user"),
            dict(r.raw),
        )

"""Reading Resont's lists: envelopes, pages, following paging links, stop rules, ordering.

Lists come as an array or as ``{data, paging}``: page style (``paging.next``/``page``/
``totalPage``) or cursor style (``paging.after``/``before``), with links or bare cursor values.
:class:`Links` turns a page's paging into the next request (a link's own query is kept, any token
in it is dropped, and a link to another host is rebased on the configured base URL). Only lists
the document calls descending (comments, conversations) may stop early, by a :class:`StopRule`;
everything else is read to its end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bot.clients.resont.dates import DateParser
from bot.clients.resont.endpoints import AUTH_PARAMS, CURSOR_PARAMS
from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.forms import encode_fields
from bot.clients.resont.values import as_items, as_object, to_int, to_str

T = TypeVar("T")

#: A GET to send: a path relative to the base URL and its query pairs.
Request = tuple[str, tuple[tuple[str, str], ...]]

#: Envelope keys that may sit beside ``data`` in a wrapped answer.
ENVELOPE_KEYS = frozenset({"data", "paging", "success", "status", "message", "meta", "links"})
VERSIONED_PATH = re.compile(r"^(?:/token)?/v\d+/(?P<rest>.*)$")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and the paging Resont sent (page or cursor style)."""

    items: list[T]
    total: int | None = None
    page: int | None = None
    total_pages: int | None = None
    next: str | None = None
    prev: str | None = None
    after: str | None = None
    before: str | None = None


def unwrap(body: Any) -> Any:
    """The object inside a ``{data: ...}`` envelope; the body itself when it is bare."""
    if isinstance(body, Mapping) and "data" in body and set(body) <= ENVELOPE_KEYS:
        return body["data"]
    return body


def page_of(body: Any, parse: Callable[[Any, DateParser], T], dates: DateParser) -> Page[T]:
    """One page of items parsed with ``parse``; a bare array is a whole list on one page."""
    if isinstance(body, list):
        return Page([parse(item, dates) for item in body])
    obj = as_object(body, "a page of items")
    if "data" not in obj:
        raise ResontMalformed("Resont sent a page without its data")
    items = [parse(item, dates) for item in as_items(obj["data"], "items")]
    raw = obj.get("paging")
    paging: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return Page(
        items,
        total=to_int(paging.get("total")),
        page=to_int(paging.get("page") or paging.get("current_page")),
        total_pages=to_int(paging.get("totalPage") or paging.get("total_page") or paging.get("last_page")),
        next=to_str(paging.get("next")) or None,
        prev=to_str(paging.get("prev")) or None,
        after=to_str(paging.get("after")) or None,
        before=to_str(paging.get("before")) or None,
    )


@dataclass(frozen=True)
class StopRule:
    """Where a walk over a newest-first list ends: a known id, or items older than a date."""

    ids: frozenset[str]
    before: datetime | None
    date_of: Callable[[Any], datetime | None]

    def hit(self, item: Any) -> bool:
        item_id = getattr(item, "id", None)
        if self.ids and item_id is not None and str(item_id) in self.ids:
            return True
        if self.before is None:
            return False
        when = self.date_of(item)
        return when is not None and when < self.before


def stop_rule(
    stop_at_id: int | str | None,
    seen_ids: Collection[int | str] | None,
    stop_before: datetime | None,
    date_of: Callable[[Any], datetime | None],
) -> StopRule | None:
    """The rule for a descending list's walk, or None to read it to its end."""
    ids = {str(i) for i in (seen_ids or ())}
    if stop_at_id is not None:
        ids.add(str(stop_at_id))
    if stop_before is not None and stop_before.tzinfo is None:
        raise ValueError("stop_before must be timezone-aware")
    if not ids and stop_before is None:
        return None
    return StopRule(frozenset(ids), stop_before, date_of)


@dataclass(frozen=True)
class Links:
    """Paging links to requests, relative to the API base whose URL path is ``base_path``."""

    base_path: str

    def first(self, path: str, params: Mapping[str, Any]) -> Request:
        """The first page's request; a starting ``after``/``before`` given as a paging link (as
        Resont sends them) is followed like one."""
        pairs = tuple(encode_fields(params))
        for cursor in ("after", "before"):
            link = params.get(cursor)
            if isinstance(link, str) and is_link(link):
                rest = tuple((k, v) for k, v in pairs if k != cursor)
                return self.follow(link, path, rest, cursor=cursor)
        return (path, pairs)

    def next(self, current: Request, page: Page[Any]) -> Request | None:
        """The request for the page after ``page``, or None at the end."""
        path, params = current
        if page.after:
            return self.follow(page.after, path, params, cursor="after")
        if page.next:
            return self.follow(page.next, path, params, cursor="page")
        if page.page and page.total_pages and page.page < page.total_pages:
            kept = tuple((k, v) for k, v in params if k != "page")
            return (path, (*kept, ("page", str(page.page + 1))))
        return None

    def follow(self, link: str, path: str, params: tuple[tuple[str, str], ...], cursor: str) -> Request:
        """The request for a ``next``/``after`` link: its own query (minus any credentials: the
        current token is added when sending) on top of the original filters. A link to another
        host is never followed there: only its path and query are used, on our base URL."""
        if not is_link(link):
            kept = tuple((k, v) for k, v in params if k not in CURSOR_PARAMS)
            return (path, (*kept, (cursor, link)))
        parts = urlsplit(link)
        own = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in AUTH_PARAMS]
        own_keys = {k for k, _ in own}
        others = [(k, v) for k, v in params if k not in own_keys and k not in CURSOR_PARAMS]
        return (self.relative(parts.path) or path, tuple(others + own))

    def relative(self, link_path: str) -> str | None:
        """A link's path relative to the API base (any ``/v1`` or ``/token/v1`` prefix)."""
        if self.base_path and link_path.startswith(self.base_path + "/"):
            return link_path[len(self.base_path) + 1 :].strip("/") or None
        match = VERSIONED_PATH.match(link_path)
        if match is None:
            return None
        return match.group("rest").strip("/") or None


def is_link(value: str) -> bool:
    """Whether a paging value is a link (absolute, rooted or a query) rather than a bare cursor."""
    return "://" in value or value.startswith(("/", "?"))


class Dated(Protocol):
    """An item with a date and an id (a message)."""

    @property
    def id(self) -> int | None: ...

    @property
    def date(self) -> datetime | None: ...


def in_time_order(item: Dated) -> tuple[bool, datetime, int]:
    """Sort key: oldest first by date, then id; undated items (unreadable dates) first."""
    return (item.date is not None, item.date or datetime.min.replace(tzinfo=UTC), item.id or 0)

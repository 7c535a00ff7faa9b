"""The core every service group of the client shares: named calls, the user's date settings,
decoding answers into models, and walking paged lists.

Answers' dates are strings in the user's own format (``me``: ``dateformat``, ``timeformat``,
``timezone``): :meth:`Api.dates` fetches ``me`` once per client before the first other call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from bot.clients.resont.dates import DateParser
from bot.clients.resont.endpoints import ENDPOINTS
from bot.clients.resont.errors import ResontForbidden, ResontMalformed, ResontNotFound
from bot.clients.resont.forms import Upload, encode_fields
from bot.clients.resont.models import User
from bot.clients.resont.paging import Links, Page, Request, StopRule, page_of, unwrap
from bot.clients.resont.sender import Call, Sender, grouped_pairs
from bot.clients.resont.values import as_items, as_object, describe, to_bool

log = logging.getLogger(__name__)

T = TypeVar("T")
Parse = Callable[[Any, DateParser], T]


class Api:
    """Named service calls over ``sender``; ``default_tz`` reads dates until ``me`` is known."""

    def __init__(self, sender: Sender, default_tz: tzinfo) -> None:
        self.sender = sender
        self.links = Links(urlsplit(sender.base).path.rstrip("/"))
        self.default_tz = default_tz
        self.user: User | None = None
        self.date_parser: DateParser | None = None
        self.me_lock = asyncio.Lock()

    async def call(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Upload] | None = None,
        **path_args: Any,
    ) -> Any:
        """Send the service ``name`` (see :data:`ENDPOINTS`) and return the decoded JSON body."""
        endpoint = ENDPOINTS[name]
        if name != "user.me":
            await self.dates()  # learn the user's date format before the first answer needs it
        call = Call(
            endpoint.method,
            path_of(name, path_args),
            params=tuple(encode_fields(params or {})),
            data=grouped_pairs(encode_fields(data)) if data else None,
            files={k: v.as_httpx() for k, v in files.items()} if files else None,
        )
        return await self.sender.send(call)

    async def fetch_me(self) -> User:
        """The user behind the token, asked live; its date settings read every later answer."""
        raw = unwrap(await self.call("user.me"))
        dates = DateParser.from_settings(as_object(raw, "the user"), self.default_tz)
        user = User.from_raw(raw, dates)
        self.user, self.date_parser = user, dates
        return user

    def forget_user(self) -> None:
        """Drop the cached user and date settings (another account may answer from now on)."""
        self.user = self.date_parser = None

    async def dates(self) -> DateParser:
        """The parser for the user's date settings, fetching ``me`` once per client."""
        if self.date_parser is None:
            async with self.me_lock:
                if self.date_parser is None:
                    try:
                        await self.fetch_me()
                    except (ResontForbidden, ResontNotFound, ResontMalformed) as exc:
                        # Dates still parse through the fallbacks; the call itself goes on.
                        log.warning("Resont user settings unavailable (%s); using defaults", exc)
                        self.date_parser = DateParser(tz=self.default_tz)
        assert self.date_parser is not None
        return self.date_parser

    async def one(self, parse: Parse[T], body: Any) -> T:
        """One object of the answer ``body`` (bare or in an envelope)."""
        return parse(unwrap(body), await self.dates())

    async def many(self, parse: Parse[T], body: Any, what: str) -> list[T]:
        """The array of the answer ``body`` (bare or in an envelope)."""
        dates = await self.dates()
        return [parse(item, dates) for item in as_items(unwrap(body), what)]

    async def date_param(self, value: str | date | datetime | None) -> str | None:
        """A date filter in the user's date layout (strings are sent as given)."""
        if value is None or isinstance(value, str):
            return value
        return (await self.dates()).format_date(value)

    async def walk(
        self,
        name: str,
        parse: Parse[T],
        params: Mapping[str, Any] | None = None,
        *,
        stop: StopRule | None = None,
        limit: int | None = None,
        **path_args: Any,
    ) -> AsyncIterator[T]:
        """Every item of a (page- or cursor-) paged list, in Resont's order, until ``stop``,
        ``limit`` or the end (a page seen before ends the walk too)."""
        if limit is not None and limit <= 0:
            return
        request: Request | None = self.links.first(path_of(name, path_args), params or {})
        visited: set[Request] = set()
        count = 0
        while request is not None and request not in visited:
            visited.add(request)
            page = await self.fetch_page(request, parse)
            for item in page.items:
                if stop is not None and stop.hit(item):
                    return
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            request = self.links.next(request, page) if page.items else None

    async def fetch_page(self, request: Request, parse: Parse[T]) -> Page[T]:
        """The page that ``request`` (path and query) answers."""
        dates = await self.dates()
        body = await self.sender.send(Call("GET", request[0], params=request[1]))
        return page_of(body, parse, dates)

    async def page(
        self, name: str, parse: Parse[T], params: Mapping[str, Any] | None = None, **path_args: Any
    ) -> Page[T]:
        """One page of the list service ``name`` (for callers that keep cursors themselves)."""
        body = await self.call(name, params=params, **path_args)
        return page_of(body, parse, await self.dates())


def path_of(name: str, path_args: Mapping[str, Any]) -> str:
    """The path of service ``name`` with its ``{parameters}`` filled in (URL-quoted)."""
    return ENDPOINTS[name].path.format(**{k: quote(str(v), safe="") for k, v in path_args.items()})


def success(body: Any) -> bool:
    """A BooleanResponse (an empty 2xx answer counts as success)."""
    body = unwrap(body)
    if body is None or body is True:
        return True
    if isinstance(body, Mapping) and "success" in body:
        return bool(to_bool(body["success"]))
    raise ResontMalformed(f"Resont sent {describe(body)} where a success flag was expected")

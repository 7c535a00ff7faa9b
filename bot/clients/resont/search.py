"""Location, people and hashtag search.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.clients.resont.api import Api
from bot.clients.resont.models import SearchLocation, SearchPeople
from bot.clients.resont.paging import unwrap
from bot.clients.resont.values import as_items, to_str


class Search:
    """Location, people and hashtag search."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def locations(self, query: str, account_ids: Sequence[int] | int) -> list[SearchLocation]:
        body = await self._api.call("search.location", params=search_params(query, account_ids))
        return await self._api.many(SearchLocation.from_raw, body, "locations")

    async def people(self, query: str, account_ids: Sequence[int] | int) -> list[SearchPeople]:
        body = await self._api.call("search.people", params=search_params(query, account_ids))
        return await self._api.many(SearchPeople.from_raw, body, "people")

    async def hashtags(self, query: str, account_ids: Sequence[int] | int) -> list[str]:
        body = await self._api.call("search.hashtag", params=search_params(query, account_ids))
        items = as_items(unwrap(body), "hashtags")
        return [s for s in (to_str(i.get("name") if isinstance(i, Mapping) else i) for i in items) if s]


def search_params(query: str, account_ids: Sequence[int] | int) -> dict[str, Any]:
    """The search services' query: ``account_ids`` as a comma-separated string (typed string)."""
    ids = [account_ids] if isinstance(account_ids, int) else list(account_ids)
    return {"query": query, "account_ids": ",".join(str(i) for i in ids)}

"""Tag catalogues: the comment tags and the conversation tags (the same five calls each).

One class of the client, composed twice by :class:`bot.clients.resont.client.ResontClient` (as
``comment_tags`` and ``conversation_tags``); see ``docs/resont-client.md`` for the paths.
"""

from __future__ import annotations

from bot.clients.resont.api import Api, success
from bot.clients.resont.models import Tag


class Tags:
    """One catalogue of tags: list, create, read, edit and delete. ``service`` names its
    endpoints (``comment_tag`` or ``conversation_tag``), ``what`` its answers in errors."""

    def __init__(self, api: Api, service: str, what: str) -> None:
        self._api = api
        self._service = service
        self._what = what

    async def all(self) -> list[Tag]:
        return await self._api.many(Tag.from_raw, await self._api.call(f"{self._service}.list"), self._what)

    async def create(self, name: str, color: str | None = None) -> Tag:
        body = await self._api.call(f"{self._service}.create", data={"name": name, "color": color})
        return await self._api.one(Tag.from_raw, body)

    async def get(self, tag_id: int) -> Tag:
        return await self._api.one(Tag.from_raw, await self._api.call(f"{self._service}.detail", tag_id=tag_id))

    async def edit(self, tag_id: int, *, name: str | None = None, color: str | None = None) -> Tag:
        body = await self._api.call(f"{self._service}.edit", data={"name": name, "color": color}, tag_id=tag_id)
        return await self._api.one(Tag.from_raw, body)

    async def delete(self, tag_id: int) -> bool:
        return success(await self._api.call(f"{self._service}.delete", tag_id=tag_id))

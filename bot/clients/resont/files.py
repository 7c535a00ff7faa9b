"""Uploaded media: list, upload, details, delete, story sticker images.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from bot.clients.resont.api import Api, success
from bot.clients.resont.forms import Upload
from bot.clients.resont.models import File, GeneratedImage
from bot.clients.resont.paging import unwrap


class Files:
    """Uploaded media: list, upload, details, delete, story sticker images."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def walk(
        self,
        *,
        type: str | None = None,
        search: str | None = None,
    ) -> AsyncIterator[File]:
        """Every uploaded file across pages, filtered by type (image, video, document) or name
        (the document states no order: read them all)."""
        async for item in self._api.walk("file.list", File.from_raw, {"type": type, "search": search}):
            yield item

    async def upload(self, content: bytes, filename: str, content_type: str = "application/octet-stream") -> File:
        """Upload media (multipart field ``file``); the result's id goes into ``media_ids``."""
        body = await self._api.call("file.upload", files={"file": Upload(content, filename, content_type)})
        return await self._api.one(File.from_raw, body)

    async def get(self, file_id: int) -> File:
        return await self._api.one(File.from_raw, await self._api.call("file.detail", file_id=file_id))

    async def delete(self, file_id: int) -> bool:
        return success(await self._api.call("file.delete", file_id=file_id))

    async def sticker_image(self, file_id: int, stickers: Sequence[Mapping[str, Any]]) -> GeneratedImage:
        """Render story stickers onto an uploaded image (``sticker[i][field]=…``)."""
        body = await self._api.call("file.sticker_image", data={"sticker": list(stickers)}, file_id=file_id)
        return GeneratedImage.from_raw(unwrap(body))

"""The user behind the token and their storage.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from bot.clients.resont.api import Api
from bot.clients.resont.models import StorageInfo, User
from bot.clients.resont.paging import unwrap


class Users:
    """The user behind the token (``me``) and their storage (``me/files``)."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def me(self) -> User:
        """The user behind the token (always asked live; its date settings are cached for
        reading every other answer's dates)."""
        return await self._api.fetch_me()

    @property
    def last(self) -> User | None:
        """The last ``me`` answer, if any."""
        return self._api.user

    async def storage(self) -> StorageInfo:
        """Storage used and left (``me/files``)."""
        return StorageInfo.from_raw(unwrap(await self._api.call("user.storage")))

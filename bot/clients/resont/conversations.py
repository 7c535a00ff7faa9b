"""Direct-message conversations, their messages, replies, reactions and tags.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`, like the
conversation tag catalogue in :mod:`bot.clients.resont.tags`); see ``docs/resont-client.md`` for the
services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date, datetime

from bot.clients.resont.api import Api, success
from bot.clients.resont.forms import Upload, expansion
from bot.clients.resont.inbox_models import Conversation, Message
from bot.clients.resont.paging import in_time_order, stop_rule


class Conversations:
    """Direct-message conversations, their messages, replies, reactions and tags."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def walk(
        self,
        *,
        tag: Sequence[int] | None = None,
        status: str | int | None = None,
        search: str | None = None,
        with_: str | Sequence[str] | None = None,
        after: str | None = None,
        before: str | None = None,
        stop_at_id: int | str | None = None,
        seen_ids: Collection[int | str] | None = None,
        stop_before: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Conversation]:
        """Conversations, most recently updated first, across cursor pages. ``stop_before``
        compares ``update_date``; a conversation moves up whenever a message arrives (or the
        bot replies), so prefer it to ``seen_ids`` for polling."""
        params = {
            "tag": tag,
            "status": status,
            "search": search,
            "with": expansion(with_),
            "after": after,
            "before": before,
        }
        stop = stop_rule(stop_at_id, seen_ids, stop_before, lambda c: c.update_date)
        async for item in self._api.walk("conversation.list", Conversation.from_raw, params, stop=stop, limit=limit):
            yield item

    async def get(self, conversation_id: int, *, with_: str | Sequence[str] | None = None) -> Conversation:
        body = await self._api.call(
            "conversation.detail", params={"with": expansion(with_)}, conversation_id=conversation_id
        )
        return await self._api.one(Conversation.from_raw, body)

    async def messages(
        self,
        conversation_id: int,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        with_: str | Sequence[str] | None = None,
        skip_ids: Collection[int | str] = (),
    ) -> list[Message]:
        """Every message of a conversation, oldest first by (date, id), without ``skip_ids``.

        The document answers "an array of Message" with no order and no paging: the list is read
        whole (any paging Resont adds is followed to its end) and ordered here, and ids already
        seen are skipped rather than taken for the end of what is new."""
        params = {
            "with": expansion(with_),
            "date_from": await self._api.date_param(date_from),
            "date_to": await self._api.date_param(date_to),
        }
        skip = {str(i) for i in skip_ids}
        walk = self._api.walk("conversation.messages", Message.from_raw, params, conversation_id=conversation_id)
        messages = [m async for m in walk if str(m.id) not in skip]
        return sorted(messages, key=in_time_order)

    async def message(self, message_id: int) -> Message:
        return await self._api.one(
            Message.from_raw, await self._api.call("conversation.message", message_id=message_id)
        )

    async def reply(self, conversation_id: int, content: str, *, attachment: Upload | None = None) -> Message:
        """Send a direct message; with ``attachment`` the request is multipart."""
        files = {"attachment": attachment} if attachment is not None else None
        body = await self._api.call(
            "conversation.reply", data={"content": content}, files=files, conversation_id=conversation_id
        )
        return await self._api.one(Message.from_raw, body)

    async def react(self, message_id: int, type: str = "like") -> bool:
        """Toggle a reaction (only ``like`` exists) on a message."""
        return success(await self._api.call("conversation.reaction", data={"type": type}, message_id=message_id))

    async def tag(self, conversation_id: int, tag_ids: Sequence[int]) -> Conversation:
        body = await self._api.call("conversation.tag", data={"tag": list(tag_ids)}, conversation_id=conversation_id)
        return await self._api.one(Conversation.from_raw, body)

    async def subscribe(self, account_ids: Sequence[int]) -> bool:
        return success(await self._api.call("conversation.subscribe", data={"account_ids": list(account_ids)}))

"""Support tickets: list, departments, create, read, messages, reply, close.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.clients.resont.api import Api, success
from bot.clients.resont.forms import Upload
from bot.clients.resont.ticket_models import Department, Ticket, TicketMeta


class Tickets:
    """Support tickets: list, departments, create, read, messages, reply, close."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def walk(self) -> AsyncIterator[Ticket]:
        """Every support ticket across pages (the document states no order: read them all)."""
        async for item in self._api.walk("ticket.list", Ticket.from_raw):
            yield item

    async def departments(self) -> list[Department]:
        return await self._api.many(Department.from_raw, await self._api.call("ticket.departments"), "departments")

    async def create(self, title: str, department_id: int, content: str, *, attachment: Upload | None = None) -> Ticket:
        data = {"title": title, "department_id": department_id, "content": content}
        files = {"attachment": attachment} if attachment is not None else None
        return await self._api.one(Ticket.from_raw, await self._api.call("ticket.create", data=data, files=files))

    async def get(self, ticket_id: int) -> Ticket:
        return await self._api.one(Ticket.from_raw, await self._api.call("ticket.detail", ticket_id=ticket_id))

    async def messages(self, ticket_id: int) -> list[TicketMeta]:
        body = await self._api.call("ticket.messages", ticket_id=ticket_id)
        return await self._api.many(TicketMeta.from_raw, body, "ticket messages")

    async def reply(self, ticket_id: int, content: str, *, attachment: Upload | None = None) -> Ticket:
        files = {"attachment": attachment} if attachment is not None else None
        body = await self._api.call("ticket.reply", data={"content": content}, files=files, ticket_id=ticket_id)
        return await self._api.one(Ticket.from_raw, body)

    async def close(self, ticket_id: int) -> bool:
        return success(await self._api.call("ticket.close", ticket_id=ticket_id))

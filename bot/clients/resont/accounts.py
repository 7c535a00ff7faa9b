"""Accounts and account groups: the social network accounts posts go to.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.clients.resont.api import Api, success
from bot.clients.resont.forms import expansion
from bot.clients.resont.models import Account, AccountGroup, RedirectResponse
from bot.clients.resont.paging import unwrap


class Accounts:
    """Accounts and account groups: the social network accounts posts go to."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def all(self, *, with_: str | Sequence[str] | None = None) -> list[Account]:
        """Every connected account (``with_="meta"`` adds network-specific settings)."""
        body = await self._api.call("account.list", params={"with": expansion(with_)})
        return await self._api.many(Account.from_raw, body, "accounts")

    async def create(
        self, type: str, *, redirect: str | None = None, **network_fields: Any
    ) -> Account | RedirectResponse:
        """Connect an account; networks needing a login answer with a :class:`RedirectResponse`."""
        body = await self._api.call("account.create", data={"type": type, "redirect": redirect, **network_fields})
        return await self._account_or_redirect(body)

    async def get(self, account_id: int, *, with_: str | Sequence[str] | None = None) -> Account:
        body = await self._api.call("account.detail", params={"with": expansion(with_)}, account_id=account_id)
        return await self._api.one(Account.from_raw, body)

    async def edit(
        self,
        account_id: int,
        *,
        type: str | None = None,
        redirect: str | None = None,
        **network_fields: Any,
    ) -> Account | RedirectResponse:
        data = {"type": type, "redirect": redirect, **network_fields}
        body = await self._api.call("account.edit", data=data, account_id=account_id)
        return await self._account_or_redirect(body)

    async def delete(self, account_id: int) -> bool:
        return success(await self._api.call("account.delete", account_id=account_id))

    async def _account_or_redirect(self, body: Any) -> Account | RedirectResponse:
        obj = unwrap(body)
        if isinstance(obj, Mapping) and "redirect" in obj and "id" not in obj:
            return RedirectResponse.from_raw(obj)
        return await self._api.one(Account.from_raw, obj)

    async def groups(self) -> list[AccountGroup]:
        return await self._api.many(AccountGroup.from_raw, await self._api.call("account_group.list"), "account groups")

    async def create_group(self, name: str, account_ids: Sequence[int]) -> AccountGroup:
        body = await self._api.call("account_group.create", data={"name": name, "account_ids": list(account_ids)})
        return await self._api.one(AccountGroup.from_raw, body)

    async def group(self, group_id: int) -> AccountGroup:
        return await self._api.one(
            AccountGroup.from_raw, await self._api.call("account_group.detail", group_id=group_id)
        )

    async def edit_group(
        self, group_id: int, *, name: str | None = None, account_ids: Sequence[int] | None = None
    ) -> AccountGroup:
        data = {"name": name, "account_ids": list(account_ids) if account_ids is not None else None}
        body = await self._api.call("account_group.edit", data=data, group_id=group_id)
        return await self._api.one(AccountGroup.from_raw, body)

    async def delete_group(self, group_id: int) -> bool:
        return success(await self._api.call("account_group.delete", group_id=group_id))

"""Comments received on the accounts' posts, their replies, likes and tags.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`, like the
comment tag catalogue in :mod:`bot.clients.resont.tags`); see ``docs/resont-client.md`` for the
services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date, datetime

from bot.clients.resont.api import Api, success
from bot.clients.resont.forms import expansion
from bot.clients.resont.inbox_models import Comment
from bot.clients.resont.models import AccountPost, SocialUser
from bot.clients.resont.paging import stop_rule


class Comments:
    """Comments received on the accounts' posts, their replies, likes and tags."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def walk(
        self,
        *,
        tag: Sequence[int] | None = None,
        status: str | int | None = None,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        search: str | None = None,
        with_: str | Sequence[str] | None = None,
        after: str | None = None,
        before: str | None = None,
        stop_at_id: int | str | None = None,
        seen_ids: Collection[int | str] | None = None,
        stop_before: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Comment]:
        """Comments, newest first, across cursor pages; stops before ``stop_at_id``, any id in
        ``seen_ids``, or the first comment older than ``stop_before``."""
        params = {
            "tag": tag,
            "status": status,
            "search": search,
            "with": expansion(with_),
            "after": after,
            "before": before,
            "date_from": await self._api.date_param(date_from),
            "date_to": await self._api.date_param(date_to),
        }
        stop = stop_rule(stop_at_id, seen_ids, stop_before, lambda c: c.date)
        async for item in self._api.walk("comment.list", Comment.from_raw, params, stop=stop, limit=limit):
            yield item

    async def get(self, comment_id: int, *, with_: str | Sequence[str] | None = None) -> Comment:
        body = await self._api.call("comment.detail", params={"with": expansion(with_)}, comment_id=comment_id)
        return await self._api.one(Comment.from_raw, body)

    async def replies(self, comment_id: int, *, with_: str | Sequence[str] | None = None) -> AsyncIterator[Comment]:
        """Every reply to a comment, across pages (the document states no order: read them all)."""
        params = {"with": expansion(with_)}
        async for item in self._api.walk("comment.replies", Comment.from_raw, params, comment_id=comment_id):
            yield item

    async def reply(self, comment_id: int, text: str, *, username: str | None = None) -> Comment:
        """Answer a comment publicly; ``username`` is the original commenter's (mentioned)."""
        body = await self._api.call(
            "comment.reply", data={"comment": text, "username": username}, comment_id=comment_id
        )
        return await self._api.one(Comment.from_raw, body)

    async def like(self, comment_id: int) -> bool:
        """Toggle the account's like on a comment (Resont adds or removes it)."""
        return success(await self._api.call("comment.like", comment_id=comment_id))

    async def tag(self, comment_id: int, tag_ids: Sequence[int]) -> Comment:
        """Replace the comment's tags (an empty list clears them)."""
        body = await self._api.call("comment.tag", data={"tag": list(tag_ids)}, comment_id=comment_id)
        return await self._api.one(Comment.from_raw, body)

    async def delete(self, comment_id: int) -> bool:
        return success(await self._api.call("comment.delete", comment_id=comment_id))

    async def subscribe(self, account_ids: Sequence[int]) -> bool:
        """Turn on comment collection for these accounts."""
        return success(await self._api.call("comment.subscribe", data={"account_ids": list(account_ids)}))

    async def social_user(self, social_user_id: int | str) -> SocialUser:
        body = await self._api.call("comment.social_user", social_user_id=social_user_id)
        return await self._api.one(SocialUser.from_raw, body)

    async def post(self, comment_id: int) -> AccountPost:
        """The published post a comment was left on."""
        return await self._api.one(AccountPost.from_raw, await self._api.call("comment.post", comment_id=comment_id))

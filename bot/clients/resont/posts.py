"""Post groups: list, create, read, edit (whole posts), retry, cancel, delete, drafts.

One class of the client (composed by :class:`bot.clients.resont.client.ResontClient`); see
``docs/resont-client.md`` for the services, paths and the readings chosen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from typing import Any

from bot.clients.resont.api import Api, success
from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.forms import PostEdit, PostInput, expansion
from bot.clients.resont.paging import unwrap
from bot.clients.resont.post_models import Post, PostGroup
from bot.clients.resont.values import as_object


class Posts:
    """Post groups: list, create, read, edit (whole posts), retry, cancel, delete, drafts."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def walk(
        self,
        *,
        account_ids: Sequence[int] | None = None,
        order: str | None = None,
        publish_from: str | date | None = None,
        publish_to: str | date | None = None,
        with_: str | Sequence[str] | None = None,
    ) -> AsyncIterator[PostGroup]:
        """Every post group across pages; ``order`` is ``id`` or ``schedule_date`` (the document
        names no direction: read them all and order them yourself; drafts are :meth:`drafts`)."""
        params = {
            "account_ids": list(account_ids) if account_ids else None,
            "order": order,
            "publish_from": await self._api.date_param(publish_from),
            "publish_to": await self._api.date_param(publish_to),
            "with": expansion(with_),
        }
        async for item in self._api.walk("post.list", PostGroup.from_raw, params):
            yield item

    async def create(self, post: PostInput) -> PostGroup:
        """Create (publish, schedule or draft) a post group; the group as Resont then has it.

        The document answers a *Post*: its ``post_group_id`` names the group, which is read
        back. A PostGroup-shaped answer (``posts``, or group fields without ``account_id``) is
        taken for the group itself; a Post without a group id is looked for among the drafts
        and post groups (each read whole)."""
        answer = as_object(unwrap(await self._api.call("post.create", data=post.to_form())), "the created post")
        if group_shaped(answer):
            group = await self._api.one(PostGroup.from_raw, answer)
            return group if group.posts or group.id is None else await self.group(group.id)
        made = await self._api.one(Post.from_raw, answer)
        if made.post_group_id is not None:
            return await self.group(made.post_group_id)
        return await self._group_of(made)

    async def _group_of(self, post: Post) -> PostGroup:
        """The post group holding ``post`` (a created post whose answer named no group)."""
        if post.id is not None:
            for listing in (self.drafts(), self.walk()):
                async for group in listing:
                    if any(p.id == post.id for p in group.posts):
                        return group
        raise ResontMalformed(f"Resont created post {post.id} but did not say which post group holds it")

    async def group(self, post_group_id: int, *, with_: str | Sequence[str] | None = None) -> PostGroup:
        """A post group with its posts (whose media, accounts and location an edit sends)."""
        body = await self._api.call("post.group", params={"with": expansion(with_)}, post_group_id=post_group_id)
        return await self._api.one(PostGroup.from_raw, body)

    async def get(self, post_id: int) -> Post:
        """One account's post (a member of a post group)."""
        return await self._api.one(Post.from_raw, await self._api.call("post.detail", post_id=post_id))

    async def edit(self, post_group_id: int, edit: PostEdit) -> Post:
        """Edit a post group before it is published with the whole post (see :class:`PostEdit`);
        the document answers a Post."""
        body = await self._api.call("post.edit", data=edit.to_form(), post_group_id=post_group_id)
        return await self._api.one(Post.from_raw, body)

    async def edit_published(self, post_group_id: int, edit: PostEdit) -> Post:
        """Edit an already published post (Telegram and Instagram only), with the whole post."""
        body = await self._api.call("post.edit_published", data=edit.to_form(), post_group_id=post_group_id)
        return await self._api.one(Post.from_raw, body)

    async def retry(self, post_group_id: int) -> bool:
        """Queue a failed post group for another publishing attempt."""
        return success(await self._api.call("post.retry", post_group_id=post_group_id))

    async def cancel(self, post_group_id: int) -> bool:
        return success(await self._api.call("post.cancel", post_group_id=post_group_id))

    async def delete(self, post_group_id: int) -> bool:
        return success(await self._api.call("post.delete", post_group_id=post_group_id))

    async def drafts(self) -> AsyncIterator[PostGroup]:
        """Every draft post group across pages (the document states no order: read them all)."""
        async for item in self._api.walk("post.drafts", PostGroup.from_raw):
            yield item


def group_shaped(answer: Mapping[str, Any]) -> bool:
    """Whether a create answer is a PostGroup rather than the documented Post."""
    if isinstance(answer.get("posts"), list):
        return True
    return "account_id" not in answer and any(k in answer for k in ("create_date", "from_user", "is_scheduled"))

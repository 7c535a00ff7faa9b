"""Typed results of the Resont API for posts: a post group and its posts (one per account)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clients.resont.dates import DateParser
from bot.clients.resont.values import (
    Reader,
    reader,
    to_bool,
)


@dataclass(frozen=True)
class Post:
    """One post of a post group: the group's content on one account."""

    id: int | None
    caption: str | None
    media_ids: list[int]
    account_id: int | None
    publish_date: datetime | None
    location: str | None
    status: str | None
    log: str | None
    post_group_id: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Post:
        r = reader(raw, "a post", dates)
        return cls(
            id=r.integer("id"),
            caption=r.text("caption"),
            media_ids=r.ints("media_ids"),
            account_id=r.integer("account_id"),
            publish_date=r.date("publish_date"),
            location=r.text("location"),
            status=r.text("status"),
            log=r.text("log"),
            post_group_id=r.integer("post_group_id", "group_id"),
            raw=dict(r.raw),
        )


_FAILED = ("failed", "error", "fail")


@dataclass(frozen=True)
class PostGroup:
    """What an author schedules: one content for several accounts (one :class:`Post` each).

    The documented PostGroup has no media, accounts or location of its own: they are read from
    its ``posts`` as Resont returned them (:attr:`media_ids`, :attr:`account_ids`,
    :attr:`location`). ``status``, ``is_draft``, ``posts`` and ``custom_captions`` are not in
    the documented reference but are read when present; without an ``is_draft`` flag a group is
    a draft when its status (or every post's) says ``draft``.
    """

    id: int | None
    type: str | None
    is_scheduled: bool
    is_draft: bool
    create_date: datetime | None
    schedule_date: datetime | None
    from_user: str | None
    caption: str | None
    status: str | None
    posts: list[Post]
    account_ids: list[int]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def failed(self) -> bool:
        if (self.status or "").lower() in _FAILED:
            return True
        return any((p.status or "").lower() in _FAILED for p in self.posts)

    @property
    def errors(self) -> list[str]:
        """The error texts of the failed posts."""
        return [p.log for p in self.posts if p.log and (p.status or "").lower() in _FAILED]

    @property
    def media_ids(self) -> list[int]:
        """The files of the group's posts, in their order (each file once)."""
        out: list[int] = []
        for post in self.posts:
            out.extend(m for m in post.media_ids if m not in out)
        return out

    @property
    def location(self) -> str | None:
        """The location of the group's posts (the first one set)."""
        return next((p.location for p in self.posts if p.location), None)

    @property
    def custom_captions(self) -> dict[str, str]:
        """Per-network captions when Resont sends them (a JSON string is decoded)."""
        raw = self.raw.get("custom_captions")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return {}
        if not isinstance(raw, Mapping):
            return {}
        return {str(k): v for k, v in raw.items() if isinstance(v, str)}

    @property
    def hashtags(self) -> list[str]:
        """The group's hashtags when Resont sends them."""
        return Reader(self.raw, None).strs("hashtag", "hashtags")

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> PostGroup:
        r = reader(raw, "a post group", dates)
        posts = r.many(Post.from_raw, "posts")
        account_ids = [p.account_id for p in posts if p.account_id is not None] or r.ints("account_ids")
        status = r.text("status")
        return cls(
            id=r.integer("id", "post_group_id", "group_id"),
            type=r.text("type"),
            is_scheduled=r.flag("is_scheduled"),
            is_draft=_is_draft(r, status, posts),
            create_date=r.date("create_date", "date"),
            schedule_date=r.date("schedule_date"),
            from_user=r.text("from_user"),
            caption=r.text("caption"),
            status=status,
            posts=posts,
            account_ids=list(dict.fromkeys(account_ids)),
            raw=dict(r.raw),
        )


def _is_draft(r: Reader, status: str | None, posts: list[Post]) -> bool:
    flag = to_bool(r.get("is_draft"))
    if flag is not None:
        return flag
    if status:
        return status.lower() == "draft"
    return bool(posts) and all((p.status or "").lower() == "draft" for p in posts)

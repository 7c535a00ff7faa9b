"""Typed results of the Resont API: accounts, files, insights, search, storage, the user.

One frozen dataclass per documented reference type; each keeps the answer's object in ``raw``
and exposes parsed fields (see :mod:`bot.clients.resont.values` for how answers are read). The
inbox types live in :mod:`.inbox_models`, the posts in :mod:`.post_models`, the tickets in
:mod:`.ticket_models`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clients.resont.dates import DateParser
from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.values import (
    reader,
)


@dataclass(frozen=True)
class Account:
    """A connected social-network account."""

    id: int | None
    name: str | None
    type: str | None
    identifier: str | None
    login_required: bool
    relogin_reason: str | None
    date: datetime | None
    comment_subscribe: bool
    direct_subscribe: bool
    profile_url: str | None
    info: str | None
    insights_order: int | None
    meta: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Account:
        r = reader(raw, "an account", dates)
        meta = r.get("meta")
        return cls(
            id=r.integer("id"),
            name=r.text("name"),
            type=r.text("type", "social"),
            identifier=r.text("identifier"),
            login_required=r.flag("login_required"),
            relogin_reason=r.text("relogin_reason"),
            date=r.date("date"),
            comment_subscribe=r.flag("comment_subscribe"),
            direct_subscribe=r.flag("direct_subscribe"),
            profile_url=r.text("profile_url"),
            info=r.text("info"),
            insights_order=r.integer("insights_order"),
            meta=dict(meta) if isinstance(meta, Mapping) else {},
            raw=dict(r.raw),
        )


@dataclass(frozen=True)
class AccountGroup:
    id: int | None
    name: str | None
    date: datetime | None
    account_ids: list[int]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> AccountGroup:
        r = reader(raw, "an account group", dates)
        return cls(r.integer("id"), r.text("name"), r.date("date"), r.ints("account_ids"), dict(r.raw))


@dataclass(frozen=True)
class SocialUser:
    """The person behind a comment or a message on the social network."""

    id: int | None
    username: str | None
    name: str | None
    image: str | None
    social: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> SocialUser:
        r = reader(raw, "a social user", dates)
        return cls(r.integer("id"), r.text("username"), r.text("name"), r.text("image"), r.text("social"), dict(r.raw))


@dataclass(frozen=True)
class AccountPost:
    """A post as published on the network (what a comment is attached to)."""

    id: int | None
    type: str | None
    post_id: str | None
    image: str | None
    content: str | None
    date: datetime | None
    like_count: int | None
    comment_count: int | None
    social_user_id: int | None
    user_id: int | None
    account_id: int | None
    permalink: str | None
    social: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> AccountPost:
        r = reader(raw, "a published post", dates)
        return cls(
            id=r.integer("id"),
            type=r.text("type"),
            post_id=r.text("post_id"),
            image=r.text("image"),
            content=r.text("content", "caption"),
            date=r.date("date"),
            like_count=r.integer("like_count"),
            comment_count=r.integer("comment_count"),
            social_user_id=r.integer("social_user_id"),
            user_id=r.integer("user_id"),
            account_id=r.integer("account_id"),
            permalink=r.text("permalink"),
            social=r.text("social"),
            raw=dict(r.raw),
        )


@dataclass(frozen=True)
class Tag:
    """A comment tag or a conversation tag (same shape)."""

    id: int | None
    name: str | None
    color: str | None
    user_id: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Tag:
        r = reader(raw, "a tag", dates)
        return cls(r.integer("id"), r.text("name"), r.text("color"), r.integer("user_id"), dict(r.raw))


CommentTag = Tag
ConversationTag = Tag


@dataclass(frozen=True)
class File:
    """An uploaded media file."""

    id: int | None
    title: str | None
    filesize: int | None
    date: datetime | None
    url: str | None
    thumbnail_url: str | None
    file_type: str | None
    ext: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> File:
        r = reader(raw, "a file", dates)
        return cls(
            id=r.integer("id"),
            title=r.text("title", "name"),
            filesize=r.integer("filesize", "size"),
            date=r.date("date"),
            url=r.text("url"),
            thumbnail_url=r.text("thumbnailUrl", "thumbnail_url"),
            file_type=r.text("fileType", "file_type", "type"),
            ext=r.text("ext"),
            raw=dict(r.raw),
        )


@dataclass(frozen=True)
class GeneratedImage:
    """A sticker image rendered by Resont: base64 ``image`` and its ``mime`` type."""

    image: str | None
    mime: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    def content(self) -> bytes:
        """The decoded image bytes; :class:`ResontMalformed` if it is not valid base64."""
        text = self.image or ""
        if text.startswith("data:") and "," in text:
            text = text.split(",", 1)[1]
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ResontMalformed("Resont sent a sticker image that is not valid base64") from None

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> GeneratedImage:
        r = reader(raw, "a generated image", dates)
        return cls(r.text("image"), r.text("mime"), dict(r.raw))


@dataclass(frozen=True)
class Insight:
    metric: list[str]
    data: Any
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Insight:
        r = reader(raw, "an insight", dates)
        return cls(r.strs("metric", "name"), r.raw.get("data", r.raw.get("value")), dict(r.raw))


@dataclass(frozen=True)
class InsightsResponse:
    insights: list[Insight]
    metric: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def by_metric(self) -> dict[str, Any]:
        """Each metric name → its data."""
        out: dict[str, Any] = {}
        for insight in self.insights:
            for name in insight.metric:
                out[name] = insight.data
        return out

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> InsightsResponse:
        r = reader(raw, "insights", dates)
        return cls(r.many(Insight.from_raw, "insights"), r.strs("metric"), dict(r.raw))


@dataclass(frozen=True)
class RedirectResponse:
    """Creating or editing an account needs the user to log in on the network at ``redirect``."""

    redirect: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> RedirectResponse:
        r = reader(raw, "a redirect", dates)
        return cls(r.text("redirect"), dict(r.raw))


@dataclass(frozen=True)
class SearchLocation:
    id: int | None
    name: str | None
    description: str | None
    social: str | None
    lat: float | None
    lng: float | None
    type: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> SearchLocation:
        r = reader(raw, "a location", dates)
        return cls(
            r.integer("id"),
            r.text("name"),
            r.text("description"),
            r.text("social"),
            r.number("lat"),
            r.number("lng"),
            r.text("type"),
            dict(r.raw),
        )


@dataclass(frozen=True)
class SearchPeople:
    pk: int | None
    username: str | None
    profile_pic_url: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> SearchPeople:
        r = reader(raw, "a person", dates)
        return cls(r.integer("pk", "id"), r.text("username"), r.text("profile_pic_url"), dict(r.raw))


@dataclass(frozen=True)
class StorageInfo:
    total_files: int | None
    max_file_size: int | None
    max_file_size_readable: str | None
    total_storage: int | None
    total_storage_readable: str | None
    used_storage: int | None
    used_storage_readable: str | None
    remaining_storage: int | None
    remaining_storage_readable: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> StorageInfo:
        r = reader(raw, "storage information", dates)
        return cls(
            r.integer("total_files"),
            r.integer("max_file_size"),
            r.text("max_file_size_readable"),
            r.integer("total_storage"),
            r.text("total_storage_readable"),
            r.integer("used_storage"),
            r.text("used_storage_readable"),
            r.integer("remaining_storage"),
            r.text("remaining_storage_readable"),
            dict(r.raw),
        )


@dataclass(frozen=True)
class User:
    """The Resont user behind the token; its date settings shape every date Resont sends."""

    email: str | None
    name: str | None
    mobile: str | None
    user_type: str | None
    company: str | None
    package_id: int | None
    package_title: str | None
    timezone: str | None
    dateformat: str | None
    timeformat: str | None
    language: str | None
    expire_date: datetime | None
    has_webservice: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> User:
        r = reader(raw, "the user", dates)
        return cls(
            email=r.text("email"),
            name=r.text("name"),
            mobile=r.text("mobile"),
            user_type=r.text("user_type"),
            company=r.text("company"),
            package_id=r.integer("package_id"),
            package_title=r.text("packageTitle", "package_title"),
            timezone=r.text("timezone"),
            dateformat=r.text("dateformat"),
            timeformat=r.text("timeformat"),
            language=r.text("language"),
            expire_date=r.date("expire_date"),
            has_webservice=r.flag("has_webservice"),
            raw=dict(r.raw),
        )

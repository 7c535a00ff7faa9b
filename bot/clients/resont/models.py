"""Typed results of the Resont API: one dataclass per documented reference type.

Every model keeps the answer's object in ``raw`` and exposes parsed fields. Parsing tolerates
extra and missing fields (a missing field is None, an empty list or False as fits), numbers sent
as strings, PHP arrays sent as objects, and dates in the user's own format (see
:mod:`bot.clients.resont.dates`). An answer that is not an object where one is expected raises
:class:`ResontMalformed` at once, instead of a KeyError three calls later.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.clients.resont.dates import DateParser
from bot.clients.resont.errors import ResontMalformed

M = TypeVar("M")


def describe(value: Any) -> str:
    """A short description of a JSON value's kind, for error messages (never its content)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def as_object(raw: Any, what: str) -> dict[str, Any]:
    """``raw`` as a dict, or :class:`ResontMalformed` naming what was expected."""
    if not isinstance(raw, Mapping):
        raise ResontMalformed(f"Resont sent {describe(raw)} where {what} was expected")
    return dict(raw)


def as_items(raw: Any, what: str) -> list[Any]:
    """A JSON list (or a PHP array serialised as an object with index keys) as a list."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, Mapping) and all(str(k).isdigit() for k in raw):
        return [raw[k] for k in sorted(raw, key=lambda k: int(k))]
    raise ResontMalformed(f"Resont sent {describe(raw)} where a list of {what} was expected")


def to_int(value: Any) -> int | None:
    """An int from an int, an integral float or a digit string; None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def to_str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
    return None


def to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class _Reader:
    """Typed, tolerant access to one raw object."""

    def __init__(self, raw: Mapping[str, Any], dates: DateParser | None) -> None:
        self.raw = raw
        self.dates = dates if dates is not None else DateParser()

    def get(self, *keys: str) -> Any:
        for key in keys:
            if self.raw.get(key) is not None:
                return self.raw[key]
        return None

    def int(self, *keys: str) -> int | None:
        return to_int(self.get(*keys))

    def str(self, *keys: str) -> str | None:
        return to_str(self.get(*keys))

    def bool(self, *keys: str, default: bool = False) -> bool:
        parsed = to_bool(self.get(*keys))
        return default if parsed is None else parsed

    def float(self, *keys: str) -> float | None:
        return to_float(self.get(*keys))

    def date(self, *keys: str) -> datetime | None:
        return self.dates.parse(self.get(*keys))

    def ints(self, *keys: str) -> list[int]:
        value = self.get(*keys)
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        try:
            items = as_items(value, "ids") if value is not None else []
        except ResontMalformed:
            items = [value]
        return [n for n in (to_int(v) for v in items) if n is not None]

    def strs(self, *keys: str) -> list[str]:
        value = self.get(*keys)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        try:
            return [s for s in (to_str(v) for v in as_items(value, "strings")) if s is not None]
        except ResontMalformed:
            return []

    def one(self, parse: Callable[[Any, DateParser], M], *keys: str) -> M | None:
        value = self.get(*keys)
        if isinstance(value, list):  # documented as X[] where one X is meant
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        return parse(value, self.dates)

    def many(self, parse: Callable[[Any, DateParser], M], *keys: str) -> list[M]:
        value = self.get(*keys)
        if value is None:
            return []
        try:
            items = as_items(value, "objects")
        except ResontMalformed:
            return []
        return [parse(item, self.dates) for item in items if isinstance(item, Mapping)]


#: Raw flags that, when present, say the account itself wrote an item (undocumented).
_OUTBOUND_FLAGS = ("is_owner", "from_me", "is_outgoing", "outgoing", "is_echo")


def _outbound(raw: Mapping[str, Any]) -> bool | None:
    for flag in _OUTBOUND_FLAGS:
        if flag in raw:
            return to_bool(raw[flag])
    direction = to_str(raw.get("direction"))
    if direction:
        return direction.lower() in ("out", "outbound", "outgoing", "sent")
    return None


def _reader(raw: Any, what: str, dates: DateParser | None) -> _Reader:
    return _Reader(as_object(raw, what), dates)


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
        r = _reader(raw, "an account", dates)
        meta = r.get("meta")
        return cls(
            id=r.int("id"),
            name=r.str("name"),
            type=r.str("type", "social"),
            identifier=r.str("identifier"),
            login_required=r.bool("login_required"),
            relogin_reason=r.str("relogin_reason"),
            date=r.date("date"),
            comment_subscribe=r.bool("comment_subscribe"),
            direct_subscribe=r.bool("direct_subscribe"),
            profile_url=r.str("profile_url"),
            info=r.str("info"),
            insights_order=r.int("insights_order"),
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
        r = _reader(raw, "an account group", dates)
        return cls(r.int("id"), r.str("name"), r.date("date"), r.ints("account_ids"), dict(r.raw))


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
        r = _reader(raw, "a social user", dates)
        return cls(r.int("id"), r.str("username"), r.str("name"), r.str("image"), r.str("social"), dict(r.raw))


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
        r = _reader(raw, "a published post", dates)
        return cls(
            id=r.int("id"),
            type=r.str("type"),
            post_id=r.str("post_id"),
            image=r.str("image"),
            content=r.str("content", "caption"),
            date=r.date("date"),
            like_count=r.int("like_count"),
            comment_count=r.int("comment_count"),
            social_user_id=r.int("social_user_id"),
            user_id=r.int("user_id"),
            account_id=r.int("account_id"),
            permalink=r.str("permalink"),
            social=r.str("social"),
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
        r = _reader(raw, "a tag", dates)
        return cls(r.int("id"), r.str("name"), r.str("color"), r.int("user_id"), dict(r.raw))


CommentTag = Tag
ConversationTag = Tag


@dataclass(frozen=True)
class Comment:
    """A comment (or a reply) on a published post. ``account``, ``social_user`` and
    ``account_post`` are filled when asked for with field expansion."""

    id: int | None
    comment_id: str | None
    text: str | None
    date: datetime | None
    can_delete: bool
    can_reply: bool
    can_like: bool
    status: int | None
    liked: bool
    post_id: str | None
    parent_id: str | None
    parent_name: str | None
    social_user_id: int | None
    account_id: int | None
    user_id: int | None
    social: str | None
    tags: list[Tag]
    account: Account | None
    social_user: SocialUser | None
    account_post: AccountPost | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_reply(self) -> bool:
        return bool(self.parent_id) and self.parent_id not in ("0", "")

    @property
    def outbound(self) -> bool | None:
        """True when the account itself wrote it (e.g. the bot's reply), None when unknown."""
        return _outbound(self.raw)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Comment:
        r = _reader(raw, "a comment", dates)
        return cls(
            id=r.int("id"),
            comment_id=r.str("comment_id"),
            text=r.str("text", "content", "comment"),
            date=r.date("date", "created_at"),
            can_delete=r.bool("can_delete"),
            can_reply=r.bool("can_reply"),
            can_like=r.bool("can_like"),
            status=r.int("status"),
            liked=r.bool("like", "liked"),
            post_id=r.str("post_id"),
            parent_id=r.str("parent_id"),
            parent_name=r.str("parentName", "parent_name"),
            social_user_id=r.int("social_user_id"),
            account_id=r.int("account_id"),
            user_id=r.int("user_id"),
            social=r.str("social"),
            tags=r.many(Tag.from_raw, "tags"),
            account=r.one(Account.from_raw, "account"),
            social_user=r.one(SocialUser.from_raw, "socialUser", "social_user"),
            account_post=r.one(AccountPost.from_raw, "accountPost", "account_post"),
            raw=dict(r.raw),
        )


@dataclass(frozen=True)
class ConversationParticipant:
    social_user_id: int | None
    social_user: SocialUser | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> ConversationParticipant:
        r = _reader(raw, "a conversation participant", dates)
        user = r.one(SocialUser.from_raw, "socialUser", "social_user")
        user_id = r.int("social_user_id")
        return cls(user_id if user_id is not None else (user.id if user else None), user, dict(r.raw))


@dataclass(frozen=True)
class Conversation:
    """A direct-message thread; ``update_date`` moves with every message, both ways."""

    id: int | None
    conversation_id: str | None
    update_date: datetime | None
    participants: list[ConversationParticipant]
    account_id: int | None
    last_message: str | None
    last_seen_message_id: int | None
    last_seen_time: datetime | None
    tags: list[Tag]
    status: int | None
    account: Account | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def participant_ids(self) -> set[int]:
        return {p.social_user_id for p in self.participants if p.social_user_id is not None}

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Conversation:
        r = _reader(raw, "a conversation", dates)
        return cls(
            id=r.int("id"),
            conversation_id=r.str("conversation_id"),
            update_date=r.date("update_date", "updated_at", "date"),
            participants=r.many(ConversationParticipant.from_raw, "participants"),
            account_id=r.int("account_id"),
            last_message=r.str("last_message"),
            last_seen_message_id=r.int("last_seen_message_id"),
            last_seen_time=r.date("last_seen_time"),
            tags=r.many(Tag.from_raw, "tags"),
            status=r.int("status"),
            account=r.one(Account.from_raw, "account"),
            raw=dict(r.raw),
        )


@dataclass(frozen=True)
class MessageReaction:
    social_user_id: int | None
    is_owner: bool
    social_user: SocialUser | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> MessageReaction:
        r = _reader(raw, "a message reaction", dates)
        return cls(r.int("social_user_id"), r.bool("is_owner"), r.one(SocialUser.from_raw, "socialUser"), dict(r.raw))


@dataclass(frozen=True)
class Message:
    """A direct message in a conversation."""

    id: int | None
    message_id: str | None
    conversation_id: int | None
    type: str | None
    attachment: str | None
    text: str | None
    date: datetime | None
    can_delete: bool
    can_reaction: bool
    social_user_id: int | None
    reactions: list[MessageReaction]
    account_id: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def outbound(self) -> bool | None:
        """True when the account itself sent the message, False when a participant did, None
        when the answer does not say (then compare with the conversation's participants)."""
        return _outbound(self.raw)

    def sent_by_participant(self, conversation: Conversation) -> bool:
        """True when the message came from the other side of ``conversation``."""
        if self.outbound is not None:
            return not self.outbound
        return self.social_user_id in conversation.participant_ids

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Message:
        r = _reader(raw, "a message", dates)
        return cls(
            id=r.int("id"),
            message_id=r.str("message_id"),
            conversation_id=r.int("conversation_id"),
            type=r.str("type"),
            attachment=r.str("attachment"),
            text=r.str("text", "content"),
            date=r.date("date", "created_at"),
            can_delete=r.bool("can_delete"),
            can_reaction=r.bool("can_reaction"),
            social_user_id=r.int("social_user_id"),
            reactions=r.many(MessageReaction.from_raw, "reactions"),
            account_id=r.int("account_id"),
            raw=dict(r.raw),
        )


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
        r = _reader(raw, "a file", dates)
        return cls(
            id=r.int("id"),
            title=r.str("title", "name"),
            filesize=r.int("filesize", "size"),
            date=r.date("date"),
            url=r.str("url"),
            thumbnail_url=r.str("thumbnailUrl", "thumbnail_url"),
            file_type=r.str("fileType", "file_type", "type"),
            ext=r.str("ext"),
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
        r = _reader(raw, "a generated image", dates)
        return cls(r.str("image"), r.str("mime"), dict(r.raw))


@dataclass(frozen=True)
class Insight:
    metric: list[str]
    data: Any
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Insight:
        r = _reader(raw, "an insight", dates)
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
        r = _reader(raw, "insights", dates)
        return cls(r.many(Insight.from_raw, "insights"), r.strs("metric"), dict(r.raw))


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
        r = _reader(raw, "a post", dates)
        return cls(
            id=r.int("id"),
            caption=r.str("caption"),
            media_ids=r.ints("media_ids"),
            account_id=r.int("account_id"),
            publish_date=r.date("publish_date"),
            location=r.str("location"),
            status=r.str("status"),
            log=r.str("log"),
            post_group_id=r.int("post_group_id", "group_id"),
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
        return _Reader(self.raw, None).strs("hashtag", "hashtags")

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> PostGroup:
        r = _reader(raw, "a post group", dates)
        posts = r.many(Post.from_raw, "posts")
        account_ids = [p.account_id for p in posts if p.account_id is not None] or r.ints("account_ids")
        status = r.str("status")
        return cls(
            id=r.int("id", "post_group_id", "group_id"),
            type=r.str("type"),
            is_scheduled=r.bool("is_scheduled"),
            is_draft=_is_draft(r, status, posts),
            create_date=r.date("create_date", "date"),
            schedule_date=r.date("schedule_date"),
            from_user=r.str("from_user"),
            caption=r.str("caption"),
            status=status,
            posts=posts,
            account_ids=list(dict.fromkeys(account_ids)),
            raw=dict(r.raw),
        )


def _is_draft(r: _Reader, status: str | None, posts: list[Post]) -> bool:
    flag = to_bool(r.get("is_draft"))
    if flag is not None:
        return flag
    if status:
        return status.lower() == "draft"
    return bool(posts) and all((p.status or "").lower() == "draft" for p in posts)


@dataclass(frozen=True)
class RedirectResponse:
    """Creating or editing an account needs the user to log in on the network at ``redirect``."""

    redirect: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> RedirectResponse:
        r = _reader(raw, "a redirect", dates)
        return cls(r.str("redirect"), dict(r.raw))


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
        r = _reader(raw, "a location", dates)
        return cls(
            r.int("id"),
            r.str("name"),
            r.str("description"),
            r.str("social"),
            r.float("lat"),
            r.float("lng"),
            r.str("type"),
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
        r = _reader(raw, "a person", dates)
        return cls(r.int("pk", "id"), r.str("username"), r.str("profile_pic_url"), dict(r.raw))


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
        r = _reader(raw, "storage information", dates)
        return cls(
            r.int("total_files"),
            r.int("max_file_size"),
            r.str("max_file_size_readable"),
            r.int("total_storage"),
            r.str("total_storage_readable"),
            r.int("used_storage"),
            r.str("used_storage_readable"),
            r.int("remaining_storage"),
            r.str("remaining_storage_readable"),
            dict(r.raw),
        )


@dataclass(frozen=True)
class Department:
    id: int | None
    name: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Department:
        r = _reader(raw, "a department", dates)
        return cls(r.int("id"), r.str("name"), dict(r.raw))


@dataclass(frozen=True)
class Ticket:
    id: int | None
    title: str | None
    status: int | None
    status_name: str | None
    date: datetime | None
    department_id: int | None
    rate: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Ticket:
        r = _reader(raw, "a ticket", dates)
        return cls(
            r.int("id"),
            r.str("title"),
            r.int("status"),
            r.str("status_name"),
            r.date("date"),
            r.int("department_id"),
            r.int("rate"),
            dict(r.raw),
        )


@dataclass(frozen=True)
class TicketUser:
    name: str | None
    firstname: str | None
    lastname: str | None
    is_admin: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> TicketUser:
        r = _reader(raw, "a ticket user", dates)
        return cls(r.str("name"), r.str("firstname"), r.str("lastname"), r.bool("isAdmin", "is_admin"), dict(r.raw))


@dataclass(frozen=True)
class TicketMeta:
    """One message of a support ticket."""

    id: int | None
    content: str | None
    date: datetime | None
    ticket_id: int | None
    attachment: str | None
    report: str | None
    user: TicketUser | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> TicketMeta:
        r = _reader(raw, "a ticket message", dates)
        return cls(
            r.int("id"),
            r.str("content"),
            r.date("date"),
            r.int("ticket_id"),
            r.str("attachment"),
            r.str("report"),
            r.one(TicketUser.from_raw, "user"),
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
        r = _reader(raw, "the user", dates)
        return cls(
            email=r.str("email"),
            name=r.str("name"),
            mobile=r.str("mobile"),
            user_type=r.str("user_type"),
            company=r.str("company"),
            package_id=r.int("package_id"),
            package_title=r.str("packageTitle", "package_title"),
            timezone=r.str("timezone"),
            dateformat=r.str("dateformat"),
            timeformat=r.str("timeformat"),
            language=r.str("language"),
            expire_date=r.date("expire_date"),
            has_webservice=r.bool("has_webservice"),
            raw=dict(r.raw),
        )


WEBHOOK_TYPES = ("message_created", "comment_created")


@dataclass(frozen=True)
class WebhookEvent:
    """A push from Resont: a new direct message or a new comment."""

    type: str
    user_id: int | None
    payload: dict[str, Any]
    comment: Comment | None = None
    message: Message | None = None


def parse_webhook(payload: Mapping[str, Any] | bytes | str, dates: DateParser | None = None) -> WebhookEvent | None:
    """Decode a webhook body. None for event types the bot does not handle (they are ignored);
    :class:`ResontMalformed` for a body that is not a JSON object with a ``type``."""
    body = _webhook_body(payload)
    event_type = to_str(body.get("type"))
    if not event_type:
        raise ResontMalformed("the webhook body has no event type")
    if event_type not in WEBHOOK_TYPES:
        return None
    content = body.get("payload")
    if isinstance(content, (str, bytes)):
        content = _json_object(content, "the webhook payload")
    content = as_object(content, "a webhook payload object")
    user_id = to_int(body.get("user_id"))
    if event_type == "comment_created":
        return WebhookEvent(event_type, user_id, content, comment=Comment.from_raw(content, dates))
    return WebhookEvent(event_type, user_id, content, message=Message.from_raw(content, dates))


def _webhook_body(payload: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    if isinstance(payload, (bytes, bytearray, str)):
        return _json_object(payload, "the webhook body")
    return as_object(payload, "a webhook body object")


def _json_object(text: bytes | bytearray | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ResontMalformed(f"{what} is not JSON") from None
    return as_object(value, f"{what} as a JSON object")

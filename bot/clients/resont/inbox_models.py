"""Typed results of the Resont API for the inbox: comments, conversations, messages, webhooks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clients.resont.dates import DateParser
from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.models import Account, AccountPost, SocialUser, Tag
from bot.clients.resont.values import (
    as_object,
    outbound_flag,
    reader,
    to_int,
    to_str,
)


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
        return outbound_flag(self.raw)

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Comment:
        r = reader(raw, "a comment", dates)
        return cls(
            id=r.integer("id"),
            comment_id=r.text("comment_id"),
            text=r.text("text", "content", "comment"),
            date=r.date("date", "created_at"),
            can_delete=r.flag("can_delete"),
            can_reply=r.flag("can_reply"),
            can_like=r.flag("can_like"),
            status=r.integer("status"),
            liked=r.flag("like", "liked"),
            post_id=r.text("post_id"),
            parent_id=r.text("parent_id"),
            parent_name=r.text("parentName", "parent_name"),
            social_user_id=r.integer("social_user_id"),
            account_id=r.integer("account_id"),
            user_id=r.integer("user_id"),
            social=r.text("social"),
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
        r = reader(raw, "a conversation participant", dates)
        user = r.one(SocialUser.from_raw, "socialUser", "social_user")
        user_id = r.integer("social_user_id")
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
        r = reader(raw, "a conversation", dates)
        return cls(
            id=r.integer("id"),
            conversation_id=r.text("conversation_id"),
            update_date=r.date("update_date", "updated_at", "date"),
            participants=r.many(ConversationParticipant.from_raw, "participants"),
            account_id=r.integer("account_id"),
            last_message=r.text("last_message"),
            last_seen_message_id=r.integer("last_seen_message_id"),
            last_seen_time=r.date("last_seen_time"),
            tags=r.many(Tag.from_raw, "tags"),
            status=r.integer("status"),
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
        r = reader(raw, "a message reaction", dates)
        return cls(
            r.integer("social_user_id"), r.flag("is_owner"), r.one(SocialUser.from_raw, "socialUser"), dict(r.raw)
        )


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
        return outbound_flag(self.raw)

    def sent_by_participant(self, conversation: Conversation) -> bool:
        """True when the message came from the other side of ``conversation``."""
        if self.outbound is not None:
            return not self.outbound
        return self.social_user_id in conversation.participant_ids

    @classmethod
    def from_raw(cls, raw: Any, dates: DateParser | None = None) -> Message:
        r = reader(raw, "a message", dates)
        return cls(
            id=r.integer("id"),
            message_id=r.text("message_id"),
            conversation_id=r.integer("conversation_id"),
            type=r.text("type"),
            attachment=r.text("attachment"),
            text=r.text("text", "content"),
            date=r.date("date", "created_at"),
            can_delete=r.flag("can_delete"),
            can_reaction=r.flag("can_reaction"),
            social_user_id=r.integer("social_user_id"),
            reactions=r.many(MessageReaction.from_raw, "reactions"),
            account_id=r.integer("account_id"),
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

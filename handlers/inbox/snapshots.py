"""Inbox snapshots: Resont models turned into plain JSON-able typed documents, kept in the
``inbox`` table so that a card can be redrawn after a restart without asking Resont again. Pure
functions; :mod:`handlers.inbox.cards` draws the cards from them.

A snapshot holds what a card shows and what its buttons need: :class:`CommentItem` (a comment
and its post), :class:`ConversationItem` (who a DM conversation is with) and
:class:`MessageItem` (one direct message). Records written by older versions may lack keys:
:mod:`handlers.inbox.records` reads them back with :data:`COMMENT_DEFAULTS` and friends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from bot.clients.resont.inbox_models import Comment, Conversation, Message
from bot.clients.resont.models import Account, Tag
from bot.clients.resont.values import to_bool


class TagRef(TypedDict):
    """A tag as a card shows it."""

    id: int
    name: str


class Holder(TypedDict):
    """What a comment and a DM conversation share: who wrote, on which account, and the tags
    (the part of an item that the Tag button changes)."""

    id: int
    account_id: int | None
    network: str | None
    account: str | None
    username: str | None
    name: str | None
    social_user_id: int | None
    tags: list[TagRef]
    identifier: NotRequired[str]  # the account's handle, when Resont named it


class ConversationItem(Holder):
    """Who a DM conversation is with (the participant who wrote, else the first one)."""


class CommentItem(Holder):
    """The parts of a comment a card shows (and the actions need)."""

    text: str
    date: str | None  # ISO 8601
    post_id: str | None
    post_excerpt: str | None
    permalink: str | None
    can_reply: bool
    can_like: bool
    can_delete: bool
    liked: bool
    parent_name: str | None


class MessageItem(TypedDict):
    """One direct message as its DM card shows it."""

    id: int
    type: str | None
    text: str
    attachment: str | None
    date: str | None  # ISO 8601
    social_user_id: int | None


#: What a holder lacking a key (written by an older version) reads as.
HOLDER_DEFAULTS: dict[str, object] = {
    "account_id": None,
    "network": None,
    "account": None,
    "username": None,
    "name": None,
    "social_user_id": None,
}
COMMENT_DEFAULTS: dict[str, object] = {
    **HOLDER_DEFAULTS,
    "text": "",
    "date": None,
    "post_id": None,
    "post_excerpt": None,
    "permalink": None,
    "can_reply": True,
    "can_like": True,
    "can_delete": True,
    "liked": False,
    "parent_name": None,
}
MESSAGE_DEFAULTS: dict[str, object] = {
    "type": None,
    "text": "",
    "attachment": None,
    "date": None,
    "social_user_id": None,
}

POST_EXCERPT_MAX = 120


def excerpt(text: str | None, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: max(1, limit - 1)].rstrip() + "…"


def clip(text: str | None, limit: int) -> str:
    """``text`` (keeping its lines) cut to ``limit`` characters."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _flag(raw: dict[str, Any], key: str) -> bool:
    """A ``can_*`` flag: allowed unless Resont explicitly says no."""
    value = to_bool(raw.get(key))
    return True if value is None else value


def tags_of(tags: Iterable[Tag]) -> list[TagRef]:
    return [{"id": t.id, "name": t.name or str(t.id)} for t in tags if t.id is not None]


def add_account(item: Holder, account: Account | None) -> None:
    """Name the item's account, network and handle after ``account`` (what it knows of them)."""
    if account is None:
        return
    if account.name:
        item["account"] = account.name
    if account.type:
        item["network"] = account.type
    if account.identifier:
        item["identifier"] = account.identifier


def comment_item(comment: Comment, comment_id: int) -> CommentItem:
    """The parts of ``comment`` (whose id, known, is ``comment_id``) a card shows."""
    post = comment.account_post
    user = comment.social_user
    raw = comment.raw
    item: CommentItem = {
        "id": comment_id,
        "account_id": comment.account_id if comment.account_id is not None else (post.account_id if post else None),
        "network": comment.social or (post.social if post else None),
        "account": None,
        "text": comment.text or "",
        "date": _iso(comment.date),
        "username": user.username if user else None,
        "name": user.name if user else None,
        "social_user_id": comment.social_user_id,
        "post_id": comment.post_id,
        "post_excerpt": excerpt(post.content, POST_EXCERPT_MAX) if post and post.content else None,
        "permalink": post.permalink if post else None,
        "can_reply": _flag(raw, "can_reply"),
        "can_like": _flag(raw, "can_like"),
        "can_delete": _flag(raw, "can_delete"),
        "liked": comment.liked,
        "tags": tags_of(comment.tags),
        "parent_name": comment.parent_name if comment.is_reply else None,
    }
    add_account(item, comment.account)
    return item


def message_item(message: Message, message_id: int) -> MessageItem:
    """``message`` (whose id, known, is ``message_id``) as its card shows it."""
    return {
        "id": message_id,
        "type": message.type,
        "text": message.text or "",
        "attachment": message.attachment,
        "date": _iso(message.date),
        "social_user_id": message.social_user_id,
    }


def conversation_item(conversation: Conversation, conversation_id: int, sender: int | None) -> ConversationItem:
    """Who the conversation is with (the participant who wrote, else the first one); its id is
    ``conversation_id`` when Resont's answer lacks one."""
    item: ConversationItem = {
        "id": conversation.id if conversation.id is not None else conversation_id,
        "account_id": conversation.account_id,
        "network": None,
        "account": None,
        "username": None,
        "name": None,
        "social_user_id": sender,
        "tags": tags_of(conversation.tags),
    }
    chosen = next((p for p in conversation.participants if sender is not None and p.social_user_id == sender), None)
    if chosen is None and conversation.participants:
        chosen = conversation.participants[0]
    if chosen is not None:
        item["social_user_id"] = chosen.social_user_id
        if chosen.social_user is not None:
            item["username"] = chosen.social_user.username
            item["name"] = chosen.social_user.name
            item["network"] = chosen.social_user.social
    add_account(item, conversation.account)
    return item

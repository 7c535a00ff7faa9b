"""Inbox snapshots: Resont models turned into plain JSON-able dicts, kept in the ``inbox`` table
so that a card can be redrawn after a restart without asking Resont again. Pure functions;
:mod:`handlers.inbox.cards` draws the cards from them (and re-exports these names)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.clients.resont.inbox_models import Comment, Conversation, Message
from bot.clients.resont.models import Account, Tag
from bot.clients.resont.values import to_bool

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


def tags_of(tags: Iterable[Tag]) -> list[dict[str, Any]]:
    return [{"id": t.id, "name": t.name or str(t.id)} for t in tags if t.id is not None]


def account_info(account: Account | None) -> dict[str, Any]:
    if account is None:
        return {}
    return {"account": account.name, "network": account.type, "identifier": account.identifier}


def comment_item(comment: Comment) -> dict[str, Any]:
    """The parts of a comment a card shows (and the actions need)."""
    post = comment.account_post
    user = comment.social_user
    raw = comment.raw
    item: dict[str, Any] = {
        "id": comment.id,
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
    if comment.account is not None:
        item.update({k: v for k, v in account_info(comment.account).items() if v})
    return item


def message_item(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "type": message.type,
        "text": message.text or "",
        "attachment": message.attachment,
        "date": _iso(message.date),
        "social_user_id": message.social_user_id,
    }


def conversation_item(
    conversation: Conversation | None, conversation_id: int | None, sender: int | None
) -> dict[str, Any]:
    """Who the conversation is with (the participant who wrote, else the first one)."""
    item: dict[str, Any] = {
        "id": conversation_id,
        "account_id": None,
        "network": None,
        "account": None,
        "username": None,
        "name": None,
        "social_user_id": sender,
        "tags": [],
    }
    if conversation is None:
        return item
    item["id"] = conversation.id if conversation.id is not None else conversation_id
    item["account_id"] = conversation.account_id
    item["tags"] = tags_of(conversation.tags)
    chosen = next((p for p in conversation.participants if sender is not None and p.social_user_id == sender), None)
    if chosen is None and conversation.participants:
        chosen = conversation.participants[0]
    if chosen is not None:
        item["social_user_id"] = chosen.social_user_id
        if chosen.social_user is not None:
            item["username"] = chosen.social_user.username
            item["name"] = chosen.social_user.name
            item["network"] = chosen.social_user.social
    if conversation.account is not None:
        item.update({k: v for k, v in account_info(conversation.account).items() if v})
    return item

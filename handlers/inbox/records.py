"""Inbox records: the ``inbox`` table's keys and statuses, claiming new items, and retention.

Records live in the ``inbox`` table, one per key:

* ``c:<comment id>`` – a comment card (``type`` comment)
* ``m:<message id>`` – one inbound direct message (``type`` msg): the dedupe key of a message,
  pointing at the DM card it was grouped into (``record``)
* ``d:<conversation id>:<first message id>`` – a DM card (``type`` dm): a burst of messages from
  one person, grouped while it is open and messages keep coming within ``dm_group_seconds``
* ``v:<conversation id>`` – the conversation's current DM card (for grouping)
* ``dg:<digest id>`` – a digest message and the records it lists

An item's life: ``pending`` (claimed, not yet in Telegram) → ``open`` → ``replied`` / ``done`` /
``deleted``; a message record goes ``pending`` → ``grouped`` (or ``skipped`` when the account
itself sent it). Claiming is ``insert_new`` on the item id, so a webhook push and a poll of the
same item forward it once.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bot.clients.resont.inbox_models import Comment, Conversation, Message
from handlers.inbox import snapshots

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from bot.store.state import Table
    from handlers.inbox.runtime import InboxRuntime

log = logging.getLogger(__name__)

TABLE = "inbox"
CARD_KIND = "inbox_card"  # reply target kind of a card
PROMPT_KIND = "inbox_answer"  # reply target kind of a Reply-button prompt

COMMENTS_CURSOR = "inbox:comments"
DMS_CURSOR = "inbox:dms"
CONV_CURSOR_PREFIX = "inbox:conv:"
PRUNE_EVERY = 3600.0

OPEN_STATUSES = ("open", "replied")
ITEM_TYPES = ("comment", "dm")


def comment_key(comment_id: int | str) -> str:
    return f"c:{comment_id}"


def message_key(message_id: int | str | None) -> str:
    return f"m:{message_id}"


def dm_key(conversation_id: int | str, message_id: int | str) -> str:
    return f"d:{conversation_id}:{message_id}"


def conversation_key(conversation_id: int | str) -> str:
    return f"v:{conversation_id}"


def digest_key(digest_id: str) -> str:
    return f"dg:{digest_id}"


def table(services: Services) -> Table:
    return services.store.table(TABLE)


def now_ts(services: Services) -> float:
    return services.clock().timestamp()


def topic_of(record: dict[str, Any]) -> str:
    return "dms" if record.get("type") == "dm" else "comments"


# ---------------------------------------------------------------------------------- claiming


def _base(services: Services, kind: str, source: str) -> dict[str, Any]:
    now = now_ts(services)
    return {
        "type": kind,
        "status": "pending",
        "at": now,
        "seq": time.time_ns(),
        "updated": now,
        "source": source,
        "attempts": 0,
        "log": [],
    }


def remember_own(services: Services, kind: str, item_id: int | None) -> None:
    """Mark a comment or message the bot itself just created (a reply) as known, so that no
    poll or push forwards it back to the chat."""
    if item_id is None:
        return
    key = comment_key(item_id) if kind == "comment" else message_key(item_id)
    now = now_ts(services)
    table(services).insert_new(key, {"type": "own", "status": "own", "at": now, "updated": now})


def claim_comment(services: Services, comment: Comment, source: str) -> bool:
    """Record a new comment as pending; False if it is already known (forwarded or claimed)."""
    if comment.id is None:
        return False
    item = snapshots.comment_item(comment)
    doc = {
        **_base(services, "comment", source),
        "item": item,
        "account_id": item.get("account_id"),
        "enriched": bool(item.get("post_excerpt") or item.get("permalink")),
    }
    return table(services).insert_new(comment_key(comment.id), doc)


def claim_message(services: Services, message: Message, conversation: Conversation | None, source: str) -> bool:
    """Record a new inbound message as pending; False if it is already known."""
    if message.id is None:
        return False
    conversation_id = message.conversation_id
    if conversation_id is None and conversation is not None:
        conversation_id = conversation.id
    doc = {
        **_base(services, "msg", source),
        "message": snapshots.message_item(message),
        "conversation_id": conversation_id,
        "conversation": snapshots.conversation_item(conversation, conversation_id, message.social_user_id)
        if conversation is not None
        else None,
        "outbound": message.outbound,
        "check_direction": conversation is None,
    }
    return table(services).insert_new(message_key(message.id), doc)


# ---------------------------------------------------------------------------------- retention


def maybe_prune(services: Services, rt: InboxRuntime) -> None:
    """Prune at most every ``PRUNE_EVERY`` seconds (the comments poll calls this each run)."""
    now = now_ts(services)
    if now - rt.last_prune < PRUNE_EVERY:
        return
    rt.last_prune = now
    prune(services)


def prune(services: Services) -> int:
    """Drop inbox records (and their reply targets and conversation cursors) not touched for
    ``retention_days``; pending records are kept whatever their age. Returns records dropped."""
    cutoff = now_ts(services) - services.config.retention_days * 86400
    tbl = table(services)
    dropped = tbl.prune(lambda d: d.get("status") != "pending" and float(d.get("updated", d.get("at", 0))) < cutoff)
    cards_table = services.store.table("cards")
    cards_table.prune(
        lambda d: d.get("kind") == CARD_KIND and not (isinstance(d.get("item"), str) and d["item"] in tbl)
    )
    cursors = services.store.table("cursors")
    for key, doc in list(cursors.items()):
        if key.startswith(CONV_CURSOR_PREFIX) and float(doc.get("at", 0)) < cutoff:
            cursors.delete(key)
    if dropped:
        log.info("inbox: pruned %d record(s) older than %d days", dropped, services.config.retention_days)
    return dropped

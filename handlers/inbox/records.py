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

The documents themselves are typed in :mod:`handlers.inbox.docs`; the functions here are the
way in and out of the table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from bot.clients.resont.inbox_models import Comment, Conversation, Message
from handlers.inbox import snapshots
from handlers.inbox.docs import (
    CommentRecord,
    DigestRecord,
    InboxDoc,
    ItemRecord,
    MessageRecord,
    OwnMarker,
    digest_record,
    item_record,
    message_record,
    pointer_record,
    to_doc,
)

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


def topic_of(record: ItemRecord) -> str:
    return "dms" if record["type"] == "dm" else "comments"


# ---------------------------------------------------------------------------------- reading and writing


def read_item(services: Services, key: str) -> ItemRecord | None:
    """The comment or DM card stored under ``key``; None when there is none."""
    raw = table(services).get(key)
    return None if raw is None else item_record(raw)


def read_message(services: Services, key: str) -> MessageRecord | None:
    raw = table(services).get(key)
    return None if raw is None else message_record(raw)


def read_digest(services: Services, digest_id: str) -> DigestRecord | None:
    raw = table(services).get(digest_key(digest_id))
    return None if raw is None else digest_record(raw)


def current_card(services: Services, conversation_id: int) -> str | None:
    """The key of the DM card the conversation's pointer names, if any."""
    raw = table(services).get(conversation_key(conversation_id))
    pointer = None if raw is None else pointer_record(raw)
    return None if pointer is None else pointer["record"]


def status_of(services: Services, key: str) -> str | None:
    """The status of the record under ``key`` (None when there is none)."""
    raw = table(services).get(key)
    return None if raw is None else raw.get("status")


def items_where(services: Services, wanted: Callable[[ItemRecord], bool]) -> list[tuple[str, ItemRecord]]:
    """The comment and DM cards that ``wanted`` accepts, with their keys, in table order."""
    found: list[tuple[str, ItemRecord]] = []
    for key, raw in table(services).find(lambda doc: doc.get("type") in ITEM_TYPES):
        record = item_record(raw)
        if record is not None and wanted(record):
            found.append((key, record))
    return found


def pending_records(services: Services) -> tuple[list[tuple[str, MessageRecord]], list[tuple[str, ItemRecord]]]:
    """The messages and the items (comment and DM cards) still ``pending``, with their keys, in
    table order (one read of the table)."""
    messages: list[tuple[str, MessageRecord]] = []
    items: list[tuple[str, ItemRecord]] = []
    for key, raw in table(services).find(lambda doc: doc.get("status") == "pending"):
        message = message_record(raw)
        if message is not None:
            messages.append((key, message))
        item = item_record(raw)
        if item is not None:
            items.append((key, item))
    return messages, items


def write(services: Services, key: str, doc: InboxDoc) -> None:
    """Store ``doc`` whole under ``key``."""
    table(services).put(key, to_doc(doc))


def write_many(services: Services, docs: Mapping[str, InboxDoc]) -> None:
    """Store several documents as one write (all of them or, after a crash, none)."""
    table(services).put_many({key: to_doc(doc) for key, doc in docs.items()})


# ---------------------------------------------------------------------------------- claiming


def remember_own(services: Services, kind: str, item_id: int | None) -> None:
    """Mark a comment or message the bot itself just created (a reply) as known, so that no
    poll or push forwards it back to the chat."""
    if item_id is None:
        return
    key = comment_key(item_id) if kind == "comment" else message_key(item_id)
    now = now_ts(services)
    marker: OwnMarker = {"type": "own", "status": "own", "at": now, "updated": now}
    table(services).insert_new(key, to_doc(marker))


def claim_comment(services: Services, comment: Comment, source: str) -> bool:
    """Record a new comment as pending; False if it is already known (forwarded or claimed)."""
    if comment.id is None:
        return False
    item = snapshots.comment_item(comment, comment.id)
    now = now_ts(services)
    doc: CommentRecord = {
        "type": "comment",
        "status": "pending",
        "at": now,
        "seq": time.time_ns(),
        "updated": now,
        "source": source,
        "attempts": 0,
        "log": [],
        "item": item,
        "account_id": item["account_id"],
        "enriched": bool(item["post_excerpt"] or item["permalink"]),
    }
    return table(services).insert_new(comment_key(comment.id), to_doc(doc))


def claim_message(services: Services, message: Message, conversation: Conversation | None, source: str) -> bool:
    """Record a new inbound message as pending; False if it is already known."""
    if message.id is None:
        return False
    conversation_id = message.conversation_id
    if conversation_id is None and conversation is not None:
        conversation_id = conversation.id
    now = now_ts(services)
    doc: MessageRecord = {
        "type": "msg",
        "status": "pending",
        "at": now,
        "seq": time.time_ns(),
        "updated": now,
        "source": source,
        "attempts": 0,
        "log": [],
        "message": snapshots.message_item(message, message.id),
        "conversation_id": conversation_id,
        "conversation": snapshots.conversation_item(conversation, conversation_id, message.social_user_id)
        if conversation is not None and conversation_id is not None
        else None,
        "outbound": message.outbound,
        "check_direction": conversation is None,
    }
    return table(services).insert_new(message_key(message.id), to_doc(doc))


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

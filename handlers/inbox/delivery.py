"""Inbox delivery: claimed records forwarded to the admin chat as cards, DM messages grouped into
cards, large batches folded into digests; the per-application runtime and webhook pushes.

A record stays ``pending`` until Telegram accepted its card: a crash (or a Telegram failure)
between fetching and forwarding leaves it pending and the next pass delivers it; after
forwarding the record says so (a digest and all the records it lists in one store write, so a
crash cannot leave part of a digest pending), and nothing is sent twice.
"""

from __future__ import annotations

import logging
import secrets
import time
from functools import partial
from typing import TYPE_CHECKING

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.clients.resont.inbox_models import Conversation, WebhookEvent
from bot.runtime.tg.quiet import is_benign
from handlers.inbox import cards
from handlers.inbox.docs import DmRecord, InboxDoc, ItemRecord, MessageRecord
from handlers.inbox.enrich import cached_accounts, enrich_comment, is_own_comment, resolve_message
from handlers.inbox.records import (
    CARD_KIND,
    OPEN_STATUSES,
    claim_comment,
    claim_message,
    conversation_key,
    current_card,
    digest_key,
    dm_key,
    items_where,
    now_ts,
    pending_records,
    read_item,
    table,
    topic_of,
    write,
    write_many,
)
from handlers.inbox.runtime import InboxRuntime
from handlers.inbox.snapshots import ConversationItem
from handlers.replies import remember_card

if TYPE_CHECKING:
    from telegram import Bot

    from bot.config import Config
    from bot.runtime.context import AnyApplication
    from bot.runtime.services import Services

log = logging.getLogger(__name__)

DIGEST_SIZE = 25  # lines per digest message
MAX_CARD_ATTEMPTS = 3  # Telegram refusing one card this often marks it failed


# ---------------------------------------------------------------------------------- runtime


def runtime(app: AnyApplication) -> InboxRuntime:
    found = getattr(app.bot_data, "inbox", None)
    if found is None:
        found = InboxRuntime(deliver_pending)
        app.bot_data.inbox = found
    return found


async def stop_inbox(app: AnyApplication) -> None:
    """Feature.on_stop hook: stop background delivery."""
    found = getattr(app.bot_data, "inbox", None)
    if found is not None:
        await found.aclose()


# ---------------------------------------------------------------------------------- delivery


class _Stop(Exception):
    """Telegram cannot take more now: leave the rest pending for the next pass."""


def _group_message(services: Services, key: str, record: MessageRecord, now: float) -> None:
    """Put a resolved message into its conversation's open DM card, or start a new one. The
    message record, the DM card it joins and the conversation's pointer are one store write."""
    conversation_id, conversation = record["conversation_id"], record["conversation"]
    if conversation_id is None or conversation is None:
        return  # not resolved (resolve_message said so)
    target_key = current_card(services, conversation_id)
    target = read_item(services, target_key) if target_key else None
    writes: dict[str, InboxDoc] = {}
    if target_key and target is not None and target["type"] == "dm" and _open_for(target, now, services.config):
        writes[target_key] = _joined(target, record, conversation, now)
    else:
        target_key = dm_key(conversation_id, record["message"]["id"])
        writes[target_key] = _new_dm_card(record, conversation, now)
        writes[conversation_key(conversation_id)] = {"type": "conv", "record": target_key, "updated": now}
    grouped: MessageRecord = {**record, "status": "grouped", "record": target_key, "updated": now}
    writes[key] = grouped
    write_many(services, writes)


def _open_for(card: DmRecord, now: float, config: Config) -> bool:
    """Whether a DM card still takes messages: not decided, and its last one within the
    grouping window."""
    return card["status"] in ("pending", "open") and now - float(card["last_at"]) <= config.dm_group_seconds


def _joined(card: DmRecord, record: MessageRecord, conversation: ConversationItem, now: float) -> DmRecord:
    """The DM card with the record's message added (once, in date order); a card already in the
    chat becomes stale (its message is edited on the next pass)."""
    message = record["message"]
    messages = card["item"]["messages"]
    if message["id"] not in {m["id"] for m in messages}:
        messages.append(message)
        messages.sort(key=lambda m: (m["date"] or "", m["id"] or 0))
    card["item"]["conversation"] = conversation
    card["last_at"] = card["updated"] = now
    card["stale"] = card["status"] == "open" and bool(card.get("card"))
    return card


def _new_dm_card(record: MessageRecord, conversation: ConversationItem, now: float) -> DmRecord:
    """A pending DM card of the record's conversation, holding its message."""
    return {
        "type": "dm",
        "status": "pending",
        "at": now,
        "seq": time.time_ns(),
        "updated": now,
        "last_at": now,
        "source": record["source"],
        "attempts": 0,
        "log": [],
        "account_id": conversation["account_id"],
        "item": {"conversation": conversation, "messages": [record["message"]]},
    }


async def deliver_pending(app: AnyApplication) -> int:
    """Forward every pending record (from any source) to the admin chat; returns how many
    records reached Telegram. One delivery pass at a time."""
    services: Services = app.bot_data.services
    rt = runtime(app)
    async with rt.deliver_lock:
        return await _deliver(app.bot, services, rt)


async def _deliver(bot: Bot, services: Services, rt: InboxRuntime) -> int:
    pending_messages, pending = pending_records(services)
    if not pending_messages and not pending and not items_where(services, _is_stale):
        return 0
    await _prepare(services, rt, pending_messages, pending)
    # what to send now: new cards (comments and DM groups) and edits of grown DM cards
    fresh = sorted(
        items_where(services, lambda d: d["status"] == "pending"),
        key=lambda kd: (kd[1]["seq"], kd[1]["at"], kd[0]),
    )
    edits = items_where(services, _is_stale)
    delivered = 0
    try:
        for key, record in edits:
            await _edit_card(bot, services, key, record)
        if _fold(bot, services, len(fresh) + len(edits)) and len(fresh) > 1:
            delivered += await _send_digests(bot, services, fresh)
        else:
            for key, record in fresh:
                delivered += await _send_card(bot, services, key, record)
    except _Stop as exc:
        log.warning("inbox: Telegram did not take every card (%s); the rest waits for the next pass", exc)
    return delivered


def _is_stale(record: ItemRecord) -> bool:
    """A card in the chat that shows less than its record (a DM card that grew)."""
    return bool(record.get("stale") and record.get("card") and record["status"] in OPEN_STATUSES)


async def _prepare(
    services: Services,
    rt: InboxRuntime,
    messages: list[tuple[str, MessageRecord]],
    items: list[tuple[str, ItemRecord]],
) -> None:
    """Resolve the pending DM messages (oldest first) into their conversations' cards, and
    enrich the pending comments (the account's own are skipped)."""
    accounts = await cached_accounts(services, rt)
    now = now_ts(services)
    conversations: dict[int, Conversation] = {}
    for key, message in sorted(messages, key=lambda kd: (kd[1]["message"]["date"] or "", kd[1]["message"]["id"] or 0)):
        outcome = await resolve_message(services, message, accounts, conversations)
        if outcome == "skip":
            table(services).update(key, status="skipped", updated=now)
        elif outcome == "ok":
            _group_message(services, key, message, now)  # writes the resolved record too
    for key, record in items:
        if record["type"] == "comment":
            await enrich_comment(services, record, accounts)
            if is_own_comment(record["item"], accounts):
                record["status"] = "skipped"
            write(services, key, record)


def _fold(bot: Bot, services: Services, count: int) -> bool:
    """Whether ``count`` new messages should be folded into digests: more than the digest
    threshold, or more than the group can take right now without queueing."""
    if count > services.config.digest_threshold:
        return True
    limiter = getattr(bot, "rate_limiter", None)
    chat = services.config.admin_chat_id
    if limiter is not None and hasattr(limiter, "next_free_slots"):
        backlog = limiter.backlog(chat) if hasattr(limiter, "backlog") else 0
        return bool(count + backlog > max(1, limiter.next_free_slots(chat)))
    return False


async def _send_card(bot: Bot, services: Services, key: str, record: ItemRecord) -> int:
    text, markup = cards.render_card(services, record)
    try:
        sent = await services.send_admin(bot, text, topic=topic_of(record), markup=markup)
    except (BadRequest, Forbidden) as exc:
        if isinstance(exc, Forbidden):
            raise _Stop(str(exc)) from None
        attempts = record["attempts"] + 1
        status = "failed" if attempts >= MAX_CARD_ATTEMPTS else "pending"
        log.error("inbox: Telegram refused the card of %s (%s); attempt %d", key, exc, attempts)
        table(services).update(key, attempts=attempts, status=status, error=str(exc)[:200])
        return 0
    except TelegramError as exc:
        raise _Stop(str(exc)) from None
    # Telegram has the card: writing that down must not be lost to a database outage (the
    # card would come again), so it waits for the database if it has to
    await services.store.durably(partial(_mark_carded, services, key, sent.chat_id, sent.message_id))
    return 1


def _mark_carded(services: Services, key: str, chat_id: int, message_id: int) -> None:
    now = now_ts(services)
    table(services).update(
        key,
        status="open",
        card=f"{chat_id}:{message_id}",
        card_chat=chat_id,
        card_message=message_id,
        stale=False,
        updated=now,
        delivered_at=now,
    )
    remember_card(services.store, chat_id, message_id, CARD_KIND, item=key)


async def _send_digests(bot: Bot, services: Services, fresh: list[tuple[str, ItemRecord]]) -> int:
    delivered = 0
    for kind in ("comment", "dm"):
        entries = [(k, d) for k, d in fresh if d["type"] == kind]
        chunks = cards.digest_chunks(services, kind, entries, DIGEST_SIZE)
        for number, chunk in enumerate(chunks, start=1):
            delivered += await _send_digest(bot, services, kind, chunk, (number, len(chunks)))
    return delivered


async def _send_digest(
    bot: Bot, services: Services, kind: str, chunk: list[tuple[str, ItemRecord]], part: tuple[int, int]
) -> int:
    """Send one digest message (``part`` = its number and how many) listing ``chunk``; returns
    how many records it delivered."""
    digest_id = secrets.token_hex(5)
    text = cards.render_digest(services, kind, chunk, *part)
    markup = cards.digest_keyboard(services, [k for k, _ in chunk], digest_id)
    try:
        sent = await services.send_admin(bot, text, topic="dms" if kind == "dm" else "comments", markup=markup)
    except BadRequest as exc:
        log.error("inbox: Telegram refused a digest (%s)", exc)
        _digest_refused(services, chunk, exc)
        return 0
    except TelegramError as exc:
        raise _Stop(str(exc)) from None
    _mark_digested(services, digest_id, kind, chunk, (sent.chat_id, sent.message_id), part)
    return len(chunk)


def _digest_refused(services: Services, chunk: list[tuple[str, ItemRecord]], exc: BadRequest) -> None:
    """Count one attempt for every record of a refused digest, in one write."""
    refused: dict[str, InboxDoc] = {}
    for key, record in chunk:
        current = read_item(services, key)
        if current is None:
            continue
        attempts = record["attempts"] + 1
        current["attempts"] = attempts
        current["error"] = str(exc)[:200]
        current["status"] = "failed" if attempts >= MAX_CARD_ATTEMPTS else "pending"
        refused[key] = current
    write_many(services, refused)  # one attempt of the whole digest: one write


def _mark_digested(
    services: Services,
    digest_id: str,
    kind: str,
    chunk: list[tuple[str, ItemRecord]],
    message: tuple[int, int],
    part: tuple[int, int],
) -> None:
    """Telegram has the digest (``message`` = chat and message id): the digest record and every
    item it lists are written down as one store write (one journal record), so a crash cannot
    leave some items of it still pending (they would come again in the next digest)."""
    now = now_ts(services)
    writes: dict[str, InboxDoc] = {
        digest_key(digest_id): {
            "type": "digest",
            "kind": kind,
            "items": [k for k, _ in chunk],
            "chat": message[0],
            "message_id": message[1],
            "part": part[0],
            "parts": part[1],
            "at": now,
            "updated": now,
            "status": "open",
        }
    }
    for key, _ in chunk:
        current = read_item(services, key)
        if current is not None:
            current["status"] = "open"
            current["digest"] = digest_id
            current["stale"] = False
            current["updated"] = current["delivered_at"] = now
            writes[key] = current
    write_many(services, writes)


async def _edit_card(bot: Bot, services: Services, key: str, record: ItemRecord) -> None:
    try:
        await edit_card(bot, services, record)
    except TelegramError as exc:
        if not isinstance(exc, BadRequest):
            raise _Stop(str(exc)) from None
        log.warning("inbox: could not edit the card of %s: %s", key, exc)
    table(services).update(key, stale=False)


async def edit_card(
    bot: Bot, services: Services, record: ItemRecord, *, chat_id: int | None = None, message_id: int | None = None
) -> None:
    """Redraw a record's card (text and keyboard); an unchanged card is not an error."""
    chat_id = chat_id if chat_id is not None else record.get("card_chat")
    message_id = message_id if message_id is not None else record.get("card_message")
    if chat_id is None or message_id is None:
        return
    text, markup = cards.render_card(services, record)
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
    except TelegramError as exc:
        if not is_benign(exc):
            raise


# ---------------------------------------------------------------------------------- webhook


async def on_webhook_event(app: AnyApplication, event: WebhookEvent) -> None:
    """A Resont push: claim the item (so a later poll skips it) and deliver in the background."""
    services: Services = app.bot_data.services
    claimed = False
    if event.comment is not None:
        claimed = claim_comment(services, event.comment, "webhook")
    elif event.message is not None:
        if event.message.outbound is True:
            return  # the account's own message (our replies among them)
        claimed = claim_message(services, event.message, None, "webhook")
    if claimed:
        runtime(app).kick(app)

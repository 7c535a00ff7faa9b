"""Inbox digest buttons: a digest's numbered lines open their item as a full card (sent once),
and "Mark all done" closes every open item the digest lists."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import TelegramError

from bot.runtime.context import Context
from bot.runtime.roles import INBOX
from bot.runtime.services import Services
from bot.runtime.tg.buttons import Buttons
from bot.runtime.tg.quiet import answer_quietly, quietly
from bot.runtime.update_parts import query_of
from handlers.inbox import cards
from handlers.inbox.buttons import INBOX_NS, DigestDone, Expand
from handlers.inbox.common import log_action, redraw, save, tr
from handlers.inbox.records import CARD_KIND, OPEN_STATUSES, digest_key, now_ts, read_digest, read_item, topic_of, write
from handlers.replies import remember_card

if TYPE_CHECKING:
    from handlers.inbox.docs import ItemRecord

log = logging.getLogger(__name__)


def digest_buttons() -> Buttons:
    """The buttons under a digest (agents and admins)."""
    return Buttons(INBOX_NS, INBOX, {Expand: on_expand, DigestDone: on_digest_done})


async def on_expand(update: Update, context: Context, data: Expand) -> None:
    """A digest line becomes a full card (sent once)."""
    query = query_of(update)
    services = context.services
    user_id = query.from_user.id
    key = data.key
    async with services.locks(key):
        record = read_item(services, key)
        if record is None:
            await answer_quietly(query, tr(services, "item_unknown", user_id), alert=True)
            return
        if record["status"] not in OPEN_STATUSES:
            await answer_quietly(query, tr(services, "already_closed", user_id), alert=True)
            return
        if record.get("card"):
            await answer_quietly(query, tr(services, "already_expanded", user_id))
            return
        text, markup = cards.render_card(services, record)
        try:
            sent = await services.send_admin(context.bot, text, topic=topic_of(record), markup=markup)
        except TelegramError as exc:
            log.warning("inbox: could not expand %s: %s", key, exc)
            await answer_quietly(query, tr(services, "telegram_failed", user_id), alert=True)
            return
        record["card"] = f"{sent.chat_id}:{sent.message_id}"
        record["card_chat"], record["card_message"] = sent.chat_id, sent.message_id
        await services.store.durably(partial(_note_card, services, key, record, sent.chat_id, sent.message_id))
    await answer_quietly(query, tr(services, "expanded", user_id))


def _note_card(services: Services, key: str, record: ItemRecord, chat_id: int, message_id: int) -> None:
    save(services, key, record)
    remember_card(services.store, chat_id, message_id, CARD_KIND, item=key)


async def on_digest_done(update: Update, context: Context, data: DigestDone) -> None:
    """ "Mark all done": every open item of the digest is closed, the digest says by whom."""
    query = query_of(update)
    digest_id = data.digest
    services = context.services
    user_id = query.from_user.id
    digest = read_digest(services, digest_id)
    if digest is None:
        await answer_quietly(query, tr(services, "item_unknown", user_id), alert=True)
        return
    actor = cards.actor_name(query.from_user)
    entries: list[tuple[str, ItemRecord]] = []
    closed = 0
    for key in digest["items"]:
        async with services.locks(key):
            record = read_item(services, key)
            if record is None:
                continue
            if record["status"] in OPEN_STATUSES:
                log_action(record, "done", actor)
                save(services, key, record, status="done", by=actor)
                closed += 1
                if record.get("card"):
                    await redraw(context, record)
            entries.append((key, record))
    digest["status"], digest["by"], digest["updated"] = "done", actor, now_ts(services)
    write(services, digest_key(digest_id), digest)
    services.store.audit(user_id, "inbox.digest_done", digest_key(digest_id), count=closed)
    await answer_quietly(query, tr(services, "digest_marked", user_id, count=closed))
    text = cards.render_digest(services, digest["kind"], entries, digest["part"], digest["parts"], closed_by=actor)
    edit = context.bot.edit_message_text(text, chat_id=digest["chat"], message_id=digest["message_id"])
    await quietly(edit, f"close digest {digest_id}")

"""Inbox digest buttons: a digest's numbered lines open their item as a full card (sent once),
and "Mark all done" closes every open item the digest lists."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import TelegramError

from bot.runtime.context import Context
from bot.runtime.roles import INBOX
from bot.runtime.services import Services
from bot.runtime.tg.buttons import Buttons
from bot.runtime.tg.quiet import answer_quietly, quietly
from handlers.inbox import cards
from handlers.inbox.buttons import INBOX_NS, DigestDone, Expand
from handlers.inbox.common import log_action, redraw, save, tr
from handlers.inbox.records import CARD_KIND, ITEM_TYPES, OPEN_STATUSES, digest_key, now_ts, table, topic_of
from handlers.replies import remember_card

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


def digest_buttons() -> Buttons:
    """The buttons under a digest (agents and admins)."""
    return Buttons(INBOX_NS, INBOX, {Expand: on_expand, DigestDone: on_digest_done})


async def on_expand(update: Update, context: Context, data: Expand) -> None:
    """A digest line becomes a full card (sent once)."""
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    key = data.key
    async with services.locks(key):
        record = table(services).get(key)
        if record is None or record.get("type") not in ITEM_TYPES:
            await answer_quietly(query, tr(services, "item_unknown", user_id), alert=True)
            return
        if record.get("status") not in OPEN_STATUSES:
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
        record.update(card=f"{sent.chat_id}:{sent.message_id}", card_chat=sent.chat_id, card_message=sent.message_id)
        await services.store.durably(partial(_note_card, services, key, record, sent.chat_id, sent.message_id))
    await answer_quietly(query, tr(services, "expanded", user_id))


def _note_card(services: Services, key: str, record: dict[str, Any], chat_id: int, message_id: int) -> None:
    save(services, key, record)
    remember_card(services.store, chat_id, message_id, CARD_KIND, item=key)


async def on_digest_done(update: Update, context: Context, data: DigestDone) -> None:
    """ "Mark all done": every open item of the digest is closed, the digest says by whom."""
    query = update.callback_query
    assert query is not None
    digest_id = data.digest
    services = context.services
    user_id = query.from_user.id
    tbl = table(services)
    dkey = digest_key(digest_id)
    digest = tbl.get(dkey)
    if digest is None:
        await answer_quietly(query, tr(services, "item_unknown", user_id), alert=True)
        return
    actor = cards.actor_name(query.from_user)
    entries = []
    closed = 0
    for key in digest.get("items", []):
        async with services.locks(key):
            record = tbl.get(key)
            if record is None:
                continue
            if record.get("status") in OPEN_STATUSES:
                log_action(record, "done", actor)
                save(services, key, record, status="done", by=actor)
                closed += 1
                if record.get("card"):
                    await redraw(context, record)
            entries.append((key, record))
    digest.update(status="done", by=actor, updated=now_ts(services))
    tbl.put(dkey, digest)
    services.store.audit(user_id, "inbox.digest_done", dkey, count=closed)
    await answer_quietly(query, tr(services, "digest_marked", user_id, count=closed))
    text = cards.render_digest(
        services, digest.get("kind", "comment"), entries, digest.get("part", 1), digest.get("parts", 1), closed_by=actor
    )
    edit = context.bot.edit_message_text(text, chat_id=digest["chat"], message_id=digest["message_id"])
    await quietly(edit, f"close digest {digest_id}")

"""Replies to the bot's own messages: answers to force-reply prompts and to cards.

A feature that wants an answer stores a *reply target* keyed by ``<chat id>:<message id>`` in the
``prompts`` table (questions such as "reason for rejecting?") or in the ``cards`` table (an inbox
card that an agent answers by replying to it). Each target has a ``kind``; features declare, per
kind, who may answer and the callback (``Feature.replies``). This module routes a reply to that
callback after checking the role, so targets survive restarts and no feature re-implements it.

It also owns the fallbacks that must come after every feature: ``/cancel`` outside a flow and
unknown commands.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any

from telegram import ForceReply, Message, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature, ReplyRoute
from bot.runtime.roles import ANY_ROLE, roles_of
from bot.runtime.update_parts import message_of
from bot.store.state import Store

log = logging.getLogger(__name__)

PROMPT_TTL = 24 * 3600.0  # an unanswered question expires after a day


def target_key(chat_id: int, message_id: int) -> str:
    return f"{chat_id}:{message_id}"


async def ask(
    context: Context,
    chat_id: int,
    text: str,
    *,
    kind: str,
    user_id: int,
    data: dict[str, Any] | None = None,
    thread_id: int | None = None,
    reply_to: int | None = None,
) -> Message:
    """Send a force-reply question and remember what the answer is for."""
    message = await context.bot.send_message(
        chat_id=chat_id,
        text=text,
        reply_markup=ForceReply(selective=True),
        message_thread_id=thread_id,
        reply_to_message_id=reply_to,
    )
    context.services.store.table("prompts").put(
        target_key(chat_id, message.message_id),
        {"kind": kind, "user_id": user_id, "data": data or {}, "at": time.time()},
    )
    return message


def remember_card(store: Store, chat_id: int, message_id: int, kind: str, **doc: Any) -> str:
    """Record a card that can be answered by replying to it; returns its key."""
    key = target_key(chat_id, message_id)
    store.table("cards").put(
        key, {"kind": kind, "chat_id": chat_id, "message_id": message_id, "at": time.time(), **doc}
    )
    return key


def forget_prompts(store: Store, user_id: int) -> int:
    """Drop every open question addressed to ``user_id`` (on /cancel)."""
    return store.table("prompts").prune(lambda doc: doc.get("user_id") == user_id)


def find_target(store: Store, chat_id: int, message_id: int) -> tuple[str, str, dict[str, Any]] | None:
    """(table, key, document) of the reply target for that message, if any."""
    key = target_key(chat_id, message_id)
    for table in ("prompts", "cards"):
        doc = store.table(table).get(key)
        if doc is not None:
            return table, key, doc
    return None


def feature(config: Config) -> Feature:
    return Feature(
        name="replies",
        handlers=[
            CommandHandler("cancel", on_cancel),
            MessageHandler(filters.COMMAND, on_unknown_command),
            MessageHandler(filters.REPLY & ~filters.COMMAND, on_reply),
        ],
        commands=[Command("cancel", ANY_ROLE, "core.cmd_cancel")],
    )


async def on_reply(update: Update, context: Context) -> None:
    """Route a reply to the feature that asked for it."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    services = context.services
    found = find_target(services.store, message.chat_id, message.reply_to_message.message_id)
    if found is None:
        return  # a reply to some other message: not for us
    table, key, doc = found
    routes: dict[str, ReplyRoute] = {
        kind: route for f in context.bot_data.features for kind, route in f.replies.items()
    }
    route = routes.get(doc.get("kind", ""))
    user_id = update.effective_user.id if update.effective_user else None
    if route is None:
        log.warning("reply target %s has unknown kind %r", key, doc.get("kind"))
        return
    if table == "prompts" and doc.get("user_id") not in (None, user_id):
        await message.reply_text(services.t("core.prompt_not_yours", user_id))
        return
    if not roles_of(services.config, user_id) & route.roles:
        log.info("refused reply of kind %s from user %s", doc.get("kind"), user_id)
        await message.reply_text(services.t("core.refused_reply", user_id))
        return
    if table == "prompts":
        if time.time() - float(doc.get("at", 0)) > PROMPT_TTL:
            services.store.table("prompts").delete(key)
            await message.reply_text(services.t("core.prompt_expired", user_id))
            return
        services.store.table("prompts").delete(key)
    await route.callback(update, context, {"key": key, **doc})


async def on_cancel(update: Update, context: Context) -> None:
    """``/cancel`` when no flow is active: drop open questions, or say there is nothing."""
    user_id = update.effective_user.id if update.effective_user else 0
    dropped = forget_prompts(context.services.store, user_id)
    key = "core.cancelled_prompts" if dropped else "core.nothing_to_cancel"
    await message_of(update).reply_text(context.services.t(key, user_id, count=dropped))


async def on_unknown_command(update: Update, context: Context) -> None:
    user_id = update.effective_user.id if update.effective_user else None
    message = message_of(update)
    text = message.text or ""
    name = text.split()[0][1:].split("@")[0] if text.startswith("/") else text
    await message.reply_text(context.services.t("core.unknown_command", user_id, command=html.escape(name[:32])))

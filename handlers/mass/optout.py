"""The opt-out list (``/optout``): numbers that never receive a mass send. They live in the
``optout`` table keyed by the E.164 number; every send excludes them (at the preview, at
confirmation and again before each batch)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypedDict

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.clients.miogram.phones import parse_numbers
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.buttons import button
from bot.runtime.update_parts import message_of, press_chat_id, query_of, user_of
from handlers.mass import buttons as kinds
from handlers.mass.inputs import read_numbers, rest_of_command, summary, thread_of
from handlers.replies import ask

YIELD_EVERY = 100


class OptOut(TypedDict):
    """The record of an opted-out number (its key): when, by whom and how (``command`` or
    ``import``)."""

    at: float
    by: int
    source: str


async def on_optout(update: Update, context: Context) -> None:
    services = context.services
    user_id = user_of(update).id
    message = message_of(update)
    sub, rest = rest_of_command(message.text)
    if sub in ("add", "remove", "del", "delete"):
        if not rest.strip():
            await message.reply_text(services.t("mass.optout_usage", user_id))
            return
        parsed = parse_numbers(rest, services.config.phone_region)
        if sub == "add":
            added = await add_optout(services, parsed.valid, user_id, "command")
            text = services.t("mass.optout_added", user_id, added=added, already=len(parsed.valid) - added)
        else:
            removed = remove_optout(services, parsed.valid, user_id)
            text = services.t("mass.optout_removed", user_id, removed=removed, absent=len(parsed.valid) - removed)
        if parsed.invalid:
            text += "\n" + summary(services, user_id, parsed)
        await message.reply_text(text)
        return
    if sub == "import":
        await ask(
            context,
            message.chat_id,
            services.t("mass.ask_optout_import", user_id),
            kind="mass.optout_import",
            user_id=user_id,
            thread_id=thread_of(update),
        )
        return
    if sub not in ("", "list", "show"):
        await message.reply_text(services.t("mass.optout_usage", user_id))
        return
    await _send_optout_list(context, services, user_id, message.chat_id, thread_of(update))


async def _send_optout_list(
    context: Context, services: Services, user_id: int, chat_id: int, thread_id: int | None
) -> None:
    numbers = sorted(key for key, _ in services.store.table("optout").items())
    text = (
        services.t("mass.optout_count", user_id, count=len(numbers)) + "\n" + services.t("mass.optout_usage", user_id)
    )
    markup = InlineKeyboardMarkup([[button(services.t("mass.btn_import", user_id), kinds.ImportOptOut())]])
    if numbers:
        data = ("\n".join(numbers) + "\n").encode("utf-8")
        await context.bot.send_document(
            chat_id,
            InputFile(data, filename="optout.txt"),
            caption=text[:1024],
            reply_markup=markup,
            message_thread_id=thread_id,
        )
    else:
        await context.bot.send_message(chat_id, text, reply_markup=markup, message_thread_id=thread_id)


async def on_optout_button(update: Update, context: Context, data: kinds.ImportOptOut) -> None:
    """Import: ask for a file or a list of numbers to opt out."""
    query = query_of(update)
    services = context.services
    user_id = query.from_user.id
    await query.answer()
    await ask(
        context,
        press_chat_id(query),
        services.t("mass.ask_optout_import", user_id),
        kind="mass.optout_import",
        user_id=user_id,
        thread_id=thread_of(update),
    )


async def on_optout_import(update: Update, context: Context, doc: dict[str, Any]) -> None:
    services = context.services
    user_id = user_of(update).id
    message = message_of(update)
    parsed, problem = await read_numbers(update, context)
    if parsed is None or not parsed.valid:
        text = problem or services.t("mass.audience_empty", user_id, invalid=len(parsed.invalid) if parsed else 0)
        await ask(
            context,
            message.chat_id,
            text + "\n" + services.t("mass.try_again", user_id),
            kind="mass.optout_import",
            user_id=user_id,
            reply_to=message.message_id,
        )
        return
    added = await add_optout(services, parsed.valid, user_id, "import")
    text = services.t("mass.optout_added", user_id, added=added, already=len(parsed.valid) - added)
    await message.reply_text(text + "\n" + summary(services, user_id, parsed))


async def add_optout(services: Services, numbers: list[str], user_id: int, source: str) -> int:
    """Add numbers to the opt-out table (one durable write each: the event loop is given a turn
    every :data:`YIELD_EVERY` numbers so that a large import does not stall the bot)."""
    table = services.store.table("optout")
    now = time.time()
    added = 0
    for i, number in enumerate(numbers, 1):
        record: OptOut = {"at": now, "by": user_id, "source": source}
        if table.insert_new(number, dict(record)):
            added += 1
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    if added:
        services.store.audit(user_id, "optout.add", source, count=added)
    return added


def remove_optout(services: Services, numbers: list[str], user_id: int) -> int:
    table = services.store.table("optout")
    removed = sum(1 for number in numbers if table.delete(number))
    if removed:
        services.store.audit(user_id, "optout.remove", "command", count=removed)
    return removed

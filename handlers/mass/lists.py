"""Saved audience lists (``/lists``) and the opt-out list (``/optout``).

Lists live in the ``lists`` table (key: a short id; name, E.164 numbers, who/when). Opted-out
numbers live in the ``optout`` table keyed by the E.164 number; every send excludes them (at the
preview, at confirmation and again before each batch).

Numbers come pasted (any separators) or as a CSV/TXT file; a file whose phone column cannot be
found is asked again with the column name as the document's caption.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import time
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.clients.miogram.phones import PhoneFileError, PhoneParse, parse_csv, parse_numbers
from bot.runtime.context import Context
from bot.runtime.feature import ReplyRoute
from bot.runtime.roles import ADMINS
from handlers.mass import files as mass_files
from handlers.mass.common import button, fmt_num, reason_text, rows
from handlers.replies import ask

MAX_NAME = 48
YIELD_EVERY = 100
_NAME = re.compile(r"^[^\n\r<>]{1,48}$")


def handlers() -> list:
    return [
        CommandHandler("lists", on_lists),
        CommandHandler("optout", on_optout),
        CallbackQueryHandler(on_lists_button, pattern=r"^lists:"),
        CallbackQueryHandler(on_optout_button, pattern=r"^optout:"),
    ]


def replies() -> dict[str, ReplyRoute]:
    return {
        "mass.list_name": ReplyRoute(ADMINS, on_list_name),
        "mass.list_numbers": ReplyRoute(ADMINS, on_list_numbers),
        "mass.optout_import": ReplyRoute(ADMINS, on_optout_import),
    }


def _rest_of_command(text: str | None) -> tuple[str, str]:
    """(sub-command, the rest) of ``/cmd sub rest…``."""
    parts = (text or "").split(None, 2)
    sub = parts[1].lower() if len(parts) > 1 else ""
    rest = parts[2] if len(parts) > 2 else ""
    return sub, rest


async def read_numbers(update: Update, context: Context) -> tuple[PhoneParse | None, str | None]:
    """Numbers from the message: pasted text or a CSV/TXT document (caption = column name).
    Returns (parse, None) or (None, the text telling the user what is wrong)."""
    services = context.services
    user_id = update.effective_user.id
    message = update.effective_message
    region = services.config.phone_region
    attachment = mass_files.attachment_of(message)
    if attachment is not None:
        if not mass_files.is_numbers_file(attachment):
            return None, services.t("mass.audience_file_type", user_id)
        try:
            data = await mass_files.download_bytes(context, attachment, mass_files.NUMBERS_FILE_MAX)
        except mass_files.TooBig as exc:
            lang = services.lang(user_id)
            return None, services.t(
                "mass.file_too_big", user_id, size=fmt_num(exc.size, lang), limit=fmt_num(exc.limit, lang)
            )
        column = (message.caption or "").strip() or None
        try:
            parsed, _ = parse_csv(data, region, column)
        except PhoneFileError as exc:
            if not exc.columns:
                return None, services.t("mass.audience_none", user_id)
            names = ", ".join(html.escape(c) for c in exc.columns[:24])
            return None, services.t("mass.lists_column", user_id, columns=names)
        return parsed, None
    return parse_numbers(message.text or "", region), None


def _summary(services, user_id: int, parsed: PhoneParse) -> str:
    text = services.t(
        "mass.numbers_read",
        user_id,
        valid=len(parsed.valid),
        invalid=len(parsed.invalid),
        duplicates=len(parsed.duplicates),
    )
    if parsed.invalid:
        shown = [
            services.t(
                "mass.preview_invalid_line",
                user_id,
                raw=html.escape(raw[:40]),
                reason=html.escape(reason_text(services, user_id, reason)),
            )
            for raw, reason in parsed.invalid[:5]
        ]
        text += "\n" + "\n".join(shown)
    return text


def _thread(update: Update) -> int | None:
    message = update.effective_message
    return message.message_thread_id if message is not None and message.is_topic_message else None


# --- /lists


async def on_lists(update: Update, context: Context) -> None:
    services = context.services
    user_id = update.effective_user.id
    sub, rest = _rest_of_command(update.effective_message.text)
    if sub in ("new", "add", "create"):
        name = rest.strip()
        if name:
            await _ask_list_numbers(update, context, name=name, list_id=None)
        else:
            await ask(
                context,
                update.effective_chat.id,
                services.t("mass.ask_list_name", user_id),
                kind="mass.list_name",
                user_id=user_id,
                thread_id=_thread(update),
            )
        return
    text, markup = _overview(services, user_id)
    await update.effective_message.reply_text(text, reply_markup=markup, parse_mode="HTML")


def _overview(services, user_id: int) -> tuple[str, InlineKeyboardMarkup]:
    lists = sorted(services.store.table("lists").items(), key=lambda kv: kv[1].get("name", "").lower())
    lines = [services.t("mass.lists_title", user_id)]
    if not lists:
        lines.append(services.t("mass.lists_none", user_id))
    buttons = []
    for key, doc in lists:
        lines.append(
            services.t(
                "mass.lists_line", user_id, name=html.escape(doc.get("name", "")), count=len(doc.get("numbers", []))
            )
        )
        buttons.append(
            button(
                services.t("mass.btn_list", user_id, name=doc.get("name", "")[:30], count=len(doc.get("numbers", []))),
                f"lists:show:{key}",
            )
        )
    buttons.append(button(services.t("mass.btn_new_list", user_id), "lists:new"))
    return "\n".join(lines), InlineKeyboardMarkup(rows(buttons, 1))


async def on_lists_button(update: Update, context: Context) -> None:
    query = update.callback_query
    services = context.services
    user_id = query.from_user.id
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    table = services.store.table("lists")
    if action == "new":
        await query.answer()
        await ask(
            context,
            query.message.chat_id,
            services.t("mass.ask_list_name", user_id),
            kind="mass.list_name",
            user_id=user_id,
            thread_id=_thread(update),
        )
        return
    key = parts[2] if len(parts) > 2 else ""
    doc = table.get(key)
    if doc is None:
        await query.answer(services.t("mass.list_gone", user_id), show_alert=True)
        return
    name = html.escape(doc.get("name", ""))
    if action == "show":
        await query.answer()
        numbers = doc.get("numbers", [])
        markup = InlineKeyboardMarkup(
            [
                [
                    button(services.t("mass.btn_replace", user_id), f"lists:repl:{key}"),
                    button(services.t("mass.btn_delete", user_id), f"lists:del:{key}"),
                ]
            ]
        )
        caption = services.t("mass.list_card", user_id, name=name, count=len(numbers))
        if numbers:
            data = ("\n".join(numbers) + "\n").encode("utf-8")
            await context.bot.send_document(
                query.message.chat_id,
                InputFile(data, filename=f"list-{key}.txt"),
                caption=caption,
                parse_mode="HTML",
                reply_markup=markup,
                message_thread_id=_thread(update),
            )
        else:
            await context.bot.send_message(
                query.message.chat_id,
                caption,
                parse_mode="HTML",
                reply_markup=markup,
                message_thread_id=_thread(update),
            )
    elif action == "repl":
        await query.answer()
        await _ask_list_numbers(update, context, name=doc.get("name", ""), list_id=key)
    elif action == "del":
        await query.answer()
        markup = InlineKeyboardMarkup(
            [
                [
                    button(services.t("mass.btn_delete_yes", user_id), f"lists:delok:{key}"),
                    button(services.t("mass.btn_keep", user_id), f"lists:keep:{key}"),
                ]
            ]
        )
        await context.bot.send_message(
            query.message.chat_id,
            services.t("mass.list_delete_confirm", user_id, name=name),
            parse_mode="HTML",
            reply_markup=markup,
            message_thread_id=_thread(update),
        )
    elif action == "delok":
        table.delete(key)
        services.store.audit(user_id, "lists.delete", key, name=doc.get("name", ""))
        await query.answer(services.t("mass.list_deleted", user_id, name=doc.get("name", "")))
        await _edit(update, services.t("mass.list_deleted", user_id, name=name))
    elif action == "keep":
        await query.answer()
        await _edit(update, services.t("mass.list_kept", user_id, name=name))
    else:
        await query.answer(services.t("mass.flow_expired", user_id), show_alert=True)


async def _edit(update: Update, text: str) -> None:
    try:
        await update.callback_query.edit_message_text(text, parse_mode="HTML")
    except BadRequest:
        pass


async def _ask_list_numbers(update: Update, context: Context, *, name: str, list_id: str | None) -> None:
    services = context.services
    user_id = update.effective_user.id
    if list_id is None:
        problem = _name_problem(services, user_id, name)
        if problem:
            await update.effective_message.reply_text(problem)
            return
    key = "mass.ask_list_numbers_replace" if list_id else "mass.ask_list_numbers"
    await ask(
        context,
        update.effective_chat.id,
        services.t(key, user_id, name=html.escape(name)),
        kind="mass.list_numbers",
        user_id=user_id,
        data={"list_id": list_id, "name": name},
        thread_id=_thread(update),
    )


def _name_problem(services, user_id: int, name: str) -> str | None:
    if not _NAME.match(name or "") or not name.strip():
        return services.t("mass.list_bad_name", user_id, max=MAX_NAME)
    lowered = name.strip().lower()
    if any(doc.get("name", "").lower() == lowered for _, doc in services.store.table("lists").items()):
        return services.t("mass.list_exists", user_id, name=name.strip())
    return None


async def on_list_name(update: Update, context: Context, doc: dict[str, Any]) -> None:
    name = (update.effective_message.text or "").strip()
    await _ask_list_numbers(update, context, name=name, list_id=None)


async def on_list_numbers(update: Update, context: Context, doc: dict[str, Any]) -> None:
    services = context.services
    user_id = update.effective_user.id
    data = doc.get("data", {})
    parsed, problem = await read_numbers(update, context)
    if parsed is None or not parsed.valid:
        text = problem or services.t("mass.audience_empty", user_id, invalid=len(parsed.invalid) if parsed else 0)
        await ask(
            context,
            update.effective_chat.id,
            text + "\n" + services.t("mass.try_again", user_id),
            kind="mass.list_numbers",
            user_id=user_id,
            data=data,
            reply_to=update.effective_message.message_id,
        )
        return
    table = services.store.table("lists")
    list_id = data.get("list_id")
    now = time.time()
    if list_id:
        current = table.get(list_id)
        if current is None:
            await update.effective_message.reply_text(services.t("mass.list_gone", user_id))
            return
        current.update(numbers=parsed.valid, updated_at=now, updated_by=user_id)
        table.put(list_id, current)
        services.store.audit(user_id, "lists.replace", list_id, count=len(parsed.valid))
        key = "mass.list_replaced"
        name = current.get("name", "")
    else:
        name = str(data.get("name", "")).strip()
        problem = _name_problem(services, user_id, name)
        if problem:
            await update.effective_message.reply_text(problem)
            return
        list_id = secrets.token_hex(3)
        while list_id in table:
            list_id = secrets.token_hex(3)
        table.put(
            list_id,
            {
                "name": name,
                "numbers": parsed.valid,
                "created_at": now,
                "created_by": user_id,
                "updated_at": now,
                "updated_by": user_id,
            },
        )
        services.store.audit(user_id, "lists.create", list_id, name=name, count=len(parsed.valid))
        key = "mass.list_saved"
    await update.effective_message.reply_text(
        services.t(key, user_id, name=html.escape(name), count=len(parsed.valid))
        + "\n"
        + _summary(services, user_id, parsed),
        parse_mode="HTML",
    )


# --- /optout


async def on_optout(update: Update, context: Context) -> None:
    services = context.services
    user_id = update.effective_user.id
    message = update.effective_message
    sub, rest = _rest_of_command(message.text)
    if sub in ("add", "remove", "del", "delete"):
        if not rest.strip():
            await message.reply_text(services.t("mass.optout_usage", user_id), parse_mode="HTML")
            return
        parsed = parse_numbers(rest, services.config.phone_region)
        if sub == "add":
            added = await add_optout(services, parsed.valid, user_id, "command")
            text = services.t("mass.optout_added", user_id, added=added, already=len(parsed.valid) - added)
        else:
            removed = remove_optout(services, parsed.valid, user_id)
            text = services.t("mass.optout_removed", user_id, removed=removed, absent=len(parsed.valid) - removed)
        if parsed.invalid:
            text += "\n" + _summary(services, user_id, parsed)
        await message.reply_text(text, parse_mode="HTML")
        return
    if sub == "import":
        await ask(
            context,
            message.chat_id,
            services.t("mass.ask_optout_import", user_id),
            kind="mass.optout_import",
            user_id=user_id,
            thread_id=_thread(update),
        )
        return
    if sub not in ("", "list", "show"):
        await message.reply_text(services.t("mass.optout_usage", user_id), parse_mode="HTML")
        return
    await _send_optout_list(context, services, user_id, message.chat_id, _thread(update))


async def _send_optout_list(context: Context, services, user_id: int, chat_id: int, thread_id: int | None) -> None:
    numbers = sorted(key for key, _ in services.store.table("optout").items())
    text = (
        services.t("mass.optout_count", user_id, count=len(numbers)) + "\n" + services.t("mass.optout_usage", user_id)
    )
    markup = InlineKeyboardMarkup([[button(services.t("mass.btn_import", user_id), "optout:import")]])
    if numbers:
        data = ("\n".join(numbers) + "\n").encode("utf-8")
        await context.bot.send_document(
            chat_id,
            InputFile(data, filename="optout.txt"),
            caption=text[:1024],
            parse_mode="HTML",
            reply_markup=markup,
            message_thread_id=thread_id,
        )
    else:
        await context.bot.send_message(
            chat_id, text, parse_mode="HTML", reply_markup=markup, message_thread_id=thread_id
        )


async def on_optout_button(update: Update, context: Context) -> None:
    query = update.callback_query
    services = context.services
    user_id = query.from_user.id
    if query.data == "optout:import":
        await query.answer()
        await ask(
            context,
            query.message.chat_id,
            services.t("mass.ask_optout_import", user_id),
            kind="mass.optout_import",
            user_id=user_id,
            thread_id=_thread(update),
        )
        return
    await query.answer(services.t("mass.flow_expired", user_id), show_alert=True)


async def on_optout_import(update: Update, context: Context, doc: dict[str, Any]) -> None:
    services = context.services
    user_id = update.effective_user.id
    parsed, problem = await read_numbers(update, context)
    if parsed is None or not parsed.valid:
        text = problem or services.t("mass.audience_empty", user_id, invalid=len(parsed.invalid) if parsed else 0)
        await ask(
            context,
            update.effective_chat.id,
            text + "\n" + services.t("mass.try_again", user_id),
            kind="mass.optout_import",
            user_id=user_id,
            reply_to=update.effective_message.message_id,
        )
        return
    added = await add_optout(services, parsed.valid, user_id, "import")
    text = services.t("mass.optout_added", user_id, added=added, already=len(parsed.valid) - added)
    await update.effective_message.reply_text(text + "\n" + _summary(services, user_id, parsed), parse_mode="HTML")


async def add_optout(services, numbers: list[str], user_id: int, source: str) -> int:
    """Add numbers to the opt-out table (one durable write each: the event loop is given a turn
    every :data:`YIELD_EVERY` numbers so that a large import does not stall the bot)."""
    table = services.store.table("optout")
    now = time.time()
    added = 0
    for i, number in enumerate(numbers, 1):
        if table.insert_new(number, {"at": now, "by": user_id, "source": source}):
            added += 1
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    if added:
        services.store.audit(user_id, "optout.add", source, count=added)
    return added


def remove_optout(services, numbers: list[str], user_id: int) -> int:
    table = services.store.table("optout")
    removed = sum(1 for number in numbers if table.delete(number))
    if removed:
        services.store.audit(user_id, "optout.remove", "command", count=removed)
    return removed

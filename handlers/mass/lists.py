"""Saved audience lists (``/lists``); the opt-out list is :mod:`handlers.mass.optout`.

Lists live in the ``lists`` table (key: a short id; a :class:`~handlers.mass.savedlists.SavedList`).

Numbers come pasted (any separators) or as a CSV/TXT file; a file whose phone column cannot be
found is asked again with the column name as the document's caption.
"""

from __future__ import annotations

import html
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.ext import CommandHandler

from bot.clients.miogram.phones import PhoneParse
from bot.runtime.context import Context
from bot.runtime.feature import ReplyRoute
from bot.runtime.roles import ADMINS
from bot.runtime.services import Services
from bot.runtime.tg.buttons import ButtonHandler, Buttons, StaleHandler, button
from bot.runtime.tg.callback import ButtonData
from bot.runtime.tg.quiet import edit_quietly
from bot.runtime.update_parts import chat_id_of, message_of, press_chat_id, query_of, user_of
from handlers.mass import buttons as kinds
from handlers.mass.buttons import ListButton
from handlers.mass.common import rows
from handlers.mass.inputs import read_numbers, rest_of_command, summary, thread_of
from handlers.mass.optout import on_optout, on_optout_button, on_optout_import
from handlers.mass.savedlists import TABLE, SavedList, list_to_doc, saved_list, saved_lists
from handlers.replies import ask

MAX_NAME = 48
_NAME = re.compile(r"^[^\n\r<>]{1,48}$")


class ListPrompt(TypedDict):
    """What the question for a list's numbers remembers: the list being replaced (None: a new
    list) and the list's name."""

    list_id: str | None
    name: str


def handlers() -> list[CommandHandler[Context, None]]:
    return [CommandHandler("lists", on_lists), CommandHandler("optout", on_optout)]


def buttons(stale: StaleHandler) -> list[Buttons]:
    """The buttons of /lists and /optout (admins); ``stale`` answers data that does not decode."""
    lists: dict[type[ButtonData], ButtonHandler] = {
        kinds.NewList: on_new_list,
        kinds.ShowList: with_list(_show),
        kinds.ReplaceList: with_list(_replace),
        kinds.DeleteList: with_list(_delete),
        kinds.DeleteListYes: with_list(_delete_confirmed),
        kinds.KeepList: with_list(_keep),
    }
    return [
        Buttons(kinds.LISTS, ADMINS, lists, stale=stale),
        Buttons(kinds.OPTOUT, ADMINS, {kinds.ImportOptOut: on_optout_button}, stale=stale),
    ]


def replies() -> dict[str, ReplyRoute]:
    return {
        "mass.list_name": ReplyRoute(ADMINS, on_list_name),
        "mass.list_numbers": ReplyRoute(ADMINS, on_list_numbers),
        "mass.optout_import": ReplyRoute(ADMINS, on_optout_import),
    }


# --- /lists


async def on_lists(update: Update, context: Context) -> None:
    services = context.services
    user_id = user_of(update).id
    message = message_of(update)
    sub, rest = rest_of_command(message.text)
    if sub in ("new", "add", "create"):
        name = rest.strip()
        if name:
            await _ask_list_numbers(update, context, name=name, list_id=None)
        else:
            await ask(
                context,
                message.chat_id,
                services.t("mass.ask_list_name", user_id),
                kind="mass.list_name",
                user_id=user_id,
                thread_id=thread_of(update),
            )
        return
    text, markup = _overview(services, user_id)
    await message.reply_text(text, reply_markup=markup)


def _overview(services: Services, user_id: int) -> tuple[str, InlineKeyboardMarkup]:
    lists = saved_lists(services.store)
    lines = [services.t("mass.lists_title", user_id)]
    if not lists:
        lines.append(services.t("mass.lists_none", user_id))
    buttons = []
    for key, doc in lists:
        lines.append(services.t("mass.lists_line", user_id, name=html.escape(doc["name"]), count=len(doc["numbers"])))
        buttons.append(
            button(
                services.t("mass.btn_list", user_id, name=doc["name"][:30], count=len(doc["numbers"])),
                kinds.ShowList(key),
            )
        )
    buttons.append(button(services.t("mass.btn_new_list", user_id), kinds.NewList()))
    return "\n".join(lines), InlineKeyboardMarkup(rows(buttons, 1))


async def on_new_list(update: Update, context: Context, data: kinds.NewList) -> None:
    """New list: ask for its name."""
    query, services = query_of(update), context.services
    user_id = query.from_user.id
    await query.answer()
    text = services.t("mass.ask_list_name", user_id)
    await ask(context, press_chat_id(query), text, kind="mass.list_name", user_id=user_id, thread_id=thread_of(update))


ListAction = Callable[[Update, Context, str, SavedList], Awaitable[None]]


def with_list(act: ListAction) -> ButtonHandler:
    """The handler of a saved list's button: ``act(update, context, key, list)`` once found."""

    async def handler(update: Update, context: Context, data: ListButton) -> None:
        query, services = query_of(update), context.services
        doc = saved_list(services.store, data.key)
        if doc is None:
            await query.answer(services.t("mass.list_gone", query.from_user.id), show_alert=True)
            return
        await act(update, context, data.key, doc)

    return handler


async def _show(update: Update, context: Context, key: str, doc: SavedList) -> None:
    """The list's numbers as a text file, with Replace and Delete."""
    services, user_id, chat_id = context.services, user_of(update).id, chat_id_of(update)
    await query_of(update).answer()
    numbers = doc["numbers"]
    replace, delete = services.t("mass.btn_replace", user_id), services.t("mass.btn_delete", user_id)
    markup = InlineKeyboardMarkup([[button(replace, kinds.ReplaceList(key)), button(delete, kinds.DeleteList(key))]])
    caption = services.t("mass.list_card", user_id, name=html.escape(doc["name"]), count=len(numbers))
    thread_id = thread_of(update)
    if numbers:
        document = InputFile(("\n".join(numbers) + "\n").encode("utf-8"), filename=f"list-{key}.txt")
        await context.bot.send_document(
            chat_id, document, caption=caption, reply_markup=markup, message_thread_id=thread_id
        )
    else:
        await context.bot.send_message(chat_id, caption, reply_markup=markup, message_thread_id=thread_id)


async def _replace(update: Update, context: Context, key: str, doc: SavedList) -> None:
    await query_of(update).answer()
    await _ask_list_numbers(update, context, name=doc["name"], list_id=key)


async def _delete(update: Update, context: Context, key: str, doc: SavedList) -> None:
    """Ask to confirm the deletion."""
    services, user_id = context.services, user_of(update).id
    await query_of(update).answer()
    yes, keep = services.t("mass.btn_delete_yes", user_id), services.t("mass.btn_keep", user_id)
    markup = InlineKeyboardMarkup([[button(yes, kinds.DeleteListYes(key)), button(keep, kinds.KeepList(key))]])
    text = services.t("mass.list_delete_confirm", user_id, name=html.escape(doc["name"]))
    await context.bot.send_message(chat_id_of(update), text, reply_markup=markup, message_thread_id=thread_of(update))


async def _delete_confirmed(update: Update, context: Context, key: str, doc: SavedList) -> None:
    services, user_id, name = context.services, user_of(update).id, doc["name"]
    services.store.table(TABLE).delete(key)
    services.store.audit(user_id, "lists.delete", key, name=name)
    await query_of(update).answer(services.t("mass.list_deleted", user_id, name=name))
    await _edit(update, services.t("mass.list_deleted", user_id, name=html.escape(name)))


async def _keep(update: Update, context: Context, key: str, doc: SavedList) -> None:
    await query_of(update).answer()
    name = html.escape(doc["name"])
    await _edit(update, context.services.t("mass.list_kept", user_of(update).id, name=name))


async def _edit(update: Update, text: str) -> None:
    await edit_quietly(query_of(update), text, what="update a list card")


async def _ask_list_numbers(update: Update, context: Context, *, name: str, list_id: str | None) -> None:
    services = context.services
    user_id = user_of(update).id
    if list_id is None:
        problem = _name_problem(services, user_id, name)
        if problem:
            await message_of(update).reply_text(html.escape(problem))
            return
    key = "mass.ask_list_numbers_replace" if list_id else "mass.ask_list_numbers"
    prompt: ListPrompt = {"list_id": list_id, "name": name}
    await ask(
        context,
        chat_id_of(update),
        services.t(key, user_id, name=html.escape(name)),
        kind="mass.list_numbers",
        user_id=user_id,
        data=dict(prompt),
        thread_id=thread_of(update),
    )


def _name_problem(services: Services, user_id: int, name: str) -> str | None:
    if not _NAME.match(name or "") or not name.strip():
        return services.t("mass.list_bad_name", user_id, max=MAX_NAME)
    lowered = name.strip().lower()
    if any(doc["name"].lower() == lowered for _, doc in saved_lists(services.store)):
        return services.t("mass.list_exists", user_id, name=name.strip())
    return None


async def on_list_name(update: Update, context: Context, doc: dict[str, Any]) -> None:
    name = (message_of(update).text or "").strip()
    await _ask_list_numbers(update, context, name=name, list_id=None)


async def on_list_numbers(update: Update, context: Context, doc: dict[str, Any]) -> None:
    """The numbers of a new list, or the new numbers of a list being replaced."""
    services, user_id, message = context.services, user_of(update).id, message_of(update)
    prompt = _prompt_of(doc)
    list_id, name = prompt["list_id"], prompt["name"].strip()
    parsed, problem = await read_numbers(update, context)
    if parsed is None or not parsed.valid:
        text = problem or services.t("mass.audience_empty", user_id, invalid=len(parsed.invalid) if parsed else 0)
        text += "\n" + services.t("mass.try_again", user_id)
        reply_to = message.message_id
        kind = "mass.list_numbers"
        await ask(context, message.chat_id, text, kind=kind, user_id=user_id, data=dict(prompt), reply_to=reply_to)
        return
    saved = _replace_numbers(services, user_id, list_id, parsed) if list_id else None
    if list_id and saved is None:
        await message.reply_text(services.t("mass.list_gone", user_id))
        return
    if saved is None:
        problem = _name_problem(services, user_id, name)
        if problem:
            await message.reply_text(html.escape(problem))
            return
        saved = _create(services, user_id, name, parsed)
    key, name = saved
    text = services.t(key, user_id, name=html.escape(name), count=len(parsed.valid)) + "\n"
    await message.reply_text(text + summary(services, user_id, parsed))


def _prompt_of(doc: dict[str, Any]) -> ListPrompt:
    """What the answered question remembered (a missing list id: a new list)."""
    data = doc.get("data") or {}
    list_id, name = data.get("list_id"), data.get("name", "")
    return {"list_id": str(list_id) if list_id else None, "name": str(name)}


def _replace_numbers(services: Services, user_id: int, list_id: str, parsed: PhoneParse) -> tuple[str, str] | None:
    """Replace a saved list's numbers: (the text key, its name), or None when it is gone."""
    current = saved_list(services.store, list_id)
    if current is None:
        return None
    current["numbers"], current["updated_at"], current["updated_by"] = parsed.valid, time.time(), user_id
    services.store.table(TABLE).put(list_id, list_to_doc(current))
    services.store.audit(user_id, "lists.replace", list_id, count=len(parsed.valid))
    return "mass.list_replaced", current["name"]


def _create(services: Services, user_id: int, name: str, parsed: PhoneParse) -> tuple[str, str]:
    """Save a new list under a fresh short id: (the text key, its name)."""
    table, now = services.store.table(TABLE), time.time()
    list_id = secrets.token_hex(3)
    while list_id in table:
        list_id = secrets.token_hex(3)
    saved: SavedList = {
        "name": name,
        "numbers": parsed.valid,
        "created_at": now,
        "created_by": user_id,
        "updated_at": now,
        "updated_by": user_id,
    }
    table.put(list_id, list_to_doc(saved))
    services.store.audit(user_id, "lists.create", list_id, name=name, count=len(parsed.valid))
    return "mass.list_saved", name

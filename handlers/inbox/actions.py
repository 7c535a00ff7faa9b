"""Inbox card buttons: Reply, Like, Tag, Delete (with confirmation, comments) and Done on a
comment or DM card (digest buttons: :mod:`handlers.inbox.digests`)."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import TelegramError

from bot.clients.resont.errors import ResontError, ResontNotFound
from bot.runtime.context import Context
from handlers.inbox import cards
from handlers.inbox.common import answer_button, int_parts, log_action, plain, redraw, resont_failure, save, tr
from handlers.inbox.records import PROMPT_KIND, comment_key, message_key, table
from handlers.replies import ask

if TYPE_CHECKING:
    from telegram import CallbackQuery

    from bot.runtime.services import Services

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------- card buttons


async def on_comment_button(update: Update, context: Context) -> None:
    """``cmt:<action>:<comment id>[:<tag id>]``: the buttons of a comment card."""
    query, action, parts, numbers = _press(update, 1)
    services = context.services
    user_id = query.from_user.id
    if numbers is None:
        await _stale(query, services)
        return
    comment_id = numbers[0]
    key = comment_key(comment_id)
    async with services.locks(key):
        found = await _card_record(query, context, key, "comment", action)
        if found is None:
            return
        record, actor = found
        if action == "l":
            await _like_comment(query, context, key, record, actor)
        elif action == "d":
            await answer_button(query, tr(services, "confirm_delete", user_id))
            await redraw(context, record, query, markup=cards.delete_keyboard(services, comment_id))
        elif action == "dn":
            await answer_button(query)
            await redraw(context, record, query)
        elif action == "dy":
            await _delete_comment(query, context, key, record, actor)
        else:
            await _card_button(query, context, action, ("cmt", str(comment_id)), key, record, actor, parts[3:])


def _press(update: Update, count: int) -> tuple[CallbackQuery, str, list[str], list[int] | None]:
    """A card button press: the query, the action, the data parts and the ``count`` ids after
    the action (None when forged or stale)."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    return query, action, parts, int_parts(parts[2:], count)


async def _stale(query: CallbackQuery, services: Services) -> None:
    await answer_button(query, services.t("core.stale_button", query.from_user.id), alert=True)


async def _unknown(query: CallbackQuery, services: Services) -> None:
    await answer_button(query, tr(services, "item_unknown", query.from_user.id), alert=True)


async def _card_record(
    query: CallbackQuery, context: Context, key: str, kind: str | None, action: str
) -> tuple[dict[str, Any], str] | None:
    """The pressed card's record (of type ``kind`` when given) and who pressed, or None once the
    press is answered: unknown item, or a closed card (redrawn)."""
    record = table(context.services).get(key)
    if record is None or (kind is not None and record.get("type") != kind):
        await _unknown(query, context.services)
        return None
    actor = cards.actor_name(query.from_user)
    if await _closed(query, context, record, action):
        return None
    return record, actor


async def _closed(query: CallbackQuery, context: Context, record: dict[str, Any], action: str) -> bool:
    """Whether the card is done or deleted: then it takes only Reply, any other press redraws it."""
    if record.get("status") not in ("done", "deleted") or action == "r":
        return False
    await answer_button(query, tr(context.services, "already_closed", query.from_user.id))
    await redraw(context, record, query)
    return True


async def _card_button(
    query: CallbackQuery,
    context: Context,
    action: str,
    target: tuple[str, str],
    key: str,
    record: dict[str, Any],
    actor: str,
    tag_parts: list[str],
) -> None:
    """The buttons comment and DM cards share: Reply, Tag (show, toggle, back) and Done.
    ``target`` is the callback prefix and ids of the card's tag buttons."""
    prefix, ids = target
    if action == "r":
        await _ask_reply(query, context, key, record)
    elif action == "t":
        await _show_tags(query, context, prefix, ids, record)
    elif action == "tg":
        tag = int_parts(tag_parts, 1)
        if tag is None:
            await _stale(query, context.services)
            return
        await _toggle_tag(query, context, prefix, ids, key, record, tag[0], actor)
    elif action == "tb":
        await answer_button(query)
        await redraw(context, record, query)
    elif action == "ok":
        await _mark_done(query, context, key, record, actor)
    else:
        await _stale(query, context.services)


async def _ask_reply(query: CallbackQuery, context: Context, key: str, record: dict[str, Any]) -> None:
    services = context.services
    user = query.from_user
    if record["type"] == "dm":
        target = cards.who(record["item"]["conversation"], services)
        text = tr(services, "prompt_reply_dm", user.id, who=target, name=html.escape(cards.actor_name(user)))
    else:
        target = cards.who(record["item"], services)
        text = tr(services, "prompt_reply_comment", user.id, who=target, name=html.escape(cards.actor_name(user)))
    message = query.message
    chat_id = message.chat.id if message is not None else services.config.admin_chat_id
    try:
        await ask(
            context,
            chat_id,
            text,
            kind=PROMPT_KIND,
            user_id=user.id,
            data={"item": key},
            thread_id=getattr(message, "message_thread_id", None)
            if getattr(message, "is_topic_message", False)
            else None,
            reply_to=message.message_id if message is not None else None,
        )
    except TelegramError as exc:
        log.warning("inbox: could not ask for a reply: %s", exc)
        await answer_button(query, tr(services, "telegram_failed", user.id), alert=True)
        return
    await answer_button(query, tr(services, "prompt_sent", user.id))


async def _like_comment(query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str) -> None:
    services = context.services
    user_id = query.from_user.id
    item = record["item"]
    try:
        await services.resont.comments.like(item["id"])
    except ResontError as exc:
        await answer_button(query, plain(resont_failure(services, user_id, exc, "error_gone_comment")), alert=True)
        return
    item["liked"] = not item.get("liked")
    log_action(record, "liked" if item["liked"] else "unliked", actor)
    save(services, key, record, by=actor)
    services.store.audit(user_id, "inbox.like" if item["liked"] else "inbox.unlike", key)
    await answer_button(query, tr(services, "liked" if item["liked"] else "unliked", user_id))
    await redraw(context, record, query)


async def _delete_comment(query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str) -> None:
    services = context.services
    user_id = query.from_user.id
    try:
        await services.resont.comments.delete(record["item"]["id"])
    except ResontNotFound:
        pass  # already gone: the card closes all the same
    except ResontError as exc:
        await answer_button(query, plain(resont_failure(services, user_id, exc, "error_gone_comment")), alert=True)
        await redraw(context, record, query)
        return
    log_action(record, "deleted", actor)
    save(services, key, record, status="deleted", by=actor)
    services.store.audit(user_id, "inbox.delete", key)
    await answer_button(query, tr(services, "deleted", user_id))
    await redraw(context, record, query)


async def _mark_done(query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str) -> None:
    services = context.services
    user_id = query.from_user.id
    log_action(record, "done", actor)
    save(services, key, record, status="done", by=actor)
    services.store.audit(user_id, "inbox.done", key)
    await answer_button(query, tr(services, "marked_done", user_id))
    await redraw(context, record, query)


async def _tags_for(services: Services, prefix: str) -> list[Any]:
    if prefix == "dm":
        return await services.resont.conversations.tags()
    return await services.resont.comments.tags()


def _tag_holder(record: dict[str, Any]) -> dict[str, Any]:
    return record["item"]["conversation"] if record["type"] == "dm" else record["item"]


async def _show_tags(query: CallbackQuery, context: Context, prefix: str, ids: str, record: dict[str, Any]) -> None:
    services = context.services
    user_id = query.from_user.id
    try:
        tags = await _tags_for(services, prefix)
    except ResontError as exc:
        await answer_button(query, plain(resont_failure(services, user_id, exc, "error_gone_tags")), alert=True)
        return
    if not tags:
        await answer_button(query, tr(services, "no_tags_defined", user_id), alert=True)
        return
    chosen = [tag.get("id") for tag in _tag_holder(record).get("tags", [])]
    await answer_button(query, tr(services, "choose_tags", user_id))
    await redraw(context, record, query, markup=cards.tag_keyboard(services, prefix, ids, tags, chosen))


async def _toggle_tag(
    query: CallbackQuery,
    context: Context,
    prefix: str,
    ids: str,
    key: str,
    record: dict[str, Any],
    tag_id: int,
    actor: str,
) -> None:
    services = context.services
    user_id = query.from_user.id
    holder = _tag_holder(record)
    current = [tag.get("id") for tag in holder.get("tags", [])]
    wanted = [t for t in current if t != tag_id] if tag_id in current else [*current, tag_id]
    try:
        tags = await _tags_for(services, prefix)
        if prefix == "dm":
            result = await services.resont.conversations.tag(holder["id"], wanted)
        else:
            result = await services.resont.comments.tag(holder["id"], wanted)
    except ResontError as exc:
        gone = "error_gone_dm" if prefix == "dm" else "error_gone_comment"
        await answer_button(query, plain(resont_failure(services, user_id, exc, gone)), alert=True)
        return
    names = {tag.id: tag.name or str(tag.id) for tag in tags}
    returned = cards.tags_of(result.tags)
    holder["tags"] = returned if returned or not wanted else [{"id": i, "name": names.get(i, str(i))} for i in wanted]
    log_action(record, "tagged", actor, ", ".join(str(tag["name"]) for tag in holder["tags"]))
    save(services, key, record, by=actor)
    services.store.audit(user_id, "inbox.tag", key, tags=wanted)
    await answer_button(query, tr(services, "tags_saved", user_id))
    chosen = [tag["id"] for tag in holder["tags"]]
    await redraw(context, record, query, markup=cards.tag_keyboard(services, prefix, ids, tags, chosen))


# ---------------------------------------------------------------------------------- DM buttons


def _dm_record(services: Services, message_id: int) -> tuple[str, dict[str, Any]] | None:
    tbl = table(services)
    pointer = tbl.get(message_key(message_id))
    if pointer is None or not pointer.get("record"):
        return None
    record = tbl.get(pointer["record"])
    if record is None or record.get("type") != "dm":
        return None
    return pointer["record"], record


async def on_dm_button(update: Update, context: Context) -> None:
    """``dm:<action>:<conversation id>:<message id>[:<tag id>]``: the buttons of a DM card."""
    query, action, parts, numbers = _press(update, 2)
    services = context.services
    if numbers is None:
        await _stale(query, services)
        return
    conversation_id, message_id = numbers
    found = _dm_record(services, message_id)
    if found is None:
        await _unknown(query, services)
        return
    key, _ = found
    async with services.locks(key):
        found_card = await _card_record(query, context, key, None, action)
        if found_card is None:
            return
        record, actor = found_card
        if action == "l":
            await _like_message(query, context, key, record, actor, message_id)
        else:
            target = ("dm", f"{conversation_id}:{message_id}")
            await _card_button(query, context, action, target, key, record, actor, parts[4:])


async def _like_message(
    query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str, message_id: int
) -> None:
    services = context.services
    user_id = query.from_user.id
    try:
        await services.resont.conversations.react(message_id)
    except ResontError as exc:
        await answer_button(query, plain(resont_failure(services, user_id, exc, "error_gone_dm")), alert=True)
        return
    log_action(record, "liked", actor)
    save(services, key, record, by=actor)
    services.store.audit(user_id, "inbox.like", key, message=message_id)
    await answer_button(query, tr(services, "liked", user_id))
    await redraw(context, record, query)

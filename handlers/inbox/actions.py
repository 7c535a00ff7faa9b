"""Inbox card buttons: Reply, Like, Tag, Delete (with confirmation, comments) and Done on a
comment or DM card (digest buttons: :mod:`handlers.inbox.digests`).

Each kind of button (:mod:`handlers.inbox.buttons`) has its handler; :func:`comment_action` and
:func:`dm_action` wrap it so that it runs under the item's lock on an open card (Reply takes a
closed card too), with what it needs in a :class:`Press`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.clients.resont.errors import ResontError, ResontNotFound
from bot.clients.resont.inbox_models import Comment, Conversation
from bot.runtime.context import Context
from bot.runtime.roles import INBOX
from bot.runtime.tg.buttons import ButtonHandler, Buttons, button
from bot.runtime.tg.callback import ButtonData
from bot.runtime.tg.quiet import answer_quietly
from bot.runtime.update_parts import query_of
from handlers.inbox import buttons, cards
from handlers.inbox.common import log_action, plain, redraw, resont_failure, save, tr
from handlers.inbox.docs import CommentRecord, ItemRecord, holder_of
from handlers.inbox.records import PROMPT_KIND, comment_key, message_key, read_item, read_message
from handlers.inbox.snapshots import excerpt, tags_of
from handlers.replies import ask

if TYPE_CHECKING:
    from telegram import CallbackQuery

    from bot.clients.resont.models import Tag
    from bot.runtime.services import Services

log = logging.getLogger(__name__)


def comment_buttons() -> Buttons:
    """The buttons of comment cards (agents and admins)."""
    return Buttons(
        buttons.CMT,
        INBOX,
        {
            buttons.CommentReply: comment_action(_ask_reply),
            buttons.CommentLike: comment_action(_like_comment),
            buttons.CommentTags: comment_action(_show_tags),
            buttons.CommentTag: comment_action(_toggle_tag),
            buttons.CommentTagsBack: comment_action(_back_to_card),
            buttons.CommentDelete: comment_action(_confirm_delete),
            buttons.CommentDeleteNo: comment_action(_back_to_card),
            buttons.CommentDeleteYes: comment_action(_delete_comment),
            buttons.CommentDone: comment_action(_mark_done),
        },
    )


def dm_buttons() -> Buttons:
    """The buttons of DM cards (agents and admins)."""
    return Buttons(
        buttons.DM,
        INBOX,
        {
            buttons.DmReply: dm_action(_ask_reply),
            buttons.DmLike: dm_action(_like_message),
            buttons.DmTags: dm_action(_show_tags),
            buttons.DmTag: dm_action(_toggle_tag),
            buttons.DmTagsBack: dm_action(_back_to_card),
            buttons.DmDone: dm_action(_mark_done),
        },
    )


# ---------------------------------------------------------------------------------- finding the card


@dataclass
class Press:
    """A button pressed on an inbox card, with the card's record (held under its lock)."""

    query: CallbackQuery
    context: Context
    data: buttons.CommentButton | buttons.DmButton  # the button's typed data
    key: str
    record: ItemRecord
    actor: str
    #: the card's tag toggle button for a tag id, and the "back" button under the tag choices
    toggle: Callable[[int], ButtonData]
    back: ButtonData

    @property
    def services(self) -> Services:
        return self.context.services

    @property
    def user_id(self) -> int:
        return self.query.from_user.id

    @property
    def is_dm(self) -> bool:
        return self.record["type"] == "dm"


Action = Callable[[Press], Awaitable[None]]


def comment_action(act: Action) -> ButtonHandler:
    """The handler of a comment-card button that does ``act`` on its card."""

    async def handler(update: Update, context: Context, data: buttons.CommentButton) -> None:
        query = query_of(update)
        key = comment_key(data.comment)
        async with context.services.locks(key):
            record = await _card_record(query, context, key, "comment", data)
            if record is not None:
                toggle = lambda tag: buttons.CommentTag(data.comment, tag)  # noqa: E731 - bound to this card
                back = buttons.CommentTagsBack(data.comment)
                await act(Press(query, context, data, key, record, cards.actor_name(query.from_user), toggle, back))

    return handler


def dm_action(act: Action) -> ButtonHandler:
    """The handler of a DM-card button that does ``act`` on its card (found by its newest message)."""

    async def handler(update: Update, context: Context, data: buttons.DmButton) -> None:
        query = query_of(update)
        key = _dm_record_key(context.services, data.message)
        if key is None:
            await _unknown(query, context.services)
            return
        async with context.services.locks(key):
            record = await _card_record(query, context, key, None, data)
            if record is not None:
                toggle = lambda tag: buttons.DmTag(data.conversation, data.message, tag)  # noqa: E731 - bound to this card
                back = buttons.DmTagsBack(data.conversation, data.message)
                await act(Press(query, context, data, key, record, cards.actor_name(query.from_user), toggle, back))

    return handler


def _dm_record_key(services: Services, message_id: int) -> str | None:
    """The key of the DM card that shows ``message_id``, if it is known."""
    message = read_message(services, message_key(message_id))
    card_key = message.get("record") if message is not None else None
    if not card_key:
        return None
    record = read_item(services, card_key)
    if record is None or record["type"] != "dm":
        return None
    return card_key


async def _unknown(query: CallbackQuery, services: Services) -> None:
    await answer_quietly(query, tr(services, "item_unknown", query.from_user.id), alert=True)


async def _card_record(
    query: CallbackQuery, context: Context, key: str, kind: str | None, data: ButtonData
) -> ItemRecord | None:
    """The pressed card's record (of type ``kind`` when given), or None once the press is
    answered: unknown item, or a closed card (redrawn; only Reply works on a closed card)."""
    record = read_item(context.services, key)
    if record is None or (kind is not None and record["type"] != kind):
        await _unknown(query, context.services)
        return None
    if record["status"] in ("done", "deleted") and not isinstance(data, buttons.REPLIES):
        await answer_quietly(query, tr(context.services, "already_closed", query.from_user.id))
        await redraw(context, record, query)
        return None
    return record


# ---------------------------------------------------------------------------------- keyboards


def delete_keyboard(services: Services, comment_id: int) -> InlineKeyboardMarkup:
    yes = button(cards.t(services, "btn_delete_yes"), buttons.CommentDeleteYes(comment_id))
    return InlineKeyboardMarkup(
        [[yes, button(cards.t(services, "btn_delete_no"), buttons.CommentDeleteNo(comment_id))]]
    )


def tag_keyboard(
    services: Services,
    toggle: Callable[[int], ButtonData],
    back: ButtonData,
    tags: Sequence[Tag],
    chosen: Iterable[int],
) -> InlineKeyboardMarkup:
    """Toggle buttons for each tag (``toggle(tag id)``: the card's toggle button), then ``back``."""
    current = set(chosen)
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for tag, tag_id in [(t_, t_.id) for t_ in tags if t_.id is not None][: cards.TAG_BUTTONS_MAX]:
        mark = "✅" if tag_id in current else "▫️"
        label = f"{mark} {excerpt(tag.name or str(tag_id), 28)}"
        row.append(button(label, toggle(tag_id)))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    rows.append([button(cards.t(services, "btn_back"), back)])
    return InlineKeyboardMarkup(rows)


# ---------------------------------------------------------------------------------- the buttons


async def _back_to_card(press: Press) -> None:
    """Back from the tag choices or the delete question: the card as it is."""
    await answer_quietly(press.query)
    await redraw(press.context, press.record, press.query)


async def _confirm_delete(press: Press) -> None:
    await answer_quietly(press.query, tr(press.services, "confirm_delete", press.user_id))
    markup = delete_keyboard(press.services, _comment(press)["item"]["id"])
    await redraw(press.context, press.record, press.query, markup=markup)


async def _ask_reply(press: Press) -> None:
    """Reply: a force-reply question under the card; the answer goes out through Resont."""
    services, user, record = press.services, press.query.from_user, press.record
    holder = holder_of(record)
    key = "prompt_reply_dm" if record["type"] == "dm" else "prompt_reply_comment"
    text = tr(services, key, user.id, who=cards.who(holder, services), name=html.escape(cards.actor_name(user)))
    message = press.query.message
    chat_id = message.chat.id if message is not None else services.config.admin_chat_id
    topic = getattr(message, "message_thread_id", None) if getattr(message, "is_topic_message", False) else None
    try:
        await ask(
            press.context,
            chat_id,
            text,
            kind=PROMPT_KIND,
            user_id=user.id,
            data={"item": press.key},
            thread_id=topic,
            reply_to=message.message_id if message is not None else None,
        )
    except TelegramError as exc:
        log.warning("inbox: could not ask for a reply: %s", exc)
        await answer_quietly(press.query, tr(services, "telegram_failed", user.id), alert=True)
        return
    await answer_quietly(press.query, tr(services, "prompt_sent", user.id))


def _comment(press: Press) -> CommentRecord:
    """The comment card a comment-only button was pressed on (:func:`comment_action` finds
    comment cards only)."""
    if press.record["type"] != "comment":
        raise LookupError(f"{press.key} is not a comment card")
    return press.record


async def _refused(press: Press, exc: ResontError, gone_key: str) -> None:
    """Resont refused the action: say why in an alert (the card stays as it is)."""
    await answer_quietly(press.query, plain(resont_failure(press.services, press.user_id, exc, gone_key)), alert=True)


async def _acted(
    press: Press, logged: str, audited: str, said: str, *, status: str | None = None, **details: object
) -> None:
    """The card's action is done: its log and record say who did it (and the new ``status``),
    the audit keeps ``audited`` with ``details``, the press is answered ``said`` (a catalogue
    key) and the card redrawn."""
    log_action(press.record, logged, press.actor)
    save(press.services, press.key, press.record, status=status, by=press.actor)
    press.services.store.audit(press.user_id, audited, press.key, **details)
    await answer_quietly(press.query, tr(press.services, said, press.user_id))
    await redraw(press.context, press.record, press.query)


async def _like_comment(press: Press) -> None:
    services, record = press.services, _comment(press)
    item = record["item"]
    try:
        await services.resont.comments.like(item["id"])
    except ResontError as exc:
        await _refused(press, exc, "error_gone_comment")
        return
    item["liked"] = not item["liked"]
    if item["liked"]:
        await _acted(press, "liked", "inbox.like", "liked")
    else:
        await _acted(press, "unliked", "inbox.unlike", "unliked")


async def _delete_comment(press: Press) -> None:
    services, record = press.services, _comment(press)
    try:
        await services.resont.comments.delete(record["item"]["id"])
    except ResontNotFound:
        pass  # already gone: the card closes all the same
    except ResontError as exc:
        await _refused(press, exc, "error_gone_comment")
        await redraw(press.context, record, press.query)
        return
    await _acted(press, "deleted", "inbox.delete", "deleted", status="deleted")


async def _mark_done(press: Press) -> None:
    await _acted(press, "done", "inbox.done", "marked_done", status="done")


async def _like_message(press: Press) -> None:
    services = press.services
    if not isinstance(press.data, buttons.DmLike):
        raise LookupError(f"{type(press.data).__name__} is not a DM like button")
    message_id = press.data.message  # the card's newest message as the press saw it
    try:
        await services.resont.conversations.react(message_id)
    except ResontError as exc:
        await _refused(press, exc, "error_gone_dm")
        return
    await _acted(press, "liked", "inbox.like", "liked", message=message_id)


# ---------------------------------------------------------------------------------- tags


async def _tags_for(press: Press) -> list[Tag]:
    if press.is_dm:
        return await press.services.resont.conversation_tags.all()
    return await press.services.resont.comment_tags.all()


async def _show_tags(press: Press) -> None:
    services = press.services
    try:
        tags = await _tags_for(press)
    except ResontError as exc:
        await _refused(press, exc, "error_gone_tags")
        return
    if not tags:
        await answer_quietly(press.query, tr(services, "no_tags_defined", press.user_id), alert=True)
        return
    chosen = [tag["id"] for tag in holder_of(press.record)["tags"]]
    await answer_quietly(press.query, tr(services, "choose_tags", press.user_id))
    markup = tag_keyboard(services, press.toggle, press.back, tags, chosen)
    await redraw(press.context, press.record, press.query, markup=markup)


async def _toggle_tag(press: Press) -> None:
    services, record = press.services, press.record
    holder = holder_of(record)
    current = [tag["id"] for tag in holder["tags"]]
    if not isinstance(press.data, buttons.CommentTag | buttons.DmTag):
        raise LookupError(f"{type(press.data).__name__} is not a tag button")
    tag_id = press.data.tag
    wanted = [t for t in current if t != tag_id] if tag_id in current else [*current, tag_id]
    try:
        tags = await _tags_for(press)
        result: Conversation | Comment
        if press.is_dm:
            result = await services.resont.conversations.tag(holder["id"], wanted)
        else:
            result = await services.resont.comments.tag(holder["id"], wanted)
    except ResontError as exc:
        await _refused(press, exc, "error_gone_dm" if press.is_dm else "error_gone_comment")
        return
    names = {tag.id: tag.name or str(tag.id) for tag in tags}
    returned = tags_of(result.tags)
    holder["tags"] = returned if returned or not wanted else [{"id": i, "name": names.get(i, str(i))} for i in wanted]
    log_action(record, "tagged", press.actor, ", ".join(str(tag["name"]) for tag in holder["tags"]))
    save(services, press.key, record, by=press.actor)
    services.store.audit(press.user_id, "inbox.tag", press.key, tags=wanted)
    await answer_quietly(press.query, tr(services, "tags_saved", press.user_id))
    chosen = [tag["id"] for tag in holder["tags"]]
    markup = tag_keyboard(services, press.toggle, press.back, tags, chosen)
    await redraw(press.context, record, press.query, markup=markup)

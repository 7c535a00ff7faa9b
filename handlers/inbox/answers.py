"""Inbox answers: a reply to a card, or the answer to a Reply-button question, goes out through
Resont (comments: text; DMs: text, a photo or a document uploaded as the attachment, caption as
the text) and the card then shows who replied what."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import TelegramError

from bot.clients.resont.errors import ResontError
from bot.clients.resont.forms import Upload
from bot.runtime.context import Context
from bot.runtime.update_parts import message_of
from handlers.inbox import cards
from handlers.inbox.common import log_action, redraw, resont_failure, save, tr
from handlers.inbox.docs import CommentRecord, DmRecord, ItemRecord
from handlers.inbox.records import read_item, remember_own
from handlers.inbox.snapshots import excerpt

if TYPE_CHECKING:
    from telegram import Message

    from bot.runtime.services import Services

log = logging.getLogger(__name__)

#: Largest file a bot may download from Telegram (and so pass on as a DM attachment).
MAX_ATTACHMENT = 20 * 1024 * 1024


async def on_card_reply(update: Update, context: Context, target: Mapping[str, object]) -> None:
    """A reply to a card: answer its item through Resont (the card's reply target names it)."""
    await _answer_item(update, context, str(target.get("item", "")))


async def on_prompt_reply(update: Update, context: Context, target: Mapping[str, object]) -> None:
    """The answer to a Reply-button question (the question's data names the item)."""
    data = target.get("data")
    await _answer_item(update, context, str(data.get("item", "")) if isinstance(data, Mapping) else "")


async def _attachment(message: Message) -> tuple[Upload | None, str | None]:
    """The photo or document of ``message`` as an upload, or (None, error key)."""
    if message.photo:
        photo = message.photo[-1]
        if photo.file_size and photo.file_size > MAX_ATTACHMENT:
            return None, "error_file_too_big"
        file = await photo.get_file()
        data = await file.download_as_bytearray()
        return Upload(bytes(data), f"photo_{photo.file_unique_id}.jpg", "image/jpeg"), None
    if message.document:
        document = message.document
        if document.file_size and document.file_size > MAX_ATTACHMENT:
            return None, "error_file_too_big"
        file = await document.get_file()
        data = await file.download_as_bytearray()
        name = document.file_name or f"file_{document.file_unique_id}"
        return Upload(bytes(data), name, document.mime_type or "application/octet-stream"), None
    return None, None


async def _answer_item(update: Update, context: Context, key: str) -> None:
    """Send ``update``'s message as the answer to the item ``key``; the card shows it."""
    message = message_of(update)
    services = context.services
    user = update.effective_user
    user_id = user.id if user else None
    actor = cards.actor_name(user)
    async with services.locks(key):
        record = read_item(services, key)
        if record is None:
            await message.reply_text(tr(services, "item_unknown", user_id))
            return
        text = (message.text or message.caption or "").strip()
        sent, file_name = await _reply(message, services, user_id, key, record, text)
        if not sent:
            return
        log_action(record, "replied", actor, excerpt(text, cards.REPLY_EXCERPT_MAX), file=file_name)
        status = record["status"] if record["status"] in ("done", "deleted") else "replied"
        save(services, key, record, status=status, by=actor)
        services.store.audit(user_id or 0, "inbox.reply", key, attachment=bool(file_name))
        await redraw(context, record)


async def _reply(
    message: Message, services: Services, user_id: int | None, key: str, record: ItemRecord, text: str
) -> tuple[bool, str | None]:
    """Answer the item through Resont; returns (sent, attachment name)."""
    if record["type"] == "comment":
        return await _reply_comment(message, services, user_id, key, record, text)
    return await _reply_dm(message, services, user_id, key, record, text)


async def _reply_comment(
    message: Message, services: Services, user_id: int | None, key: str, record: CommentRecord, text: str
) -> tuple[bool, str | None]:
    """Answer a comment (text only); (False, None) once a refusal has been answered."""
    if message.photo or message.document or message.video or message.voice:
        await message.reply_text(tr(services, "error_comment_text_only", user_id))
        return False, None
    if not text:
        await message.reply_text(tr(services, "error_empty_reply", user_id))
        return False, None
    item = record["item"]
    try:
        created = await services.resont.comments.reply(item["id"], text, username=item["username"])
    except ResontError as exc:
        await _refused(message, services, user_id, key, exc, "error_gone_comment")
        return False, None
    remember_own(services, "comment", created.id)
    return True, None


async def _reply_dm(
    message: Message, services: Services, user_id: int | None, key: str, record: DmRecord, text: str
) -> tuple[bool, str | None]:
    """Answer a DM conversation (text and/or the attachment); returns (sent, attachment name)."""
    try:
        upload, problem = await _attachment(message)
    except TelegramError as exc:
        log.warning("inbox: could not download a reply's file: %s", exc)
        await message.reply_text(tr(services, "error_download", user_id))
        return False, None
    if problem:
        await message.reply_text(tr(services, problem, user_id, mb=MAX_ATTACHMENT // (1024 * 1024)))
        return False, None
    if not text and upload is None:
        await message.reply_text(tr(services, "error_empty_reply", user_id))
        return False, None
    conversation_id = record["item"]["conversation"]["id"]
    try:
        sent = await services.resont.conversations.reply(conversation_id, text, attachment=upload)
    except ResontError as exc:
        await _refused(message, services, user_id, key, exc, "error_gone_dm")
        return False, None
    remember_own(services, "msg", sent.id)
    return True, (upload.filename if upload is not None else None)


async def _refused(
    message: Message, services: Services, user_id: int | None, key: str, exc: ResontError, gone_key: str
) -> None:
    """Resont refused an answer: say why (with the trace id) and audit it."""
    await message.reply_text(resont_failure(services, user_id, exc, gone_key))
    services.store.audit(user_id or 0, "inbox.reply_failed", key, trace_id=exc.trace_id, error=exc.message)

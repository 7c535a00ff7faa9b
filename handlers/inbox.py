"""Inbox bridge: Resont comments and direct messages as cards in the admin chat, answered there.

* Polls (``RepeatingJob`` every ``poll_seconds``) and the optional webhook feed one pipeline
  (:mod:`handlers.inbox_poll`); cards are drawn by :mod:`handlers.inbox_cards`.
* Answering: reply to a card (text; for DMs also a photo or a document, uploaded as the
  attachment), or press Reply and answer the question. The answer goes out through Resont and
  the card says who replied what.
* Buttons: like, tag, delete (with confirmation, comments), done; digest lines expand into cards.
* ``/inbox`` lists the open items by account.

Who may do this is declared here (agents and admins) and enforced by ``handlers.guard`` and the
reply router; nothing re-checks roles by hand.
"""

from __future__ import annotations

import html
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.config import Config
from bot.context import Context
from bot.feature import Command, Feature, RepeatingJob, ReplyRoute
from bot.resont import Upload
from bot.resont_errors import ResontError, ResontNotFound
from bot.roles import INBOX
from bot.webhook import WebhookServer
from handlers import inbox_cards as cards
from handlers import inbox_poll as pipeline
from handlers.inbox_poll import CARD_KIND, PROMPT_KIND, comment_key, message_key, table
from handlers.replies import ask, remember_card

if TYPE_CHECKING:
    from telegram import CallbackQuery, Message
    from telegram.ext import Application

    from bot.services import Services

log = logging.getLogger(__name__)

#: Largest file a bot may download from Telegram (and so pass on as a DM attachment).
MAX_ATTACHMENT = 20 * 1024 * 1024
INBOX_LIST_MAX = 40  # items listed by /inbox


def feature(config: Config) -> Feature:
    return Feature(
        name="inbox",
        handlers=[
            CommandHandler("inbox", on_inbox),
            CallbackQueryHandler(on_comment_button, pattern=r"^cmt:"),
            CallbackQueryHandler(on_dm_button, pattern=r"^dm:"),
            CallbackQueryHandler(on_inbox_button, pattern=r"^inbox:"),
        ],
        commands=[Command("inbox", INBOX, "inbox.cmd_inbox")],
        callbacks={"cmt": INBOX, "dm": INBOX, "inbox": INBOX},
        replies={
            CARD_KIND: ReplyRoute(INBOX, on_card_reply),
            PROMPT_KIND: ReplyRoute(INBOX, on_prompt_reply),
        },
        jobs=[
            RepeatingJob("inbox-comments", pipeline.poll_comments),
            RepeatingJob("inbox-dms", pipeline.poll_dms, first=1.5),
        ],
        on_start=[start_inbox],
        on_stop=[pipeline.stop_inbox],
        status_lines=[status_lines],
    )


# ---------------------------------------------------------------------------------- start-up


async def start_inbox(app: Application) -> None:
    """Create the inbox runtime; start the webhook receiver when ``PORT`` is set."""
    services: Services = app.bot_data.services
    rt = pipeline.runtime(app)
    config = services.config
    if config.port is None:
        return

    async def on_event(event: Any) -> None:
        await pipeline.on_webhook_event(app, event)

    server = WebhookServer(
        secret=config.webhook_secret, on_event=on_event, parse=services.resont.parse_webhook, port=config.port
    )
    try:
        await server.start()
    except OSError as exc:
        # Polling still delivers everything: keep the bot up and tell the admins once.
        log.error("the Resont webhook cannot listen on port %s: %s", config.port, exc)
        await services.alerts.raise_(
            app.bot, "inbox:webhook", services.t("inbox.alert_webhook_failed", None, port=str(config.port),
                                                 error=html.escape(str(exc)[:200])),
        )
        await server.aclose()
        return
    await services.alerts.resolve(app.bot, "inbox:webhook")
    rt.webhook = server


def status_lines(services: Services, user_id: int | None) -> list[str]:
    tbl = table(services)
    open_items = pending = 0
    for _, doc in tbl.items():
        if doc.get("type") in pipeline.ITEM_TYPES and doc.get("status") in pipeline.OPEN_STATUSES:
            open_items += 1
        elif doc.get("status") == "pending" and doc.get("type") in ("comment", "msg", "dm"):
            pending += 1
    return [services.t("inbox.status_line", user_id, open=open_items, pending=pending)]


# ---------------------------------------------------------------------------------- helpers


def _t(services: Services, key: str, user_id: int | None, **values: Any) -> str:
    return services.t(f"inbox.{key}", user_id, **values)


def _trace(services: Services, user_id: int | None, exc: ResontError) -> str:
    return _t(services, "trace", user_id, trace_id=html.escape(exc.trace_id)) if exc.trace_id else ""


def _resont_failure(services: Services, user_id: int | None, exc: ResontError, gone_key: str) -> str:
    """One sentence for a refused Resont call (HTML), with the trace id support asks for."""
    if isinstance(exc, ResontNotFound):
        return _t(services, gone_key, user_id, trace=_trace(services, user_id, exc))
    return _t(services, "error_refused", user_id, message=html.escape(exc.message), trace=_trace(services, user_id, exc))


def _log(record: dict[str, Any], action: str, actor: str, text: str | None = None, **extra: Any) -> None:
    entry = {"a": action, "by": actor, **extra}
    if text is not None:
        entry["text"] = text
    record.setdefault("log", []).append(entry)
    record["log"] = record["log"][-20:]


def _save(services: Services, key: str, record: dict[str, Any], *, status: str | None = None, by: str | None = None) -> None:
    now = pipeline.now_ts(services)
    if status is not None:
        record["status"] = status
    if by is not None:
        record["by"] = by
    record["updated"] = now
    table(services).put(key, record)


async def _answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except TelegramError as exc:
        log.info("could not answer a button press: %s", exc)


def _ints(parts: list[str], count: int) -> list[int] | None:
    """``count`` integers from callback data parts (forged data gives None)."""
    if len(parts) < count:
        return None
    try:
        return [int(p) for p in parts[:count]]
    except ValueError:
        return None


async def _redraw(context: Context, record: dict[str, Any], query: CallbackQuery | None = None, markup: Any = "card") -> None:
    """Redraw the card: the pressed message when there is one, else the record's card."""
    services = context.services
    chat_id = message_id = None
    if query is not None and query.message is not None:
        chat_id, message_id = query.message.chat.id, query.message.message_id
    try:
        if markup == "card":
            await pipeline.edit_card(context.bot, services, record, chat_id=chat_id, message_id=message_id)
            if chat_id is not None and record.get("card_message") not in (None, message_id):
                await pipeline.edit_card(context.bot, services, record)
        else:
            text, _ = cards.render_card(services, record)
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode="HTML", reply_markup=markup,
                link_preview_options=pipeline.NO_PREVIEW,
            )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("inbox: could not redraw a card: %s", exc)


# ---------------------------------------------------------------------------------- comment buttons


async def on_comment_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    parts = (query.data or "").split(":")
    numbers = _ints(parts[2:], 1)
    action = parts[1] if len(parts) > 1 else ""
    if numbers is None:
        await _answer(query, services.t("core.stale_button", user_id), alert=True)
        return
    comment_id = numbers[0]
    key = comment_key(comment_id)
    async with services.locks(key):
        record = table(services).get(key)
        if record is None or record.get("type") != "comment":
            await _answer(query, _t(services, "item_unknown", user_id), alert=True)
            return
        actor = cards.actor_name(query.from_user)
        if record.get("status") in ("done", "deleted") and action not in ("r",):
            await _answer(query, _t(services, "already_closed", user_id))
            await _redraw(context, record, query)
            return
        if action == "r":
            await _ask_reply(query, context, key, record)
        elif action == "l":
            await _like_comment(query, context, key, record, actor)
        elif action == "d":
            await _answer(query, _t(services, "confirm_delete", user_id))
            await _redraw(context, record, query, markup=cards.delete_keyboard(services, comment_id))
        elif action == "dn":
            await _answer(query)
            await _redraw(context, record, query)
        elif action == "dy":
            await _delete_comment(query, context, key, record, actor)
        elif action == "t":
            await _show_tags(query, context, "cmt", str(comment_id), record)
        elif action == "tg":
            tag = _ints(parts[3:], 1)
            if tag is None:
                await _answer(query, services.t("core.stale_button", user_id), alert=True)
                return
            await _toggle_tag(query, context, "cmt", str(comment_id), key, record, tag[0], actor)
        elif action == "tb":
            await _answer(query)
            await _redraw(context, record, query)
        elif action == "ok":
            await _mark_done(query, context, key, record, actor)
        else:
            await _answer(query, services.t("core.stale_button", user_id), alert=True)


async def _ask_reply(query: CallbackQuery, context: Context, key: str, record: dict[str, Any]) -> None:
    services = context.services
    user = query.from_user
    if record["type"] == "dm":
        target = cards.who(record["item"]["conversation"], services)
        text = _t(services, "prompt_reply_dm", user.id, who=target, name=html.escape(cards.actor_name(user)))
    else:
        target = cards.who(record["item"], services)
        text = _t(services, "prompt_reply_comment", user.id, who=target, name=html.escape(cards.actor_name(user)))
    message = query.message
    chat_id = message.chat.id if message is not None else services.config.admin_chat_id
    try:
        await ask(
            context, chat_id, text, kind=PROMPT_KIND, user_id=user.id, data={"item": key},
            thread_id=getattr(message, "message_thread_id", None) if getattr(message, "is_topic_message", False) else None,
            reply_to=message.message_id if message is not None else None,
        )
    except TelegramError as exc:
        log.warning("inbox: could not ask for a reply: %s", exc)
        await _answer(query, _t(services, "telegram_failed", user.id), alert=True)
        return
    await _answer(query, _t(services, "prompt_sent", user.id))


async def _like_comment(query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str) -> None:
    services = context.services
    user_id = query.from_user.id
    item = record["item"]
    try:
        await services.resont.like_comment(item["id"])
    except ResontError as exc:
        await _answer(query, _plain(_resont_failure(services, user_id, exc, "error_gone_comment")), alert=True)
        return
    item["liked"] = not item.get("liked")
    _log(record, "liked" if item["liked"] else "unliked", actor)
    _save(services, key, record, by=actor)
    services.store.audit(user_id, "inbox.like" if item["liked"] else "inbox.unlike", key)
    await _answer(query, _t(services, "liked" if item["liked"] else "unliked", user_id))
    await _redraw(context, record, query)


async def _delete_comment(query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str) -> None:
    services = context.services
    user_id = query.from_user.id
    try:
        await services.resont.delete_comment(record["item"]["id"])
    except ResontNotFound:
        pass  # already gone: the card closes all the same
    except ResontError as exc:
        await _answer(query, _plain(_resont_failure(services, user_id, exc, "error_gone_comment")), alert=True)
        await _redraw(context, record, query)
        return
    _log(record, "deleted", actor)
    _save(services, key, record, status="deleted", by=actor)
    services.store.audit(user_id, "inbox.delete", key)
    await _answer(query, _t(services, "deleted", user_id))
    await _redraw(context, record, query)


async def _mark_done(query: CallbackQuery, context: Context, key: str, record: dict[str, Any], actor: str) -> None:
    services = context.services
    user_id = query.from_user.id
    _log(record, "done", actor)
    _save(services, key, record, status="done", by=actor)
    services.store.audit(user_id, "inbox.done", key)
    await _answer(query, _t(services, "marked_done", user_id))
    await _redraw(context, record, query)


async def _tags_for(services: Services, prefix: str) -> list[Any]:
    if prefix == "dm":
        return await services.resont.conversation_tags()
    return await services.resont.comment_tags()


def _tag_holder(record: dict[str, Any]) -> dict[str, Any]:
    return record["item"]["conversation"] if record["type"] == "dm" else record["item"]


async def _show_tags(query: CallbackQuery, context: Context, prefix: str, ids: str, record: dict[str, Any]) -> None:
    services = context.services
    user_id = query.from_user.id
    try:
        tags = await _tags_for(services, prefix)
    except ResontError as exc:
        await _answer(query, _plain(_resont_failure(services, user_id, exc, "error_gone_tags")), alert=True)
        return
    if not tags:
        await _answer(query, _t(services, "no_tags_defined", user_id), alert=True)
        return
    chosen = [tag.get("id") for tag in _tag_holder(record).get("tags", [])]
    await _answer(query, _t(services, "choose_tags", user_id))
    await _redraw(context, record, query, markup=cards.tag_keyboard(services, prefix, ids, tags, chosen))


async def _toggle_tag(
    query: CallbackQuery, context: Context, prefix: str, ids: str, key: str, record: dict[str, Any], tag_id: int, actor: str
) -> None:
    services = context.services
    user_id = query.from_user.id
    holder = _tag_holder(record)
    current = [tag.get("id") for tag in holder.get("tags", [])]
    wanted = [t for t in current if t != tag_id] if tag_id in current else [*current, tag_id]
    try:
        tags = await _tags_for(services, prefix)
        if prefix == "dm":
            result = await services.resont.tag_conversation(holder["id"], wanted)
        else:
            result = await services.resont.tag_comment(holder["id"], wanted)
    except ResontError as exc:
        gone = "error_gone_dm" if prefix == "dm" else "error_gone_comment"
        await _answer(query, _plain(_resont_failure(services, user_id, exc, gone)), alert=True)
        return
    names = {tag.id: tag.name or str(tag.id) for tag in tags}
    returned = cards.tags_of(result.tags)
    holder["tags"] = returned if returned or not wanted else [{"id": i, "name": names.get(i, str(i))} for i in wanted]
    _log(record, "tagged", actor, ", ".join(str(tag["name"]) for tag in holder["tags"]))
    _save(services, key, record, by=actor)
    services.store.audit(user_id, "inbox.tag", key, tags=wanted)
    await _answer(query, _t(services, "tags_saved", user_id))
    chosen = [tag["id"] for tag in holder["tags"]]
    await _redraw(context, record, query, markup=cards.tag_keyboard(services, prefix, ids, tags, chosen))


def _plain(text: str) -> str:
    """HTML catalogue text as a plain button alert (alerts are not parsed)."""
    return html.unescape(text.replace("<b>", "").replace("</b>", "").replace("<code>", "").replace("</code>", ""))


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
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    numbers = _ints(parts[2:], 2)
    if numbers is None:
        await _answer(query, services.t("core.stale_button", user_id), alert=True)
        return
    conversation_id, message_id = numbers
    found = _dm_record(services, message_id)
    if found is None:
        await _answer(query, _t(services, "item_unknown", user_id), alert=True)
        return
    key, _ = found
    async with services.locks(key):
        record = table(services).get(key)
        if record is None:
            await _answer(query, _t(services, "item_unknown", user_id), alert=True)
            return
        actor = cards.actor_name(query.from_user)
        ids = f"{conversation_id}:{message_id}"
        if record.get("status") in ("done", "deleted") and action != "r":
            await _answer(query, _t(services, "already_closed", user_id))
            await _redraw(context, record, query)
            return
        if action == "r":
            await _ask_reply(query, context, key, record)
        elif action == "l":
            try:
                await services.resont.react_message(message_id)
            except ResontError as exc:
                await _answer(query, _plain(_resont_failure(services, user_id, exc, "error_gone_dm")), alert=True)
                return
            _log(record, "liked", actor)
            _save(services, key, record, by=actor)
            services.store.audit(user_id, "inbox.like", key, message=message_id)
            await _answer(query, _t(services, "liked", user_id))
            await _redraw(context, record, query)
        elif action == "t":
            await _show_tags(query, context, "dm", ids, record)
        elif action == "tg":
            tag = _ints(parts[4:], 1)
            if tag is None:
                await _answer(query, services.t("core.stale_button", user_id), alert=True)
                return
            await _toggle_tag(query, context, "dm", ids, key, record, tag[0], actor)
        elif action == "tb":
            await _answer(query)
            await _redraw(context, record, query)
        elif action == "ok":
            await _mark_done(query, context, key, record, actor)
        else:
            await _answer(query, services.t("core.stale_button", user_id), alert=True)


# ---------------------------------------------------------------------------------- digests


async def on_inbox_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    parts = (query.data or "").split(":", 2)
    action = parts[1] if len(parts) > 1 else ""
    arg = parts[2] if len(parts) > 2 else ""
    if action == "x" and arg:
        await _expand(query, context, arg)
    elif action == "da" and arg:
        await _digest_done(query, context, arg)
    else:
        await _answer(query, services.t("core.stale_button", user_id), alert=True)


async def _expand(query: CallbackQuery, context: Context, key: str) -> None:
    """A digest line becomes a full card (sent once)."""
    services = context.services
    user_id = query.from_user.id
    async with services.locks(key):
        record = table(services).get(key)
        if record is None or record.get("type") not in pipeline.ITEM_TYPES:
            await _answer(query, _t(services, "item_unknown", user_id), alert=True)
            return
        if record.get("status") not in pipeline.OPEN_STATUSES:
            await _answer(query, _t(services, "already_closed", user_id), alert=True)
            return
        if record.get("card"):
            await _answer(query, _t(services, "already_expanded", user_id))
            return
        text, markup = cards.render_card(services, record)
        try:
            sent = await services.send_admin(context.bot, text, topic=pipeline.topic_of(record), markup=markup)
        except TelegramError as exc:
            log.warning("inbox: could not expand %s: %s", key, exc)
            await _answer(query, _t(services, "telegram_failed", user_id), alert=True)
            return
        record.update(card=f"{sent.chat_id}:{sent.message_id}", card_chat=sent.chat_id, card_message=sent.message_id)
        _save(services, key, record)
        remember_card(services.store, sent.chat_id, sent.message_id, CARD_KIND, item=key)
    await _answer(query, _t(services, "expanded", user_id))


async def _digest_done(query: CallbackQuery, context: Context, digest_id: str) -> None:
    services = context.services
    user_id = query.from_user.id
    tbl = table(services)
    dkey = pipeline.digest_key(digest_id)
    digest = tbl.get(dkey)
    if digest is None:
        await _answer(query, _t(services, "item_unknown", user_id), alert=True)
        return
    actor = cards.actor_name(query.from_user)
    entries = []
    closed = 0
    for key in digest.get("items", []):
        async with services.locks(key):
            record = tbl.get(key)
            if record is None:
                continue
            if record.get("status") in pipeline.OPEN_STATUSES:
                _log(record, "done", actor)
                _save(services, key, record, status="done", by=actor)
                closed += 1
                if record.get("card"):
                    await _redraw(context, record)
            entries.append((key, record))
    digest.update(status="done", by=actor, updated=pipeline.now_ts(services))
    tbl.put(dkey, digest)
    services.store.audit(user_id, "inbox.digest_done", dkey, count=closed)
    await _answer(query, _t(services, "digest_marked", user_id, count=closed))
    text = cards.render_digest(services, digest.get("kind", "comment"), entries, digest.get("part", 1),
                               digest.get("parts", 1), closed_by=actor)
    try:
        await context.bot.edit_message_text(
            text, chat_id=digest["chat"], message_id=digest["message_id"], parse_mode="HTML",
            link_preview_options=pipeline.NO_PREVIEW,
        )
    except TelegramError as exc:
        log.warning("inbox: could not close digest %s: %s", digest_id, exc)


# ---------------------------------------------------------------------------------- answers


async def on_card_reply(update: Update, context: Context, target: dict[str, Any]) -> None:
    """A reply to a card: answer its item through Resont."""
    await _answer_item(update, context, str(target.get("item", "")))


async def on_prompt_reply(update: Update, context: Context, target: dict[str, Any]) -> None:
    """The answer to a Reply-button question."""
    await _answer_item(update, context, str((target.get("data") or {}).get("item", "")))


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
    message = update.effective_message
    assert message is not None
    services = context.services
    user = update.effective_user
    user_id = user.id if user else None
    actor = cards.actor_name(user)
    async with services.locks(key):
        record = table(services).get(key)
        if record is None or record.get("type") not in pipeline.ITEM_TYPES:
            await message.reply_text(_t(services, "item_unknown", user_id))
            return
        text = (message.text or message.caption or "").strip()
        if record["type"] == "comment":
            if message.photo or message.document or message.video or message.voice:
                await message.reply_text(_t(services, "error_comment_text_only", user_id))
                return
            if not text:
                await message.reply_text(_t(services, "error_empty_reply", user_id))
                return
            item = record["item"]
            try:
                created = await services.resont.reply_comment(item["id"], text, username=item.get("username"))
            except ResontError as exc:
                await message.reply_text(_resont_failure(services, user_id, exc, "error_gone_comment"), parse_mode="HTML")
                services.store.audit(user_id or 0, "inbox.reply_failed", key, trace_id=exc.trace_id, error=exc.message)
                return
            pipeline.remember_own(services, "comment", created.id)
            file_name = None
        else:
            try:
                upload, problem = await _attachment(message)
            except TelegramError as exc:
                log.warning("inbox: could not download a reply's file: %s", exc)
                await message.reply_text(_t(services, "error_download", user_id))
                return
            if problem:
                await message.reply_text(_t(services, problem, user_id, mb=MAX_ATTACHMENT // (1024 * 1024)))
                return
            if not text and upload is None:
                await message.reply_text(_t(services, "error_empty_reply", user_id))
                return
            conversation_id = record["item"]["conversation"]["id"]
            try:
                sent = await services.resont.reply_conversation(conversation_id, text, attachment=upload)
            except ResontError as exc:
                await message.reply_text(_resont_failure(services, user_id, exc, "error_gone_dm"), parse_mode="HTML")
                services.store.audit(user_id or 0, "inbox.reply_failed", key, trace_id=exc.trace_id, error=exc.message)
                return
            pipeline.remember_own(services, "msg", sent.id)
            file_name = upload.filename if upload is not None else None
        _log(record, "replied", actor, cards.excerpt(text, cards.REPLY_EXCERPT_MAX), **({"file": file_name} if file_name else {}))
        status = record["status"] if record.get("status") in ("done", "deleted") else "replied"
        _save(services, key, record, status=status, by=actor)
        services.store.audit(user_id or 0, "inbox.reply", key, attachment=bool(file_name))
        await _redraw(context, record)


# ---------------------------------------------------------------------------------- /inbox


def card_link(chat_id: int | None, message_id: int | None) -> str | None:
    """A t.me link to a message in a supergroup (``-100…`` chat ids), else None."""
    if chat_id is None or message_id is None:
        return None
    text = str(chat_id)
    if not text.startswith("-100") or len(text) <= 4:
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


async def on_inbox(update: Update, context: Context) -> None:
    services = context.services
    user_id = update.effective_user.id if update.effective_user else None
    tbl = table(services)
    open_items = [
        (key, doc) for key, doc in tbl.items()
        if doc.get("type") in pipeline.ITEM_TYPES and doc.get("status") in pipeline.OPEN_STATUSES
    ]
    message = update.effective_message
    assert message is not None
    if not open_items:
        await message.reply_text(_t(services, "inbox_empty", user_id), parse_mode="HTML")
        return
    by_account: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for key, doc in sorted(open_items, key=lambda kd: kd[1].get("at", 0)):
        holder = doc["item"]["conversation"] if doc["type"] == "dm" else doc["item"]
        by_account[cards.account_label(holder, services)].append((key, doc))
    lines = [_t(services, "inbox_title", user_id, count=len(open_items))]
    shown = 0
    for (network, account), entries in sorted(by_account.items()):
        lines.append("")
        lines.append(_t(services, "inbox_account", user_id, account=account or network, network=network, count=len(entries)))
        for key, doc in entries:
            if shown >= INBOX_LIST_MAX:
                break
            shown += 1
            lines.append(_inbox_line(services, user_id, key, doc))
    if shown < len(open_items):
        lines.append(_t(services, "inbox_more", user_id, count=len(open_items) - shown))
    text = "\n".join(lines)
    if len(text) > cards.CARD_MAX:
        text = text[: cards.CARD_MAX - 1] + "…"
    await message.reply_text(text, parse_mode="HTML", link_preview_options=pipeline.NO_PREVIEW)


def _inbox_line(services: Services, user_id: int | None, key: str, doc: dict[str, Any]) -> str:
    if doc["type"] == "dm":
        holder = doc["item"]["conversation"]
        last = (doc["item"].get("messages") or [{}])[-1]
        text = last.get("text") or (_t(services, "media_short", user_id) if last.get("attachment") else "")
        icon = "✉️"
    else:
        holder = doc["item"]
        text = holder.get("text") or ""
        icon = "💬"
    state = _t(services, f"state_{doc.get('status')}", user_id)
    url = card_link(doc.get("card_chat"), doc.get("card_message"))
    if url is None and doc.get("digest"):
        digest = table(services).get(pipeline.digest_key(doc["digest"])) or {}
        url = card_link(digest.get("chat"), digest.get("message_id"))
    where = cards.link(url, _t(services, "open_card", user_id)) if url else ""
    return _t(
        services, "inbox_line", user_id, icon=icon, who=cards.who(holder, services),
        text=html.escape(cards.excerpt(text, 60)), state=state, link=where,
    ).rstrip()

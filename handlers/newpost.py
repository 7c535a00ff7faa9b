"""/newpost: an author (or admin) proposes a post from Telegram.

Steps: media (photo, album, video, document) or a text → caption → accounts and account groups
from an inline multi-select → time → summary with Submit. On Submit the bot downloads the files
from Telegram, uploads them to Resont, creates a draft and sends its approval card, so the draft
enters the same approval flow as drafts written in Resont. ``/cancel`` (or the Cancel button)
leaves at any step; nothing reaches Resont before Submit.

Files are checked before anything is uploaded: Telegram lets bots download at most 20 MB, and
Resont's own per-file limit (``me/files``) is checked at Submit; unsupported kinds (voice,
stickers, audio, executables …) are refused with the reason.
"""

from __future__ import annotations

import html
import logging
import mimetypes
import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.context import Context
from bot.resont import PostInput
from bot.resont_errors import ResontError
from bot.timeparse import TimeParseError, parse_when
from handlers import replies
from handlers.posts_cards import excerpt, size_text, when_text

log = logging.getLogger(__name__)

MEDIA, CAPTION, ACCOUNTS, TIME, CONFIRM = range(5)

#: Telegram's limit for files a bot downloads (getFile).
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_ALBUM = 10
ACCOUNTS_PER_PAGE = 8
CONVERSATION_TIMEOUT = 3600.0
#: Document types accepted besides images and videos.
DOCUMENT_TYPES = frozenset({
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/zip",
    "text/plain",
    "text/csv",
})
_UNSUPPORTED = (
    filters.AUDIO | filters.VOICE | filters.Sticker.ALL | filters.VIDEO_NOTE | filters.ANIMATION
    | filters.LOCATION | filters.CONTACT | filters.POLL | filters.Dice.ALL | filters.VENUE
)
_MEDIA = filters.PHOTO | filters.VIDEO | filters.Document.ALL
_TEXT = filters.TEXT & ~filters.COMMAND


def conversation() -> ConversationHandler:
    # Buttons and messages share one conversation per (chat, user): per_message=False is meant,
    # so PTB's warning about CallbackQueryHandlers not being tracked per message is noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return _conversation()


def _conversation() -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("newpost", start)],
        states={
            MEDIA: [
                MessageHandler(_UNSUPPORTED, on_unsupported),
                MessageHandler(_MEDIA, on_media),
                MessageHandler(_TEXT, on_text_post),
            ],
            CAPTION: [
                MessageHandler(_UNSUPPORTED, on_unsupported),
                MessageHandler(_MEDIA, on_media),
                MessageHandler(_TEXT, on_caption),
                CallbackQueryHandler(on_keep_caption, pattern=r"^newpost:keep$"),
            ],
            ACCOUNTS: [
                CallbackQueryHandler(on_account_button, pattern=r"^newpost:(a|g|p):\d+$|^newpost:done$"),
                MessageHandler(_MEDIA, on_late_media),
                MessageHandler(_TEXT, on_use_buttons),
            ],
            TIME: [
                MessageHandler(_TEXT, on_time),
                MessageHandler(_MEDIA, on_late_media),
                CallbackQueryHandler(on_asap, pattern=r"^newpost:asap$"),
            ],
            CONFIRM: [
                CallbackQueryHandler(on_submit, pattern=r"^newpost:submit$"),
                MessageHandler(_MEDIA, on_late_media),
                MessageHandler(_TEXT, on_use_buttons),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", on_cancel),
            CallbackQueryHandler(on_cancel, pattern=r"^newpost:cancel$"),
        ],
        allow_reentry=True,
        per_chat=True,
        per_user=True,
        per_message=False,
        conversation_timeout=CONVERSATION_TIMEOUT,
        name="newpost",
    )


# --------------------------------------------------------------------------- helpers


def _draft(context: Context) -> dict[str, Any]:
    draft = context.user_data.get("newpost")
    if draft is None:
        draft = context.user_data["newpost"] = _new_draft()
    return draft


def _new_draft() -> dict[str, Any]:
    return {"media": [], "caption": "", "group_id": None, "accounts": [], "groups": [], "page": 0,
            "choices": None, "when": None}


def _t(context: Context, update: Update, key: str, **values: Any) -> str:
    user_id = update.effective_user.id if update.effective_user else None
    return context.services.t(key, user_id, **values)


async def _delegated(update: Update, context: Context) -> bool:
    """A reply to one of the bot's questions or cards is for the reply router, not for this
    conversation (an admin can answer a "reason?" prompt in the middle of a proposal)."""
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        return False
    if replies.find_target(context.services.store, message.chat_id, message.reply_to_message.message_id) is None:
        return False
    await replies.on_reply(update, context)
    return True


def _buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])


async def _answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    if update.callback_query is None:
        return
    try:
        await update.callback_query.answer(text[:200] if text else None, show_alert=alert)
    except TelegramError as exc:
        log.warning("could not answer a button press: %s", exc)


# --------------------------------------------------------------------------- steps


async def start(update: Update, context: Context) -> int:
    context.user_data["newpost"] = _new_draft()
    await update.effective_message.reply_text(
        _t(context, update, "posts.np_start"),
        reply_markup=_buttons([[(_t(context, update, "posts.btn_cancel"), "newpost:cancel")]]),
    )
    return MEDIA


def describe_media(message: Message) -> tuple[dict[str, Any] | None, str | None, dict[str, Any]]:
    """(item, None, {}) for an acceptable file, or (None, refusal key, values)."""
    if message.photo:
        photo = message.photo[-1]
        item = {"file_id": photo.file_id, "kind": "image", "size": photo.file_size,
                "name": f"photo_{photo.file_unique_id}.jpg", "mime": "image/jpeg"}
    elif message.video:
        video = message.video
        mime = video.mime_type or "video/mp4"
        item = {"file_id": video.file_id, "kind": "video", "size": video.file_size,
                "name": video.file_name or f"video_{video.file_unique_id}{mimetypes.guess_extension(mime) or '.mp4'}",
                "mime": mime}
    elif message.document:
        document = message.document
        mime = (document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or "").lower()
        if mime.startswith("image/"):
            kind = "image"
        elif mime.startswith("video/"):
            kind = "video"
        elif mime in DOCUMENT_TYPES:
            kind = "document"
        else:
            return None, "posts.np_unsupported_type", {"name": document.file_name or "?", "mime": mime or "?"}
        item = {"file_id": document.file_id, "kind": kind, "size": document.file_size,
                "name": document.file_name or f"file_{document.file_unique_id}", "mime": mime}
    else:
        return None, "posts.np_unsupported", {}
    if item["size"] is not None and item["size"] > MAX_DOWNLOAD:
        return None, "posts.np_too_big", {"size": size_text(item["size"]), "limit": size_text(MAX_DOWNLOAD)}
    return item, None, {}


async def on_unsupported(update: Update, context: Context) -> int | None:
    await update.effective_message.reply_text(_t(context, update, "posts.np_unsupported"))
    return None


async def on_media(update: Update, context: Context) -> int | None:
    message = update.effective_message
    item, refusal, values = describe_media(message)
    if item is None:
        await message.reply_text(_t(context, update, refusal, **values))
        return None
    services = context.services
    async with services.locks(f"newpost:{message.chat_id}:{update.effective_user.id}"):
        draft = _draft(context)
        same_group = message.media_group_id is not None and message.media_group_id == draft.get("group_id")
        if len(draft["media"]) >= MAX_ALBUM:
            if not same_group or not draft.get("told_full"):
                draft["told_full"] = True
                await message.reply_text(_t(context, update, "posts.np_album_full", max=MAX_ALBUM))
            return CAPTION
        draft["media"].append(item)
        if message.caption and not draft["caption"]:
            draft["caption"] = message.caption
        if same_group:
            return CAPTION  # the rest of an album: one answer for the whole album
        draft["group_id"] = message.media_group_id
        count = len(draft["media"])
    rows = [[(_t(context, update, "posts.btn_cancel"), "newpost:cancel")]]
    if draft["caption"]:
        key = "posts.np_got_media_caption"
        rows.insert(0, [(_t(context, update, "posts.btn_keep_caption"), "newpost:keep")])
    else:
        key = "posts.np_got_media"
    await message.reply_text(_t(context, update, key, count=count), reply_markup=_buttons(rows))
    return CAPTION


async def on_late_media(update: Update, context: Context) -> int | None:
    """A file after the media step: the late items of an album are kept (Telegram delivers an
    album as separate messages), anything else is refused."""
    message = update.effective_message
    draft = _draft(context)
    if message.media_group_id is None or message.media_group_id != draft.get("group_id") or draft.get("submitted"):
        await message.reply_text(_t(context, update, "posts.np_media_too_late"))
        return None
    item, refusal, values = describe_media(message)
    if item is None:
        await message.reply_text(_t(context, update, refusal, **values))
    elif len(draft["media"]) < MAX_ALBUM:
        draft["media"].append(item)
    return None


async def on_text_post(update: Update, context: Context) -> int | None:
    """A text instead of media: a text-only post with that caption."""
    if await _delegated(update, context):
        return None
    draft = _draft(context)
    draft["caption"] = update.effective_message.text or ""
    return await _show_accounts(update, context)


async def on_caption(update: Update, context: Context) -> int | None:
    if await _delegated(update, context):
        return None
    _draft(context)["caption"] = update.effective_message.text or ""
    return await _show_accounts(update, context)


async def on_keep_caption(update: Update, context: Context) -> int | None:
    await _answer(update)
    await _drop_buttons(update)
    return await _show_accounts(update, context)


async def _drop_buttons(update: Update) -> None:
    """Remove the buttons of the message whose button was just used (it is done)."""
    try:
        await update.callback_query.edit_message_reply_markup(InlineKeyboardMarkup([]))
    except TelegramError as exc:
        log.info("could not remove used buttons: %s", exc)


async def _load_choices(update: Update, context: Context) -> dict[str, Any] | None:
    services = context.services
    try:
        accounts = await services.resont.accounts()
        groups = await services.resont.account_groups()
    except ResontError as exc:
        trace = f" (trace id {exc.trace_id})" if exc.trace_id else ""
        await update.effective_message.reply_text(
            _t(context, update, "posts.np_accounts_failed", error=exc.message + trace)
        )
        return None
    return {
        "accounts": [[a.id, a.name or f"#{a.id}", a.type or "", bool(a.login_required)] for a in accounts if a.id is not None],
        "groups": [[g.id, g.name or f"#{g.id}", list(g.account_ids)] for g in groups if g.id is not None],
    }


async def _show_accounts(update: Update, context: Context) -> int | None:
    draft = _draft(context)
    choices = await _load_choices(update, context)
    if choices is None:
        return None
    if not choices["accounts"]:
        await update.effective_message.reply_text(_t(context, update, "posts.np_no_accounts"))
        context.user_data.pop("newpost", None)
        return ConversationHandler.END
    draft["choices"] = choices
    draft["page"] = 0
    await update.effective_message.reply_text(
        _accounts_text(update, context), parse_mode="HTML", reply_markup=_accounts_keyboard(update, context)
    )
    return ACCOUNTS


def _accounts_text(update: Update, context: Context) -> str:
    draft = _draft(context)
    return _t(context, update, "posts.np_pick_accounts", count=len(draft["accounts"]))


def _accounts_keyboard(update: Update, context: Context) -> InlineKeyboardMarkup:
    draft = _draft(context)
    choices = draft["choices"]
    selected = set(draft["accounts"])
    rows: list[list[tuple[str, str]]] = []
    for group_id, name, members in choices["groups"]:
        full = bool(members) and set(members) <= selected
        mark = "☑" if full else "☐"
        rows.append([(f"{mark} 👥 {name} ({len(members)})"[:60], f"newpost:g:{group_id}")])
    accounts = choices["accounts"]
    pages = max(1, -(-len(accounts) // ACCOUNTS_PER_PAGE))
    page = min(max(0, draft.get("page", 0)), pages - 1)
    for account_id, name, network, relogin in accounts[page * ACCOUNTS_PER_PAGE:(page + 1) * ACCOUNTS_PER_PAGE]:
        mark = "☑" if account_id in selected else "☐"
        warn = " ⚠️" if relogin else ""
        rows.append([(f"{mark} {name} · {network or '?'}{warn}"[:60], f"newpost:a:{account_id}")])
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(("◀", f"newpost:p:{page - 1}"))
        nav.append((f"{page + 1}/{pages}", f"newpost:p:{page}"))
        if page < pages - 1:
            nav.append(("▶", f"newpost:p:{page + 1}"))
        rows.append(nav)
    rows.append([
        (_t(context, update, "posts.btn_done_count", count=len(selected)), "newpost:done"),
        (_t(context, update, "posts.btn_cancel"), "newpost:cancel"),
    ])
    return _buttons(rows)


async def on_account_button(update: Update, context: Context) -> int | None:
    query = update.callback_query
    draft = _draft(context)
    choices = draft.get("choices")
    if not choices:
        await _answer(update, _t(context, update, "posts.np_stale"), alert=True)
        return None
    parts = (query.data or "").split(":")
    if parts[1] == "done":
        if not draft["accounts"]:
            await _answer(update, _t(context, update, "posts.np_pick_one"), alert=True)
            return None
        await _answer(update)
        names = _selected_names(draft)
        try:
            await query.edit_message_text(
                _t(context, update, "posts.np_accounts_chosen", accounts=html.escape(", ".join(names))), parse_mode="HTML",
                reply_markup=InlineKeyboardMarkup([]),
            )
        except TelegramError as exc:
            log.info("could not close the account picker: %s", exc)
        await _ask_time(update, context)
        return TIME
    value = int(parts[2])
    selected = list(draft["accounts"])
    known = {a[0] for a in choices["accounts"]}
    if parts[1] == "a" and value in known:
        if value in selected:
            selected.remove(value)
        else:
            selected.append(value)
    elif parts[1] == "g":
        members = next((g[2] for g in choices["groups"] if g[0] == value), [])
        members = [m for m in members if m in known]
        if members and set(members) <= set(selected):
            selected = [a for a in selected if a not in members]
        else:
            selected += [m for m in members if m not in selected]
    elif parts[1] == "p":
        draft["page"] = value
    draft["accounts"] = selected
    await _answer(update)
    try:
        await query.edit_message_text(
            _accounts_text(update, context), parse_mode="HTML", reply_markup=_accounts_keyboard(update, context)
        )
    except TelegramError as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not update the account picker: %s", exc)
    return None


def _selected_names(draft: dict[str, Any]) -> list[str]:
    names = {a[0]: f"{a[1]} ({a[2] or '?'})" for a in draft["choices"]["accounts"]}
    return [names.get(a, f"#{a}") for a in draft["accounts"]]


async def _ask_time(update: Update, context: Context) -> None:
    zone = context.services.config.timezone
    await update.effective_message.reply_text(
        _t(context, update, "posts.np_ask_time", zone=zone,
           hint=_t(context, update, "time.hint", zone=zone)),
        reply_markup=_buttons([[
            (_t(context, update, "posts.btn_asap"), "newpost:asap"),
            (_t(context, update, "posts.btn_cancel"), "newpost:cancel"),
        ]]),
    )


async def on_use_buttons(update: Update, context: Context) -> int | None:
    if await _delegated(update, context):
        return None
    await update.effective_message.reply_text(_t(context, update, "posts.np_use_buttons"))
    return None


async def on_time(update: Update, context: Context) -> int | None:
    if await _delegated(update, context):
        return None
    services = context.services
    user_id = update.effective_user.id
    lang = services.lang(user_id)
    now = services.clock()
    try:
        moment = parse_when(update.effective_message.text or "", now=now, tz=services.tz, lang=lang)
    except TimeParseError as err:
        await update.effective_message.reply_text(err.render(services.i18n, lang))
        return None
    moment = moment.replace(second=0, microsecond=0)
    if moment <= now:
        await update.effective_message.reply_text(
            services.t("time.err_in_past", user_id, when=when_text(services, moment.timestamp(), lang))
        )
        return None
    _draft(context)["when"] = moment.timestamp()
    return await _show_summary(update, context)


async def on_asap(update: Update, context: Context) -> int | None:
    await _answer(update)
    await _drop_buttons(update)
    _draft(context)["when"] = None
    return await _show_summary(update, context)


def _summary(update: Update, context: Context) -> str:
    services = context.services
    user_id = update.effective_user.id
    lang = services.lang(user_id)
    draft = _draft(context)
    media = draft["media"]
    if not media:
        what = services.t("posts.np_kind_text", user_id)
    elif len(media) > 1:
        what = services.t("posts.media_album", user_id, count=len(media))
    else:
        what = services.t(f"posts.media_{media[0]['kind']}", user_id)
    when = (when_text(services, draft["when"], lang) if draft["when"] is not None
            else services.t("posts.np_when_asap", user_id))
    return services.t(
        "posts.np_summary",
        user_id,
        what=what,
        caption=html.escape(excerpt(draft["caption"], 600)) or "—",
        accounts=html.escape(", ".join(_selected_names(draft))),
        when=html.escape(when),
    )


def _summary_keyboard(update: Update, context: Context) -> InlineKeyboardMarkup:
    return _buttons([[
        (_t(context, update, "posts.btn_submit"), "newpost:submit"),
        (_t(context, update, "posts.btn_cancel"), "newpost:cancel"),
    ]])


async def _show_summary(update: Update, context: Context) -> int:
    await update.effective_message.reply_text(
        _summary(update, context), parse_mode="HTML", reply_markup=_summary_keyboard(update, context)
    )
    return CONFIRM


def post_type(media: list[dict[str, Any]]) -> str:
    if not media:
        return "text"
    if len(media) > 1:
        return "album"
    return media[0]["kind"]


async def on_submit(update: Update, context: Context) -> int | None:
    """Check sizes against Resont's limit, upload, create the draft, send its card."""
    from handlers import posts  # the card machinery (imported here: posts imports this module)

    services = context.services
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    async with services.locks(f"newpost:{query.message.chat_id if query.message else 0}:{user.id}"):
        if draft.get("submitted"):
            await _answer(update, _t(context, update, "posts.np_already_submitted"), alert=True)
            return ConversationHandler.END
        await _answer(update, _t(context, update, "posts.np_uploading"))
        refusal = await _check_storage(update, context, draft["media"])
        if refusal:
            await _edit(query, _summary(update, context) + "\n\n" + html.escape(refusal), _summary_keyboard(update, context))
            return None
        try:
            media_ids = await _upload(update, context, draft["media"])
        except _Refused as exc:
            await _edit(query, _summary(update, context) + "\n\n" + html.escape(str(exc)), _summary_keyboard(update, context))
            return None
        except ResontError as exc:
            services.store.audit(user.id, "post.propose", "post_group:new", outcome="error", error=exc.message,
                                 trace_id=exc.trace_id)
            await _edit(query, _summary(update, context) + "\n\n" + _error_line(context, exc),
                        _summary_keyboard(update, context))
            return None
        when = draft["when"]
        post = PostInput(
            caption=draft["caption"],
            type=post_type(draft["media"]),
            account_ids=list(draft["accounts"]),
            media_ids=media_ids or None,
            is_draft=True,
            is_scheduled=True if when is not None else None,
            schedule_date=int(when) if when is not None else None,
        )
        author = posts.display_name(user)
        try:
            async with services.locks(posts.POLL_LOCK):
                group = await services.resont.create_post(post)
                accounts = {a[0]: [a[1], a[2]] for a in draft["choices"]["accounts"]}
                try:
                    await posts.create_card(context, group, accounts, author=author, schedule_ts=when)
                except TelegramError as exc:
                    log.warning("could not send the card of the new draft %s: %s", group.id, exc)
        except ResontError as exc:
            services.store.audit(user.id, "post.propose", "post_group:new", outcome="error", error=exc.message,
                                 trace_id=exc.trace_id)
            await _edit(query, _summary(update, context) + "\n\n" + _error_line(context, exc),
                        _summary_keyboard(update, context))
            return None
        draft["submitted"] = True
    services.store.audit(user.id, "post.propose", f"post_group:{group.id}", outcome="ok", media_ids=media_ids,
                         accounts=list(draft["accounts"]), schedule_ts=when)
    await _edit(query, _summary(update, context) + "\n\n" + _t(context, update, "posts.np_done", id=str(group.id)))
    context.user_data.pop("newpost", None)
    return ConversationHandler.END


class _Refused(Exception):
    """A file cannot be taken (too big to download); ``str()`` is the user's message."""


def _error_line(context: Context, exc: ResontError) -> str:
    services = context.services
    from handlers.posts_cards import error_text

    return error_text(services, exc.message, exc.trace_id, services.config.language)


async def _check_storage(update: Update, context: Context, media: list[dict[str, Any]]) -> str | None:
    """Refuse before uploading when Resont's per-file limit or free space is too small."""
    if not media:
        return None
    try:
        storage = await context.services.resont.storage()
    except ResontError as exc:
        log.info("Resont storage limits unknown (%s): uploading without checking them", exc)
        return None
    limit = storage.max_file_size
    for item in media:
        if limit and item.get("size") and item["size"] > limit:
            return _t(context, update, "posts.np_too_big_resont", name=item["name"], size=size_text(item["size"]),
                      limit=storage.max_file_size_readable or size_text(limit))
    total = sum(item.get("size") or 0 for item in media if not item.get("resont_id"))
    if storage.remaining_storage is not None and total > storage.remaining_storage:
        return _t(context, update, "posts.np_no_space", size=size_text(total),
                  left=storage.remaining_storage_readable or size_text(storage.remaining_storage))
    return None


async def _upload(update: Update, context: Context, media: list[dict[str, Any]]) -> list[int]:
    """Download each file from Telegram and upload it to Resont (once: a retry after a failure
    reuses what was uploaded)."""
    services = context.services
    ids: list[int] = []
    for item in media:
        if item.get("resont_id") is None:
            try:
                tg_file = await context.bot.get_file(item["file_id"])
                if tg_file.file_size and tg_file.file_size > MAX_DOWNLOAD:
                    raise _Refused(_t(context, update, "posts.np_too_big", size=size_text(tg_file.file_size),
                                      limit=size_text(MAX_DOWNLOAD)))
                content = bytes(await tg_file.download_as_bytearray())
            except TelegramError as exc:
                raise _Refused(_t(context, update, "posts.np_download_failed", name=item["name"], error=str(exc))) from exc
            if len(content) > MAX_DOWNLOAD:
                raise _Refused(_t(context, update, "posts.np_too_big", size=size_text(len(content)),
                                  limit=size_text(MAX_DOWNLOAD)))
            uploaded = await services.resont.upload_file(content, item["name"], item["mime"])
            item["resont_id"] = uploaded.id
        ids.append(int(item["resont_id"]))
    return ids


async def _edit(query: Any, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    try:
        await query.edit_message_text(text[:4096], parse_mode="HTML", reply_markup=markup or InlineKeyboardMarkup([]))
    except TelegramError as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not update the proposal summary: %s", exc)


async def on_cancel(update: Update, context: Context) -> int:
    context.user_data.pop("newpost", None)
    text = _t(context, update, "posts.np_cancelled")
    if update.callback_query is not None:
        await _answer(update)
        await _edit(update.callback_query, html.escape(text))
    else:
        await update.effective_message.reply_text(text)
    return ConversationHandler.END


async def on_stale_button(update: Update, context: Context) -> None:
    """A ``newpost:`` button outside an active proposal (an old message, another author's)."""
    await _answer(update, _t(context, update, "posts.np_stale"), alert=True)

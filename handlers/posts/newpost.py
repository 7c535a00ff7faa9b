"""/newpost: an author (or admin) proposes a post from Telegram.

Steps: media (photo, album, video, document) or a text → caption → accounts and account groups
from an inline multi-select → time → summary with Submit. On Submit the bot uploads the files to
Resont (see :mod:`handlers.posts.media`), creates a draft and sends its approval card, so the
draft enters the same approval flow as drafts written in Resont. ``/cancel`` (or the Cancel
button) leaves at any step; nothing reaches Resont before Submit.
"""

from __future__ import annotations

import functools
import html
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.clients.resont.errors import ResontError
from bot.clients.resont.forms import PostInput
from bot.clients.resont.post_models import PostGroup
from bot.runtime.context import Context
from bot.runtime.tg.buttons import button, step
from bot.runtime.tg.callback import ButtonData
from bot.runtime.tg.quiet import edit_quietly, quietly
from bot.text.timeparse import parse_when
from bot.text.timewords import TimeParseError
from handlers import replies
from handlers.posts.actions import answer
from handlers.posts.buttons import (
    PICKER,
    AccountsDone,
    Asap,
    CancelProposal,
    KeepCaption,
    Page,
    Submit,
    ToggleAccount,
    ToggleGroup,
)
from handlers.posts.cards import error_text, excerpt, when_text
from handlers.posts.media import Refused, describe_media, post_type, upload_all
from handlers.posts.picker import choice_rows, load_choices, pick, selected_names
from handlers.posts.poll import create_card
from handlers.posts.state import POLL_LOCK, display_name

log = logging.getLogger(__name__)

MEDIA, CAPTION, ACCOUNTS, TIME, CONFIRM = range(5)

MAX_ALBUM = 10
CONVERSATION_TIMEOUT = 3600.0
_UNSUPPORTED = (
    filters.AUDIO
    | filters.VOICE
    | filters.Sticker.ALL
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.LOCATION
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
    | filters.VENUE
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
            MEDIA: [*_taking_media(), MessageHandler(_TEXT, on_caption)],
            CAPTION: [
                *_taking_media(),
                MessageHandler(_TEXT, on_caption),
                step(KeepCaption, on_keep_caption),
            ],
            ACCOUNTS: [
                step(PICKER, on_account_button),
                *_buttons_only(),
            ],
            TIME: [
                MessageHandler(_TEXT, on_time),
                MessageHandler(_MEDIA, on_late_media),
                step(Asap, on_asap),
            ],
            CONFIRM: [step(Submit, on_submit), *_buttons_only()],
        },
        fallbacks=[
            CommandHandler("cancel", on_cancel),
            step(CancelProposal, on_cancel),
        ],
        allow_reentry=True,
        per_chat=True,
        per_user=True,
        per_message=False,
        conversation_timeout=CONVERSATION_TIMEOUT,
        name="newpost",
    )


def _taking_media() -> list[BaseHandler]:
    """The steps that take files: refuse unsupported kinds, add the others."""
    return [MessageHandler(_UNSUPPORTED, on_unsupported), MessageHandler(_MEDIA, on_media)]


def _buttons_only() -> list[BaseHandler]:
    """The steps answered with buttons: late album items are kept, texts are told so."""
    return [MessageHandler(_MEDIA, on_late_media), MessageHandler(_TEXT, on_use_buttons)]


# --------------------------------------------------------------------------- helpers


def _draft(context: Context) -> dict[str, Any]:
    draft = context.user_data.get("newpost")
    if draft is None:
        draft = context.user_data["newpost"] = _new_draft()
    return draft


def _new_draft() -> dict[str, Any]:
    return {
        "media": [],
        "caption": "",
        "group_id": None,
        "accounts": [],
        "groups": [],
        "page": 0,
        "choices": None,
        "when": None,
    }


def _escaped(values: dict[str, Any]) -> dict[str, str]:
    """A media refusal's values (file names, types) made safe for an HTML message."""
    return {name: html.escape(str(value)) for name, value in values.items()}


def _t(context: Context, update: Update, key: str, **values: Any) -> str:
    user_id = update.effective_user.id if update.effective_user else None
    return context.services.t(key, user_id, **values)


Step = Callable[[Update, Context], Awaitable["int | None"]]


def _unless_a_reply(step: Step) -> Step:
    """A reply to one of the bot's questions or cards goes to the reply router instead of
    ``step`` (an admin can answer a "reason?" prompt in the middle of a proposal)."""

    @functools.wraps(step)
    async def wrapper(update: Update, context: Context) -> int | None:
        message = update.effective_message
        if message is not None and message.reply_to_message is not None:
            store = context.services.store
            if replies.find_target(store, message.chat_id, message.reply_to_message.message_id) is not None:
                await replies.on_reply(update, context)
                return None
        return await step(update, context)

    return wrapper


def _buttons(rows: list[list[tuple[str, ButtonData]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(text, data) for text, data in row] for row in rows])


def _cancel_row(context: Context, update: Update) -> list[tuple[str, ButtonData]]:
    return [(_t(context, update, "posts.btn_cancel"), CancelProposal())]


async def _drop_buttons(update: Update) -> None:
    """Remove the buttons of the message whose button was just used (it is done)."""
    await quietly(update.callback_query.edit_message_reply_markup(InlineKeyboardMarkup([])), "remove used buttons")


async def _edit(query: Any, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    await edit_quietly(query, text[:4096], markup or InlineKeyboardMarkup([]), what="update the proposal summary")


# --------------------------------------------------------------------------- media and caption


async def start(update: Update, context: Context) -> int:
    context.user_data["newpost"] = _new_draft()
    await update.effective_message.reply_text(
        _t(context, update, "posts.np_start"), reply_markup=_buttons([_cancel_row(context, update)])
    )
    return MEDIA


async def on_unsupported(update: Update, context: Context) -> int | None:
    await update.effective_message.reply_text(_t(context, update, "posts.np_unsupported"))
    return None


async def on_media(update: Update, context: Context) -> int | None:
    """A file: added to the proposal; the first of an album (or a lone file) is answered."""
    message = update.effective_message
    item, refusal, values = describe_media(message)
    if item is None:
        await message.reply_text(_t(context, update, refusal, **_escaped(values)))
        return None
    async with context.services.locks(f"newpost:{message.chat_id}:{update.effective_user.id}"):
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
    await _ask_caption(update, context, draft, count)
    return CAPTION


async def _ask_caption(update: Update, context: Context, draft: dict[str, Any], count: int) -> None:
    """ "Got it": write the caption, or keep the one the file came with."""
    rows = [_cancel_row(context, update)]
    if draft["caption"]:
        key = "posts.np_got_media_caption"
        rows.insert(0, [(_t(context, update, "posts.btn_keep_caption"), KeepCaption())])
    else:
        key = "posts.np_got_media"
    await update.effective_message.reply_text(_t(context, update, key, count=count), reply_markup=_buttons(rows))


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
        await message.reply_text(_t(context, update, refusal, **_escaped(values)))
    elif len(draft["media"]) < MAX_ALBUM:
        draft["media"].append(item)
    return None


@_unless_a_reply
async def on_caption(update: Update, context: Context) -> int | None:
    """The caption; a text instead of media is a text-only post with that caption."""
    _draft(context)["caption"] = update.effective_message.text or ""
    return await _show_accounts(update, context)


async def on_keep_caption(update: Update, context: Context, data: KeepCaption) -> int | None:
    await answer(update)
    await _drop_buttons(update)
    return await _show_accounts(update, context)


# --------------------------------------------------------------------------- accounts


async def _load_choices(update: Update, context: Context) -> dict[str, Any] | None:
    """The accounts and account groups to pick from, or None after saying Resont failed."""
    try:
        return await load_choices(context.services)
    except ResontError as exc:
        trace = f" (trace id {exc.trace_id})" if exc.trace_id else ""
        await update.effective_message.reply_text(
            _t(context, update, "posts.np_accounts_failed", error=html.escape(exc.message + trace))
        )
        return None


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
        _accounts_text(update, context), reply_markup=_accounts_keyboard(update, context)
    )
    return ACCOUNTS


def _accounts_text(update: Update, context: Context) -> str:
    draft = _draft(context)
    return _t(context, update, "posts.np_pick_accounts", count=len(draft["accounts"]))


def _accounts_keyboard(update: Update, context: Context) -> InlineKeyboardMarkup:
    """The picker's choices, then Done (with the count) and Cancel."""
    draft = _draft(context)
    done = (_t(context, update, "posts.btn_done_count", count=len(set(draft["accounts"]))), AccountsDone())
    return _buttons([*choice_rows(draft), [done, *_cancel_row(context, update)]])


async def on_account_button(
    update: Update, context: Context, data: ToggleAccount | ToggleGroup | Page | AccountsDone
) -> int | None:
    """Toggle an account (``newpost:a:<id>``) or a group (``newpost:g:<id>``), turn the page
    (``newpost:p:<page>``), or Done (``newpost:done``)."""
    draft = _draft(context)
    if not draft.get("choices"):
        await answer(update, _t(context, update, "posts.np_stale"), alert=True)
        return None
    if isinstance(data, AccountsDone):
        return await _accounts_done(update, context)
    pick(draft, data.action, data.n)
    await answer(update)
    markup = _accounts_keyboard(update, context)
    await edit_quietly(update.callback_query, _accounts_text(update, context), markup, what="update the account picker")
    return None


async def _accounts_done(update: Update, context: Context) -> int | None:
    """Done: at least one account, then the picker closes and the time is asked."""
    draft = _draft(context)
    if not draft["accounts"]:
        await answer(update, _t(context, update, "posts.np_pick_one"), alert=True)
        return None
    await answer(update)
    names = html.escape(", ".join(selected_names(draft)))
    text = _t(context, update, "posts.np_accounts_chosen", accounts=names)
    await edit_quietly(update.callback_query, text, InlineKeyboardMarkup([]), what="close the account picker")
    await _ask_time(update, context)
    return TIME


@_unless_a_reply
async def on_use_buttons(update: Update, context: Context) -> int | None:
    await update.effective_message.reply_text(_t(context, update, "posts.np_use_buttons"))
    return None


# --------------------------------------------------------------------------- time and summary


async def _ask_time(update: Update, context: Context) -> None:
    zone = context.services.config.timezone
    await update.effective_message.reply_text(
        _t(context, update, "posts.np_ask_time", zone=zone, hint=_t(context, update, "time.hint", zone=zone)),
        reply_markup=_buttons([[(_t(context, update, "posts.btn_asap"), Asap()), *_cancel_row(context, update)]]),
    )


@_unless_a_reply
async def on_time(update: Update, context: Context) -> int | None:
    services = context.services
    user_id = update.effective_user.id
    lang = services.lang(user_id)
    now = services.clock()
    try:
        moment = parse_when(update.effective_message.text or "", now=now, tz=services.tz, lang=lang)
    except TimeParseError as err:
        await update.effective_message.reply_text(html.escape(err.render(services.i18n, lang)))
        return None
    moment = moment.replace(second=0, microsecond=0)
    if moment <= now:
        await update.effective_message.reply_text(
            services.t("time.err_in_past", user_id, when=when_text(services, moment.timestamp(), lang))
        )
        return None
    _draft(context)["when"] = moment.timestamp()
    return await _show_summary(update, context)


async def on_asap(update: Update, context: Context, data: Asap) -> int | None:
    await answer(update)
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
    when = (
        when_text(services, draft["when"], lang)
        if draft["when"] is not None
        else services.t("posts.np_when_asap", user_id)
    )
    return services.t(
        "posts.np_summary",
        user_id,
        what=what,
        caption=html.escape(excerpt(draft["caption"], 600)) or "—",
        accounts=html.escape(", ".join(selected_names(draft))),
        when=html.escape(when),
    )


def _summary_keyboard(update: Update, context: Context) -> InlineKeyboardMarkup:
    return _buttons([[(_t(context, update, "posts.btn_submit"), Submit()), *_cancel_row(context, update)]])


async def _show_summary(update: Update, context: Context) -> int:
    await update.effective_message.reply_text(
        _summary(update, context), reply_markup=_summary_keyboard(update, context)
    )
    return CONFIRM


# --------------------------------------------------------------------------- submit


async def on_submit(update: Update, context: Context, data: Submit) -> int | None:
    """Check sizes against Resont's limit, upload, create the draft, send its card."""
    services = context.services
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    async with services.locks(f"newpost:{query.message.chat_id if query.message else 0}:{user.id}"):
        if draft.get("submitted"):
            await answer(update, _t(context, update, "posts.np_already_submitted"), alert=True)
            return ConversationHandler.END
        await answer(update, _t(context, update, "posts.np_uploading"))
        submitted = await _submit(update, context, draft)
        if submitted is None:
            return None
        draft["submitted"] = True
    group, media_ids = submitted
    services.store.audit(
        user.id,
        "post.propose",
        f"post_group:{group.id}",
        outcome="ok",
        media_ids=media_ids,
        accounts=list(draft["accounts"]),
        schedule_ts=draft["when"],
    )
    await _edit(query, _summary(update, context) + "\n\n" + _t(context, update, "posts.np_done", id=str(group.id)))
    context.user_data.pop("newpost", None)
    return ConversationHandler.END


async def _submit(update: Update, context: Context, draft: dict[str, Any]) -> tuple[PostGroup, list[int]] | None:
    """(the new draft, its Resont file ids), or None after showing why not on the summary."""
    services = context.services
    user = update.effective_user
    try:
        media_ids = await upload_all(context, user.id, draft["media"])
        group = await _create_draft(update, context, draft, media_ids)
    except Refused as exc:
        await _show_problem(update, context, html.escape(str(exc)))
        return None
    except ResontError as exc:
        services.store.audit(
            user.id, "post.propose", "post_group:new", outcome="error", error=exc.message, trace_id=exc.trace_id
        )
        await _show_problem(update, context, error_text(services, exc.message, exc.trace_id, services.config.language))
        return None
    return group, media_ids


async def _create_draft(update: Update, context: Context, draft: dict[str, Any], media_ids: list[int]) -> PostGroup:
    """Create the draft in Resont and send its approval card."""
    services = context.services
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
    accounts = {a[0]: [a[1], a[2]] for a in draft["choices"]["accounts"]}
    # Under the poll lock, so that no poll cards the new draft before its author is on the card.
    async with services.locks(POLL_LOCK):
        group = await services.resont.posts.create(post)
        try:
            # ``schedule_ts``: the card keeps the proposed time should Resont drop it from the draft.
            await create_card(context, group, accounts, author=display_name(update.effective_user), schedule_ts=when)
        except TelegramError as exc:
            log.warning("could not send the card of the new draft %s: %s", group.id, exc)
    return group


async def _show_problem(update: Update, context: Context, line: str) -> None:
    """The summary again, with what stopped the Submit under it and its buttons kept."""
    text = _summary(update, context) + "\n\n" + line
    await _edit(update.callback_query, text, _summary_keyboard(update, context))


async def on_cancel(update: Update, context: Context, data: CancelProposal | None = None) -> int:
    """Cancel: ``/cancel`` or the Cancel button (``data``)."""
    context.user_data.pop("newpost", None)
    text = _t(context, update, "posts.np_cancelled")
    if update.callback_query is not None:
        await answer(update)
        await _edit(update.callback_query, html.escape(text))
    else:
        await update.effective_message.reply_text(text)
    return ConversationHandler.END


async def on_stale_button(update: Update, context: Context, data: ButtonData | None = None) -> None:
    """A ``newpost:`` button outside an active proposal (an old message, another author's), or
    one that does not decode."""
    await answer(update, _t(context, update, "posts.np_stale"), alert=True)

"""/newpost: an author (or admin) proposes a post from Telegram.

Steps: media (photo, album, video, document) or a text → caption → accounts and account groups
from an inline multi-select → time → summary with Submit. On Submit the bot uploads the files to
Resont (see :mod:`handlers.posts.media`), creates a draft and sends its approval card, so the
draft enters the same approval flow as drafts written in Resont. ``/cancel`` (or the Cancel
button) leaves at any step; nothing reaches Resont before Submit.

The draft and the helpers every step uses live in :mod:`handlers.posts.proposal`, the summary and
Submit in :mod:`handlers.posts.submit`.
"""

from __future__ import annotations

import html
import warnings
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.clients.resont.errors import ResontError
from bot.runtime.context import Context
from bot.runtime.tg.buttons import step
from bot.runtime.tg.callback import ButtonData
from bot.runtime.tg.quiet import edit_quietly
from bot.runtime.update_parts import message_of, query_of, user_of
from bot.text.timeparse import parse_when
from bot.text.timewords import TimeParseError
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
from handlers.posts.cards import when_text
from handlers.posts.media import Refusal, describe_media
from handlers.posts.picker import choice_rows, load_choices, pick, selected_names
from handlers.posts.proposal import (
    ACCOUNTS,
    CAPTION,
    CONFIRM,
    MEDIA,
    TIME,
    Choices,
    Draft,
    cancel_row,
    draft_of,
    drop_buttons,
    drop_draft,
    edit_summary,
    escaped,
    keyboard,
    start_draft,
    text_for,
    unless_a_reply,
)
from handlers.posts.submit import on_submit, show_summary

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


def conversation() -> ConversationHandler[Context]:
    # Buttons and messages share one conversation per (chat, user): per_message=False is meant,
    # so PTB's warning about CallbackQueryHandlers not being tracked per message is noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return _conversation()


def _conversation() -> ConversationHandler[Context]:
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


def _taking_media() -> list[BaseHandler[Update, Context, Any]]:
    """The steps that take files: refuse unsupported kinds, add the others."""
    return [MessageHandler(_UNSUPPORTED, on_unsupported), MessageHandler(_MEDIA, on_media)]


def _buttons_only() -> list[BaseHandler[Update, Context, Any]]:
    """The steps answered with buttons: late album items are kept, texts are told so."""
    return [MessageHandler(_MEDIA, on_late_media), MessageHandler(_TEXT, on_use_buttons)]


# --------------------------------------------------------------------------- media and caption


async def start(update: Update, context: Context) -> int:
    start_draft(context)
    await message_of(update).reply_text(
        text_for(context, update, "posts.np_start"), reply_markup=keyboard([cancel_row(context, update)])
    )
    return MEDIA


async def on_unsupported(update: Update, context: Context) -> int | None:
    await message_of(update).reply_text(text_for(context, update, "posts.np_unsupported"))
    return None


async def on_media(update: Update, context: Context) -> int | None:
    """A file: added to the proposal; the first of an album (or a lone file) is answered."""
    message = message_of(update)
    item = describe_media(message)
    if isinstance(item, Refusal):
        await message.reply_text(text_for(context, update, item.key, **escaped(item.values)))
        return None
    async with context.services.locks(f"newpost:{message.chat_id}:{user_of(update).id}"):
        draft = draft_of(context)
        same_group = message.media_group_id is not None and message.media_group_id == draft.get("group_id")
        if len(draft["media"]) >= MAX_ALBUM:
            if not same_group or not draft.get("told_full"):
                draft["told_full"] = True
                await message.reply_text(text_for(context, update, "posts.np_album_full", max=MAX_ALBUM))
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


async def _ask_caption(update: Update, context: Context, draft: Draft, count: int) -> None:
    """ "Got it": write the caption, or keep the one the file came with."""
    rows = [cancel_row(context, update)]
    if draft["caption"]:
        key = "posts.np_got_media_caption"
        rows.insert(0, [(text_for(context, update, "posts.btn_keep_caption"), KeepCaption())])
    else:
        key = "posts.np_got_media"
    await message_of(update).reply_text(text_for(context, update, key, count=count), reply_markup=keyboard(rows))


async def on_late_media(update: Update, context: Context) -> int | None:
    """A file after the media step: the late items of an album are kept (Telegram delivers an
    album as separate messages), anything else is refused."""
    message = message_of(update)
    draft = draft_of(context)
    if message.media_group_id is None or message.media_group_id != draft.get("group_id") or draft.get("submitted"):
        await message.reply_text(text_for(context, update, "posts.np_media_too_late"))
        return None
    item = describe_media(message)
    if isinstance(item, Refusal):
        await message.reply_text(text_for(context, update, item.key, **escaped(item.values)))
    elif len(draft["media"]) < MAX_ALBUM:
        draft["media"].append(item)
    return None


@unless_a_reply
async def on_caption(update: Update, context: Context) -> int | None:
    """The caption; a text instead of media is a text-only post with that caption."""
    draft_of(context)["caption"] = message_of(update).text or ""
    return await _show_accounts(update, context)


async def on_keep_caption(update: Update, context: Context, data: KeepCaption) -> int | None:
    await answer(update)
    await drop_buttons(update)
    return await _show_accounts(update, context)


# --------------------------------------------------------------------------- accounts


async def _load_choices(update: Update, context: Context) -> Choices | None:
    """The accounts and account groups to pick from, or None after saying Resont failed."""
    try:
        return await load_choices(context.services)
    except ResontError as exc:
        trace = f" (trace id {exc.trace_id})" if exc.trace_id else ""
        await message_of(update).reply_text(
            text_for(context, update, "posts.np_accounts_failed", error=html.escape(exc.message + trace))
        )
        return None


async def _show_accounts(update: Update, context: Context) -> int | None:
    draft = draft_of(context)
    choices = await _load_choices(update, context)
    if choices is None:
        return None
    if not choices["accounts"]:
        await message_of(update).reply_text(text_for(context, update, "posts.np_no_accounts"))
        drop_draft(context)
        return ConversationHandler.END
    draft["choices"] = choices
    draft["page"] = 0
    await message_of(update).reply_text(
        _accounts_text(update, context), reply_markup=_accounts_keyboard(update, context)
    )
    return ACCOUNTS


def _accounts_text(update: Update, context: Context) -> str:
    draft = draft_of(context)
    return text_for(context, update, "posts.np_pick_accounts", count=len(draft["accounts"]))


def _accounts_keyboard(update: Update, context: Context) -> InlineKeyboardMarkup:
    """The picker's choices, then Done (with the count) and Cancel."""
    draft = draft_of(context)
    done = (text_for(context, update, "posts.btn_done_count", count=len(set(draft["accounts"]))), AccountsDone())
    return keyboard([*choice_rows(draft), [done, *cancel_row(context, update)]])


async def on_account_button(
    update: Update, context: Context, data: ToggleAccount | ToggleGroup | Page | AccountsDone
) -> int | None:
    """Toggle an account (``newpost:a:<id>``) or a group (``newpost:g:<id>``), turn the page
    (``newpost:p:<page>``), or Done (``newpost:done``)."""
    draft = draft_of(context)
    if not draft.get("choices"):
        await answer(update, text_for(context, update, "posts.np_stale"), alert=True)
        return None
    if isinstance(data, AccountsDone):
        return await _accounts_done(update, context)
    pick(draft, data.action, data.n)
    await answer(update)
    markup = _accounts_keyboard(update, context)
    await edit_quietly(query_of(update), _accounts_text(update, context), markup, what="update the account picker")
    return None


async def _accounts_done(update: Update, context: Context) -> int | None:
    """Done: at least one account, then the picker closes and the time is asked."""
    draft = draft_of(context)
    if not draft["accounts"]:
        await answer(update, text_for(context, update, "posts.np_pick_one"), alert=True)
        return None
    await answer(update)
    names = html.escape(", ".join(selected_names(draft)))
    text = text_for(context, update, "posts.np_accounts_chosen", accounts=names)
    await edit_quietly(query_of(update), text, InlineKeyboardMarkup([]), what="close the account picker")
    await _ask_time(update, context)
    return TIME


@unless_a_reply
async def on_use_buttons(update: Update, context: Context) -> int | None:
    await message_of(update).reply_text(text_for(context, update, "posts.np_use_buttons"))
    return None


# --------------------------------------------------------------------------- time and summary


async def _ask_time(update: Update, context: Context) -> None:
    zone = context.services.config.timezone
    await message_of(update).reply_text(
        text_for(
            context, update, "posts.np_ask_time", zone=zone, hint=text_for(context, update, "time.hint", zone=zone)
        ),
        reply_markup=keyboard([[(text_for(context, update, "posts.btn_asap"), Asap()), *cancel_row(context, update)]]),
    )


@unless_a_reply
async def on_time(update: Update, context: Context) -> int | None:
    services = context.services
    user_id = user_of(update).id
    lang = services.lang(user_id)
    now = services.clock()
    try:
        moment = parse_when(message_of(update).text or "", now=now, tz=services.tz, lang=lang)
    except TimeParseError as err:
        await message_of(update).reply_text(html.escape(err.render(services.i18n, lang)))
        return None
    moment = moment.replace(second=0, microsecond=0)
    if moment <= now:
        await message_of(update).reply_text(
            services.t("time.err_in_past", user_id, when=when_text(services, moment.timestamp(), lang))
        )
        return None
    draft_of(context)["when"] = moment.timestamp()
    return await show_summary(update, context)


async def on_asap(update: Update, context: Context, data: Asap) -> int | None:
    await answer(update)
    await drop_buttons(update)
    draft_of(context)["when"] = None
    return await show_summary(update, context)


async def on_cancel(update: Update, context: Context, data: CancelProposal | None = None) -> int:
    """Cancel: ``/cancel`` or the Cancel button (``data``)."""
    drop_draft(context)
    text = text_for(context, update, "posts.np_cancelled")
    if update.callback_query is not None:
        await answer(update)
        await edit_summary(update.callback_query, html.escape(text))
    else:
        await message_of(update).reply_text(text)
    return ConversationHandler.END


async def on_stale_button(update: Update, context: Context, data: ButtonData | None = None) -> None:
    """A ``newpost:`` button outside an active proposal (an old message, another author's), or
    one that does not decode."""
    await answer(update, text_for(context, update, "posts.np_stale"), alert=True)

"""/newpost's last step: the summary of the proposal and Submit (upload the files, create the
draft in Resont, send its approval card)."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot.clients.resont.errors import ResontError
from bot.clients.resont.forms import PostInput
from bot.clients.resont.post_models import PostGroup
from bot.runtime.context import Context
from bot.runtime.update_parts import message_of, query_of, user_of
from handlers.posts.actions import answer
from handlers.posts.buttons import (
    Submit,
)
from handlers.posts.cards import error_text, excerpt, when_text
from handlers.posts.media import Refused, post_type, upload_all
from handlers.posts.picker import choices_of, selected_names
from handlers.posts.poll import create_card
from handlers.posts.proposal import CONFIRM, Draft, cancel_row, draft_of, drop_draft, edit_summary, keyboard, text_for
from handlers.posts.state import POLL_LOCK, display_name

log = logging.getLogger(__name__)


def summary(update: Update, context: Context) -> str:
    services = context.services
    user_id = user_of(update).id
    lang = services.lang(user_id)
    draft = draft_of(context)
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


def summary_keyboard(update: Update, context: Context) -> InlineKeyboardMarkup:
    return keyboard([[(text_for(context, update, "posts.btn_submit"), Submit()), *cancel_row(context, update)]])


async def show_summary(update: Update, context: Context) -> int:
    await message_of(update).reply_text(summary(update, context), reply_markup=summary_keyboard(update, context))
    return CONFIRM


async def on_submit(update: Update, context: Context, data: Submit) -> int | None:
    """Check sizes against Resont's limit, upload, create the draft, send its card."""
    services = context.services
    query = query_of(update)
    user = user_of(update)
    draft = draft_of(context)
    async with services.locks(f"newpost:{query.message.chat.id if query.message else 0}:{user.id}"):
        if draft.get("submitted"):
            await answer(update, text_for(context, update, "posts.np_already_submitted"), alert=True)
            return ConversationHandler.END
        await answer(update, text_for(context, update, "posts.np_uploading"))
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
    await edit_summary(
        query, summary(update, context) + "\n\n" + text_for(context, update, "posts.np_done", id=str(group.id))
    )
    drop_draft(context)
    return ConversationHandler.END


async def _submit(update: Update, context: Context, draft: Draft) -> tuple[PostGroup, list[int]] | None:
    """(the new draft, its Resont file ids), or None after showing why not on the summary."""
    services = context.services
    user = user_of(update)
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


async def _create_draft(update: Update, context: Context, draft: Draft, media_ids: list[int]) -> PostGroup:
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
    accounts = {a.id: [a.name, a.network] for a in choices_of(draft)["accounts"]}
    # Under the poll lock, so that no poll cards the new draft before its author is on the card.
    async with services.locks(POLL_LOCK):
        group = await services.resont.posts.create(post)
        try:
            # ``schedule_ts``: the card keeps the proposed time should Resont drop it from the draft.
            await create_card(context, group, accounts, author=display_name(user_of(update)), schedule_ts=when)
        except TelegramError as exc:
            log.warning("could not send the card of the new draft %s: %s", group.id, exc)
    return group


async def _show_problem(update: Update, context: Context, line: str) -> None:
    """The summary again, with what stopped the Submit under it and its buttons kept."""
    text = summary(update, context) + "\n\n" + line
    await edit_summary(query_of(update), text, summary_keyboard(update, context))

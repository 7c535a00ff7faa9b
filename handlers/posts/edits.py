"""Edits that go through a question and a reply: buttons.Reschedule (and "pick a new time" after an
Approve found the time passed), Edit caption, and the optional reason of a rejection.

The admin answers a force-reply question under the card (routed by :mod:`handlers.replies`); a
new time or caption is confirmed with buttons before Resont is changed. buttons.Reschedule and Edit
caption read the post group from Resont first (see :func:`handlers.posts.actions.fresh`). A new
caption clears the approvals given so far (see :mod:`handlers.posts.resets`); a new time does not.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram import Message, Update, User

from bot.clients.resont.errors import ResontError
from bot.clients.resont.forms import PostEdit
from bot.clients.resont.post_models import PostGroup
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.update_parts import message_of, query_of, user_of
from bot.text.timeparse import format_when, parse_when
from bot.text.timewords import TimeParseError
from handlers.posts import buttons
from handlers.posts.actions import (
    answer,
    ask_on_card,
    edit_in_resont,
    edit_pressed,
    fresh,
    locked_pending,
    pending_doc,
)
from handlers.posts.cards import confirm_keyboard, when_text
from handlers.posts.decisions import approve
from handlers.posts.docs import PENDING, REJECTED, ApprovalDoc
from handlers.posts.state import (
    MIN_LEAD,
    accounts,
    already,
    apply_fresh,
    audit,
    display_name,
    mention,
    now,
    post_lock,
    redraw,
    table,
)

log = logging.getLogger(__name__)

#: Caption previews kept per card.
MAX_CAPTION_DRAFTS = 5
#: How much of a new caption its preview shows.
MAX_PREVIEW = 3500


async def _pending_for_reply(services: Services, message: Message, pg: int, user_id: int) -> ApprovalDoc | None:
    """The card's document if it still waits for a decision; otherwise reply why not."""
    doc = table(services).get(pg)
    if doc is None or doc.get("state") != PENDING:
        text = already(services, doc, user_id) if doc else services.t("posts.unknown_post", user_id)
        await message.reply_text(html.escape(text))
        return None
    return doc


def _as_edited(before: PostGroup, edit: PostEdit) -> PostGroup:
    """``before`` with the caption and time of ``edit`` (when Resont cannot be read back)."""
    posts = [
        dataclasses.replace(p, caption=edit.caption) if p.caption in (None, before.caption) else p for p in before.posts
    ]
    when = None if edit.schedule_date is None else datetime.fromtimestamp(edit.schedule_date, UTC)
    return dataclasses.replace(before, caption=edit.caption, schedule_date=when, posts=posts)


async def _edit_in_resont(
    update: Update,
    context: Context,
    doc: ApprovalDoc,
    group: PostGroup,
    action: str,
    change: Callable[[PostEdit], PostEdit],
) -> PostGroup | None:
    """The post group after the edit ``change`` of ``group``, or None once a failure was told.

    Resont answers an edit with one Post: the group is read back so that the card shows what
    Resont now holds (the group as edited here should that read fail)."""
    if not await edit_in_resont(update, context, doc, group, action, change):
        return None
    try:
        return await context.services.resont.posts.group(doc["pg"])
    except ResontError as exc:
        log.info("post %s was edited but could not be read back: %r", doc["pg"], exc)
        return _as_edited(group, change(PostEdit.of(group)))


async def _show_edit(
    context: Context,
    doc: ApprovalDoc,
    group: PostGroup,
    user: User,
    action: str,
    details: dict[str, Any],
    **fresh_options: Any,
) -> None:
    """Put the edited post on the card (see :func:`apply_fresh`) and audit the edit."""
    services = context.services
    apply_fresh(services, doc, group, accounts(services), actor=user.id, **fresh_options)
    table(services).put(doc)
    audit(services, user.id, action, doc["pg"], outcome="ok", **details)
    await redraw(context, doc)


# --------------------------------------------------------------------------- reschedule


async def on_reschedule(update: Update, context: Context, data: buttons.Reschedule) -> None:
    pg = data.pg
    await _ask_time(update, context, pg, approve=False)


async def on_pick_time(update: Update, context: Context, data: buttons.PickTime) -> None:
    """ "Pick a new time" after Approve found the time passed: ask, then approve with it."""
    pg = data.pg
    await _ask_time(update, context, pg, approve=True)


async def _ask_time(update: Update, context: Context, pg: int, *, approve: bool) -> None:
    services = context.services
    user = query_of(update).from_user
    doc = await pending_doc(update, context, pg)
    if doc is None:
        return
    await _send_time_question(context, doc, user, approve=approve)
    await answer(update, services.t("posts.answer_reply_below", user.id))


async def _send_time_question(
    context: Context, doc: ApprovalDoc, user: User, *, approve: bool, error: str | None = None
) -> None:
    services = context.services
    zone = services.config.timezone
    text = services.t(
        "posts.ask_time",
        user.id,
        id=str(doc["pg"]),
        zone=zone,
        name=mention(user),
        hint=html.escape(services.t("time.hint", user.id, zone=zone)),
    )
    if error:
        text = html.escape(error) + "\n\n" + text
    await ask_on_card(context, doc, user, text, kind="post_reschedule", data={"pg": doc["pg"], "approve": approve})


async def on_reschedule_time(update: Update, context: Context, target: dict[str, Any]) -> None:
    """A typed time for buttons.Reschedule: parse it in the configured zone and confirm before acting."""
    services = context.services
    message = message_of(update)
    user = user_of(update)
    data = target.get("data", {})
    pg = int(data.get("pg", 0))
    approve_too = bool(data.get("approve"))
    doc = await _pending_for_reply(services, message, pg, user.id)
    if doc is None:
        return
    moment, error = _read_time(services, message.text or "", user.id)
    if moment is None:
        await _send_time_question(context, doc, user, approve=approve_too, error=error)
        return
    ts = int(moment.timestamp())
    lang = services.lang(user.id)
    key = "posts.confirm_time_approve" if approve_too else "posts.confirm_time"
    yes = buttons.RescheduleYes(pg, ts, "a" if approve_too else None)
    await message.reply_text(
        services.t(key, user.id, id=str(pg), when=html.escape(when_text(services, ts, lang))),
        reply_markup=confirm_keyboard(services, lang, yes, buttons.RescheduleNo(pg), "posts.btn_yes", "posts.btn_no"),
    )


def _read_time(services: Services, text: str, user_id: int) -> tuple[datetime | None, str | None]:
    """(the typed time to the minute, None), or (None, why it cannot be used)."""
    lang = services.lang(user_id)
    try:
        moment = parse_when(text, now=now(services), tz=services.tz, lang=lang)
    except TimeParseError as err:
        return None, err.render(services.i18n, lang)
    moment = moment.replace(second=0, microsecond=0)
    if moment <= now(services) + MIN_LEAD:
        when = format_when(moment, tz=services.tz, lang=lang)
        return None, services.t("time.err_in_past", user_id, when=when)
    return moment, None


async def on_reschedule_yes(update: Update, context: Context, data: buttons.RescheduleYes) -> None:
    """The confirmed new time: move the post (or, after "pick a new time", approve it for then)."""
    pg = data.pg
    services = context.services
    user = query_of(update).from_user
    ts = float(data.ts)
    if datetime.fromtimestamp(ts, UTC) <= now(services) + MIN_LEAD:
        await answer(update, services.t("posts.time_passed_meanwhile", user.id), alert=True)
        return
    when = html.escape(when_text(services, ts, services.lang(user.id)))
    if data.approve == "a":
        if await approve(update, context, pg, mode="at", at_ts=ts):
            await edit_pressed(update, services.t("posts.time_done_approved", user.id, id=str(pg), when=when))
        return
    if await _reschedule(update, context, pg, ts):
        await edit_pressed(update, services.t("posts.time_done", user.id, id=str(pg), when=when))
        await answer(update, services.t("posts.answer_rescheduled", user.id))


async def _reschedule(update: Update, context: Context, pg: int, ts: float) -> bool:
    """Move the post to ``ts`` in Resont (a draft stays a draft); True when done."""
    services = context.services
    user = query_of(update).from_user
    async with locked_pending(update, context, pg) as doc:
        if doc is None:
            return False
        group = await fresh(update, context, doc, "post.reschedule")
        if group is None:
            return False
        # A draft stays a draft: it keeps waiting for its approval at the new time.
        merged = await _edit_in_resont(
            update, context, doc, group, "post.reschedule", lambda edit: edit.rescheduled(int(ts))
        )
        if merged is None:
            return False
        when = when_text(services, ts, services.config.language)
        note = {"who": html.escape(display_name(user)), "when": html.escape(when)}
        await _show_edit(
            context,
            doc,
            merged,
            user,
            "post.reschedule",
            {"schedule_ts": ts},
            note_key="posts.note_rescheduled",
            note_values=note,
            override_ts=ts,
        )
    return True


async def on_reschedule_no(update: Update, context: Context, data: buttons.RescheduleNo) -> None:
    pg = data.pg
    services = context.services
    user_id = query_of(update).from_user.id
    await edit_pressed(update, services.t("posts.time_kept", user_id, id=str(pg)))
    await answer(update)


# --------------------------------------------------------------------------- caption


async def on_edit_caption(update: Update, context: Context, data: buttons.EditCaption) -> None:
    pg = data.pg
    services = context.services
    user = query_of(update).from_user
    doc = await pending_doc(update, context, pg)
    if doc is None:
        return
    await ask_on_card(
        context,
        doc,
        user,
        services.t("posts.ask_caption", user.id, id=str(pg), name=mention(user)),
        kind="post_caption",
        data={"pg": pg},
    )
    await answer(update, services.t("posts.answer_reply_below", user.id))


async def on_caption_text(update: Update, context: Context, target: dict[str, Any]) -> None:
    """The admin's reply is the new caption: show a preview with Save / Discard."""
    services = context.services
    message = message_of(update)
    user_id = user_of(update).id
    pg = int(target.get("data", {}).get("pg", 0))
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(services.t("posts.caption_needs_text", user_id))
        return
    nonce = secrets.token_hex(3)
    async with post_lock(services, pg):
        doc = await _pending_for_reply(services, message, pg, user_id)
        if doc is None:
            return
        drafts = dict(doc.get("caption_drafts") or {})
        drafts[nonce] = {"text": text, "by": user_id, "at": time.time()}
        doc["caption_drafts"] = dict(list(drafts.items())[-MAX_CAPTION_DRAFTS:])
        table(services).put(doc)
    preview = html.escape(text)
    if len(preview) > MAX_PREVIEW:
        preview = preview[:MAX_PREVIEW] + "…"
    await message.reply_text(
        services.t("posts.caption_preview", user_id, id=str(pg), caption=preview),
        reply_markup=confirm_keyboard(
            services,
            services.lang(user_id),
            buttons.CaptionSave(pg, nonce),
            buttons.CaptionDiscard(pg, nonce),
            "posts.btn_save",
            "posts.btn_discard",
        ),
    )


async def on_caption_save(update: Update, context: Context, data: buttons.CaptionSave) -> None:
    pg = data.pg
    services = context.services
    user_id = query_of(update).from_user.id
    if await _save_caption(update, context, pg, data.nonce):
        await edit_pressed(update, services.t("posts.caption_saved", user_id, id=str(pg)))
        await answer(update, services.t("posts.answer_caption_saved", user_id))


async def _save_caption(update: Update, context: Context, pg: int, nonce: str) -> bool:
    """Write the previewed caption ``nonce`` to Resont; approvals start again. True when done."""
    services = context.services
    user = query_of(update).from_user
    async with locked_pending(update, context, pg) as doc:
        if doc is None:
            return False
        draft = (doc.get("caption_drafts") or {}).get(nonce)
        if draft is None:
            await answer(update, services.t("posts.preview_gone", user.id), alert=True)
            return False
        group = await fresh(update, context, doc, "post.caption")
        if group is None:
            return False
        caption = draft["text"]
        result = await _edit_in_resont(
            update, context, doc, group, "post.caption", lambda edit: edit.with_caption(caption)
        )
        if result is None:
            return False
        doc["caption_drafts"] = {}
        await _show_edit(
            context,
            doc,
            result,
            user,
            "post.caption",
            {"caption": draft["text"][:500]},
            note_key="posts.note_caption",
            note_values={"who": html.escape(display_name(user))},
            override_ts=doc.get("override_ts"),
        )
    return True


async def on_caption_discard(update: Update, context: Context, data: buttons.CaptionDiscard) -> None:
    pg = data.pg
    services = context.services
    user_id = query_of(update).from_user.id
    nonce = data.nonce
    async with post_lock(services, pg):
        doc = table(services).get(pg)
        drafts = {} if doc is None else doc.get("caption_drafts") or {}
        if doc is not None and nonce in drafts:
            drafts.pop(nonce, None)
            doc["caption_drafts"] = drafts
            table(services).put(doc)
    await edit_pressed(update, services.t("posts.caption_discarded", user_id, id=str(pg)))
    await answer(update)


# --------------------------------------------------------------------------- reject reason


async def on_reject_reason(update: Update, context: Context, target: dict[str, Any]) -> None:
    """The optional reason of a rejection: kept in the audit log and shown on the card."""
    services = context.services
    message = message_of(update)
    user_id = update.effective_user.id if update.effective_user else 0
    reason = (message.text or message.caption or "").strip()[:1000]
    pg = int(target.get("data", {}).get("pg", 0))
    if not reason or not pg:
        return
    async with post_lock(services, pg):
        doc = table(services).get(pg)
        audit(services, user_id, "post.reject_reason", pg, reason=reason)
        if doc is not None and doc.get("state") == REJECTED:
            doc["decision"]["reason"] = reason
            table(services).put(doc)
            await redraw(context, doc)
    await message.reply_text(services.t("posts.reason_saved", user_id, id=str(pg)))

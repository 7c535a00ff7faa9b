"""Decisions on approval cards: Approve (n of m admins), Publish now, Back, Reject, and Retry on
a failure alert.

Each runs under the per-post lock and re-reads the card first, so a double tap or two admins
pressing at once make one Resont call and the others are told who decided. Approve reads the
post group from Resont before acting: a deleted post is reported as such, and a post changed in
Resont meanwhile is redrawn for the admins to look at again instead of being approved unseen.
Every decision is written to the audit log.
"""

from __future__ import annotations

import html
import logging
import time
from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.error import TelegramError

from bot.clients.resont.errors import ResontError, ResontNotFound
from bot.clients.resont.post_models import PostGroup
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.update_parts import query_of
from bot.text.timeparse import format_when
from handlers.posts.actions import (
    answer,
    ask_on_card,
    call_resont,
    edit_in_resont,
    edit_pressed,
    fresh,
    locked_pending,
    short_error,
)
from handlers.posts.buttons import Approve, Back, PublishNow, Reject, Retry
from handlers.posts.cards import error_text, retry_keyboard, when_text
from handlers.posts.docs import (
    ALERT_OPEN,
    APPROVED,
    REJECTED,
    RETRY_GONE,
    RETRYING,
    ApprovalDoc,
    ApprovalMark,
    DecisionDoc,
    RetryDoc,
)
from handlers.posts.postview import PostView
from handlers.posts.state import MIN_LEAD, audit, display_name, mention, now, post_lock, redraw, table

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- approve


async def on_approve(update: Update, context: Context, data: Approve) -> None:
    pg = data.pg
    await approve(update, context, pg, mode="normal")


async def on_publish_now(update: Update, context: Context, data: PublishNow) -> None:
    pg = data.pg
    await approve(update, context, pg, mode="now")


async def approve(update: Update, context: Context, pg: int, *, mode: str, at_ts: float | None = None) -> bool:
    """Count the presser's approval; when enough admins approved, schedule (or publish) the
    draft in Resont. ``mode``: ``normal`` (Approve), ``now`` (publish now), ``at`` (approve with
    the new time ``at_ts``). True when the post was decided."""
    services = context.services
    user = query_of(update).from_user
    async with locked_pending(update, context, pg) as doc:
        if doc is None or not await _may_approve(update, context, doc, mode):
            return False
        mine = any(a.get("id") == user.id for a in doc["approvals"])
        group = await fresh(update, context, doc, "post.approve")
        if group is None:
            return False
        approvals = list(doc["approvals"]) + ([] if mine else [_approval_of(user)])
        if len(approvals) < services.config.approvals_required:
            await _count(update, context, doc, approvals, at_ts if mode == "at" else None)
            return False
        return await _carry_out(update, context, doc, group, approvals, mode=mode, at_ts=at_ts)


async def _may_approve(update: Update, context: Context, doc: ApprovalDoc, mode: str) -> bool:
    """A plain Approve is refused while the card asks "publish now or pick a time", and from an
    admin whose approval is already counted (told why)."""
    if mode != "normal":
        return True
    services = context.services
    user_id = query_of(update).from_user.id
    approvals = list(doc["approvals"])
    required = services.config.approvals_required
    if doc.get("asking"):
        await answer(update, services.t("posts.choose_now_or_time", user_id), alert=True)
        return False
    if any(a.get("id") == user_id for a in approvals):
        await answer(
            update, services.t("posts.already_yours", user_id, count=len(approvals), required=required), alert=True
        )
        return False
    return True


def _approval_of(user: User) -> ApprovalMark:
    return {"id": user.id, "name": display_name(user), "at": time.time()}


async def _count(
    update: Update, context: Context, doc: ApprovalDoc, approvals: list[ApprovalMark], at_ts: float | None
) -> None:
    """An approval that is not yet enough: count it (with the time it was given for, if any)."""
    services = context.services
    user_id = query_of(update).from_user.id
    required = services.config.approvals_required
    if at_ts is not None:
        view = PostView.from_doc(doc["view"])
        doc["override_ts"] = view.schedule_ts = at_ts
        doc["view"] = view.to_doc()
    doc["approvals"], doc["error"], doc["asking"] = approvals, None, False
    table(services).put(doc)
    audit(services, user_id, "post.approval", doc["pg"], count=len(approvals), required=required)
    await redraw(context, doc)
    await answer(update, services.t("posts.approval_counted", user_id, count=len(approvals), required=required))


async def _carry_out(
    update: Update,
    context: Context,
    doc: ApprovalDoc,
    group: PostGroup,
    approvals: list[ApprovalMark],
    *,
    mode: str,
    at_ts: float | None,
) -> bool:
    """Enough approvals: make the draft go out in Resont (a scheduled post stays as it is)."""
    services = context.services
    user = query_of(update).from_user
    view = PostView.from_doc(doc["view"])  # its time is the bot's own when Resont dropped it
    if not group.is_draft:
        # Already scheduled in Resont: approving it changes nothing there.
        await decide(context, doc, user, approvals, outcome="approved", schedule_ts=view.schedule_ts)
        await answer(update, services.t("posts.answer_approved", user.id))
        return True
    when = None if mode == "now" else at_ts if mode == "at" else view.schedule_ts
    if mode != "now" and _too_late(services, when):
        await _ask_now_or_time(update, context, doc, when)
        return False
    outcome = "published" if when is None else "scheduled"
    at = None if when is None else int(when)
    if not await edit_in_resont(update, context, doc, group, "post.approve", lambda edit: edit.approved(at)):
        return False
    await decide(context, doc, user, approvals, outcome=outcome, schedule_ts=when)
    key = "posts.answer_published" if outcome == "published" else "posts.answer_scheduled"
    await answer(update, services.t(key, user.id, when=when_text(services, when, services.lang(user.id))))
    return True


def _too_late(services: Services, when: float | None) -> bool:
    """No time, or one too close to schedule."""
    return when is None or datetime.fromtimestamp(when, UTC) <= now(services) + MIN_LEAD


async def _ask_now_or_time(update: Update, context: Context, doc: ApprovalDoc, when: float | None) -> None:
    """The card asks "publish now, or pick a time?" (its time has passed, or it has none)."""
    services = context.services
    doc["asking"], doc["error"] = True, None
    table(services).put(doc)
    await redraw(context, doc)
    key = "posts.ask_now_or_time_untimed" if when is None else "posts.ask_now_or_time"
    await answer(update, services.t(key, query_of(update).from_user.id), alert=True)


async def decide(
    context: Context,
    doc: ApprovalDoc,
    user: User,
    approvals: list[ApprovalMark],
    *,
    outcome: str,
    schedule_ts: float | None = None,
    reason: str | None = None,
) -> None:
    """Record the decision on the card (buttons go) and in the audit log."""
    services = context.services
    state = REJECTED if outcome in ("cancelled", "deleted") else APPROVED
    names = ", ".join(a.get("name") or str(a.get("id")) for a in approvals) if approvals else display_name(user)
    decision: DecisionDoc = {
        "by": user.id,
        "name": display_name(user),
        "names": names,
        "at": time.time(),
        "outcome": outcome,
        "schedule_ts": schedule_ts,
        "reason": reason,
    }
    doc["state"], doc["approvals"], doc["asking"], doc["error"] = state, approvals, False, None
    doc["decision"] = decision
    table(services).put(doc)
    action = "post.reject" if state == REJECTED else "post.approve"
    audit(
        services,
        user.id,
        action,
        doc["pg"],
        outcome=outcome,
        name=display_name(user),
        approvers=[a.get("id") for a in approvals],
        schedule_ts=schedule_ts,
    )
    await redraw(context, doc)


async def on_back(update: Update, context: Context, data: Back) -> None:
    """Back from "publish now or pick a time" to the card's usual buttons."""
    pg = data.pg
    services = context.services
    user_id = query_of(update).from_user.id
    async with locked_pending(update, context, pg) as doc:
        if doc is None:
            return
        doc["asking"] = False
        table(services).put(doc)
        await redraw(context, doc)
    await answer(update, services.t("posts.answer_back", user_id))


# --------------------------------------------------------------------------- reject


async def on_reject(update: Update, context: Context, data: Reject) -> None:
    """Cancel (or delete, as configured) the post in Resont, then ask for an optional reason."""
    pg = data.pg
    services = context.services
    user = query_of(update).from_user
    delete = services.config.reject_action == "delete"
    async with locked_pending(update, context, pg) as doc:
        if doc is None:
            return
        call = services.resont.posts.delete(pg) if delete else services.resont.posts.cancel(pg)
        ok, _ = await call_resont(update, context, doc, "post.reject", call)
        if not ok:
            return
        await decide(context, doc, user, [], outcome="deleted" if delete else "cancelled")
    await answer(update, services.t("posts.answer_rejected", user.id))
    try:
        await ask_on_card(
            context,
            doc,
            user,
            services.t("posts.ask_reason", user.id, id=str(pg), name=mention(user)),
            kind="post_reject_reason",
            data={"pg": pg},
        )
    except TelegramError as exc:
        log.warning("could not ask for the reason of rejecting post %s: %s", pg, exc)


# --------------------------------------------------------------------------- retry


async def on_retry(update: Update, context: Context, data: Retry) -> None:
    """Retry a failed post (the alert card's button)."""
    pg = data.pg
    services = context.services
    query = query_of(update)
    user, message = query.from_user, query.message
    async with post_lock(services, pg):
        doc: RetryDoc = table(services).retry(pg) or {"state": ALERT_OPEN, "text": ""}
        if not await _may_retry(update, context, doc):
            return
        base = doc.get("text") or (message.text_html if isinstance(message, Message) and message.text else "")
        if not await _retry(update, context, pg, doc, base):
            return
        doc.update({"state": RETRYING, "by": user.id, "name": display_name(user), "at": time.time(), "text": base})
        table(services).put_retry(pg, doc)
        audit(services, user.id, "post.retry", pg, outcome="ok")
        at = format_when(now(services), tz=services.tz, lang=services.config.language)
        line = services.t("posts.retry_requested", None, who=html.escape(display_name(user)), at=at)
        await _edit_alert(update, base + "\n\n" + line)
    await answer(update, services.t("posts.answer_retry", user.id))


async def _may_retry(update: Update, context: Context, doc: RetryDoc) -> bool:
    """Not while a retry is under way (told who asked), nor for a post deleted meanwhile."""
    services = context.services
    user_id = query_of(update).from_user.id
    if doc.get("state") == RETRYING:
        at = datetime.fromtimestamp(float(doc.get("at", 0)), UTC)
        when = format_when(at, tz=services.tz, lang=services.lang(user_id))
        await answer(update, services.t("posts.retry_already", user_id, who=doc.get("name", "?"), at=when), alert=True)
        return False
    if doc.get("state") == RETRY_GONE:
        await answer(update, services.t("posts.no_longer_exists", user_id), alert=True)
        return False
    return True


async def _retry(update: Update, context: Context, pg: int, doc: RetryDoc, base: str) -> bool:
    """Ask Resont to retry; on failure the alert says why (and keeps Retry unless the post is gone)."""
    services = context.services
    user_id = query_of(update).from_user.id
    try:
        await services.resont.posts.retry(pg)
    except ResontNotFound:
        doc["state"], doc["at"] = RETRY_GONE, time.time()
        table(services).put_retry(pg, doc)
        audit(services, user_id, "post.retry", pg, outcome="gone")
        await _edit_alert(update, base + "\n\n" + services.t("posts.retry_gone", None))
        await answer(update, services.t("posts.no_longer_exists", user_id), alert=True)
        return False
    except ResontError as exc:
        audit(services, user_id, "post.retry", pg, outcome="error", error=exc.message, trace_id=exc.trace_id)
        line = error_text(services, exc.message, exc.trace_id, services.config.language)
        await _edit_alert(update, base + "\n\n" + line, retry_keyboard(services, pg))
        await answer(update, short_error(services, exc, user_id), alert=True)
        return False
    return True


async def _edit_alert(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    await edit_pressed(update, text, markup, what="edit a failure alert")

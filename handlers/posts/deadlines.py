"""Approval deadlines: one reminder before a draft's time, and a card that says it missed its slot.

A repeating job reads the waiting draft cards (no Resont call: the card's time is the one the
last poll or edit saw). Within ``APPROVAL_REMIND_MINUTES`` before a draft's time (``0``: never)
it replies to the card once, naming the admins who have not approved it yet. When the time has
passed undecided it redraws the card: it says the draft missed its slot and offers **Publish
now** and **Reschedule**. Resont is not changed here; only an admin's press changes it.

Once means once, also across restarts: the document records the time it was reminded for
before the reply is sent (a crash in between loses the reminder rather than sending it twice;
a reply Telegram refuses is tried again by the next run).
"""

from __future__ import annotations

import html
import logging

from telegram import User
from telegram.error import TelegramError

from bot.runtime.context import Context
from handlers.posts.cards import when_text
from handlers.posts.docs import ApprovalDoc
from handlers.posts.slots import due_ts, has_missed, needs_reminder, waiting_on
from handlers.posts.state import audit, mention, now, post_lock, redraw, table

log = logging.getLogger(__name__)

JOB_NAME = "posts.deadlines"


async def check_deadlines(context: Context) -> None:
    """Send the reminders that are due and mark the drafts whose time has passed."""
    services = context.services
    try:
        reminded, missed = await _check(context)
    except Exception as exc:  # a run never crashes the job
        log.exception("approval deadlines check failed")
        services.health.job(JOB_NAME, False, f"{type(exc).__name__}: {exc}"[:300])
        return
    services.health.job(JOB_NAME, True, services.t("posts.deadlines_summary", None, reminded=reminded, missed=missed))


async def _check(context: Context) -> tuple[int, int]:
    services = context.services
    minutes = services.config.approval_remind_minutes
    moment = now(services).timestamp()
    reminded = missed = 0
    for doc in table(services).find(lambda d: has_missed(d, moment) or needs_reminder(d, moment, minutes)):
        if has_missed(doc, moment):
            missed += await _mark_missed(context, doc["pg"], moment)
        else:
            reminded += await _remind(context, doc["pg"], moment, minutes)
    return reminded, missed


async def _mark_missed(context: Context, pg: int, moment: float) -> int:
    """Redraw the card as "missed its slot" (checked again under the post's lock)."""
    services = context.services
    async with post_lock(services, pg):
        doc = table(services).get(pg)
        if doc is None or not has_missed(doc, moment):
            return 0
        doc["missed_ts"], doc["asking"] = due_ts(doc), False
        table(services).put(doc)
        audit(services, "bot", "post.missed", doc["pg"], schedule_ts=doc["missed_ts"])
        await redraw(context, doc)
    return 1


async def _remind(context: Context, pg: int, moment: float, minutes: int) -> int:
    """Reply to the card once, naming the admins who have not approved yet."""
    services = context.services
    async with post_lock(services, pg):
        doc = table(services).get(pg)
        due = None if doc is None else due_ts(doc)
        if doc is None or due is None or not doc.get("message_id") or not needs_reminder(doc, moment, minutes):
            return 0
        before = doc.get("reminded_ts")
        doc["reminded_ts"] = due
        table(services).put(doc)  # recorded first: a restart never sends it again
        waiting = waiting_on(services.config.admin_ids, doc)
        try:
            names = [await _name(context, admin) for admin in waiting]
            await _send_reminder(context, doc, due, moment, names)
        except TelegramError as exc:
            log.warning("could not remind the approvers of post %s: %s", doc["pg"], exc)
            doc["reminded_ts"] = before
            table(services).put(doc)
            return 0
        audit(services, "bot", "post.reminder", doc["pg"], schedule_ts=due, waiting=waiting)
    return 1


async def _send_reminder(context: Context, doc: ApprovalDoc, due: float, moment: float, names: list[str]) -> None:
    services = context.services
    lang = services.config.language
    text = services.t(
        "posts.reminder",
        None,
        id=str(doc["pg"]),
        when=html.escape(when_text(services, due, lang)),
        minutes=max(1, round((due - moment) / 60)),
        names=", ".join(names) or "—",
    )
    await context.bot.send_message(
        doc["chat_id"],
        text,
        message_thread_id=services.topic("approvals"),
        reply_to_message_id=doc["message_id"],
    )


async def _name(context: Context, user_id: int) -> str:
    """An HTML mention of an admin, by the name Telegram knows them by in the admin chat."""
    services = context.services
    try:
        member = await context.bot.get_chat_member(services.config.admin_chat_id, user_id)
        user: User = member.user
    except TelegramError as exc:  # not (yet) a member Telegram can name: mention by id
        log.info("no name for admin %s in the admin chat: %s", user_id, exc)
        user = User(user_id, services.t("posts.admin_by_id", None, id=str(user_id)), is_bot=False)
    return mention(user)

"""Post approvals in Telegram: the feature's declarations and its button dispatch.

Resont drafts and scheduled posts become approval cards in the admin chat; admins approve
(n of m), reject, reschedule or edit the caption there, and failed posts raise alerts with Retry.
The work lives in:

* :mod:`handlers.posts.poll` — the poll job: cards, refreshes, closing, failure and login alerts;
* :mod:`handlers.posts.decisions` — Approve / Publish now / Back / Reject / Retry;
* :mod:`handlers.posts.edits` — Reschedule, Edit caption and the reason of a rejection;
* :mod:`handlers.posts.lists` — /pending and /posts;
* :mod:`handlers.posts.actions` and :mod:`handlers.posts.state` — what those share (the
  ``approvals`` table, locks, Resont calls from a button);
* :mod:`handlers.posts.cards` — rendering; :mod:`handlers.posts.newpost` — the /newpost conversation.

The names other modules use (``create_card``, ``display_name``, ``POLL_LOCK`` …) are importable
from here as well.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature, RepeatingJob, ReplyRoute
from bot.runtime.roles import ADMINS, AUTHORS
from handlers.posts import bridge as posts_bridge
from handlers.posts import deadlines, newpost
from handlers.posts import decisions as posts_decisions
from handlers.posts import edits as posts_edits
from handlers.posts.actions import answer
from handlers.posts.decisions import approve, decide
from handlers.posts.edits import on_caption_text, on_reject_reason, on_reschedule_time
from handlers.posts.lists import on_pending, on_posts
from handlers.posts.poll import (
    CARDS_PER_POLL,
    JOB_NAME,
    LOOKBACK,
    POLL_ALERT,
    create_card,
    forget_unsent_claims,
    poll_posts,
    status_lines,
)
from handlers.posts.state import ACCOUNTS_CURSOR, MIN_LEAD, POLL_LOCK, TABLE, display_name, is_waiting, mention, redraw

__all__ = [
    "ACCOUNTS_CURSOR",
    "CARDS_PER_POLL",
    "JOB_NAME",
    "LOOKBACK",
    "MIN_LEAD",
    "POLL_ALERT",
    "POLL_LOCK",
    "TABLE",
    "approve",
    "create_card",
    "decide",
    "display_name",
    "feature",
    "forget_unsent_claims",
    "is_waiting",
    "mention",
    "on_button",
    "on_caption_text",
    "on_pending",
    "on_posts",
    "on_reject_reason",
    "on_reschedule_time",
    "poll_posts",
    "redraw",
    "status_lines",
]


def feature(config: Config) -> Feature:
    return Feature(
        name="posts",
        handlers=[
            newpost.conversation(),
            CommandHandler("pending", on_pending),
            CommandHandler("posts", on_posts),
            CallbackQueryHandler(on_button, pattern=r"^post:"),
            CallbackQueryHandler(newpost.on_stale_button, pattern=r"^newpost:"),
        ],
        commands=[
            Command("newpost", AUTHORS, "posts.cmd_newpost"),
            Command("pending", ADMINS, "posts.cmd_pending"),
            Command("posts", AUTHORS, "posts.cmd_posts"),
        ],
        callbacks={"post": ADMINS, "newpost": AUTHORS},
        replies={
            "post_reject_reason": ReplyRoute(ADMINS, on_reject_reason),
            "post_reschedule": ReplyRoute(ADMINS, on_reschedule_time),
            "post_caption": ReplyRoute(ADMINS, on_caption_text),
        },
        jobs=[
            RepeatingJob(JOB_NAME, poll_posts, first=0.3),
            RepeatingJob(deadlines.JOB_NAME, deadlines.check_deadlines, first=0.5),
        ],
        on_start=[forget_unsent_claims],
        status_lines=[status_lines],
    )


#: ``post:<action>:<post group id>[:extra]`` → its handler.
_ACTIONS = {
    "ok": posts_decisions.on_approve,
    "now": posts_decisions.on_publish_now,
    "back": posts_decisions.on_back,
    "no": posts_decisions.on_reject,
    "retry": posts_decisions.on_retry,
    "later": posts_edits.on_pick_time,
    "time": posts_edits.on_reschedule,
    "rsok": posts_edits.on_reschedule_yes,
    "rsno": posts_edits.on_reschedule_no,
    "cap": posts_edits.on_edit_caption,
    "capok": posts_edits.on_caption_save,
    "capno": posts_edits.on_caption_discard,
    "mass": posts_bridge.on_send_to_list,
}


async def on_button(update: Update, context: Context) -> None:
    """``post:<action>:<post group id>[:extra]`` (the guard already checked the role)."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    handler = _ACTIONS.get(action)
    if handler is None or len(parts) < 3 or not parts[2].isdigit():
        await answer(update, context.services.t("core.stale_button", query.from_user.id), alert=True)
        return
    await handler(update, context, int(parts[2]), parts[3:])

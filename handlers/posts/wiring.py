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

from telegram.ext import CommandHandler

from bot.config import Config
from bot.runtime.feature import Command, Feature, RepeatingJob, ReplyRoute
from bot.runtime.roles import ADMINS, AUTHORS
from bot.runtime.tg.buttons import Buttons
from handlers.posts import bridge as posts_bridge
from handlers.posts import buttons, deadlines, newpost
from handlers.posts import decisions as posts_decisions
from handlers.posts import edits as posts_edits
from handlers.posts.buttons import NEWPOST, POST
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
        ],
        commands=[
            Command("newpost", AUTHORS, "posts.cmd_newpost"),
            Command("pending", ADMINS, "posts.cmd_pending"),
            Command("posts", AUTHORS, "posts.cmd_posts"),
        ],
        buttons=[card_buttons(), newpost_buttons()],
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


def card_buttons() -> Buttons:
    """The buttons of approval cards, their confirmations and failure alerts (admins)."""
    return Buttons(
        POST,
        ADMINS,
        {
            buttons.Approve: posts_decisions.on_approve,
            buttons.PublishNow: posts_decisions.on_publish_now,
            buttons.Back: posts_decisions.on_back,
            buttons.Reject: posts_decisions.on_reject,
            buttons.Retry: posts_decisions.on_retry,
            buttons.PickTime: posts_edits.on_pick_time,
            buttons.Reschedule: posts_edits.on_reschedule,
            buttons.RescheduleYes: posts_edits.on_reschedule_yes,
            buttons.RescheduleNo: posts_edits.on_reschedule_no,
            buttons.EditCaption: posts_edits.on_edit_caption,
            buttons.CaptionSave: posts_edits.on_caption_save,
            buttons.CaptionDiscard: posts_edits.on_caption_discard,
            buttons.SendToList: posts_bridge.on_send_to_list,
        },
    )


def newpost_buttons() -> Buttons:
    """/newpost's buttons outside an open proposal (the conversation takes them inside one)."""
    stale = newpost.on_stale_button
    return Buttons(NEWPOST, AUTHORS, dict.fromkeys(buttons.NEWPOST_KINDS, stale), stale=stale)

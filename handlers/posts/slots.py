"""A draft's slot: its time, the reminder before it and the card after it passed undecided.

Pure reading of an ``approvals`` document (see :mod:`handlers.posts.state`): no Telegram or
Resont calls. The document remembers for which time a reminder was sent (``reminded_ts``) and
for which time the card was marked as having missed its slot (``missed_ts``); both refer to the
time the card shows, so a draft moved to a new time gets a reminder and a deadline of its own,
and a missed card becomes an ordinary one again once it has a time in the future.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup

from bot.runtime.tg.buttons import button
from handlers.posts import buttons
from handlers.posts.docs import PENDING, ApprovalDoc

if TYPE_CHECKING:
    from bot.runtime.services import Services


def due_ts(doc: ApprovalDoc) -> float | None:
    """The time a waiting draft's card shows, or None (not a waiting draft, or no time)."""
    view = doc.get("view")
    if doc.get("state") != PENDING or view is None or view.get("kind") != "draft":
        return None
    value = view.get("schedule_ts")
    return float(value) if value is not None else None


def is_missed(doc: ApprovalDoc) -> bool:
    """The card was marked as having missed its slot, and still shows that time."""
    due = due_ts(doc)
    return due is not None and doc.get("missed_ts") == due


def needs_reminder(doc: ApprovalDoc, now_ts: float, minutes: int) -> bool:
    """Within ``minutes`` before the draft's time, and not yet reminded for that time."""
    due = due_ts(doc)
    if due is None or minutes <= 0 or doc.get("reminded_ts") == due:
        return False
    return due - minutes * 60 <= now_ts < due


def has_missed(doc: ApprovalDoc, now_ts: float) -> bool:
    """Its time has come undecided and the card does not say so yet."""
    due = due_ts(doc)
    return due is not None and due <= now_ts and doc.get("missed_ts") != due


def waiting_on(admin_ids: tuple[int, ...], doc: ApprovalDoc) -> list[int]:
    """The admins who have not approved the draft yet, in the configured order."""
    approved = {a.get("id") for a in doc.get("approvals") or []}
    return [admin for admin in admin_ids if admin not in approved]


def missed_keyboard(services: Services, pg: int) -> InlineKeyboardMarkup:
    """Publish now and Reschedule first; Edit caption and Reject stay available."""
    lang = services.config.language
    t = services.i18n.t
    return InlineKeyboardMarkup(
        [
            [
                button(t("posts.btn_publish_now", lang), buttons.PublishNow(pg)),
                button(t("posts.btn_reschedule", lang), buttons.Reschedule(pg)),
            ],
            [
                button(t("posts.btn_edit_caption", lang), buttons.EditCaption(pg)),
                button(t("posts.btn_reject", lang), buttons.Reject(pg)),
            ],
        ]
    )

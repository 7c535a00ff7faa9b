"""The ``approvals`` table: one document per carded post group, shared by the poll, the decisions
and the edits of the posts feature.

A document (an :class:`~handlers.posts.docs.ApprovalDoc`, keyed by the post group id) holds the
card's state, the :class:`PostView` the card shows, the fingerprint of the content the admins
saw, the approvals so far, the decision, and where the card is; :func:`table` reads and writes
them typed. Every change to a document is made under the per-post lock (:func:`post_lock`)
after reading it again, and ends with :func:`redraw`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, User

from bot.clients.resont.models import Account
from bot.clients.resont.post_models import PostGroup
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.quiet import quietly
from handlers.posts.cards import CLOSED_STATUSES, PUBLISHED_STATUSES, card_keyboard, card_text
from handlers.posts.docs import APPROVED, GONE, REJECTED, AccountNames, ApprovalDoc, ApprovalMark, ApprovalTable
from handlers.posts.postview import PostView, fingerprint_of, view_of
from handlers.posts.resets import Change, compare, content_of, parts_text, reset_note

log = logging.getLogger(__name__)

TABLE = "approvals"
#: One poll at a time, and no poll between a /newpost draft and its card.
POLL_LOCK = "posts:poll"
ACCOUNTS_CURSOR = "posts.accounts"  # account id -> [name, network], for rendering
#: A draft due in less than this is treated as "its time has passed".
MIN_LEAD = timedelta(seconds=60)


def table(services: Services) -> ApprovalTable:
    return ApprovalTable(services.store.table(TABLE))


def post_lock(services: Services, pg: int | None) -> asyncio.Lock:
    """The lock every change to post group ``pg``'s card is made under."""
    return services.locks(f"post:{pg}")


def now(services: Services) -> datetime:
    return services.clock().astimezone(UTC)


def display_name(user: User | None) -> str:
    if user is None:
        return "?"
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


def mention(user: User) -> str:
    """An HTML mention: a force-reply question then shows its reply field to that user."""
    return f'<a href="tg://user?id={user.id}">{html.escape(display_name(user))}</a>'


def audit(services: Services, actor: int | str, action: str, pg: int, **details: Any) -> None:
    services.store.audit(actor, action, f"post_group:{pg}", **{k: v for k, v in details.items() if v is not None})


# --------------------------------------------------------------------------- Resont's view


def accounts(services: Services) -> dict[int, list[str]]:
    """The account names and networks the last poll saw (account id -> [name, network])."""
    raw = services.store.table("cursors").get(ACCOUNTS_CURSOR) or {}
    out: dict[int, list[str]] = {}
    for key, value in (raw.get("accounts") or {}).items():
        try:
            out[int(key)] = [str(part) for part in value]
        except (TypeError, ValueError):
            continue
    return out


def remember_accounts(services: Services, listed: Sequence[Account]) -> dict[int, list[str]]:
    mapping = {a.id: [a.name or f"#{a.id}", a.type or ""] for a in listed if a.id is not None}
    services.store.table("cursors").put(
        ACCOUNTS_CURSOR, {"accounts": {str(k): v for k, v in mapping.items()}, "at": time.time()}
    )
    return mapping


def status_of(group: PostGroup) -> str:
    return (group.status or "").lower()


def is_over(group: PostGroup) -> bool:
    """Resont published, cancelled or failed the post group: it no longer waits to go out."""
    status = status_of(group)
    return group.failed or status in PUBLISHED_STATUSES or status in CLOSED_STATUSES


def is_waiting(group: PostGroup, moment: datetime) -> bool:
    """A scheduled (not draft) post group that is still to go out."""
    if is_over(group) or group.is_draft:
        return False
    return group.schedule_date is not None and group.schedule_date > moment


# --------------------------------------------------------------------------- documents


def apply_fresh(
    services: Services,
    doc: ApprovalDoc,
    group: PostGroup,
    listed: AccountNames,
    *,
    actor: int | str = "resont",
    note_key: str | None = None,
    note_values: Mapping[str, Any] | None = None,
    override_ts: float | None = None,
) -> Change:
    """Put ``group`` (as Resont now has it) on the card. When its caption, media or accounts
    changed, the approvals given so far are cleared, the card says why, and the audit log keeps
    the versions before and after (see :mod:`handlers.posts.resets`).

    ``actor`` made the change (``"resont"``: found by a poll or a fresh read); the note
    ``note_key`` gets ``{parts}``, the changed parts; ``override_ts`` is a time the bot just set
    for a draft (see :func:`_keep_time`)."""
    old = PostView.from_doc(doc["view"])
    fresh = _fresh_view(doc, group, listed)
    doc["fp"] = fingerprint_of(group)
    _keep_time(doc, fresh, override_ts)
    doc["view"] = fresh.to_doc()
    change = compare(old, fresh)
    cleared = list(doc["approvals"]) if change.resets else []
    if change.resets:
        doc["approvals"] = []
    doc["asking"], doc["error"] = False, None
    lines = []
    if note_key:
        parts = parts_text(services, change.parts, services.config.language)
        lines.append(services.t(note_key, None, **{"parts": parts, **(note_values or {})}))
    if cleared:
        lines.append(reset_note(services, change, cleared))
    if lines:
        doc["note"] = "\n".join(lines)
    _audit_change(services, doc["pg"], actor, (old, fresh), change, cleared)
    return change


def _audit_change(
    services: Services,
    pg: int,
    actor: int | str,
    versions: tuple[PostView, PostView],
    change: Change,
    cleared: Sequence[ApprovalMark],
) -> None:
    """``post.approvals_reset`` (approvals were cleared) or ``post.changed``, with both versions."""
    if not change.parts:
        return
    action = "post.approvals_reset" if cleared else "post.changed"
    before, after = (content_of(view) for view in versions)
    who = [{"id": a.get("id"), "name": a.get("name"), "at": a.get("at")} for a in cleared]
    audit(services, actor, action, pg, parts=list(change.parts), before=before, after=after, cleared=who or None)


def _fresh_view(doc: ApprovalDoc, group: PostGroup, listed: AccountNames) -> PostView:
    """The view of ``group``; the media preview is kept while the media are the same."""
    old = PostView.from_doc(doc["view"])
    fresh = view_of(group, listed, author=old.author)
    if fresh.media_ids == old.media_ids:
        fresh.photo_url, fresh.first_media = old.photo_url, old.first_media
    return fresh


def _keep_time(doc: ApprovalDoc, view: PostView, override_ts: float | None) -> None:
    """Show the bot's own time for a draft (``override_ts``, or the one kept before) while
    Resont does not hold that time itself."""
    # A Resont that ignores a draft's schedule_date would lose the time the author proposed or
    # an admin picked; the bot keeps it in ``override_ts`` until Resont holds it.
    if override_ts is not None:
        stored = view.schedule_ts is not None and int(view.schedule_ts // 60) == int(override_ts // 60)
        doc["override_ts"] = None if stored else override_ts
    elif view.schedule_ts is not None:
        doc["override_ts"] = None  # Resont's own time wins once it has one
    if doc["override_ts"] is not None:
        view.schedule_ts = doc["override_ts"]


async def mark_gone(context: Context, doc: ApprovalDoc, user_id: int | str, *, status: str | None = None) -> None:
    """Close the card: the post was deleted in Resont or is no longer waiting there."""
    services = context.services
    doc["state"], doc["asking"], doc["error"] = GONE, False, None
    doc["decision"] = {"by": user_id, "at": time.time(), "outcome": "gone", "status": status}
    table(services).put(doc)
    audit(services, user_id, "post.gone", doc["pg"], status=status)
    await redraw(context, doc)


def already(services: Services, doc: ApprovalDoc, user_id: int) -> str:
    """Why a decided card takes no more decisions: who decided, or what Resont did."""
    state = doc.get("state")
    decision = doc.get("decision")
    who = (decision.get("names") or decision.get("name") or "?") if decision else "?"
    if state == APPROVED:
        return services.t("posts.already_approved", user_id, who=who)
    if state == REJECTED:
        return services.t("posts.already_rejected", user_id, who=who)
    if decision and decision.get("status"):
        return services.t("posts.no_longer_waiting", user_id, status=decision.get("status"))
    return services.t("posts.no_longer_exists", user_id)


# --------------------------------------------------------------------------- Telegram edits


async def redraw(context: Context, doc: ApprovalDoc) -> None:
    """Edit the card in place to match ``doc`` (buttons removed once decided)."""
    services = context.services
    chat_id, message_id = doc.get("chat_id"), doc.get("message_id")
    if not message_id:
        return
    markup = card_keyboard(services, doc) or InlineKeyboardMarkup([])
    text = card_text(services, doc)
    if doc.get("card") == "photo":
        edit = context.bot.edit_message_caption(
            caption=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    else:
        edit = context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
    await quietly(edit, f"update the card of post {doc.get('pg')}")

"""Post approvals in Telegram: approval cards, decisions, failures, /pending and /posts.

A poll (a :class:`RepeatingJob`) lists Resont drafts and scheduled posts and sends one approval
card per post group to the admin chat. The ``approvals`` table remembers every card (keyed by the
post group id), so a post is carded once, across restarts and overlapping polls: the key is
claimed with ``insert_new`` before the card is sent.

Decisions (Approve, Reject, Reschedule, Edit caption, Retry) run under the per-post lock
``post:<id>``; each re-reads the card's state first, so a double tap or two admins pressing at
once make one Resont call and the others are told who decided. Approve, Reschedule and Edit
caption read the post group from Resont before acting: a deleted post is reported as such, and a
post changed in Resont meanwhile is redrawn for the admins to look at again instead of being
approved unseen. Every decision is written to the audit log; a Resont error is shown on the card
with its trace id and the card keeps its buttons.

Cards render in :mod:`handlers.posts_cards`; the /newpost conversation lives in
:mod:`handlers.newpost`.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.config import Config
from bot.context import Context
from bot.feature import Command, Feature, ReplyRoute, RepeatingJob
from bot.resont import PostInput
from bot.resont_errors import ResontError, ResontNotFound
from bot.resont_models import Account, PostGroup
from bot.roles import ADMINS, AUTHORS
from bot.services import NO_PREVIEW, Services
from bot.timeparse import TimeParseError, format_when, parse_when
from handlers import newpost
from handlers.posts_cards import (
    APPROVED,
    CLOSED_STATUSES,
    FINAL_STATES,
    GONE,
    PENDING,
    PUBLISHED_STATUSES,
    REJECTED,
    SENDING,
    PostView,
    card_keyboard,
    card_text,
    confirm_keyboard,
    error_text,
    failed_text,
    fingerprint_of,
    media_kind,
    pending_line,
    relogin_text,
    retry_keyboard,
    scheduled_line,
    view_of,
    when_text,
)
from handlers.replies import ask

log = logging.getLogger(__name__)

TABLE = "approvals"
POLL_LOCK = "posts:poll"  # one poll at a time, and no poll between a /newpost draft and its card
POLL_ALERT = "posts:poll"
JOB_NAME = "posts"
ACCOUNTS_CURSOR = "posts.accounts"  # account id -> [name, network], for rendering
#: New cards per poll; a larger backlog is carded over the next polls.
CARDS_PER_POLL = 10
#: How many drafts / post groups one poll reads at most.
MAX_LISTED = 200
#: Failed posts older than this are history, not alerts.
LOOKBACK = timedelta(days=2)
#: A draft due in less than this is treated as "its time has passed".
MIN_LEAD = timedelta(seconds=60)
#: Caption previews kept per card.
MAX_CAPTION_DRAFTS = 5


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
        jobs=[RepeatingJob(JOB_NAME, poll_posts, first=0.3)],
        on_start=[forget_unsent_claims],
        status_lines=[status_lines],
    )


# =========================================================================== helpers


def display_name(user: User | None) -> str:
    if user is None:
        return "?"
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


def mention(user: User) -> str:
    """An HTML mention: a force-reply question then shows its reply field to that user."""
    return f'<a href="tg://user?id={user.id}">{html.escape(display_name(user))}</a>'


def _table(services: Services):
    return services.store.table(TABLE)


def _now(services: Services) -> datetime:
    return services.clock().astimezone(timezone.utc)


def _accounts(services: Services) -> dict[int, list[Any]]:
    raw = services.store.table("cursors").get(ACCOUNTS_CURSOR) or {}
    out: dict[int, list[Any]] = {}
    for key, value in (raw.get("accounts") or {}).items():
        try:
            out[int(key)] = list(value)
        except (TypeError, ValueError):
            continue
    return out


def _remember_accounts(services: Services, accounts: Sequence[Account]) -> dict[int, list[Any]]:
    mapping = {a.id: [a.name or f"#{a.id}", a.type or ""] for a in accounts if a.id is not None}
    services.store.table("cursors").put(
        ACCOUNTS_CURSOR, {"accounts": {str(k): v for k, v in mapping.items()}, "at": time.time()}
    )
    return mapping


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


async def _answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except TelegramError as exc:
        log.warning("could not answer a button press: %s", exc)


def _error_fields(exc: ResontError) -> dict[str, Any]:
    return {"message": exc.message, "trace_id": exc.trace_id, "status": exc.status}


def _short_error(services: Services, exc: ResontError, user_id: int | None) -> str:
    if exc.trace_id:
        return services.t("posts.answer_resont_error_trace", user_id, error=exc.message, trace=exc.trace_id)
    return services.t("posts.answer_resont_error", user_id, error=exc.message)


def _audit(services: Services, actor: int | str, action: str, pg: int, **details: Any) -> None:
    services.store.audit(actor, action, f"post_group:{pg}", **{k: v for k, v in details.items() if v is not None})


async def redraw(context: Context, doc: Mapping[str, Any]) -> None:
    """Edit the card in place to match ``doc`` (buttons removed once decided)."""
    services = context.services
    if not doc.get("message_id"):
        return
    markup = card_keyboard(services, doc) or InlineKeyboardMarkup([])
    text = card_text(services, doc)
    try:
        if doc.get("card") == "photo":
            await context.bot.edit_message_caption(
                chat_id=doc["chat_id"], message_id=doc["message_id"], caption=text, parse_mode="HTML", reply_markup=markup
            )
        else:
            await context.bot.edit_message_text(
                text,
                chat_id=doc["chat_id"],
                message_id=doc["message_id"],
                parse_mode="HTML",
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not update the card of post %s: %s", doc.get("pg"), exc)
    except TelegramError as exc:
        log.warning("could not update the card of post %s: %s", doc.get("pg"), exc)


async def _send_card(context: Context, doc: dict[str, Any]) -> Message:
    """Send the card: the first image as a photo when there is one, else text."""
    services = context.services
    view = PostView.from_doc(doc["view"])
    markup = card_keyboard(services, doc)
    thread = services.topic("approvals")
    if view.photo_url:
        doc["card"] = "photo"
        try:
            return await context.bot.send_photo(
                services.config.admin_chat_id,
                photo=view.photo_url,
                caption=card_text(services, doc),
                parse_mode="HTML",
                reply_markup=markup,
                message_thread_id=thread,
            )
        except BadRequest as exc:  # Telegram could not fetch the image: show the card as text
            log.info("photo preview of post %s failed (%s); sending the card as text", doc["pg"], exc)
            view.photo_url = ""
            doc["view"] = view.to_doc()
    doc["card"] = "text"
    return await services.send_admin(context.bot, card_text(services, doc), topic="approvals", markup=markup)


async def _preview(services: Services, group: PostGroup) -> tuple[str, str]:
    """(first image URL or "", first media kind) for the card's media preview."""
    media = list(group.media_ids) or next((p.media_ids for p in group.posts if p.media_ids), [])
    if not media:
        return "", ""
    try:
        first = await services.resont.file(media[0])
    except ResontError as exc:
        log.info("no preview for post %s: %s", group.id, exc)
        guess = {"image": "image", "album": "image", "video": "video", "document": "document"}
        return "", guess.get((group.type or "").lower(), "")
    kind = media_kind(first.file_type, first.ext)
    url = first.url if kind == "image" and first.url and first.url.startswith(("http://", "https://")) else ""
    return url, kind


async def create_card(
    context: Context,
    group: PostGroup,
    accounts: Mapping[int, Sequence[Any]],
    *,
    author: str = "",
    schedule_ts: float | None = None,
) -> bool:
    """Send the approval card of ``group`` unless it already has one; True if sent now.

    ``schedule_ts`` is the time the bot keeps for the post when Resont did not store it (a
    draft proposed through /newpost)."""
    services = context.services
    table = _table(services)
    key = str(group.id)
    if not table.insert_new(key, {"pg": group.id, "state": SENDING, "at": time.time()}):
        return False
    try:
        photo_url, first = await _preview(services, group)
        view = view_of(group, accounts, author=author, photo_url=photo_url, first_media=first)
        fingerprint = fingerprint_of(group)
        override = None
        if schedule_ts is not None and view.schedule_ts is None:
            view.schedule_ts = override = schedule_ts
        doc: dict[str, Any] = {
            "pg": group.id,
            "state": PENDING,
            "view": view.to_doc(),
            "fp": fingerprint,
            "override_ts": override,
            "approvals": [],
            "created": time.time(),
        }
        message = await _send_card(context, doc)
    except BaseException:
        table.delete(key)  # not carded: the next poll tries again
        raise
    doc.update(chat_id=message.chat_id, message_id=message.message_id)
    table.put(key, doc)
    _audit(services, "bot", "post.card", group.id, kind=view.kind)
    return True


async def forget_unsent_claims(app: Any) -> None:
    """At start-up: claims whose card was never sent (a crash mid-send) are dropped so the next
    poll sends them."""
    services: Services = app.bot_data.services
    dropped = _table(services).prune(lambda doc: doc.get("state") == SENDING)
    if dropped:
        log.info("dropped %d unsent approval card claim(s)", dropped)


def status_lines(services: Services, user_id: int | None) -> list[str]:
    pending = len(_table(services).find(lambda d: d.get("state") == PENDING))
    return [services.t("posts.status_pending", user_id, count=pending)]


# =========================================================================== the poll


def is_waiting(group: PostGroup, now: datetime) -> bool:
    """A scheduled (not draft) post group that is still to go out."""
    status = (group.status or "").lower()
    if group.failed or status in PUBLISHED_STATUSES or status in CLOSED_STATUSES or group.is_draft:
        return False
    return group.schedule_date is not None and group.schedule_date > now


async def poll_posts(context: Context) -> None:
    """Card new drafts and scheduled posts, refresh changed cards, raise failure alerts."""
    services = context.services
    try:
        async with services.locks(POLL_LOCK):
            summary = await _poll(context)
    except ResontError as exc:
        log.warning("posts poll failed: %r", exc)
        services.health.job(JOB_NAME, False, str(exc))
        text = services.t(
            "posts.alert_poll_failed", None, error=html.escape(exc.message), trace=html.escape(exc.trace_id or "—")
        )
        await services.alerts.raise_(context.bot, POLL_ALERT, text)
        return
    except Exception as exc:  # a poll never crashes the job
        log.exception("posts poll failed")
        services.health.job(JOB_NAME, False, f"{type(exc).__name__}: {exc}"[:300])
        return
    services.health.job(JOB_NAME, True, summary)
    await services.alerts.resolve(context.bot, POLL_ALERT, services.t("posts.alert_poll_recovered", None))


async def _poll(context: Context) -> str:
    services = context.services
    resont = services.resont
    accounts = await resont.accounts()
    mapping = _remember_accounts(services, accounts)
    await _check_logins(context, accounts)
    now = _now(services)
    drafts = [g async for g in resont.drafts(limit=MAX_LISTED)]
    since = (now - LOOKBACK).astimezone(services.tz).date()
    listed = [g async for g in resont.posts(publish_from=since, limit=MAX_LISTED)]
    candidates = [g for g in drafts if g.id is not None]
    candidates += [g for g in listed if g.id is not None and is_waiting(g, now)]
    candidates.sort(key=lambda g: g.id or 0)
    table = _table(services)
    sent = 0
    for group in candidates:
        doc = table.get(str(group.id))
        if doc is None:
            if sent >= CARDS_PER_POLL:
                continue
            try:
                if await create_card(context, group, mapping):
                    sent += 1
            except TelegramError as exc:
                log.warning("could not send the card of post %s: %s", group.id, exc)
        elif doc.get("state") == PENDING:
            await _refresh_if_changed(context, group, mapping)
    await _close_finished(context, listed)
    await _check_failures(context, listed, mapping)
    return services.t("posts.poll_summary", None, drafts=len(drafts), new=sent)


async def _close_finished(context: Context, listed: Sequence[PostGroup]) -> None:
    """Cards of posts that Resont published, cancelled or failed without a decision here are
    closed (so /pending stays true); their buttons go."""
    services = context.services
    by_id = {g.id: g for g in listed if g.id is not None}
    for _, doc in _table(services).find(lambda d: d.get("state") == PENDING):
        group = by_id.get(doc.get("pg"))
        if group is None or group.is_draft:
            continue
        status = (group.status or "").lower()
        if not (group.failed or status in PUBLISHED_STATUSES or status in CLOSED_STATUSES):
            continue
        async with services.locks(f"post:{group.id}"):
            current = _table(services).get(str(group.id))
            if current is not None and current.get("state") == PENDING:
                await _mark_gone(context, current, "bot", status=status or None)


async def _refresh_if_changed(context: Context, group: PostGroup, accounts: Mapping[int, Sequence[Any]]) -> None:
    services = context.services
    async with services.locks(f"post:{group.id}"):
        doc = _table(services).get(str(group.id))
        if doc is None or doc.get("state") != PENDING:
            return
        if fingerprint_of(group) == doc.get("fp"):
            return
        _apply_fresh(services, doc, group, accounts, note_key="posts.note_changed")
        _table(services).put(str(group.id), doc)
        await redraw(context, doc)


def _apply_fresh(
    services: Services,
    doc: dict[str, Any],
    group: PostGroup,
    accounts: Mapping[int, Sequence[Any]],
    *,
    note_key: str | None = None,
    note_values: Mapping[str, Any] | None = None,
    reset: bool = True,
    override_ts: float | None = None,
) -> None:
    """Put ``group`` (as Resont now has it) on the card; approvals start again when ``reset``."""
    old = PostView.from_doc(doc.get("view", {}))
    fresh = view_of(group, accounts, author=old.author)
    if fresh.media_ids == old.media_ids:
        fresh.photo_url, fresh.first_media = old.photo_url, old.first_media
    elif fresh.media_ids:
        fresh.first_media = ""
    doc["fp"] = fingerprint_of(group)
    # The bot keeps its own time for a draft only while Resont does not hold that time itself
    # (Resont may ignore a draft's schedule_date): Resont's own time wins once it has one.
    if override_ts is not None:
        stored = fresh.schedule_ts is not None and int(fresh.schedule_ts // 60) == int(override_ts // 60)
        doc["override_ts"] = None if stored else override_ts
    elif fresh.schedule_ts is not None:
        doc["override_ts"] = None
    if doc.get("override_ts") is not None:
        fresh.schedule_ts = doc["override_ts"]
    doc["view"] = fresh.to_doc()
    if reset:
        doc["approvals"] = []
    doc["asking"] = False
    doc["error"] = None
    if note_key:
        doc["note"] = services.t(note_key, None, **(note_values or {}))


async def _check_logins(context: Context, accounts: Sequence[Account]) -> None:
    """One alert per account that needs a re-login, resolved when it is logged in again."""
    services = context.services
    for account in accounts:
        if account.id is None:
            continue
        key = f"account_login:{account.id}"
        if account.login_required:
            if not services.alerts.is_open(key):
                await services.alerts.raise_(context.bot, key, relogin_text(services, account))
        elif services.alerts.is_open(key):
            await services.alerts.resolve(
                context.bot,
                key,
                services.t("posts.relogin_resolved", None, name=html.escape(account.name or f"#{account.id}")),
            )


async def _check_failures(context: Context, listed: Sequence[PostGroup], accounts: Mapping[int, Sequence[Any]]) -> None:
    """An alert card with Retry for each failed post; resolved once the post is not failed."""
    services = context.services
    table = _table(services)
    for group in listed:
        if group.id is None:
            continue
        key = f"post_failed:{group.id}"
        if group.failed:
            if services.alerts.is_open(key):
                continue
            text = failed_text(services, group, accounts)
            table.put(f"retry:{group.id}", {"state": "open", "text": text, "at": time.time()})
            await services.alerts.raise_(context.bot, key, text, markup=retry_keyboard(services, group.id))
            _audit(services, "bot", "post.failed", group.id, log="; ".join(group.errors)[:500])
        elif services.alerts.is_open(key):
            status = (group.status or "").lower() or "?"
            await services.alerts.resolve(
                context.bot, key, services.t("posts.failure_resolved", None, id=str(group.id), status=html.escape(status))
            )
            table.delete(f"retry:{group.id}")


# =========================================================================== buttons


async def on_button(update: Update, context: Context) -> None:
    """``post:<action>:<post group id>[:extra]`` (the guard already checked the role)."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    handler = _ACTIONS.get(action)
    if handler is None or len(parts) < 3 or not parts[2].isdigit():
        await _answer(update, context.services.t("core.stale_button", query.from_user.id), alert=True)
        return
    await handler(update, context, int(parts[2]), parts[3:])


def _already(services: Services, doc: Mapping[str, Any], user_id: int) -> str:
    state = doc.get("state")
    decision = doc.get("decision") or {}
    who = decision.get("names") or decision.get("name") or "?"
    if state == APPROVED:
        return services.t("posts.already_approved", user_id, who=who)
    if state == REJECTED:
        return services.t("posts.already_rejected", user_id, who=who)
    if decision.get("status"):
        return services.t("posts.no_longer_waiting", user_id, status=decision["status"])
    return services.t("posts.no_longer_exists", user_id)


async def _pending_doc(update: Update, context: Context, pg: int) -> dict[str, Any] | None:
    """The card's document if it still waits for a decision; otherwise answer why not."""
    services = context.services
    user_id = update.callback_query.from_user.id
    doc = _table(services).get(str(pg))
    if doc is None or doc.get("state") == SENDING:
        await _answer(update, services.t("posts.unknown_post", user_id), alert=True)
        return None
    if doc.get("state") in FINAL_STATES:
        await _answer(update, _already(services, doc, user_id), alert=True)
        return None
    return doc


async def _mark_gone(context: Context, doc: dict[str, Any], user_id: int | str, *, status: str | None = None) -> None:
    services = context.services
    doc.update(
        state=GONE,
        asking=False,
        error=None,
        decision={"by": user_id, "at": time.time(), "outcome": "gone", "status": status},
    )
    _table(services).put(str(doc["pg"]), doc)
    _audit(services, user_id, "post.gone", doc["pg"], status=status)
    await redraw(context, doc)


async def _fresh(update: Update, context: Context, doc: dict[str, Any], action: str) -> PostGroup | None:
    """The post group as Resont has it now, or None after telling the admin why not: it was
    deleted, closed, changed since the card was drawn, or Resont failed."""
    services = context.services
    user = update.callback_query.from_user
    pg = doc["pg"]
    try:
        group = await services.resont.post_group(pg)
    except ResontNotFound:
        await _mark_gone(context, doc, user.id)
        await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
        return None
    except ResontError as exc:
        await _show_error(context, doc, exc, user.id, action)
        await _answer(update, _short_error(services, exc, user.id), alert=True)
        return None
    status = (group.status or "").lower()
    if group.failed or status in PUBLISHED_STATUSES or status in CLOSED_STATUSES:
        await _mark_gone(context, doc, user.id, status=status or None)
        await _answer(update, services.t("posts.no_longer_waiting", user.id, status=status), alert=True)
        return None
    if fingerprint_of(group) != doc.get("fp"):
        _apply_fresh(services, doc, group, _accounts(services), note_key="posts.note_changed")
        _table(services).put(str(pg), doc)
        await redraw(context, doc)
        await _answer(update, services.t("posts.changed_meanwhile", user.id), alert=True)
        return None
    return group


async def _show_error(context: Context, doc: dict[str, Any], exc: ResontError, user_id: int, action: str) -> None:
    """Keep the card actionable and show the Resont error with its trace id."""
    services = context.services
    doc["error"] = _error_fields(exc)
    _table(services).put(str(doc["pg"]), doc)
    _audit(services, user_id, action, doc["pg"], outcome="error", error=exc.message, trace_id=exc.trace_id,
           status=exc.status)
    await redraw(context, doc)


def _content(group: PostGroup, **changes: Any) -> PostInput:
    """The post group's content as Resont has it, for an edit (``changes`` applied)."""
    custom = group.raw.get("custom_captions")
    fields: dict[str, Any] = {
        "caption": group.caption if group.caption is not None else "",
        "type": group.type or None,
        "account_ids": list(group.account_ids) or None,
        "media_ids": list(group.media_ids) or None,
        "custom_captions": dict(custom) if isinstance(custom, Mapping) and custom else None,
    }
    fields.update(changes)
    return PostInput(**fields)


def _approval_of(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": display_name(user), "at": time.time()}


async def _on_approve(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    await _approve(update, context, pg, mode="normal")


async def _on_publish_now(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    await _approve(update, context, pg, mode="now")


async def _approve(update: Update, context: Context, pg: int, *, mode: str, at_ts: float | None = None) -> bool:
    """Count the presser's approval; when enough admins approved, schedule (or publish) the
    draft in Resont. ``mode``: ``normal`` (Approve), ``now`` (publish now), ``at`` (approve with
    the new time ``at_ts``). True when the post was decided."""
    services = context.services
    user = update.callback_query.from_user
    async with services.locks(f"post:{pg}"):
        doc = await _pending_doc(update, context, pg)
        if doc is None:
            return False
        approvals = list(doc.get("approvals") or [])
        required = services.config.approvals_required
        mine = any(a.get("id") == user.id for a in approvals)
        if mode == "normal" and doc.get("asking"):
            await _answer(update, services.t("posts.choose_now_or_time", user.id), alert=True)
            return False
        if mine and mode == "normal":
            await _answer(update, services.t("posts.already_yours", user.id, count=len(approvals), required=required), alert=True)
            return False
        group = await _fresh(update, context, doc, "post.approve")
        if group is None:
            return False
        if not mine:
            approvals.append(_approval_of(user))
        view = PostView.from_doc(doc["view"])
        if len(approvals) < required:
            if mode == "at" and at_ts is not None:
                doc["override_ts"] = at_ts
                view.schedule_ts = at_ts
                doc["view"] = view.to_doc()
            doc.update(approvals=approvals, error=None, asking=False)
            _table(services).put(str(pg), doc)
            _audit(services, user.id, "post.approval", pg, count=len(approvals), required=required)
            await redraw(context, doc)
            await _answer(update, services.t("posts.approval_counted", user.id, count=len(approvals), required=required))
            return False
        now = _now(services)
        if not group.is_draft:
            # Already scheduled in Resont: approving it changes nothing there.
            await _decide(context, doc, user, approvals, outcome="approved", schedule_ts=view.schedule_ts)
            await _answer(update, services.t("posts.answer_approved", user.id))
            return True
        if mode == "now":
            post = _content(group, is_draft=False, is_scheduled=False)
            outcome, when = "published", None
        else:
            when = at_ts if mode == "at" else (doc.get("override_ts") or view.schedule_ts)
            if when is None or datetime.fromtimestamp(when, timezone.utc) <= now + MIN_LEAD:
                doc.update(asking=True, error=None)
                _table(services).put(str(pg), doc)
                await redraw(context, doc)
                key = "posts.ask_now_or_time_untimed" if when is None else "posts.ask_now_or_time"
                await _answer(update, services.t(key, user.id), alert=True)
                return False
            post = _content(group, is_draft=False, is_scheduled=True, schedule_date=int(when))
            outcome = "scheduled"
        try:
            await services.resont.edit_post(pg, post)
        except ResontNotFound:
            await _mark_gone(context, doc, user.id)
            await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
            return False
        except ResontError as exc:
            await _show_error(context, doc, exc, user.id, "post.approve")
            await _answer(update, _short_error(services, exc, user.id), alert=True)
            return False
        await _decide(context, doc, user, approvals, outcome=outcome, schedule_ts=when)
        key = "posts.answer_published" if outcome == "published" else "posts.answer_scheduled"
        await _answer(update, services.t(key, user.id, when=when_text(services, when, services.lang(user.id))))
        return True


async def _decide(
    context: Context,
    doc: dict[str, Any],
    user: User,
    approvals: list[dict[str, Any]],
    *,
    outcome: str,
    schedule_ts: float | None = None,
    reason: str | None = None,
) -> None:
    services = context.services
    state = REJECTED if outcome in ("cancelled", "deleted") else APPROVED
    names = ", ".join(a.get("name") or str(a.get("id")) for a in approvals) if approvals else display_name(user)
    doc.update(
        state=state,
        approvals=approvals,
        asking=False,
        error=None,
        decision={
            "by": user.id,
            "name": display_name(user),
            "names": names,
            "at": time.time(),
            "outcome": outcome,
            "schedule_ts": schedule_ts,
            "reason": reason,
        },
    )
    _table(services).put(str(doc["pg"]), doc)
    action = "post.reject" if state == REJECTED else "post.approve"
    _audit(services, user.id, action, doc["pg"], outcome=outcome, name=display_name(user),
           approvers=[a.get("id") for a in approvals], schedule_ts=schedule_ts)
    await redraw(context, doc)


async def _on_pick_time(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    """"Pick a new time" after Approve found the time passed: ask, then approve with it."""
    await _ask_time(update, context, pg, approve=True)


async def _on_back(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user_id = update.callback_query.from_user.id
    async with services.locks(f"post:{pg}"):
        doc = await _pending_doc(update, context, pg)
        if doc is None:
            return
        doc["asking"] = False
        _table(services).put(str(pg), doc)
        await redraw(context, doc)
    await _answer(update, services.t("posts.answer_back", user_id))


async def _on_reject(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user = update.callback_query.from_user
    action = services.config.reject_action
    async with services.locks(f"post:{pg}"):
        doc = await _pending_doc(update, context, pg)
        if doc is None:
            return
        try:
            if action == "delete":
                await services.resont.delete_post(pg)
            else:
                await services.resont.cancel_post(pg)
        except ResontNotFound:
            await _mark_gone(context, doc, user.id)
            await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
            return
        except ResontError as exc:
            await _show_error(context, doc, exc, user.id, "post.reject")
            await _answer(update, _short_error(services, exc, user.id), alert=True)
            return
        outcome = "deleted" if action == "delete" else "cancelled"
        await _decide(context, doc, user, [], outcome=outcome)
    await _answer(update, services.t("posts.answer_rejected", user.id))
    try:
        await ask(
            context,
            doc["chat_id"],
            services.t("posts.ask_reason", user.id, id=str(pg), name=mention(user)),
            kind="post_reject_reason",
            user_id=user.id,
            data={"pg": pg},
            thread_id=services.topic("approvals"),
            reply_to=doc.get("message_id"),
        )
    except TelegramError as exc:
        log.warning("could not ask for the reason of rejecting post %s: %s", pg, exc)


async def on_reject_reason(update: Update, context: Context, target: dict[str, Any]) -> None:
    """The optional reason of a rejection: kept in the audit log and shown on the card."""
    services = context.services
    message = update.effective_message
    user_id = update.effective_user.id if update.effective_user else 0
    reason = (message.text or message.caption or "").strip()
    pg = int(target.get("data", {}).get("pg", 0))
    if not reason or not pg:
        return
    reason = reason[:1000]
    async with services.locks(f"post:{pg}"):
        doc = _table(services).get(str(pg))
        _audit(services, user_id, "post.reject_reason", pg, reason=reason)
        if doc is not None and doc.get("state") == REJECTED:
            doc["decision"]["reason"] = reason
            _table(services).put(str(pg), doc)
            await redraw(context, doc)
    await message.reply_text(services.t("posts.reason_saved", user_id, id=str(pg)))


async def _on_reschedule(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    await _ask_time(update, context, pg, approve=False)


async def _ask_time(update: Update, context: Context, pg: int, *, approve: bool) -> None:
    services = context.services
    user = update.callback_query.from_user
    doc = await _pending_doc(update, context, pg)
    if doc is None:
        return
    await _send_time_question(context, doc, user, approve=approve)
    await _answer(update, services.t("posts.answer_reply_below", user.id))


async def _send_time_question(
    context: Context, doc: Mapping[str, Any], user: User, *, approve: bool, error: str | None = None
) -> None:
    services = context.services
    user_id = user.id
    text = services.t("posts.ask_time", user_id, id=str(doc["pg"]), zone=services.config.timezone, name=mention(user),
                      hint=html.escape(services.t("time.hint", user_id, zone=services.config.timezone)))
    if error:
        text = html.escape(error) + "\n\n" + text
    await ask(
        context,
        doc["chat_id"],
        text,
        kind="post_reschedule",
        user_id=user_id,
        data={"pg": doc["pg"], "approve": approve},
        thread_id=services.topic("approvals"),
        reply_to=doc.get("message_id"),
    )


async def on_reschedule_time(update: Update, context: Context, target: dict[str, Any]) -> None:
    """A typed time for Reschedule: parse it in the configured zone and confirm before acting."""
    services = context.services
    message = update.effective_message
    user_id = update.effective_user.id
    data = target.get("data", {})
    pg = int(data.get("pg", 0))
    approve = bool(data.get("approve"))
    doc = _table(services).get(str(pg))
    if doc is None or doc.get("state") != PENDING:
        await message.reply_text(_already(services, doc or {}, user_id) if doc else services.t("posts.unknown_post", user_id))
        return
    lang = services.lang(user_id)
    try:
        moment = parse_when(message.text or "", now=_now(services), tz=services.tz, lang=lang)
    except TimeParseError as err:
        await _send_time_question(context, doc, update.effective_user, approve=approve,
                                  error=err.render(services.i18n, lang))
        return
    moment = _floor_minute(moment)
    if moment <= _now(services) + MIN_LEAD:
        when = format_when(moment, tz=services.tz, lang=lang)
        await _send_time_question(context, doc, update.effective_user, approve=approve,
                                  error=services.t("time.err_in_past", user_id, when=when))
        return
    ts = int(moment.timestamp())
    flag = ":a" if approve else ""
    key = "posts.confirm_time_approve" if approve else "posts.confirm_time"
    await message.reply_text(
        services.t(key, user_id, id=str(pg), when=html.escape(when_text(services, ts, lang))),
        parse_mode="HTML",
        reply_markup=confirm_keyboard(services, lang, f"post:rsok:{pg}:{ts}{flag}", f"post:rsno:{pg}",
                                      "posts.btn_yes", "posts.btn_no"),
    )


async def _edit_query_message(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message whose button was pressed (a confirmation or a preview)."""
    query = update.callback_query
    try:
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup or InlineKeyboardMarkup([]))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not edit a confirmation: %s", exc)
    except TelegramError as exc:
        log.warning("could not edit a confirmation: %s", exc)


async def _on_reschedule_yes(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user = update.callback_query.from_user
    if not extra or not extra[0].isdigit():
        await _answer(update, services.t("core.stale_button", user.id), alert=True)
        return
    ts = float(extra[0])
    lang = services.lang(user.id)
    if datetime.fromtimestamp(ts, timezone.utc) <= _now(services) + MIN_LEAD:
        await _answer(update, services.t("posts.time_passed_meanwhile", user.id), alert=True)
        return
    if len(extra) > 1 and extra[1] == "a":
        if await _approve(update, context, pg, mode="at", at_ts=ts):
            await _edit_query_message(update, services.t("posts.time_done_approved", user.id, id=str(pg),
                                                         when=html.escape(when_text(services, ts, lang))))
        return
    async with services.locks(f"post:{pg}"):
        doc = await _pending_doc(update, context, pg)
        if doc is None:
            return
        group = await _fresh(update, context, doc, "post.reschedule")
        if group is None:
            return
        changes: dict[str, Any] = {"is_scheduled": True, "schedule_date": int(ts)}
        if group.is_draft:
            changes["is_draft"] = True
        try:
            result = await services.resont.edit_post(pg, _content(group, **changes))
        except ResontNotFound:
            await _mark_gone(context, doc, user.id)
            await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
            return
        except ResontError as exc:
            await _show_error(context, doc, exc, user.id, "post.reschedule")
            await _answer(update, _short_error(services, exc, user.id), alert=True)
            return
        when = when_text(services, ts, services.config.language)
        merged = _merged(result, group, schedule_date=datetime.fromtimestamp(ts, timezone.utc))
        _apply_fresh(services, doc, merged, _accounts(services), note_key="posts.note_rescheduled",
                     note_values={"who": html.escape(display_name(user)), "when": html.escape(when)},
                     reset=False, override_ts=ts)
        _table(services).put(str(pg), doc)
        _audit(services, user.id, "post.reschedule", pg, outcome="ok", schedule_ts=ts)
        await redraw(context, doc)
    await _edit_query_message(update, services.t("posts.time_done", user.id, id=str(pg),
                                                 when=html.escape(when_text(services, ts, lang))))
    await _answer(update, services.t("posts.answer_rescheduled", user.id))


def _merged(result: PostGroup, before: PostGroup, **changes: Any) -> PostGroup:
    """The post group after an edit: Resont's answer when it is a whole post group, else the
    group as read before with ``changes`` applied (the document calls the answer a Post)."""
    if result.id is not None and result.caption is not None and result.account_ids:
        return result
    return dataclasses.replace(before, **changes)


async def _on_reschedule_no(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user_id = update.callback_query.from_user.id
    await _edit_query_message(update, services.t("posts.time_kept", user_id, id=str(pg)))
    await _answer(update)


async def _on_edit_caption(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user = update.callback_query.from_user
    doc = await _pending_doc(update, context, pg)
    if doc is None:
        return
    await ask(
        context,
        doc["chat_id"],
        services.t("posts.ask_caption", user.id, id=str(pg), name=mention(user)),
        kind="post_caption",
        user_id=user.id,
        data={"pg": pg},
        thread_id=services.topic("approvals"),
        reply_to=doc.get("message_id"),
    )
    await _answer(update, services.t("posts.answer_reply_below", user.id))


async def on_caption_text(update: Update, context: Context, target: dict[str, Any]) -> None:
    """The admin's reply is the new caption: show a preview with Save / Discard."""
    services = context.services
    message = update.effective_message
    user_id = update.effective_user.id
    pg = int(target.get("data", {}).get("pg", 0))
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(services.t("posts.caption_needs_text", user_id))
        return
    nonce = secrets.token_hex(3)
    async with services.locks(f"post:{pg}"):
        doc = _table(services).get(str(pg))
        if doc is None or doc.get("state") != PENDING:
            await message.reply_text(_already(services, doc, user_id) if doc else services.t("posts.unknown_post", user_id))
            return
        drafts = dict(doc.get("caption_drafts") or {})
        drafts[nonce] = {"text": text, "by": user_id, "at": time.time()}
        doc["caption_drafts"] = dict(list(drafts.items())[-MAX_CAPTION_DRAFTS:])
        _table(services).put(str(pg), doc)
    lang = services.lang(user_id)
    preview = html.escape(text)
    if len(preview) > 3500:
        preview = preview[:3500] + "…"
    await message.reply_text(
        services.t("posts.caption_preview", user_id, id=str(pg), caption=preview),
        parse_mode="HTML",
        reply_markup=confirm_keyboard(services, lang, f"post:capok:{pg}:{nonce}", f"post:capno:{pg}:{nonce}",
                                      "posts.btn_save", "posts.btn_discard"),
    )


async def _on_caption_save(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user = update.callback_query.from_user
    nonce = extra[0] if extra else ""
    async with services.locks(f"post:{pg}"):
        doc = await _pending_doc(update, context, pg)
        if doc is None:
            return
        draft = (doc.get("caption_drafts") or {}).get(nonce)
        if draft is None:
            await _answer(update, services.t("posts.preview_gone", user.id), alert=True)
            return
        group = await _fresh(update, context, doc, "post.caption")
        if group is None:
            return
        try:
            result = await services.resont.edit_post(pg, _content(group, caption=draft["text"]))
        except ResontNotFound:
            await _mark_gone(context, doc, user.id)
            await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
            return
        except ResontError as exc:
            await _show_error(context, doc, exc, user.id, "post.caption")
            await _answer(update, _short_error(services, exc, user.id), alert=True)
            return
        merged = _merged(result, group, caption=draft["text"])
        doc["caption_drafts"] = {}
        _apply_fresh(services, doc, merged, _accounts(services), note_key="posts.note_caption",
                     note_values={"who": html.escape(display_name(user))}, reset=True,
                     override_ts=doc.get("override_ts"))
        _table(services).put(str(pg), doc)
        _audit(services, user.id, "post.caption", pg, outcome="ok", caption=draft["text"][:500])
        await redraw(context, doc)
    await _edit_query_message(update, services.t("posts.caption_saved", user.id, id=str(pg)))
    await _answer(update, services.t("posts.answer_caption_saved", user.id))


async def _on_caption_discard(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    services = context.services
    user_id = update.callback_query.from_user.id
    nonce = extra[0] if extra else ""
    async with services.locks(f"post:{pg}"):
        doc = _table(services).get(str(pg))
        if doc is not None and nonce in (doc.get("caption_drafts") or {}):
            doc["caption_drafts"].pop(nonce, None)
            _table(services).put(str(pg), doc)
    await _edit_query_message(update, services.t("posts.caption_discarded", user_id, id=str(pg)))
    await _answer(update)


async def _on_retry(update: Update, context: Context, pg: int, extra: list[str]) -> None:
    """Retry a failed post (the alert card's button)."""
    services = context.services
    user = update.callback_query.from_user
    message = update.callback_query.message
    key = f"retry:{pg}"
    async with services.locks(f"post:{pg}"):
        doc = _table(services).get(key) or {"state": "open", "text": ""}
        if doc.get("state") == "retrying":
            at = datetime.fromtimestamp(float(doc.get("at", 0)), timezone.utc)
            await _answer(update, services.t("posts.retry_already", user.id, who=doc.get("name", "?"),
                                             at=format_when(at, tz=services.tz, lang=services.lang(user.id))), alert=True)
            return
        if doc.get("state") == "gone":
            await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
            return
        base = doc.get("text") or (message.text_html if message is not None and message.text else "")
        try:
            await services.resont.retry_post(pg)
        except ResontNotFound:
            doc.update(state="gone", at=time.time())
            _table(services).put(key, doc)
            _audit(services, user.id, "post.retry", pg, outcome="gone")
            await _edit_alert(update, base + "\n\n" + services.t("posts.retry_gone", None))
            await _answer(update, services.t("posts.no_longer_exists", user.id), alert=True)
            return
        except ResontError as exc:
            _audit(services, user.id, "post.retry", pg, outcome="error", error=exc.message, trace_id=exc.trace_id)
            line = error_text(services, exc.message, exc.trace_id, services.config.language)
            await _edit_alert(update, base + "\n\n" + line, retry_keyboard(services, pg))
            await _answer(update, _short_error(services, exc, user.id), alert=True)
            return
        doc.update(state="retrying", by=user.id, name=display_name(user), at=time.time(), text=base)
        _table(services).put(key, doc)
        _audit(services, user.id, "post.retry", pg, outcome="ok")
        now = format_when(_now(services), tz=services.tz, lang=services.config.language)
        await _edit_alert(update, base + "\n\n" + services.t("posts.retry_requested", None,
                                                            who=html.escape(display_name(user)), at=now))
    await _answer(update, services.t("posts.answer_retry", user.id))


async def _edit_alert(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    try:
        await query.edit_message_text(text[:4096], parse_mode="HTML", reply_markup=markup or InlineKeyboardMarkup([]),
                                      link_preview_options=NO_PREVIEW)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not edit a failure alert: %s", exc)
    except TelegramError as exc:
        log.warning("could not edit a failure alert: %s", exc)


_ACTIONS = {
    "ok": _on_approve,
    "now": _on_publish_now,
    "later": _on_pick_time,
    "back": _on_back,
    "no": _on_reject,
    "time": _on_reschedule,
    "rsok": _on_reschedule_yes,
    "rsno": _on_reschedule_no,
    "cap": _on_edit_caption,
    "capok": _on_caption_save,
    "capno": _on_caption_discard,
    "retry": _on_retry,
}


# =========================================================================== commands


async def on_pending(update: Update, context: Context) -> None:
    """/pending: the posts whose cards still wait for a decision."""
    services = context.services
    user_id = update.effective_user.id
    lang = services.lang(user_id)
    docs = [doc for _, doc in _table(services).items() if doc.get("state") == PENDING and doc.get("view")]
    if not docs:
        await update.effective_message.reply_text(services.t("posts.pending_none", user_id))
        return
    docs.sort(key=lambda d: (d["view"].get("schedule_ts") or float("inf"), d.get("pg") or 0))
    lines = [services.t("posts.pending_title", user_id, count=len(docs))]
    lines += [pending_line(services, doc, lang) for doc in docs[:30]]
    if len(docs) > 30:
        lines.append(services.t("posts.list_more", user_id, count=len(docs) - 30))
    await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML", link_preview_options=NO_PREVIEW)


async def on_posts(update: Update, context: Context) -> None:
    """/posts: the next scheduled posts, as Resont has them."""
    services = context.services
    user_id = update.effective_user.id
    lang = services.lang(user_id)
    now = _now(services)
    try:
        accounts = _remember_accounts(services, await services.resont.accounts())
        groups = [
            g
            async for g in services.resont.posts(
                order="schedule_date", publish_from=now.astimezone(services.tz).date(), limit=MAX_LISTED
            )
        ]
    except ResontError as exc:
        await update.effective_message.reply_text(
            error_text(services, exc.message, exc.trace_id, lang), parse_mode="HTML"
        )
        return
    upcoming = sorted((g for g in groups if is_waiting(g, now)), key=lambda g: g.schedule_date)
    if not upcoming:
        await update.effective_message.reply_text(services.t("posts.posts_none", user_id))
        return
    lines = [services.t("posts.posts_title", user_id, count=len(upcoming))]
    lines += [scheduled_line(services, g, accounts, lang) for g in upcoming[:10]]
    if len(upcoming) > 10:
        lines.append(services.t("posts.list_more", user_id, count=len(upcoming) - 10))
    await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML", link_preview_options=NO_PREVIEW)

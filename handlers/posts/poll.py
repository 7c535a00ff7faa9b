"""The posts poll: Resont drafts and scheduled posts become approval cards in the admin chat.

A :class:`RepeatingJob` lists drafts and recent post groups, sends one card per new post group,
redraws cards whose post changed in Resont, closes cards of posts that Resont published, cancelled
or failed without a decision here, and raises (and resolves) the failure and re-login alerts.

A post is carded once, across restarts and overlapping polls: :func:`create_card` claims the
post group's key in the ``approvals`` table with ``insert_new`` before the card is sent.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from telegram import Message
from telegram.error import BadRequest, TelegramError

from bot.clients.resont.errors import ResontError
from bot.clients.resont.models import Account
from bot.clients.resont.post_models import PostGroup
from bot.runtime.context import AnyApplication, Context
from bot.runtime.services import Services
from bot.store.errors import StoreUnavailable
from handlers.posts.cards import card_keyboard, card_text, failed_text, relogin_text, retry_keyboard
from handlers.posts.docs import ALERT_OPEN, PENDING, SENDING, AccountNames, ApprovalDoc, new_approval
from handlers.posts.postview import PostView, fingerprint_of, media_kind, view_of
from handlers.posts.state import (
    POLL_LOCK,
    apply_fresh,
    audit,
    is_over,
    is_waiting,
    mark_gone,
    now,
    post_lock,
    redraw,
    remember_accounts,
    status_of,
    table,
)

log = logging.getLogger(__name__)

POLL_ALERT = "posts:poll"
JOB_NAME = "posts"
#: New cards per poll; a larger backlog is carded over the next polls.
CARDS_PER_POLL = 10
#: Failed posts older than this are history, not alerts.
LOOKBACK = timedelta(days=2)


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
    except StoreUnavailable as exc:  # not a bug: the next poll tries again
        log.warning("posts poll stopped: %s", exc)
        services.health.job(JOB_NAME, False, "the state database is not reachable")
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
    listed_accounts = await resont.accounts.all()
    mapping = remember_accounts(services, listed_accounts)
    await _check_logins(context, listed_accounts)
    moment = now(services)
    drafts = [g async for g in resont.posts.drafts()]
    since = (moment - LOOKBACK).astimezone(services.tz).date()
    listed = [g async for g in resont.posts.walk(publish_from=since)]
    candidates = [g for g in drafts if g.id is not None]
    candidates += [g for g in listed if g.id is not None and is_waiting(g, moment)]
    sent = await _card_or_refresh(context, sorted(candidates, key=lambda g: g.id or 0), mapping)
    await _close_finished(context, listed)
    await _check_failures(context, listed, mapping)
    return services.t("posts.poll_summary", None, drafts=len(drafts), new=sent)


async def _card_or_refresh(context: Context, candidates: Sequence[PostGroup], mapping: AccountNames) -> int:
    """Card the post groups without a card (up to :data:`CARDS_PER_POLL`), refresh the waiting
    cards of the others; returns how many cards were sent."""
    services = context.services
    sent = 0
    for group in candidates:
        if group.id is None:
            continue
        doc = table(services).get(group.id)
        if doc is None:
            if sent >= CARDS_PER_POLL:
                continue
            try:
                if await create_card(context, group, mapping):
                    sent += 1
            except TelegramError as exc:
                log.warning("could not send the card of post %s: %s", group.id, exc)
        elif doc.get("state") == PENDING:
            await _refresh_if_changed(context, group.id, group, mapping)
    return sent


# --------------------------------------------------------------------------- cards


async def create_card(
    context: Context,
    group: PostGroup,
    accounts: AccountNames,
    *,
    author: str = "",
    schedule_ts: float | None = None,
) -> bool:
    """Send the approval card of ``group`` unless it already has one; True if sent now.

    ``schedule_ts`` is the time the bot keeps for the post when Resont did not store it (a
    draft proposed through /newpost)."""
    services = context.services
    pg = group.id
    if pg is None:  # nothing to key its card by, nor to decide on in Resont
        log.warning("a post group without an id gets no approval card")
        return False
    claim = new_approval(pg, SENDING)
    claim["at"] = time.time()
    if not table(services).claim(claim):
        return False
    try:
        doc = await _new_doc(services, pg, group, accounts, author, schedule_ts)
        message = await _send_card(context, doc)
    except BaseException:
        table(services).delete(pg)  # not carded: the next poll tries again
        raise
    doc["chat_id"], doc["message_id"] = message.chat_id, message.message_id
    # Telegram has the card: a database outage makes this wait, it must not send the card twice
    await services.store.durably(partial(table(services).put, doc))
    audit(services, "bot", "post.card", pg, kind=doc["view"]["kind"])
    return True


async def _new_doc(
    services: Services,
    pg: int,
    group: PostGroup,
    accounts: AccountNames,
    author: str,
    schedule_ts: float | None,
) -> ApprovalDoc:
    """The ``approvals`` document of a new card (not yet sent)."""
    photo_url, first = await _preview(services, group)
    view = view_of(group, accounts, author=author, photo_url=photo_url, first_media=first)
    override = None
    if schedule_ts is not None and view.schedule_ts is None:  # Resont dropped the draft's time
        view.schedule_ts = override = schedule_ts
    doc = new_approval(pg, PENDING)
    doc["view"], doc["fp"], doc["override_ts"], doc["created"] = (
        view.to_doc(),
        fingerprint_of(group),
        override,
        time.time(),
    )
    return doc


async def _send_card(context: Context, doc: ApprovalDoc) -> Message:
    """Send the card: the first image as a photo when there is one, else text."""
    services = context.services
    view = PostView.from_doc(doc["view"])
    markup = card_keyboard(services, doc)
    if view.photo_url:
        doc["card"] = "photo"
        try:
            return await context.bot.send_photo(
                services.config.admin_chat_id,
                photo=view.photo_url,
                caption=card_text(services, doc),
                reply_markup=markup,
                message_thread_id=services.topic("approvals"),
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
        first = await services.resont.files.get(media[0])
    except ResontError as exc:
        log.info("no preview for post %s: %s", group.id, exc)
        guess = {"image": "image", "album": "image", "video": "video", "document": "document"}
        return "", guess.get((group.type or "").lower(), "")
    kind = media_kind(first.file_type, first.ext)
    url = first.url if kind == "image" and first.url and first.url.startswith(("http://", "https://")) else ""
    return url, kind


async def _refresh_if_changed(context: Context, pg: int, group: PostGroup, accounts: AccountNames) -> None:
    services = context.services
    async with post_lock(services, pg):
        doc = table(services).get(pg)
        if doc is None or doc.get("state") != PENDING or fingerprint_of(group) == doc.get("fp"):
            return
        apply_fresh(services, doc, group, accounts, note_key="posts.note_changed")
        table(services).put(doc)
        await redraw(context, doc)


async def _close_finished(context: Context, listed: Sequence[PostGroup]) -> None:
    """Cards of posts that Resont published, cancelled or failed without a decision here are
    closed (so /pending stays true); their buttons go."""
    services = context.services
    by_id = {g.id: g for g in listed if g.id is not None}
    for doc in table(services).find(lambda d: d.get("state") == PENDING):
        pg = doc["pg"]
        group = by_id.get(pg)
        if group is None or group.is_draft or not is_over(group):
            continue
        async with post_lock(services, pg):
            current = table(services).get(pg)
            if current is not None and current.get("state") == PENDING:
                await mark_gone(context, current, "bot", status=status_of(group) or None)


async def forget_unsent_claims(app: AnyApplication) -> None:
    """At start-up: claims whose card was never sent (a crash mid-send) are dropped so the next
    poll sends them."""
    services: Services = app.bot_data.services
    dropped = table(services).prune(SENDING)
    if dropped:
        log.info("dropped %d unsent approval card claim(s)", dropped)


def status_lines(services: Services, user_id: int | None) -> list[str]:
    pending = len(table(services).find(lambda d: d.get("state") == PENDING))
    return [services.t("posts.status_pending", user_id, count=pending)]


# --------------------------------------------------------------------------- alerts


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
            name = html.escape(account.name or f"#{account.id}")
            await services.alerts.resolve(context.bot, key, services.t("posts.relogin_resolved", None, name=name))


async def _check_failures(context: Context, listed: Sequence[PostGroup], accounts: AccountNames) -> None:
    """An alert card with Retry for each failed post; resolved once the post is not failed."""
    services = context.services
    for group in listed:
        if group.id is None:
            continue
        key = f"post_failed:{group.id}"
        if group.failed and not services.alerts.is_open(key):
            await _raise_failure(context, group.id, group, accounts)
        elif not group.failed and services.alerts.is_open(key):
            status = html.escape(status_of(group) or "?")
            text = services.t("posts.failure_resolved", None, id=str(group.id), status=status)
            await services.alerts.resolve(context.bot, key, text)
            table(services).delete_retry(group.id)


async def _raise_failure(context: Context, pg: int, group: PostGroup, accounts: AccountNames) -> None:
    """The failure alert of post group ``pg``, with its Retry button (see
    :mod:`handlers.posts.decisions`)."""
    services = context.services
    text = failed_text(services, group, accounts)
    table(services).put_retry(pg, {"state": ALERT_OPEN, "text": text, "at": time.time()})
    await services.alerts.raise_(context.bot, f"post_failed:{pg}", text, markup=retry_keyboard(services, pg))
    audit(services, "bot", "post.failed", pg, log="; ".join(group.errors)[:500])

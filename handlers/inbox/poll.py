"""Inbox polls: the ``inbox-comments`` and ``inbox-dms`` jobs fetch new comments and DMs from
Resont, claim them, have them delivered, then advance their cursors (only over items that are
no longer pending).

The pipeline around the polls lives beside this module: :mod:`handlers.inbox.records` (keys,
claiming, retention), :mod:`handlers.inbox.enrich` (what Resont adds to an item) and
:mod:`handlers.inbox.delivery` (cards, digests, DM grouping, the runtime and webhook pushes).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from bot.clients.resont.errors import ResontError
from bot.clients.resont.inbox_models import Comment, Conversation, Message
from bot.store.errors import StoreUnavailable
from handlers.inbox import dm_cursor
from handlers.inbox.delivery import (
    deliver_pending,
    runtime,
)
from handlers.inbox.dm_cursor import ConversationCursor
from handlers.inbox.records import (
    COMMENTS_CURSOR,
    CONV_CURSOR_PREFIX,
    DMS_CURSOR,
    claim_comment,
    claim_message,
    comment_key,
    maybe_prune,
    message_key,
    now_ts,
    status_of,
)

if TYPE_CHECKING:
    from bot.runtime.context import Context
    from bot.runtime.services import Services

log = logging.getLogger(__name__)

COMMENT_EXPAND = ("account", "socialUser", "accountPost")
CONVERSATION_EXPAND = ("account", "participants.socialUser")

W = TypeVar("W")  # what a poll's fetch hands to its advance

SEEN_KEPT = 50  # comment ids remembered by the cursor (a deleted item must not make a walk run on)


# ---------------------------------------------------------------------------------- polls


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class CommentsCursor(TypedDict):
    """``inbox:comments`` in the ``cursors`` table: the newest comments the poll has handled."""

    seen: list[str]  # their ids (the newest SEEN_KEPT)
    date: str | None  # the newest one's date (ISO 8601)
    at: float


class DmsCursor(TypedDict):
    """``inbox:dms`` in the ``cursors`` table: every conversation updated before ``since`` is read."""

    since: str | None  # ISO 8601
    at: float


def _comments_cursor(raw: Mapping[str, Any]) -> CommentsCursor:
    """The stored comments cursor (ids as strings, whatever wrote them)."""
    date = raw.get("date")
    return {
        "seen": [str(i) for i in raw.get("seen") or []],
        "date": date if isinstance(date, str) else None,
        "at": float(raw.get("at") or 0.0),
    }


def _remember(seen: Iterable[str], ids: Iterable[int | None]) -> list[str]:
    out = list(seen)
    for item_id in ids:
        if item_id is not None and str(item_id) not in out:
            out.append(str(item_id))
    return out[-SEEN_KEPT:]


async def _upstream(context: Context, name: str, ok: bool, detail: str = "") -> None:
    """One alert per incident: raised on the first failure, resolved on the next success."""
    services = context.services
    key = f"inbox:{name}"
    what = services.i18n.t(f"inbox.what_{name}", services.config.language)
    services.health.job(f"inbox-{name}", ok, detail)
    if ok:
        await services.alerts.resolve(context.bot, key, services.t("inbox.alert_recovered", None, what=what))
    else:
        await services.alerts.raise_(
            context.bot, key, services.t("inbox.alert_poll_failed", None, what=what, error=html.escape(detail[:300]))
        )


async def poll_comments(context: Context) -> None:
    """The comments poll (a RepeatingJob): fetch, claim, deliver, then advance the cursor."""

    def advance(services: Services, fetched: list[Comment]) -> int:
        _advance_comments(services, fetched)
        return len(fetched)

    def after() -> None:
        maybe_prune(context.services, runtime(context.application))

    await _poll(context, "comments", "comments", fetch_comments, advance, after)


async def _poll(
    context: Context,
    name: str,
    label: str,
    fetch: Callable[[Services], Awaitable[W]],
    advance: Callable[[Services, W], int],
    after: Callable[[], None] | None = None,
) -> None:
    """One run of the ``inbox-<name>`` poll: fetch and claim, deliver, advance the cursors."""
    services = context.services
    async with services.locks(f"inbox:poll:{name}"):
        try:
            try:
                fetched = await fetch(services)
            except ResontError as exc:
                await _upstream(context, name, False, str(exc))
                await deliver_pending(context.application)  # webhook items and leftovers still go
                return
            delivered = await deliver_pending(context.application)
            count = advance(services, fetched)
            await _upstream(context, name, True, f"{count} new, {delivered} forwarded")
            if after is not None:
                after()
        except StoreUnavailable as exc:  # not a bug: the next cycle tries again
            log.warning("inbox: %s poll stopped: %s", label, exc)
            services.health.job(f"inbox-{name}", False, "the state database is not reachable")
        except Exception as exc:
            log.exception("inbox: %s poll failed", label)
            services.health.job(f"inbox-{name}", False, f"{type(exc).__name__}: {exc}")


async def fetch_comments(services: Services) -> list[Comment]:
    """The first half of a comments poll: fetch the comments new since the cursor and claim
    them (they wait ``pending`` for delivery), oldest first; the cursor does not move. On the
    first start it only remembers where history ends (claiming the configured backfill) and
    returns nothing. A process that stops after this and before delivering loses nothing."""
    cursors = services.store.table("cursors")
    stored = cursors.get(COMMENTS_CURSOR)
    resont = services.resont
    backfill = services.config.backfill
    if stored is None:
        # First start: remember where history ends; forward only the configured backfill.
        newest = [c async for c in resont.comments.walk(with_=COMMENT_EXPAND, limit=max(1, backfill))]
        for comment in reversed(newest[:backfill]):
            claim_comment(services, comment, "backfill")
        start: CommentsCursor = {
            "seen": _remember([], [c.id for c in reversed(newest)]),
            "date": _iso(newest[0].date) if newest else None,
            "at": now_ts(services),
        }
        cursors.put(COMMENTS_CURSOR, dict(start))
        return []
    cursor = _comments_cursor(stored)
    stop_before = _from_iso(cursor["date"])
    if stop_before is not None:
        stop_before -= timedelta(days=1)  # a safety net if every remembered id was deleted
    new = [
        c
        async for c in resont.comments.walk(
            with_=COMMENT_EXPAND, seen_ids=cursor["seen"] or None, stop_before=stop_before
        )
    ]
    new.reverse()  # oldest first
    for comment in new:
        claim_comment(services, comment, "poll")
    return new


def _advance_comments(services: Services, fetched: list[Comment]) -> None:
    """Move the cursor over the fetched comments that reached Telegram (oldest first, stopping
    at the first one still pending)."""
    if not fetched:
        return
    cursors = services.store.table("cursors")
    cursor = _comments_cursor(cursors.get(COMMENTS_CURSOR) or {})
    done: list[Comment] = []
    for comment in fetched:
        if comment.id is not None and status_of(services, comment_key(comment.id)) == "pending":
            break
        done.append(comment)
    if not done:
        return
    dates = [c.date for c in done if c.date is not None]
    moved: CommentsCursor = {
        "seen": _remember(cursor["seen"], [c.id for c in done]),
        "date": _iso(max(dates)) if dates else cursor["date"],
        "at": now_ts(services),
    }
    cursors.put(COMMENTS_CURSOR, dict(moved))


async def poll_dms(context: Context) -> None:
    """The DM poll (a RepeatingJob): updated conversations, then their new inbound messages."""
    await _poll(context, "dms", "DM", _fetch_dms, _advance_dms)


class _DmWork:
    def __init__(self, since: datetime | None, conversations: list[tuple[Conversation, list[Message], list[Message]]]):
        self.since = since
        self.conversations = conversations


INIT_CONVERSATIONS = 5  # conversations whose messages are marked seen on the first start


async def _fetch_dms(services: Services) -> _DmWork | None:
    """The conversations updated since the last poll and their messages not handled yet (every
    conversation updated since is read, and each one's messages whole: see :mod:`dm_cursor`)."""
    cursors = services.store.table("cursors")
    cursor = cursors.get(DMS_CURSOR)
    if cursor is None:
        await _first_dm_start(services)
        return None
    stored_since = cursor.get("since")
    since = _from_iso(stored_since if isinstance(stored_since, str) else None)
    conversations = [c async for c in services.resont.conversations.walk(stop_before=since)]
    work: list[tuple[Conversation, list[Message], list[Message]]] = []
    for conversation in reversed(conversations):  # least recently updated first
        if conversation.id is None:
            continue
        conv_cursor = cursors.get(CONV_CURSOR_PREFIX + str(conversation.id))
        messages = await services.resont.conversations.messages(conversation.id)
        new = dm_cursor.unseen(messages, dm_cursor.read(conv_cursor)) if conv_cursor else _since(messages, since)
        # The bot's own replies move the conversation too: only the other side's messages go.
        inbound = [m for m in new if m.id is not None and m.sent_by_participant(conversation)]
        for message in inbound:
            claim_message(services, message, conversation, "poll")
        work.append((conversation, messages, inbound))
    return _DmWork(since, work)


async def _first_dm_start(services: Services) -> None:
    """First start: the newest conversations' messages count as seen (the backfill newest ones
    forward their last inbound message); everything older is history."""
    resont = services.resont
    backfill = services.config.backfill
    newest = [c async for c in resont.conversations.walk(limit=max(INIT_CONVERSATIONS, backfill))]
    marks: dict[str, ConversationCursor] = {}
    for index, conversation in enumerate(newest):
        if conversation.id is None:
            continue
        messages = await resont.conversations.messages(conversation.id)
        inbound = [m for m in messages if m.id is not None and m.sent_by_participant(conversation)]
        if inbound and index < backfill:
            claim_message(services, inbound[-1], conversation, "backfill")
        marks[CONV_CURSOR_PREFIX + str(conversation.id)] = dm_cursor.handled(messages, None, now_ts(services))
    dates = [c.update_date for c in newest if c.update_date is not None]
    since = max(dates) if dates else services.clock()
    start: DmsCursor = {"since": _iso(since), "at": now_ts(services)}
    # where history ends: every cursor at once, or none
    services.store.table("cursors").put_many({**{k: dict(v) for k, v in marks.items()}, DMS_CURSOR: dict(start)})


def _since(messages: list[Message], since: datetime | None) -> list[Message]:
    """The messages of a conversation never read before that are new since the last poll (the
    newest one alone when Resont's dates cannot be read)."""
    if since is None:
        return messages[-1:]
    dated = [m for m in messages if m.date is not None]
    if not dated:
        return messages[-1:]
    return [m for m in dated if m.date is not None and m.date >= since]


def _advance_dms(services: Services, work: _DmWork | None) -> int:
    if work is None:
        return 0
    cursors = services.store.table("cursors")
    complete = True
    newest = work.since
    count = 0
    moves: dict[str, ConversationCursor] = {}  # the cursors this poll advances, written at once
    for conversation, messages, inbound in work.conversations:
        count += len(inbound)
        waiting = [m for m in inbound if status_of(services, message_key(m.id)) == "pending"]
        if waiting:
            complete = False
            continue
        key = CONV_CURSOR_PREFIX + str(conversation.id)
        stored = cursors.get(key)
        previous = moves.get(key) or (dm_cursor.read(stored) if stored else None)
        moves[key] = dm_cursor.handled(messages, previous, now_ts(services))
        if conversation.update_date is not None and (newest is None or conversation.update_date > newest):
            newest = conversation.update_date
    writes: dict[str, dict[str, object]] = {key: dict(cursor) for key, cursor in moves.items()}
    if complete and newest is not None:
        moved: DmsCursor = {"since": _iso(newest), "at": now_ts(services)}
        writes[DMS_CURSOR] = dict(moved)
    cursors.put_many(writes)
    return count

"""The inbox pipeline: new comments and DMs, found by polling or pushed by the webhook, claimed
in the state file, then forwarded to the admin chat as cards (or folded into digests).

Records live in the ``inbox`` table, one per key:

* ``c:<comment id>`` – a comment card (``type`` comment)
* ``m:<message id>`` – one inbound direct message (``type`` msg): the dedupe key of a message,
  pointing at the DM card it was grouped into (``record``)
* ``d:<conversation id>:<first message id>`` – a DM card (``type`` dm): a burst of messages from
  one person, grouped while it is open and messages keep coming within ``dm_group_seconds``
* ``v:<conversation id>`` – the conversation's current DM card (for grouping)
* ``dg:<digest id>`` – a digest message and the records it lists

An item's life: ``pending`` (claimed, not yet in Telegram) → ``open`` → ``replied`` / ``done`` /
``deleted``; a message record goes ``pending`` → ``grouped`` (or ``skipped`` when the account
itself sent it). Claiming is ``insert_new`` on the item id, so a webhook push and a poll of the
same item forward it once. A record stays ``pending`` until Telegram accepted its card: a crash
(or a Telegram failure) between fetching and forwarding leaves it pending and the next pass
delivers it; after forwarding the record says so (a digest and all the records it lists in one
store write, so a crash cannot leave part of a digest pending), and nothing is sent twice. Poll cursors
advance only over items that are no longer pending.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.resont_errors import ResontError, ResontNotFound
from bot.resont_models import Comment, Conversation, Message
from bot.services import NO_PREVIEW
from handlers import inbox_cards as cards
from handlers.replies import remember_card

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import Application

    from bot.context import Context
    from bot.services import Services

log = logging.getLogger(__name__)

TABLE = "inbox"
CARD_KIND = "inbox_card"  # reply target kind of a card
PROMPT_KIND = "inbox_answer"  # reply target kind of a Reply-button prompt

COMMENTS_CURSOR = "inbox:comments"
DMS_CURSOR = "inbox:dms"
CONV_CURSOR_PREFIX = "inbox:conv:"

COMMENT_EXPAND = ("account", "socialUser", "accountPost")
CONVERSATION_EXPAND = ("account", "participants.socialUser")

MAX_FETCH = 1000  # comments fetched per poll at most
MAX_CONVERSATIONS = 200  # updated conversations looked at per poll
MAX_MESSAGES = 50  # messages read per conversation per poll
SEEN_KEPT = 50  # ids remembered per cursor (a deleted item must not make a walk run on)
DIGEST_SIZE = 25  # lines per digest message
MAX_CARD_ATTEMPTS = 3  # Telegram refusing one card this often marks it failed
ACCOUNTS_TTL = 600.0
PRUNE_EVERY = 3600.0

OPEN_STATUSES = ("open", "replied")
ITEM_TYPES = ("comment", "dm")


def comment_key(comment_id: int | str) -> str:
    return f"c:{comment_id}"


def message_key(message_id: int | str) -> str:
    return f"m:{message_id}"


def dm_key(conversation_id: int | str, message_id: int | str) -> str:
    return f"d:{conversation_id}:{message_id}"


def conversation_key(conversation_id: int | str) -> str:
    return f"v:{conversation_id}"


def digest_key(digest_id: str) -> str:
    return f"dg:{digest_id}"


def table(services: Services):
    return services.store.table(TABLE)


def now_ts(services: Services) -> float:
    return services.clock().timestamp()


def topic_of(record: dict[str, Any]) -> str:
    return "dms" if record.get("type") == "dm" else "comments"


# ---------------------------------------------------------------------------------- runtime


class InboxRuntime:
    """Per-application state that is not worth persisting: caches, background delivery, the
    webhook server. Reached as ``application.bot_data.inbox``; closed at shutdown."""

    def __init__(self) -> None:
        self.accounts: dict[int, dict[str, Any]] = {}
        self.accounts_at = 0.0
        self.last_prune = 0.0
        self.webhook: Any = None
        self.deliver_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self, app: Application) -> None:
        """Deliver pending records soon, in the background (webhook pushes)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(app), name="inbox-deliver")

    async def _run(self, app: Application) -> None:
        while self._again:
            self._again = False
            try:
                await deliver_pending(app)
            except Exception:  # noqa: BLE001 - the next poll tries again
                log.exception("inbox: background delivery failed")

    async def aclose(self) -> None:
        """Stop the webhook server and background delivery (called at shutdown)."""
        if self.webhook is not None:
            await self.webhook.aclose()
            self.webhook = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass


def runtime(app: Application) -> InboxRuntime:
    found = getattr(app.bot_data, "inbox", None)
    if found is None:
        found = InboxRuntime()
        app.bot_data.inbox = found  # type: ignore[attr-defined]
    return found


async def stop_inbox(app: Application) -> None:
    """Feature.on_stop hook: stop the webhook server and background delivery."""
    found = getattr(app.bot_data, "inbox", None)
    if found is not None:
        await found.aclose()


# ---------------------------------------------------------------------------------- claiming


def _base(services: Services, kind: str, source: str) -> dict[str, Any]:
    now = now_ts(services)
    return {"type": kind, "status": "pending", "at": now, "seq": time.time_ns(), "updated": now, "source": source,
            "attempts": 0, "log": []}


def remember_own(services: Services, kind: str, item_id: int | None) -> None:
    """Mark a comment or message the bot itself just created (a reply) as known, so that no
    poll or push forwards it back to the chat."""
    if item_id is None:
        return
    key = comment_key(item_id) if kind == "comment" else message_key(item_id)
    now = now_ts(services)
    table(services).insert_new(key, {"type": "own", "status": "own", "at": now, "updated": now})


def _is_own_comment(item: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> bool:
    """A comment written by the account itself (a reply made in Resont's panel, say)."""
    info = accounts.get(item.get("account_id")) if item.get("account_id") is not None else None
    identifier = (info or {}).get("identifier")
    username = item.get("username")
    return bool(identifier and username and identifier.lower().lstrip("@") == username.lower().lstrip("@"))


def claim_comment(services: Services, comment: Comment, source: str) -> bool:
    """Record a new comment as pending; False if it is already known (forwarded or claimed)."""
    if comment.id is None:
        return False
    item = cards.comment_item(comment)
    doc = {**_base(services, "comment", source), "item": item, "account_id": item.get("account_id"),
           "enriched": bool(item.get("post_excerpt") or item.get("permalink"))}
    return table(services).insert_new(comment_key(comment.id), doc)


def claim_message(
    services: Services, message: Message, conversation: Conversation | None, source: str
) -> bool:
    """Record a new inbound message as pending; False if it is already known."""
    if message.id is None:
        return False
    conversation_id = message.conversation_id
    if conversation_id is None and conversation is not None:
        conversation_id = conversation.id
    doc = {
        **_base(services, "msg", source),
        "message": cards.message_item(message),
        "conversation_id": conversation_id,
        "conversation": cards.conversation_item(conversation, conversation_id, message.social_user_id)
        if conversation is not None else None,
        "outbound": message.outbound,
        "check_direction": conversation is None,
    }
    return table(services).insert_new(message_key(message.id), doc)


# ---------------------------------------------------------------------------------- enrichment


async def _accounts(services: Services, rt: InboxRuntime) -> dict[int, dict[str, Any]]:
    now = time.monotonic()
    if rt.accounts and now - rt.accounts_at < ACCOUNTS_TTL:
        return rt.accounts
    try:
        accounts = await services.resont.accounts()
    except ResontError as exc:
        log.warning("inbox: accounts unavailable for cards: %s", exc)
        return rt.accounts
    rt.accounts = {a.id: cards.account_info(a) for a in accounts if a.id is not None}
    rt.accounts_at = now
    return rt.accounts


def _fill_account(item: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> None:
    info = accounts.get(item.get("account_id")) if item.get("account_id") is not None else None
    if not info:
        return
    if not item.get("account"):
        item["account"] = info.get("account")
    if not item.get("network"):
        item["network"] = info.get("network")


async def _enrich_comment(services: Services, record: dict[str, Any], accounts: dict[int, dict[str, Any]]) -> None:
    item = record["item"]
    resont = services.resont
    if not record.get("enriched"):
        try:
            post = await resont.comment_post(item["id"])
            item["post_excerpt"] = cards.excerpt(post.content, cards.POST_EXCERPT_MAX) if post.content else None
            item["permalink"] = post.permalink
            if item.get("account_id") is None:
                item["account_id"] = post.account_id
            if not item.get("network"):
                item["network"] = post.social
        except ResontError as exc:
            log.info("inbox: no post for comment %s: %s", item["id"], exc)
        if not item.get("username") and not item.get("name") and item.get("social_user_id") is not None:
            try:
                user = await resont.social_user(item["social_user_id"])
                item["username"], item["name"] = user.username, user.name
            except ResontError as exc:
                log.info("inbox: no commenter for comment %s: %s", item["id"], exc)
        record["enriched"] = True
    _fill_account(item, accounts)
    record["account_id"] = item.get("account_id")


async def _resolve_message(
    services: Services, record: dict[str, Any], accounts: dict[int, dict[str, Any]], cache: dict[int, Any]
) -> str:
    """Make sure a message record knows its conversation and direction.
    Returns "ok", "skip" (sent by the account itself / gone) or "later" (Resont failed)."""
    if record.get("outbound") is True:
        return "skip"
    conversation_id = record.get("conversation_id")
    if record.get("conversation") is None or record.get("check_direction"):
        if conversation_id is None:
            return "skip"
        conversation = cache.get(conversation_id)
        if conversation is None:
            try:
                conversation = await services.resont.conversation(conversation_id)
            except ResontNotFound:
                return "skip"
            except ResontError as exc:
                log.warning("inbox: conversation %s unavailable: %s", conversation_id, exc)
                return "later"
            cache[conversation_id] = conversation
        sender = record["message"].get("social_user_id")
        if record.get("check_direction") and record.get("outbound") is None:
            if sender is not None and conversation.participant_ids and sender not in conversation.participant_ids:
                return "skip"
        record["conversation"] = cards.conversation_item(conversation, conversation_id, sender)
        record["check_direction"] = False
    _fill_account(record["conversation"], accounts)
    return "ok"


# ---------------------------------------------------------------------------------- delivery


class _Stop(Exception):
    """Telegram cannot take more now: leave the rest pending for the next pass."""


def _group_message(services: Services, key: str, record: dict[str, Any], now: float) -> None:
    """Put a resolved message into its conversation's open DM card, or start a new one. The
    message record, the DM card it joins and the conversation's pointer are one store write."""
    tbl = table(services)
    writes: dict[str, dict[str, Any]] = {}
    conversation_id = record["conversation_id"]
    pointer = tbl.get(conversation_key(conversation_id))
    target_key = pointer.get("record") if pointer else None
    target = tbl.get(target_key) if target_key else None
    window = services.config.dm_group_seconds
    message = record["message"]
    if (
        target is not None
        and target.get("status") in ("pending", "open")
        and now - float(target.get("last_at", 0)) <= window
    ):
        ids = {m.get("id") for m in target["item"]["messages"]}
        if message.get("id") not in ids:
            target["item"]["messages"].append(message)
            target["item"]["messages"].sort(key=lambda m: (m.get("date") or "", m.get("id") or 0))
        target["item"]["conversation"] = record["conversation"]
        target.update(last_at=now, updated=now, stale=target.get("status") == "open" and bool(target.get("card")))
        writes[target_key] = target
    else:
        target_key = dm_key(conversation_id, message["id"])
        writes[target_key] = {
            "type": "dm", "status": "pending", "at": now, "seq": time.time_ns(), "updated": now, "last_at": now,
            "source": record.get("source"), "attempts": 0, "log": [],
            "account_id": record["conversation"].get("account_id"),
            "item": {"conversation": record["conversation"], "messages": [message]},
        }
        writes[conversation_key(conversation_id)] = {"type": "conv", "record": target_key, "updated": now}
    writes[key] = {**record, "status": "grouped", "record": target_key, "updated": now}
    tbl.put_many(writes)


async def deliver_pending(app: Application) -> int:
    """Forward every pending record (from any source) to the admin chat; returns how many
    records reached Telegram. One delivery pass at a time."""
    services: Services = app.bot_data.services
    rt = runtime(app)
    async with rt.deliver_lock:
        return await _deliver(app.bot, services, rt)


async def _deliver(bot: Bot, services: Services, rt: InboxRuntime) -> int:
    tbl = table(services)
    pending = tbl.find(lambda d: d.get("status") == "pending" and d.get("type") in ("comment", "msg", "dm"))
    stale = tbl.find(lambda d: d.get("stale") and d.get("card") and d.get("status") in OPEN_STATUSES)
    if not pending and not stale:
        return 0
    accounts = await _accounts(services, rt)
    now = now_ts(services)
    conversations: dict[int, Any] = {}
    messages = sorted(
        ((k, d) for k, d in pending if d["type"] == "msg"),
        key=lambda kd: (kd[1]["message"].get("date") or "", kd[1]["message"].get("id") or 0),
    )
    for key, record in messages:
        outcome = await _resolve_message(services, record, accounts, conversations)
        if outcome == "skip":
            tbl.update(key, status="skipped", updated=now)
        elif outcome == "ok":
            _group_message(services, key, record, now)  # writes the resolved record too
    for key, record in pending:
        if record["type"] == "comment":
            await _enrich_comment(services, record, accounts)
            if _is_own_comment(record["item"], accounts):
                record["status"] = "skipped"
            tbl.put(key, record)
    # what to send now: new cards (comments and DM groups) and edits of grown DM cards
    fresh = sorted(
        ((k, d) for k, d in tbl.find(lambda d: d.get("status") == "pending" and d.get("type") in ITEM_TYPES)),
        key=lambda kd: (kd[1].get("seq", 0), kd[1].get("at", 0), kd[0]),
    )
    edits = tbl.find(lambda d: d.get("stale") and d.get("card") and d.get("status") in OPEN_STATUSES)
    delivered = 0
    try:
        for key, record in edits:
            await _edit_card(bot, services, key, record)
        if _fold(bot, services, len(fresh) + len(edits)) and len(fresh) > 1:
            delivered += await _send_digests(bot, services, fresh)
        else:
            for key, record in fresh:
                delivered += await _send_card(bot, services, key, record)
    except _Stop as exc:
        log.warning("inbox: Telegram did not take every card (%s); the rest waits for the next pass", exc)
    return delivered


def _fold(bot: Bot, services: Services, count: int) -> bool:
    """Whether ``count`` new messages should be folded into digests: more than the digest
    threshold, or more than the group can take right now without queueing."""
    if count > services.config.digest_threshold:
        return True
    limiter = getattr(bot, "rate_limiter", None)
    chat = services.config.admin_chat_id
    if limiter is not None and hasattr(limiter, "next_free_slots"):
        backlog = limiter.backlog(chat) if hasattr(limiter, "backlog") else 0
        return count + backlog > max(1, limiter.next_free_slots(chat))
    return False


async def _send_card(bot: Bot, services: Services, key: str, record: dict[str, Any]) -> int:
    text, markup = cards.render_card(services, record)
    try:
        sent = await services.send_admin(bot, text, topic=topic_of(record), markup=markup)
    except (BadRequest, Forbidden) as exc:
        if isinstance(exc, Forbidden):
            raise _Stop(str(exc)) from None
        attempts = int(record.get("attempts", 0)) + 1
        status = "failed" if attempts >= MAX_CARD_ATTEMPTS else "pending"
        log.error("inbox: Telegram refused the card of %s (%s); attempt %d", key, exc, attempts)
        table(services).update(key, attempts=attempts, status=status, error=str(exc)[:200])
        return 0
    except TelegramError as exc:
        raise _Stop(str(exc)) from None
    _mark_carded(services, key, sent.chat_id, sent.message_id)
    return 1


def _mark_carded(services: Services, key: str, chat_id: int, message_id: int) -> None:
    now = now_ts(services)
    table(services).update(key, status="open", card=f"{chat_id}:{message_id}", card_chat=chat_id,
                           card_message=message_id, stale=False, updated=now, delivered_at=now)
    remember_card(services.store, chat_id, message_id, CARD_KIND, item=key)


async def _send_digests(bot: Bot, services: Services, fresh: list[tuple[str, dict[str, Any]]]) -> int:
    delivered = 0
    for kind in ("comment", "dm"):
        entries = [(k, d) for k, d in fresh if d["type"] == kind]
        chunks = cards.digest_chunks(services, kind, entries, DIGEST_SIZE)
        for number, chunk in enumerate(chunks, start=1):
            digest_id = secrets.token_hex(5)
            text = cards.render_digest(services, kind, chunk, number, len(chunks))
            markup = cards.digest_keyboard(services, [k for k, _ in chunk], digest_id)
            try:
                sent = await services.send_admin(bot, text, topic="dms" if kind == "dm" else "comments", markup=markup)
            except BadRequest as exc:
                log.error("inbox: Telegram refused a digest (%s)", exc)
                tbl = table(services)
                refused: dict[str, dict[str, Any]] = {}
                for key, record in chunk:
                    current = tbl.get(key)
                    if current is None:
                        continue
                    attempts = int(record.get("attempts", 0)) + 1
                    refused[key] = {**current, "attempts": attempts, "error": str(exc)[:200],
                                    "status": "failed" if attempts >= MAX_CARD_ATTEMPTS else "pending"}
                tbl.put_many(refused)  # one attempt of the whole digest: one write
                continue
            except TelegramError as exc:
                raise _Stop(str(exc)) from None
            now = now_ts(services)
            tbl = table(services)
            # Telegram has the digest: the digest record and every item it lists are written down
            # as one store write (one journal record), so a crash cannot leave some items of it
            # still pending (they would come again in the next digest).
            writes: dict[str, dict[str, Any]] = {digest_key(digest_id): {
                "type": "digest", "kind": kind, "items": [k for k, _ in chunk], "chat": sent.chat_id,
                "message_id": sent.message_id, "part": number, "parts": len(chunks), "at": now, "updated": now,
                "status": "open",
            }}
            for key, _ in chunk:
                current = tbl.get(key)
                if current is not None:
                    writes[key] = {**current, "status": "open", "digest": digest_id, "stale": False,
                                   "updated": now, "delivered_at": now}
            tbl.put_many(writes)
            delivered += len(chunk)
    return delivered


async def _edit_card(bot: Bot, services: Services, key: str, record: dict[str, Any]) -> None:
    try:
        await edit_card(bot, services, record)
    except TelegramError as exc:
        if not isinstance(exc, BadRequest):
            raise _Stop(str(exc)) from None
        log.warning("inbox: could not edit the card of %s: %s", key, exc)
    table(services).update(key, stale=False)


async def edit_card(bot: Bot, services: Services, record: dict[str, Any], *,
                    chat_id: int | None = None, message_id: int | None = None) -> None:
    """Redraw a record's card (text and keyboard); an unchanged card is not an error."""
    chat_id = chat_id if chat_id is not None else record.get("card_chat")
    message_id = message_id if message_id is not None else record.get("card_message")
    if chat_id is None or message_id is None:
        return
    text, markup = cards.render_card(services, record)
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, parse_mode="HTML", reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        raise


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


def _remember(seen: list[Any], ids: Iterable[Any]) -> list[Any]:
    out = [str(i) for i in seen]
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
    services = context.services
    async with services.locks("inbox:poll:comments"):
        try:
            try:
                fetched = await _fetch_comments(services)
            except ResontError as exc:
                await _upstream(context, "comments", False, str(exc))
                await deliver_pending(context.application)  # webhook items and leftovers still go
                return
            delivered = await deliver_pending(context.application)
            _advance_comments(services, fetched)
            await _upstream(context, "comments", True, f"{len(fetched)} new, {delivered} forwarded")
            _maybe_prune(services, runtime(context.application))
        except Exception as exc:  # noqa: BLE001 - a poll never kills its job
            log.exception("inbox: comments poll failed")
            services.health.job("inbox-comments", False, f"{type(exc).__name__}: {exc}")


async def _fetch_comments(services: Services) -> list[Comment]:
    cursors = services.store.table("cursors")
    cursor = cursors.get(COMMENTS_CURSOR)
    resont = services.resont
    backfill = services.config.backfill
    if cursor is None:
        # First start: remember where history ends; forward only the configured backfill.
        newest = [c async for c in resont.comments(with_=COMMENT_EXPAND, limit=max(1, backfill))]
        for comment in reversed(newest[:backfill]):
            claim_comment(services, comment, "backfill")
        cursors.put(COMMENTS_CURSOR, {
            "seen": _remember([], [c.id for c in reversed(newest)]),
            "date": _iso(newest[0].date) if newest else None,
            "at": now_ts(services),
        })
        return []
    stop_before = _from_iso(cursor.get("date"))
    if stop_before is not None:
        stop_before -= timedelta(days=1)  # a safety net if every remembered id was deleted
    new = [
        c async for c in resont.comments(
            with_=COMMENT_EXPAND, seen_ids=cursor.get("seen") or None, stop_before=stop_before, limit=MAX_FETCH
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
    cursor = cursors.get(COMMENTS_CURSOR) or {"seen": []}
    tbl = table(services)
    done: list[Comment] = []
    for comment in fetched:
        record = tbl.get(comment_key(comment.id)) if comment.id is not None else None
        if record is not None and record.get("status") == "pending":
            break
        done.append(comment)
    if not done:
        return
    dates = [c.date for c in done if c.date is not None]
    cursors.put(COMMENTS_CURSOR, {
        "seen": _remember(cursor.get("seen", []), [c.id for c in done]),
        "date": _iso(max(dates)) if dates else cursor.get("date"),
        "at": now_ts(services),
    })


async def poll_dms(context: Context) -> None:
    """The DM poll (a RepeatingJob): updated conversations, then their new inbound messages."""
    services = context.services
    async with services.locks("inbox:poll:dms"):
        try:
            try:
                work = await _fetch_dms(services)
            except ResontError as exc:
                await _upstream(context, "dms", False, str(exc))
                await deliver_pending(context.application)
                return
            delivered = await deliver_pending(context.application)
            count = _advance_dms(services, work)
            await _upstream(context, "dms", True, f"{count} new, {delivered} forwarded")
        except Exception as exc:  # noqa: BLE001
            log.exception("inbox: DM poll failed")
            services.health.job("inbox-dms", False, f"{type(exc).__name__}: {exc}")


class _DmWork:
    def __init__(self, since: datetime | None, conversations: list[tuple[Conversation, list[Message], list[Message]]]):
        self.since = since
        self.conversations = conversations


INIT_CONVERSATIONS = 5  # conversations whose messages are marked seen on the first start


async def _fetch_dms(services: Services) -> _DmWork | None:
    cursors = services.store.table("cursors")
    cursor = cursors.get(DMS_CURSOR)
    resont = services.resont
    backfill = services.config.backfill
    if cursor is None:
        # First start: the newest conversations' messages count as seen (the backfill newest
        # ones forward their last inbound message); everything older is history.
        newest = [c async for c in resont.conversations(limit=max(INIT_CONVERSATIONS, backfill))]
        marks: dict[str, dict[str, Any]] = {}
        for index, conversation in enumerate(newest):
            if conversation.id is None:
                continue
            messages = [m async for m in resont.conversation_messages(conversation.id, limit=MAX_MESSAGES)]
            inbound = [m for m in messages if m.id is not None and m.sent_by_participant(conversation)]
            if inbound and index < backfill:
                claim_message(services, inbound[0], conversation, "backfill")
            marks[CONV_CURSOR_PREFIX + str(conversation.id)] = {
                "seen": _remember([], [m.id for m in reversed(messages)]), "at": now_ts(services),
            }
        dates = [c.update_date for c in newest if c.update_date is not None]
        since = max(dates) if dates else services.clock()
        marks[DMS_CURSOR] = {"since": _iso(since), "at": now_ts(services)}
        cursors.put_many(marks)  # where history ends: every cursor at once, or none (start again)
        return None
    since = _from_iso(cursor.get("since"))
    conversations = [
        c async for c in resont.conversations(stop_before=since, limit=MAX_CONVERSATIONS)
    ]
    work: list[tuple[Conversation, list[Message], list[Message]]] = []
    for conversation in reversed(conversations):  # least recently updated first
        if conversation.id is None:
            continue
        conv_cursor = cursors.get(CONV_CURSOR_PREFIX + str(conversation.id))
        seen = conv_cursor.get("seen") if conv_cursor else None
        messages = [
            m async for m in resont.conversation_messages(
                conversation.id, seen_ids=seen or None, stop_before=None if seen else since, limit=MAX_MESSAGES
            )
        ]
        messages.reverse()
        if not seen:
            messages = _since(messages, since)
        # The bot's own replies move the conversation too: only the other side's messages go.
        inbound = [m for m in messages if m.id is not None and m.sent_by_participant(conversation)]
        for message in inbound:
            claim_message(services, message, conversation, "poll")
        work.append((conversation, messages, inbound))
    return _DmWork(since, work)


def _since(messages: list[Message], since: datetime | None) -> list[Message]:
    """The messages of a conversation never read before that are new since the last poll (the
    newest one alone when Resont's dates cannot be read)."""
    if since is None:
        return messages[-1:]
    dated = [m for m in messages if m.date is not None]
    if not dated:
        return messages[-1:]
    return [m for m in dated if m.date >= since]


def _advance_dms(services: Services, work: _DmWork | None) -> int:
    if work is None:
        return 0
    cursors = services.store.table("cursors")
    tbl = table(services)
    complete = True
    newest = work.since
    count = 0
    moves: dict[str, dict[str, Any]] = {}  # the cursors this poll advances, written at once
    for conversation, messages, inbound in work.conversations:
        count += len(inbound)
        waiting = [m for m in inbound if (tbl.get(message_key(m.id)) or {}).get("status") == "pending"]
        if waiting:
            complete = False
            continue
        key = CONV_CURSOR_PREFIX + str(conversation.id)
        seen = (moves.get(key) or cursors.get(key) or {}).get("seen", [])
        moves[key] = {"seen": _remember(seen, [m.id for m in messages]), "at": now_ts(services)}
        if conversation.update_date is not None and (newest is None or conversation.update_date > newest):
            newest = conversation.update_date
    if complete and newest is not None:
        moves[DMS_CURSOR] = {"since": _iso(newest), "at": now_ts(services)}
    cursors.put_many(moves)
    return count


# ---------------------------------------------------------------------------------- webhook


async def on_webhook_event(app: Application, event: Any) -> None:
    """A Resont push: claim the item (so a later poll skips it) and deliver in the background."""
    services: Services = app.bot_data.services
    claimed = False
    if event.comment is not None:
        claimed = claim_comment(services, event.comment, "webhook")
    elif event.message is not None:
        if event.message.outbound is True:
            return  # the account's own message (our replies among them)
        claimed = claim_message(services, event.message, None, "webhook")
    if claimed:
        runtime(app).kick(app)


# ---------------------------------------------------------------------------------- retention


def _maybe_prune(services: Services, rt: InboxRuntime) -> None:
    now = now_ts(services)
    if now - rt.last_prune < PRUNE_EVERY:
        return
    rt.last_prune = now
    prune(services)


def prune(services: Services) -> int:
    """Drop inbox records (and their reply targets and conversation cursors) not touched for
    ``retention_days``; pending records are kept whatever their age. Returns records dropped."""
    cutoff = now_ts(services) - services.config.retention_days * 86400
    tbl = table(services)
    dropped = tbl.prune(lambda d: d.get("status") != "pending" and float(d.get("updated", d.get("at", 0))) < cutoff)
    cards_table = services.store.table("cards")
    cards_table.prune(lambda d: d.get("kind") == CARD_KIND and d.get("item") not in tbl)
    cursors = services.store.table("cursors")
    for key, doc in list(cursors.items()):
        if key.startswith(CONV_CURSOR_PREFIX) and float(doc.get("at", 0)) < cutoff:
            cursors.delete(key)
    if dropped:
        log.info("inbox: pruned %d record(s) older than %d days", dropped, services.config.retention_days)
    return dropped

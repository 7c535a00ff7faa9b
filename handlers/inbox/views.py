"""Inbox listings: ``/inbox`` (the open items by account, with links to their cards) and the
inbox line of ``/status``."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import TYPE_CHECKING

from telegram import Update

from bot.runtime.context import Context
from bot.runtime.update_parts import message_of
from handlers.inbox import cards
from handlers.inbox.common import tr
from handlers.inbox.docs import ItemRecord, holder_of
from handlers.inbox.records import ITEM_TYPES, OPEN_STATUSES, items_where, read_digest, table
from handlers.inbox.snapshots import excerpt

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from handlers.inbox.snapshots import MessageItem

INBOX_LIST_MAX = 40  # items listed by /inbox


def status_lines(services: Services, user_id: int | None) -> list[str]:
    """The ``/status`` line: open items and items waiting to be forwarded."""
    tbl = table(services)
    open_items = pending = 0
    for _, doc in tbl.items():
        if doc.get("type") in ITEM_TYPES and doc.get("status") in OPEN_STATUSES:
            open_items += 1
        elif doc.get("status") == "pending" and doc.get("type") in ("comment", "msg", "dm"):
            pending += 1
    return [services.t("inbox.status_line", user_id, open=open_items, pending=pending)]


def card_link(chat_id: int | None, message_id: int | None) -> str | None:
    """A t.me link to a message in a supergroup (``-100…`` chat ids), else None."""
    if chat_id is None or message_id is None:
        return None
    text = str(chat_id)
    if not text.startswith("-100") or len(text) <= 4:
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


async def on_inbox(update: Update, context: Context) -> None:
    """``/inbox``: the open and replied items, grouped by account, oldest first."""
    services = context.services
    user_id = update.effective_user.id if update.effective_user else None
    open_items = items_where(services, lambda doc: doc["status"] in OPEN_STATUSES)
    message = message_of(update)
    if not open_items:
        await message.reply_text(tr(services, "inbox_empty", user_id))
        return
    by_account: dict[tuple[str, str], list[tuple[str, ItemRecord]]] = defaultdict(list)
    for key, doc in sorted(open_items, key=lambda kd: kd[1]["at"]):
        by_account[cards.account_label(holder_of(doc), services)].append((key, doc))
    lines = [tr(services, "inbox_title", user_id, count=len(open_items))]
    shown = 0
    for (network, account), entries in sorted(by_account.items()):
        lines.append("")
        lines.append(
            tr(services, "inbox_account", user_id, account=account or network, network=network, count=len(entries))
        )
        for key, doc in entries:
            if shown >= INBOX_LIST_MAX:
                break
            shown += 1
            lines.append(_inbox_line(services, user_id, key, doc))
    if shown < len(open_items):
        lines.append(tr(services, "inbox_more", user_id, count=len(open_items) - shown))
    text = "\n".join(lines)
    if len(text) > cards.CARD_MAX:
        text = text[: cards.CARD_MAX - 1] + "…"
    await message.reply_text(text)


def _inbox_line(services: Services, user_id: int | None, key: str, doc: ItemRecord) -> str:
    if doc["type"] == "dm":
        messages = doc["item"]["messages"]
        text = _last_text(services, user_id, messages[-1]) if messages else ""
        icon = "✉️"
    else:
        text = doc["item"]["text"] or ""
        icon = "💬"
    state = tr(services, f"state_{doc['status']}", user_id)
    url = card_link(doc.get("card_chat"), doc.get("card_message"))
    digest_id = doc.get("digest")
    if url is None and digest_id:
        digest = read_digest(services, digest_id)
        url = card_link(digest["chat"], digest["message_id"]) if digest is not None else None
    where = cards.link(url, tr(services, "open_card", user_id)) if url else ""
    return tr(
        services,
        "inbox_line",
        user_id,
        icon=icon,
        who=cards.who(holder_of(doc), services),
        text=html.escape(excerpt(text, 60)),
        state=state,
        link=where,
    ).rstrip()


def _last_text(services: Services, user_id: int | None, message: MessageItem) -> str:
    """A DM card's newest message in a line of ``/inbox`` (media stand for themselves)."""
    return message["text"] or (tr(services, "media_short", user_id) if message["attachment"] else "")

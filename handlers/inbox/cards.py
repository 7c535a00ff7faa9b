"""Inbox cards: what a comment or a direct message looks like in the admin chat.

Everything here is pure: snapshots (:mod:`handlers.inbox.snapshots`) turn Resont models into
plain JSON-able documents (kept in the ``inbox`` table, so a card can be redrawn after a restart
without asking Resont again), and the render functions turn an inbox record
(:mod:`handlers.inbox.docs`) into (HTML text, inline keyboard). User content is always
escaped; texts come from the catalogue in the chat's language.

Callback data (≤ 64 bytes, namespaced, checked by the guard):

* ``cmt:<action>:<comment id>[:<tag id>]`` – r reply, l like, d delete?, dy delete!, dn keep,
  t tags, tg toggle a tag, tb back, ok done
* ``dm:<action>:<conversation id>:<message id>[:<tag id>]`` – r, l, t, tg, tb, ok (the message
  id is the newest message of the card: the one a like goes to)
* ``inbox:x:<record key>`` expand a digest line into a card, ``inbox:da:<digest id>``
  mark a whole digest done
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, User

from bot.runtime.tg.buttons import button
from bot.text.timeparse import format_when
from handlers.inbox import buttons
from handlers.inbox.snapshots import clip, excerpt

if TYPE_CHECKING:
    from bot.runtime.services import Services
    from handlers.inbox.docs import CommentRecord, DmRecord, ItemRecord
    from handlers.inbox.snapshots import Holder, MessageItem, TagRef

#: Longest user text shown on a card (Telegram allows 4096 characters per message).
COMMENT_TEXT_MAX = 1500
DM_TEXT_MAX = 500
DM_MESSAGES_SHOWN = 6
DIGEST_LINE_MAX = 90
LOG_SHOWN = 4
REPLY_EXCERPT_MAX = 200
TAG_BUTTONS_MAX = 30
CARD_MAX = 4000  # visible characters: a little under Telegram's 4096 (isolates add up)
DIGEST_MAX = 3500  # visible characters per digest message
NAME_MAX = 40  # usernames, names and account names in one-line entries


# ---------------------------------------------------------------------------------- helpers


def lang(services: Services) -> str:
    """Cards are read by the whole team: the chat's configured language."""
    return services.config.language


def t(services: Services, key: str, **values: object) -> str:
    return services.i18n.t(f"inbox.{key}", lang(services), **values)


def who(item: Holder, services: Services) -> str:
    """``@username (Name)`` escaped, or a placeholder."""
    username, name = item["username"], item["name"]
    if username and name and name != username:
        return f"@{html.escape(username)} ({html.escape(name)})"
    if username:
        return f"@{html.escape(username)}"
    if name:
        return html.escape(name)
    if item["social_user_id"] is not None:
        return t(services, "unknown_user_id", id=str(item["social_user_id"]))
    return t(services, "unknown_user")


def who_plain(item: Holder, services: Services) -> str:
    """Like :func:`who` for places without HTML (button labels, prompts use HTML)."""
    username, name = item["username"], item["name"]
    if username:
        return f"@{username}"
    return name or t(services, "unknown_user")


def account_label(item: Holder, services: Services) -> tuple[str, str]:
    """(network, account name), escaped."""
    network = item["network"] or t(services, "unknown_network")
    account = item["account"] or (
        t(services, "unknown_account", id=str(item["account_id"])) if item["account_id"] is not None else ""
    )
    return html.escape(str(network).capitalize()), html.escape(str(account))


def when(services: Services, iso: str | None) -> str:
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return html.escape(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services.tz)
    return format_when(moment, tz=services.tz, lang=lang(services))


def link(url: str | None, label: str) -> str:
    """An HTML link to an http(s) URL; the label alone for anything else."""
    if url and url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'
    return label


def actor_name(user: User | None) -> str:
    """A Telegram user as the team knows them (plain text)."""
    if user is None:
        return "?"
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return name or (f"@{user.username}" if user.username else str(user.id))


def log_lines(services: Services, record: ItemRecord) -> list[str]:
    lines = []
    for entry in record["log"][-LOG_SHOWN:]:
        action = entry.get("a", "")
        values = {"who": html.escape(entry.get("by", "?"))}
        if action == "replied":
            values["text"] = html.escape(excerpt(entry.get("text"), REPLY_EXCERPT_MAX))
            if entry.get("file"):
                values["text"] = (values["text"] + " " if values["text"] else "") + t(services, "with_attachment")
        if action == "tagged":
            values["tags"] = html.escape(entry.get("text") or t(services, "no_tags_set"))
        lines.append(t(services, f"log_{action}", **values))
    return lines


def _tags_line(services: Services, tags: Sequence[TagRef]) -> str | None:
    if not tags:
        return None
    names = ", ".join(html.escape(str(tag.get("name"))) for tag in tags)
    return t(services, "tags_line", tags=names)


_TAG = re.compile(r"<[^>]+>")


def visible_len(text: str) -> int:
    """Length of HTML ``text`` as Telegram counts it (tags removed, entities decoded)."""
    return len(html.unescape(_TAG.sub("", text)))


def _fit(lines: list[str], limit: int = CARD_MAX) -> str:
    """Join ``lines``; if too long, drop whole lines from the middle (never cut inside one, so
    the HTML stays valid) and mark the gap."""
    kept = [line for line in lines if line is not None]
    if visible_len("\n".join(kept)) <= limit:
        return "\n".join(kept)
    head, tail = kept[:2], kept[2:]
    while tail and visible_len("\n".join([*head, "…", *tail])) > limit:
        tail.pop(0)
    return "\n".join([*head, "…", *tail])


# ---------------------------------------------------------------------------------- cards


def render_comment(services: Services, record: CommentRecord) -> tuple[str, InlineKeyboardMarkup | None]:
    item = record["item"]
    network, account = account_label(item, services)
    lines = [t(services, "comment_title", network=network, account=account)]
    if item["post_excerpt"] or item["permalink"]:
        post_text = html.escape(item["post_excerpt"] or "")
        lines.append(t(services, "post_line", post=post_text, link=link(item["permalink"], t(services, "open_post"))))
    lines.append(t(services, "from_line", who=who(item, services)))
    if item["parent_name"]:
        lines.append(t(services, "in_reply_to", name=html.escape(str(item["parent_name"]))))
    text = item["text"] or ""
    body = html.escape(clip(text, COMMENT_TEXT_MAX)) if text.strip() else t(services, "no_text")
    lines.append(f"<blockquote>{body}</blockquote>")
    if item["date"]:
        lines.append(t(services, "time_line", time=html.escape(when(services, item["date"]))))
    tags = _tags_line(services, item["tags"] or [])
    if tags:
        lines.append(tags)
    lines.extend(log_lines(services, record))
    return _fit(lines), comment_keyboard(services, record)


def comment_keyboard(services: Services, record: CommentRecord) -> InlineKeyboardMarkup | None:
    if record["status"] in ("done", "deleted"):
        return None
    item = record["item"]
    cid = item["id"]
    first: list[InlineKeyboardButton] = []
    if item["can_reply"]:
        first.append(button(t(services, "btn_reply"), buttons.CommentReply(cid)))
    if item["can_like"]:
        key = "btn_unlike" if item["liked"] else "btn_like"
        first.append(button(t(services, key), buttons.CommentLike(cid)))
    second = [button(t(services, "btn_tag"), buttons.CommentTags(cid))]
    if item["can_delete"]:
        second.append(button(t(services, "btn_delete"), buttons.CommentDelete(cid)))
    third = [button(t(services, "btn_done"), buttons.CommentDone(cid))]
    return InlineKeyboardMarkup([row for row in (first, second, third) if row])


def _message_lines(services: Services, message: MessageItem) -> list[str]:
    lines = []
    text = message["text"] or ""
    if text.strip():
        lines.append(f"<blockquote>{html.escape(clip(text, DM_TEXT_MAX))}</blockquote>")
    attachment = message["attachment"]
    if attachment:
        kind = message["type"] or "media"
        label = t(services, "media_label", kind=html.escape(str(kind)))
        lines.append(t(services, "media_line", link=link(attachment, label)))
    elif not text.strip():
        kind = message["type"] or "?"
        lines.append(t(services, "no_text_kind", kind=html.escape(str(kind))))
    return lines


def render_dm(services: Services, record: DmRecord) -> tuple[str, InlineKeyboardMarkup | None]:
    item = record["item"]
    conv = item["conversation"]
    messages = item["messages"]
    network, account = account_label(conv, services)
    lines = [t(services, "dm_title", network=network, account=account)]
    lines.append(t(services, "from_line", who=who(conv, services)))
    lines.append(t(services, "conversation_line", id=str(conv["id"])))
    hidden = len(messages) - DM_MESSAGES_SHOWN
    if hidden > 0:
        lines.append(t(services, "earlier_messages", count=hidden))
    for message in messages[-DM_MESSAGES_SHOWN:]:
        lines.extend(_message_lines(services, message))
    if messages and messages[-1]["date"]:
        lines.append(t(services, "time_line", time=html.escape(when(services, messages[-1]["date"]))))
    if len(messages) > 1:
        lines.append(t(services, "grouped_line", count=len(messages)))
    tags = _tags_line(services, conv["tags"] or [])
    if tags:
        lines.append(tags)
    lines.extend(log_lines(services, record))
    return _fit(lines), dm_keyboard(services, record)


def dm_ids(record: DmRecord) -> tuple[int, int]:
    """(conversation id, newest message id): what a DM card's buttons carry."""
    item = record["item"]
    return int(item["conversation"]["id"]), int(item["messages"][-1]["id"])


def dm_keyboard(services: Services, record: DmRecord) -> InlineKeyboardMarkup | None:
    if record["status"] in ("done", "deleted"):
        return None
    ids = dm_ids(record)
    first = [
        button(t(services, "btn_reply"), buttons.DmReply(*ids)),
        button(t(services, "btn_like"), buttons.DmLike(*ids)),
    ]
    second = [
        button(t(services, "btn_tag"), buttons.DmTags(*ids)),
        button(t(services, "btn_done"), buttons.DmDone(*ids)),
    ]
    return InlineKeyboardMarkup([first, second])


def render_card(services: Services, record: ItemRecord) -> tuple[str, InlineKeyboardMarkup | None]:
    if record["type"] == "dm":
        return render_dm(services, record)
    return render_comment(services, record)


# ---------------------------------------------------------------------------------- digests


def digest_line(services: Services, number: int, record: ItemRecord) -> str:
    if record["type"] == "dm":
        conv = record["item"]["conversation"]
        messages = record["item"]["messages"]
        text = _short_text(services, messages[-1]) if messages else ""
        if len(messages) > 1:
            text = f"({len(messages)}) {text}"
        return t(
            services,
            "digest_line_dm",
            n=str(number),
            account=_short_account(conv, services),
            who=_short_who(conv, services),
            text=html.escape(excerpt(text, DIGEST_LINE_MAX)),
        )
    item = record["item"]
    return t(
        services,
        "digest_line_comment",
        n=str(number),
        account=_short_account(item, services),
        who=_short_who(item, services),
        text=html.escape(excerpt(item["text"], DIGEST_LINE_MAX)),
    )


def _short_text(services: Services, message: MessageItem) -> str:
    """A message's text for a one-line entry (media stand for themselves)."""
    return message["text"] or (t(services, "media_short") if message["attachment"] else "")


def _short_who(item: Holder, services: Services) -> str:
    return html.escape(excerpt(who_plain(item, services), NAME_MAX))


def _short_account(item: Holder, services: Services) -> str:
    name = item["account"] or (
        t(services, "unknown_account", id=str(item["account_id"])) if item["account_id"] is not None else ""
    )
    return html.escape(excerpt(str(name), NAME_MAX))


def render_digest(
    services: Services,
    kind: str,
    entries: Sequence[tuple[str, ItemRecord]],
    part: int,
    parts: int,
    closed_by: str | None = None,
) -> str:
    """A digest of ``entries`` ((record key, record) pairs) of one kind (comment or dm)."""
    title_key = "digest_title_dms" if kind == "dm" else "digest_title_comments"
    lines = [t(services, title_key, count=len(entries), part=part, parts=parts)]
    for number, (_, record) in enumerate(entries, start=1):
        lines.append(digest_line(services, number, record))
    if closed_by:
        lines.append(t(services, "digest_closed", who=html.escape(closed_by)))
    else:
        lines.append(t(services, "digest_hint"))
    return _fit(lines, CARD_MAX)


def digest_chunks(
    services: Services, kind: str, entries: Sequence[tuple[str, ItemRecord]], size: int
) -> list[list[tuple[str, ItemRecord]]]:
    """``entries`` split into digests of at most ``size`` lines and ``DIGEST_MAX`` characters."""
    chunks: list[list[tuple[str, ItemRecord]]] = []
    current: list[tuple[str, ItemRecord]] = []
    length = 0
    for entry in entries:
        line = visible_len(digest_line(services, len(current) + 1, entry[1])) + 1
        if current and (len(current) >= size or length + line > DIGEST_MAX):
            chunks.append(current)
            current, length = [], 0
        current.append(entry)
        length += line
    if current:
        chunks.append(current)
    return chunks


def digest_keyboard(services: Services, keys: Sequence[str], digest_id: str | None) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for number, key in enumerate(keys, start=1):
        row.append(button(str(number), buttons.Expand(key)))
        if len(row) == 6:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    if digest_id is not None:
        rows.append([button(t(services, "btn_digest_done"), buttons.DigestDone(digest_id))])
    return InlineKeyboardMarkup(rows)

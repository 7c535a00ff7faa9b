"""/pending (the cards still waiting for a decision) and /posts (the next scheduled posts)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update

from bot.clients.resont.errors import ResontError
from bot.runtime.context import Context
from bot.runtime.update_parts import message_of, user_of
from handlers.posts.cards import error_text, pending_line, scheduled_line
from handlers.posts.docs import PENDING
from handlers.posts.state import is_waiting, now, remember_accounts, table

#: Lines per list; the rest is counted.
PENDING_SHOWN = 30
POSTS_SHOWN = 10


async def on_pending(update: Update, context: Context) -> None:
    """/pending: the posts whose cards still wait for a decision."""
    services = context.services
    user_id = user_of(update).id
    lang = services.lang(user_id)
    docs = table(services).find(lambda doc: doc.get("state") == PENDING and bool(doc.get("view")))
    if not docs:
        await message_of(update).reply_text(services.t("posts.pending_none", user_id))
        return
    docs.sort(key=lambda d: (d["view"].get("schedule_ts") or float("inf"), d.get("pg") or 0))
    title = services.t("posts.pending_title", user_id, count=len(docs))
    lines = [pending_line(services, doc, lang) for doc in docs[:PENDING_SHOWN]]
    await _reply_list(update, context, title, lines, len(docs))


async def on_posts(update: Update, context: Context) -> None:
    """/posts: the next scheduled posts, as Resont has them."""
    services = context.services
    user_id = user_of(update).id
    lang = services.lang(user_id)
    moment = now(services)
    try:
        accounts = remember_accounts(services, await services.resont.accounts.all())
        since = moment.astimezone(services.tz).date()
        groups = [g async for g in services.resont.posts.walk(order="schedule_date", publish_from=since)]
    except ResontError as exc:
        await message_of(update).reply_text(error_text(services, exc.message, exc.trace_id, lang))
        return
    # is_waiting keeps only groups with a schedule date
    upcoming = sorted((g for g in groups if is_waiting(g, moment)), key=lambda g: g.schedule_date or moment)
    if not upcoming:
        await message_of(update).reply_text(services.t("posts.posts_none", user_id))
        return
    title = services.t("posts.posts_title", user_id, count=len(upcoming))
    lines = [scheduled_line(services, g, accounts, lang) for g in upcoming[:POSTS_SHOWN]]
    await _reply_list(update, context, title, lines, len(upcoming))


async def _reply_list(update: Update, context: Context, title: str, lines: Sequence[str], total: int) -> None:
    """The list under its title, with "… and N more" when not every item is shown."""
    user_id = user_of(update).id
    out = [title, *lines]
    if total > len(lines):
        out.append(context.services.t("posts.list_more", user_id, count=total - len(lines)))
    await message_of(update).reply_text("\n".join(out))

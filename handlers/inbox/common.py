"""Small helpers shared by the inbox's button, answer and listing handlers: catalogue texts,
Resont failures as sentences, the record's action log, button answers and card redraws."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from bot.clients.resont.errors import ResontError, ResontNotFound
from bot.runtime.tg.quiet import quietly
from handlers.inbox import cards
from handlers.inbox.delivery import edit_card
from handlers.inbox.docs import ItemRecord, LogEntry
from handlers.inbox.records import now_ts, write

if TYPE_CHECKING:
    from telegram import CallbackQuery, InlineKeyboardMarkup

    from bot.runtime.context import Context
    from bot.runtime.services import Services

log = logging.getLogger(__name__)


def tr(services: Services, key: str, user_id: int | None, **values: object) -> str:
    """The ``inbox.<key>`` catalogue text for ``user_id``."""
    return services.t(f"inbox.{key}", user_id, **values)


def _trace(services: Services, user_id: int | None, exc: ResontError) -> str:
    return tr(services, "trace", user_id, trace_id=html.escape(exc.trace_id)) if exc.trace_id else ""


def resont_failure(services: Services, user_id: int | None, exc: ResontError, gone_key: str) -> str:
    """One sentence for a refused Resont call (HTML), with the trace id support asks for."""
    if isinstance(exc, ResontNotFound):
        return tr(services, gone_key, user_id, trace=_trace(services, user_id, exc))
    return tr(
        services, "error_refused", user_id, message=html.escape(exc.message), trace=_trace(services, user_id, exc)
    )


def log_action(
    record: ItemRecord, action: str, actor: str, text: str | None = None, *, file: str | None = None
) -> None:
    """Append an action (who, what, optional text and a reply's attachment) to the record's
    short log (the last 20 kept)."""
    entry: LogEntry = {"a": action, "by": actor}
    if file:
        entry["file"] = file
    if text is not None:
        entry["text"] = text
    record["log"] = [*record["log"], entry][-20:]


def save(services: Services, key: str, record: ItemRecord, *, status: str | None = None, by: str | None = None) -> None:
    """Write ``record`` back with a fresh ``updated`` time (and status / actor when given)."""
    now = now_ts(services)
    if status is not None:
        record["status"] = status
    if by is not None:
        record["by"] = by
    record["updated"] = now
    write(services, key, record)


async def redraw(
    context: Context, record: ItemRecord, query: CallbackQuery | None = None, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Redraw the card: the pressed message when there is one, else the record's card; with
    ``markup`` (the tag choices, the delete question) instead of the card's own keyboard."""
    services = context.services
    chat_id = message_id = None
    if query is not None and query.message is not None:
        chat_id, message_id = query.message.chat.id, query.message.message_id
    if markup is not None:
        text, _ = cards.render_card(services, record)
        edit = context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        await quietly(edit, "redraw an inbox card")
        return
    await quietly(
        edit_card(context.bot, services, record, chat_id=chat_id, message_id=message_id), "redraw an inbox card"
    )
    if chat_id is not None and record.get("card_message") not in (None, message_id):
        await quietly(edit_card(context.bot, services, record), "redraw an inbox card")


def plain(text: str) -> str:
    """HTML catalogue text as a plain button alert (alerts are not parsed)."""
    return html.unescape(text.replace("<b>", "").replace("</b>", "").replace("<code>", "").replace("</code>", ""))

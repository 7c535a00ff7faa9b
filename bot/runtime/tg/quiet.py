"""Telegram calls whose failure is not worth more than a log line: edits and button answers.

Editing a message to what it already shows makes Telegram answer "Bad Request: message is not
modified" — a button pressed twice, two admins redrawing one card. That is success, not an
error. Any other failure of an edit or of a button answer is logged and reported as False: the
message stays as it was, the bot carries on, nothing is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Defaults

log = logging.getLogger(__name__)

#: Bad Requests that mean "nothing to do" (lower case, as a part of Telegram's description).
BENIGN = ("message is not modified",)
#: Telegram shows at most 200 characters of a button answer.
ANSWER_MAX = 200
#: No link previews: cards and reports carry links that are not worth a preview.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def defaults() -> Defaults:
    """What every message of the bot uses unless it says otherwise: HTML, no link previews."""
    return Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)


def is_benign(exc: TelegramError) -> bool:
    """Whether a failed edit left the message as wanted ("message is not modified")."""
    return isinstance(exc, BadRequest) and any(part in str(exc).lower() for part in BENIGN)


async def quietly(call: Awaitable[Any], what: str) -> bool:
    """Await a Telegram call; True when it did (or had nothing to do), False once logged."""
    try:
        await call
    except TelegramError as exc:
        if is_benign(exc):
            return True
        log.warning("could not %s: %s", what, exc)
        return False
    return True


async def edit_quietly(
    target: CallbackQuery | Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    what: str = "edit a message",
    **options: Any,
) -> bool:
    """Show ``text`` (and ``markup``) in the pressed button's message, or in ``target``."""
    if isinstance(target, CallbackQuery):
        return await quietly(target.edit_message_text(text, reply_markup=markup, **options), what)
    return await quietly(target.edit_text(text, reply_markup=markup, **options), what)


async def answer_quietly(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> bool:
    """Answer a button press (a toast, or an alert with ``alert``); a failure is only logged."""
    try:
        await query.answer(text[:ANSWER_MAX] if text else None, show_alert=alert)
    except TelegramError as exc:
        log.info("could not answer a button press: %s", exc)
        return False
    return True

"""Telling people how a connection ended: the browser page and the admin chat note.

Both are built from the same :class:`~handlers.connect.flow.Outcome` and the catalogue
(``connect.*``): the page in the configured language (the browser has no Telegram user), the
note in the admin chat's language.
"""

from __future__ import annotations

import html
import logging
import time

from telegram import Bot
from telegram.error import TelegramError

from bot.runtime.services import Services
from handlers.connect.attempts import STATE_TTL
from handlers.connect.flow import UPSTREAM, Outcome

log = logging.getLogger(__name__)

#: Notes about callbacks nobody started (unknown or missing state) are told at most this often
#: per reason, so that a stranger requesting the callback URL cannot flood the chat.
ANONYMOUS_NOTE_EVERY = 60.0

PAGE = """<!doctype html>
<html lang="{lang}" dir="{direction}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}</style>
</head>
<body><h1>{title}</h1><p>{body}</p></body>
</html>
"""


def reason_text(services: Services, outcome: Outcome, lang: str) -> str:
    """Why it failed (or what succeeded), one or two sentences, plain text."""
    values = {"detail": outcome.detail, "minutes": int(STATE_TTL // 60)}
    return services.i18n.t(f"connect.why_{outcome.reason}", lang, **values)


def page(services: Services, outcome: Outcome) -> tuple[int, str]:
    """(HTTP status, HTML) of the page the browser shows after the redirect."""
    lang = services.config.language
    t = services.i18n.t
    if outcome.ok:
        title = t("connect.page_ok_title", lang)
        body = t("connect.page_ok", lang, account=outcome.account or "Resont")
        status = 200
    else:
        title = t("connect.page_bad_title", lang)
        body = f"{reason_text(services, outcome, lang)} {t('connect.nothing_stored', lang)}"
        status = 502 if outcome.reason in UPSTREAM else 400
    text = PAGE.format(
        lang=lang,
        direction="rtl" if lang == "fa" else "ltr",
        title=html.escape(title),
        body=html.escape(body),
    )
    return status, text


def note(services: Services, outcome: Outcome) -> str:
    """The admin chat's note (HTML): who connected and the scopes granted, or why not."""
    t = services.t
    who = html.escape(outcome.attempt.by_name) if outcome.attempt else t("connect.someone")
    if not outcome.ok:
        why = html.escape(reason_text(services, outcome, services.config.language))
        return t("connect.note_failed", None, admin=who, reason=why)
    lines = [
        t(
            "connect.note_ok",
            None,
            admin=who,
            account=html.escape(outcome.account or "?"),
            scopes=" ".join(outcome.scopes) or t("connect.scopes_unstated"),
        )
    ]
    if outcome.missing:
        lines.append(t("connect.note_missing", None, scopes=" ".join(outcome.missing)))
    return "\n".join(lines)


class Notifier:
    """Sends the note to the admin chat (and to the chat /connect came from, when another)."""

    def __init__(self) -> None:
        self._anonymous: dict[str, float] = {}

    async def tell(self, bot: Bot, services: Services, outcome: Outcome, *, skip_chat: int | None = None) -> None:
        if outcome.attempt is None and not self._may_tell_anonymous(outcome.reason):
            return
        text = note(services, outcome)
        chats = {services.config.admin_chat_id}
        if outcome.attempt is not None:
            chats.add(outcome.attempt.chat_id)
        for chat_id in chats - {skip_chat}:
            try:
                if chat_id == services.config.admin_chat_id:
                    await services.send_admin(bot, text)
                else:
                    await bot.send_message(chat_id, text)
            except TelegramError as exc:
                log.warning("could not tell chat %s how the OAuth callback ended: %s", chat_id, exc)

    def _may_tell_anonymous(self, reason: str) -> bool:
        now = time.monotonic()
        if now - self._anonymous.get(reason, -ANONYMOUS_NOTE_EVERY) < ANONYMOUS_NOTE_EVERY:
            return False
        self._anonymous[reason] = now
        return True

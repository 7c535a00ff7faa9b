"""/connect, /disconnect, their buttons, the pasted redirect address, and the web callback.

``/connect`` answers with a button opening Resont's authorize page (fresh single-use state,
the bot's scopes, ``redirect_uri`` = ``RESONT_REDIRECT_URI``). In web mode Resont sends the
browser back to ``GET /oauth/callback``; without it (or when that page does not load) the admin
replies to the /connect message with the address from the browser's address bar. Both paths run
:func:`handlers.connect.flow.complete`. ``/disconnect`` asks first, then forgets the tokens.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application

from bot.clients.resont.auth import SCOPE
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.buttons import answer_stale, button
from bot.runtime.tg.callback import ButtonData, Namespace
from bot.runtime.tg.quiet import edit_quietly
from bot.runtime.web import WebRoute
from handlers.connect import attempts, flow
from handlers.connect.answers import Notifier, note, page
from handlers.replies import target_key

log = logging.getLogger(__name__)

OAUTH = Namespace("oauth")


class ForgetTokens(ButtonData, namespace=OAUTH, action="forget"):
    """/disconnect confirmed: forget the stored tokens."""


class KeepTokens(ButtonData, namespace=OAUTH, action="keep"):
    """/disconnect called off."""


#: Reply-target kind of a /connect message (the admin answers with the redirect address).
PASTE_KIND = "oauth:redirect"
CALLBACK_PATH = "/oauth/callback"


def notifier(app: Application[Any, Any, Any, Any, Any, Any]) -> Notifier:
    found = getattr(app.bot_data, "connect", None)
    if found is None:
        found = Notifier()
        app.bot_data.connect = found
    return found


# ---------------------------------------------------------------------------------- /connect


async def on_connect(update: Update, context: Context) -> None:
    """Answer with the authorize button, or say which setting is missing."""
    services = context.services
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    problem = _unready(services)
    if problem:
        await message.reply_text(services.t(problem, user.id))
        return
    attempt = attempts.start(
        services.store, by=user.id, by_name=user.full_name or str(user.id), chat_id=message.chat_id, now=time.time()
    )
    url = services.resont.authorize_url(attempt.state)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(services.t("connect.button_open", user.id), url=url)]])
    sent = await message.reply_text(connect_text(services, user.id), reply_markup=markup)
    _await_paste(services, sent, user.id)


def _unready(services: Services) -> str | None:
    """The text key saying why /connect cannot work with this configuration, if it cannot."""
    if services.resont.oauth is None:
        return "connect.not_oauth"
    if not services.config.resont_redirect_uri:
        return "connect.no_redirect"
    return None


def connect_text(services: Services, user_id: int) -> str:
    config = services.config
    values: dict[str, Any] = {
        "scopes": SCOPE,
        "minutes": int(attempts.STATE_TTL // 60),
        "redirect": html.escape(config.resont_redirect_uri),
    }
    lines = []
    oauth = services.resont.oauth
    if oauth is not None and oauth.connected:
        lines.append(services.t("connect.already", user_id))
    key = "connect.link_web" if config.port is not None else "connect.link_manual"
    lines.append(services.t(key, user_id, **values))
    path = urlsplit(config.resont_redirect_uri).path
    if config.port is not None and path != CALLBACK_PATH:
        lines.append(services.t("connect.redirect_path", user_id, path=html.escape(path or "/")))
    return "\n\n".join(lines)


def _await_paste(services: Services, message: Message, user_id: int) -> None:
    """Let ``user_id`` answer ``message`` with the redirect address (a reply target)."""
    services.store.table("prompts").put(
        target_key(message.chat_id, message.message_id),
        {"kind": PASTE_KIND, "user_id": user_id, "data": {}, "at": time.time()},
    )


async def on_paste(update: Update, context: Context, target: dict[str, Any]) -> None:
    """A reply to the /connect message: the address Resont redirected the browser to."""
    services = context.services
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    user_id = update.effective_user.id if update.effective_user else 0
    params = redirect_params(message.text or "", services.config.resont_redirect_uri)
    # The router spent the target: keep taking answers (a second paste is told it is spent).
    _await_paste(services, message.reply_to_message, user_id)
    if params is None:
        redirect = html.escape(services.config.resont_redirect_uri)
        await message.reply_text(services.t("connect.not_a_redirect", user_id, redirect=redirect))
        return
    outcome = await flow.complete(services, params)
    await message.reply_text(note(services, outcome))
    await notifier(context.application).tell(context.bot, services, outcome, skip_chat=message.chat_id)


def redirect_params(text: str, redirect_uri: str) -> dict[str, str] | None:
    """The query of a pasted redirect address, or None when the text is not one (it must be
    the configured redirect URI, or at least an address, carrying ``state``/``code``/``error``)."""
    words = [w for w in text.split() if "://" in w or w.startswith(urlsplit(redirect_uri).netloc)]
    if not words:
        return None
    parts = urlsplit(words[0].strip("<>\"'"))
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not {"state", "code", "error"} & params.keys():
        return None
    return params


# ---------------------------------------------------------------------------------- callback


def callback_routes(app: Application[Any, Any, Any, Any, Any, Any]) -> list[WebRoute]:
    """Web mode: ``GET /oauth/callback``, where Resont sends the browser back."""

    async def handle(request: web.Request) -> web.Response:
        services: Services = app.bot_data.services
        params = {key: request.query.get(key, "") for key in request.query}
        try:
            outcome = await flow.complete(services, params)
        except Exception:  # the browser gets a page, the admins the error handler's line
            log.exception("OAuth callback failed")
            outcome = flow.Outcome("failed")
        app.create_task(notifier(app).tell(app.bot, services, outcome), name="oauth-note")
        status, text = page(services, outcome)
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return web.Response(status=status, text=text, content_type="text/html", charset="utf-8", headers=headers)

    return [WebRoute("GET", CALLBACK_PATH, handle)]


# ---------------------------------------------------------------------------------- /disconnect


async def on_disconnect(update: Update, context: Context) -> None:
    """Ask before forgetting the tokens, saying what stops working."""
    services = context.services
    message = update.effective_message
    user_id = update.effective_user.id if update.effective_user else 0
    assert message is not None
    oauth = services.resont.oauth
    if oauth is None:
        await message.reply_text(services.t("connect.not_oauth", user_id))
        return
    if not oauth.connected:
        await message.reply_text(services.t("connect.not_connected", user_id))
        return
    buttons = [
        button(services.t("connect.button_forget", user_id), ForgetTokens()),
        button(services.t("connect.button_keep", user_id), KeepTokens()),
    ]
    text = services.t("connect.confirm_disconnect", user_id)
    await message.reply_text(text, reply_markup=InlineKeyboardMarkup([buttons]))


async def on_button(update: Update, context: Context, data: ForgetTokens | KeepTokens) -> None:
    """``oauth:forget`` (disconnect now) or ``oauth:keep``."""
    query = update.callback_query
    assert query is not None
    services = context.services
    user = query.from_user
    oauth = services.resont.oauth
    if oauth is None:
        await answer_stale(update, context)
        return
    if isinstance(data, KeepTokens):
        text = services.t("connect.kept", user.id)
    elif not oauth.connected:
        text = services.t("connect.not_connected", user.id)
    else:
        oauth.forget()
        services.store.audit(user.id, "resont.disconnect", "resont")
        log.info("OAuth: Resont disconnected by user %s", user.id)
        text = services.t("connect.disconnected", user.id, admin=html.escape(user.full_name or str(user.id)))
        if services.config.resont_refresh_token:
            text += "\n" + services.t("connect.seed_unused", user.id)
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    if message is not None:
        await edit_quietly(message, text, what="answer /disconnect")

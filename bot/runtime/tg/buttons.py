"""One way to route a button press: a feature declares, per namespace, who may press and which
handler takes each kind of button; the press arrives decoded.

``Buttons(POST, ADMINS, {Approve: on_approve, Reject: on_reject})`` in ``Feature.buttons`` gives
one ``CallbackQueryHandler`` for the namespace (added after the feature's own handlers, so a
conversation's steps see their buttons first) and the guard's rule for it. The handler is called
as ``await on_approve(update, context, Approve(pg=42))``. Data that does not decode — forged,
garbled, from a layout that no longer exists — is answered by the namespace's ``stale`` handler
(by default the "no longer valid" alert) and logged; it never reaches a feature, never raises.

Conversation steps use :func:`step`: a ``CallbackQueryHandler`` that takes only the given
kinds, for a ``ConversationHandler`` state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import CallbackQueryHandler

from bot.runtime.roles import Role
from bot.runtime.tg.callback import ButtonData, CallbackDataError, Namespace
from bot.runtime.tg.quiet import answer_quietly

log = logging.getLogger(__name__)

#: ``await handler(update, context, data)`` for one kind of button (``context``: the bot's
#: ``bot.runtime.context.Context``, typed Any here so that the runtime's modules form no cycle).
ButtonHandler = Callable[[Update, Any, Any], Awaitable[Any]]
#: ``await stale(update, context)``: the answer to a press whose data does not decode.
StaleHandler = Callable[[Update, Any], Awaitable[Any]]


def button(text: str, data: ButtonData) -> InlineKeyboardButton:
    """An inline button that sends ``data`` (encoded and checked)."""
    return InlineKeyboardButton(text, callback_data=data.encode())


async def answer_stale(update: Update, context: Any) -> None:
    """The default answer to a button that no longer means anything: an alert saying so."""
    query = update.callback_query
    if query is not None:
        await answer_quietly(query, context.services.t("core.stale_button", query.from_user.id), alert=True)


@dataclass(frozen=True)
class Buttons:
    """A feature's buttons in one namespace: who may press them, which handler takes each kind,
    and what answers a press that does not decode (``stale``, default :func:`answer_stale`)."""

    namespace: Namespace
    roles: frozenset[Role]
    routes: Mapping[type[ButtonData], ButtonHandler]
    stale: StaleHandler = answer_stale

    def __post_init__(self) -> None:
        for kind in self.routes:
            if kind.namespace is not self.namespace:
                raise ValueError(f"{kind.__name__} is not a {self.namespace.name} button")

    def handler(self) -> CallbackQueryHandler[Any, Any]:
        """The one ``CallbackQueryHandler`` of the namespace."""
        return CallbackQueryHandler(self.dispatch, pattern=self.namespace.owns)

    async def dispatch(self, update: Update, context: Any) -> Any:
        """Decode the press and hand it to its kind's handler (or answer it as stale)."""
        data = decoded(update, self.namespace)
        route = self.routes.get(type(data)) if data is not None else None
        if route is None:
            return await self.stale(update, context)
        return await route(update, context, data)


def decoded(update: Update, namespace: Namespace) -> ButtonData | None:
    """The pressed button's data, or None (logged) when it does not decode."""
    query = update.callback_query
    raw = query.data if query is not None else None
    try:
        return namespace.decode(raw)
    except CallbackDataError as exc:
        who = query.from_user.id if query is not None else None
        log.info("stale or garbled %s button %r from user %s: %s", namespace.name, str(raw)[:64], who, exc)
        return None


def step(
    kinds: type[ButtonData] | tuple[type[ButtonData], ...], callback: ButtonHandler
) -> CallbackQueryHandler[Any, Any]:
    """A conversation step taking the buttons of ``kinds``: ``callback(update, context, data)``."""
    wanted = kinds if isinstance(kinds, tuple) else (kinds,)
    namespace = wanted[0].namespace

    def matches(raw: object) -> bool:
        try:
            return isinstance(namespace.decode(raw), wanted)
        except CallbackDataError:
            return False

    async def run(update: Update, context: Any) -> Any:
        data = decoded(update, namespace)
        assert data is not None  # matched above
        return await callback(update, context, data)

    return CallbackQueryHandler(run, pattern=matches)

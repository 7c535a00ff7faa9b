"""Typed context: handlers reach the services as ``context.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.runtime.feature import Feature
    from bot.runtime.services import Services
    from bot.runtime.web import WebServer


class BotData:
    """The application's shared data: the services, set once in ``post_init``."""

    services: Services
    #: what ``post_init`` needs to open the services (set by ``build_application``)
    setup: dict[str, Any]
    features: list[Feature]
    #: the web-mode server (None without PORT, or when its port could not be bound)
    web: WebServer | None = None


class Context(CallbackContext[ExtBot, dict, dict, BotData]):
    """CallbackContext with a typed ``services`` attribute."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return self.bot_data.services

"""Typed context: handlers reach the services as ``context.services``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    import httpx

    from bot.config import Config
    from bot.runtime.feature import Feature
    from bot.runtime.services import Services
    from bot.runtime.web import WebServer
    from bot.store.state import Store


#: The bot's application, whatever its context types (PTB's Application is generic in six).
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Setup:
    """What ``post_init`` needs to open the services (set by ``bot.app.build_application``):
    ``store`` and the transports are for tests and benchmarks (None: the configured ones)."""

    config: Config
    features: list[Feature]
    clock: Callable[[], datetime]
    store: Store | None = None
    resont_transport: httpx.AsyncBaseTransport | None = None
    miogram_transport: httpx.AsyncBaseTransport | None = None


class BotData:
    """The application's shared data: the services, set once in ``post_init``."""

    services: Services
    setup: Setup
    features: list[Feature]
    #: the web-mode server (None without PORT, or when its port could not be bound)
    web: WebServer | None = None


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with a typed ``services`` attribute."""

    def __init__(
        self,
        application: AnyApplication,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return self.bot_data.services

"""The services every handler and job reaches through ``context.services``.

Opened in ``post_init`` and closed in ``post_shutdown`` (see ``bot.app``); nothing here does work
at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
from telegram import InlineKeyboardMarkup, Message

from bot.config import Config
from bot.runtime.alerts import Alerts
from bot.runtime.health import Health
from bot.runtime.i18n import Catalogue
from bot.runtime.locks import KeyedLocks
from bot.runtime.scheduler import Scheduler
from bot.store.state import Store
from bot.text.charts import ChartRenderer

if TYPE_CHECKING:
    from telegram import Bot

    from bot.clients.miogram.client import MioGramClient
    from bot.clients.resont.client import ResontClient


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    config: Config
    store: Store
    i18n: Catalogue
    scheduler: Scheduler
    http: httpx.AsyncClient
    resont: ResontClient
    miogram: MioGramClient | None
    clock: Callable[[], datetime] = utc_now
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    health: Health = field(default_factory=Health)
    #: draws insights charts; loads matplotlib on the first chart, not at start-up
    charts: ChartRenderer = field(default_factory=ChartRenderer)
    #: further HTTP clients opened for the services, closed at shutdown
    owned_http: list[httpx.AsyncClient] = field(default_factory=list)
    alerts: Alerts = field(init=False)

    def __post_init__(self) -> None:
        self.alerts = Alerts(lambda: self.store.table("alerts"), self.send_admin)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    def lang(self, user_id: int | None = None) -> str:
        """The interface language for ``user_id``: their /lang choice, else the configured one."""
        if user_id is not None:
            prefs = self.store.table("users").get(str(user_id))
            lang = prefs.get("lang") if prefs else None
            if lang in ("en", "fa"):
                return str(lang)
        return self.config.language

    def t(self, key: str, user_id: int | None = None, /, **values: Any) -> str:
        """Catalogue text in the language of ``user_id`` (or the chat's default)."""
        return self.i18n.t(key, self.lang(user_id), **values)

    def topic(self, name: str | None) -> int | None:
        """The forum topic (message_thread_id) configured for ``name``, if any."""
        if not name:
            return None
        return getattr(self.config, f"topic_{name}", None)

    async def send_admin(
        self,
        bot: Bot,
        text: str,
        *,
        topic: str | None = None,
        markup: InlineKeyboardMarkup | None = None,
        **kwargs: Any,
    ) -> Message:
        """Send ``text`` (HTML) to the admin chat, into the configured forum topic."""
        return await bot.send_message(
            chat_id=self.config.admin_chat_id,
            text=text,
            message_thread_id=self.topic(topic),
            reply_markup=markup,
            **kwargs,
        )

"""Incidents told to the admins once: raised when something breaks, resolved when it recovers.

An open incident is kept in the state file, so a restart during an outage does not repeat it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError

if TYPE_CHECKING:
    from telegram import Bot

    from bot.runtime.services import Services

log = logging.getLogger(__name__)


class Alerts:
    def __init__(self, services: Services) -> None:
        self._services = services

    @property
    def _table(self):
        return self._services.store.table("alerts")

    def is_open(self, key: str) -> bool:
        return key in self._table

    async def raise_(self, bot: Bot, key: str, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
        """Tell the admins ``text`` unless incident ``key`` is already open; True if told."""
        if not self._table.insert_new(key, {"at": time.time(), "text": text}):
            return False
        log.warning("alert %s: %s", key, text)
        try:
            await self._services.send_admin(bot, text, topic="alerts", markup=markup)
        except TelegramError as exc:
            # Keep the incident open anyway: re-raising each poll would flood the chat later.
            log.error("could not deliver alert %s: %s", key, exc)
        return True

    async def resolve(self, bot: Bot, key: str, text: str | None = None) -> bool:
        """Close incident ``key``; tell the admins ``text`` if given and it was open."""
        if not self._table.delete(key):
            return False
        log.info("alert %s resolved", key)
        if text:
            try:
                await self._services.send_admin(bot, text, topic="alerts")
            except TelegramError as exc:
                log.error("could not deliver recovery notice %s: %s", key, exc)
        return True

"""Incidents told to the admins once: raised when something breaks, resolved when it recovers.

An open incident is kept in the state file, so a restart during an outage does not repeat it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import TelegramError

from bot.store.state import Table


class SendAdmin(Protocol):
    """Sends an HTML text to the admin chat (``Services.send_admin``)."""

    def __call__(
        self, bot: Bot, text: str, *, topic: str | None = None, markup: InlineKeyboardMarkup | None = None
    ) -> Awaitable[Message]: ...


log = logging.getLogger(__name__)


class Alerts:
    """Open incidents, kept in the ``alerts`` table; told to the admins through ``send_admin``."""

    def __init__(self, table: Callable[[], Table], send_admin: SendAdmin) -> None:
        self._table_of = table
        self._send_admin = send_admin

    @property
    def _table(self) -> Table:
        return self._table_of()

    def is_open(self, key: str) -> bool:
        return key in self._table

    async def raise_(self, bot: Bot, key: str, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
        """Tell the admins ``text`` unless incident ``key`` is already open; True if told."""
        if not self._table.insert_new(key, {"at": time.time(), "text": text}):
            return False
        log.warning("alert %s: %s", key, text)
        try:
            await self._send_admin(bot, text, topic="alerts", markup=markup)
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
                await self._send_admin(bot, text, topic="alerts")
            except TelegramError as exc:
                log.error("could not deliver recovery notice %s: %s", key, exc)
        return True

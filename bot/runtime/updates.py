"""Update processing: one user's messages in one chat in arrival order, everything else in parallel.

PTB's ``concurrent_updates(8)`` runs updates side by side, which its ConversationHandler warns
against: an answer typed right after a step's prompt could be handled before the step's handler
returned (and moved the conversation on), so the answer was read as the previous step's. Keying
the order of messages by (chat, user) — the ConversationHandler's own key — keeps each person's
dialogue in order, while button presses (which have their own per-card locks and double-press
answers, and must be answered at once) and other people and chats still run concurrently.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.runtime.locks import KeyedLocks

#: How many updates may run at once overall (as ``concurrent_updates(8)`` before).
MAX_CONCURRENT_UPDATES = 8


def order_key(update: object) -> str | None:
    """The (chat, user) a message belongs to, or None for updates that need no order."""
    if not isinstance(update, Update) or update.effective_message is None or update.callback_query:
        return None
    chat = update.effective_chat
    user = update.effective_user
    if chat is None and user is None:
        return None
    return f"{chat.id if chat else '-'}:{user.id if user else '-'}"


class PerUserOrderedUpdates(BaseUpdateProcessor):
    """Runs one (chat, user)'s messages one after another; all else concurrently."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = order_key(update)
        if key is None:
            await coroutine
            return
        async with self._locks(key):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

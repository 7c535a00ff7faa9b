"""The inbox's per-application runtime: caches, background delivery and the webhook server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.clients.resont.models import Account
from bot.runtime.context import AnyApplication
from bot.store.errors import StoreUnavailable

log = logging.getLogger(__name__)


class InboxRuntime:
    """Per-application state that is not worth persisting: caches and background delivery.
    Reached as ``application.bot_data.inbox``; closed at shutdown."""

    def __init__(self, deliver: Callable[[AnyApplication], Awaitable[object]]) -> None:
        #: delivers every pending record (injected: delivery sits above this module)
        self._deliver = deliver
        #: the connected accounts by id (cached: cards name them)
        self.accounts: dict[int, Account] = {}
        self.accounts_at = 0.0
        self.last_prune = 0.0
        self.deliver_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self, app: AnyApplication) -> None:
        """Deliver pending records soon, in the background (webhook pushes)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(app), name="inbox-deliver")

    async def _run(self, app: AnyApplication) -> None:
        while self._again:
            self._again = False
            try:
                await self._deliver(app)
            except StoreUnavailable as exc:  # the next poll delivers what is left
                log.warning("inbox: background delivery stopped: %s", exc)
            except Exception:
                log.exception("inbox: background delivery failed")

    async def aclose(self) -> None:
        """Stop background delivery (called at shutdown)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

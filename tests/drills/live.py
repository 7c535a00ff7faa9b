"""The real application running in a background thread (its own event loop), so that synchronous
tests – Hypothesis property tests – can talk to it through the Bot API emulator's thread-safe
user-side API and wait for its answers, example after example, without restarting it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from tests.drills.faults import drill_bot


class ErrorRecords(logging.Handler):
    """Collects the records of unhandled errors (``handlers.core.on_error``) and of anything
    logged at ERROR by the bot's own packages."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("bot", "handlers", "telegram.ext")):
            self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


class LiveBot:
    def __init__(self, botapi: Any, **kwargs: Any) -> None:
        self.botapi = botapi
        self.kwargs = kwargs
        self.app: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-bot", daemon=True)
        self.errors = ErrorRecords()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with drill_bot(self.botapi, **self.kwargs) as app:
            self.app = app
            self._ready.set()
            await self._stop.wait()

    def start(self, timeout: float = 30.0) -> LiveBot:
        logging.getLogger().addHandler(self.errors)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the bot did not start: {self._error!r}")
        return self

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run ``coro`` in the bot's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        logging.getLogger().removeHandler(self.errors)
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error

"""One-off jobs that survive a restart (a scheduled mass send, a rescheduled post).

Each is a document in the ``scheduled`` table (kind, UTC run time, data) and a PTB JobQueue
``run_once`` job. At start-up every stored job is registered again; one whose time passed while
the bot was down runs at once. The record is deleted only after its callback finished, so a crash
mid-run runs it again (features make their callbacks safe to repeat).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from telegram.ext import CallbackContext, JobQueue

from bot.store.state import Store, Table

#: A one-off job's callback: ``(context, data)``. The context is the bot's typed
#: ``bot.runtime.context.Context``; it is ``Any`` here because the context module sits above
#: this one (the services it carries own a scheduler).
ScheduledCallback = Callable[[Any, dict[str, Any]], Awaitable[None]]

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, store: Store, kinds: Mapping[str, ScheduledCallback]) -> None:
        self._store = store
        self._kinds = dict(kinds)
        self._queue: JobQueue[Any] | None = None

    @property
    def _table(self) -> Table:
        return self._store.table("scheduled")

    def attach(self, job_queue: JobQueue[Any]) -> int:
        """Register every stored job with the queue; returns how many were restored."""
        self._queue = job_queue
        restored = 0
        for key, doc in list(self._table.items()):
            if doc.get("kind") not in self._kinds:
                log.warning("dropping scheduled job %s of unknown kind %r", key, doc.get("kind"))
                self._table.delete(key)
                continue
            self._register(key, doc)
            restored += 1
        return restored

    def schedule(self, kind: str, run_at: datetime, data: dict[str, Any], key: str | None = None) -> str:
        """Store and register a job; ``key`` replaces an earlier job with the same key."""
        if kind not in self._kinds:
            raise ValueError(f"unknown scheduled job kind {kind!r}")
        key = key or f"{kind}:{secrets.token_hex(6)}"
        self.cancel(key)
        doc = {"kind": kind, "run_at": run_at.astimezone(UTC).timestamp(), "data": data}
        self._table.put(key, doc)
        if self._queue is not None:
            self._register(key, doc)
        return key

    def cancel(self, key: str) -> bool:
        if self._queue is not None:
            for job in self._queue.get_jobs_by_name(f"scheduled:{key}"):
                job.schedule_removal()
        return self._table.delete(key)

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._table.items())

    def _register(self, key: str, doc: dict[str, Any]) -> None:
        assert self._queue is not None
        when = datetime.fromtimestamp(float(doc["run_at"]), tz=UTC)
        now = datetime.now(UTC)
        delay = max(0.0, (when - now).total_seconds())
        self._queue.run_once(self._run, when=delay, data=key, name=f"scheduled:{key}")

    async def _run(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert context.job is not None
        key = str(context.job.data)
        doc = self._table.get(key)
        if doc is None:  # cancelled after registration
            return
        await self._kinds[doc["kind"]](context, doc.get("data", {}))
        self._table.delete(key)

"""The end of a job: its progress drawn a last time, its report sent once, its file dropped."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bot.massjobs.counts import count
from bot.massjobs.docs import FINISHED
from bot.massjobs.ports import Notifier, StateStore
from bot.massjobs.spool import drop_spool
from bot.massjobs.storage import JobBook


class Finisher:
    """Closes finished jobs (done or cancelled), exactly once each."""

    def __init__(self, book: JobBook, notifier: Notifier, clock: Callable[[], float], store: StateStore) -> None:
        self.book = book
        self.notifier = notifier
        self.clock = clock
        self.store = store

    async def finish(self, job_id: str) -> None:
        """Report a finished job whose report was not sent yet (a no-op otherwise)."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] not in FINISHED or job.get("report_sent"):
                return
            job.setdefault("finished_at", self.clock())
            await self.store.durably(partial(self.book.save, job))
        await self.notifier.progress(job, force=True)
        if job.get("units"):  # a job stopped before it started has nothing to report
            await self.notifier.finished(job)
        async with self.book.lock(job_id):
            job = self.book.get(job_id) or job
            job["report_sent"] = True
            await self.store.durably(partial(self.book.save, job))  # the report went out
        drop_spool(job)
        c = count(job)
        self.store.audit("bot", f"mass.{job['status']}", job_id, sent=c.sent, unknown=c.unknown)
        self.book.forget(job_id)

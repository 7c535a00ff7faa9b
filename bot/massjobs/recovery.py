"""Start-up: what a restart finds in the state, made right. Units that were in flight become
unknown (the request may have gone out) and are shown to the admins; running jobs go on;
finished jobs whose report was not sent get it; old drafts and old jobs are deleted."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.massjobs import transitions as tr
from bot.massjobs.docs import ACTIVE, CANCELLED, DRAFT, FINISHED, RUNNING, TABLE, UNKNOWN, JobDoc, job_from_doc
from bot.massjobs.finish import Finisher
from bot.massjobs.lanes import Chains
from bot.massjobs.ports import Notifier
from bot.massjobs.spool import drop_spool
from bot.massjobs.storage import JobBook, delete_job

log = logging.getLogger("bot.massjobs.runner")

#: drafts nobody confirmed are dropped after this long
DRAFT_TTL = 24 * 3600.0


class Recovery:
    """One pass over the stored jobs after a restart."""

    def __init__(
        self,
        book: JobBook,
        notifier: Notifier,
        chains: Chains,
        finisher: Finisher,
        clock: Callable[[], float],
        retention_days: float,
    ) -> None:
        self.book = book
        self.notifier = notifier
        self.chains = chains
        self.finisher = finisher
        self.clock = clock
        self.retention_days = retention_days

    async def run(self) -> list[str]:
        """Returns the ids of the jobs that go on sending."""
        resumed: list[str] = []
        for job_id, raw in list(self.book.store.table(TABLE).items()):
            job = job_from_doc(raw)
            if self._expired(job):
                drop_spool(job)
                self.book.forget(job_id)
                delete_job(self.book.store, job_id)
            elif job["status"] in ACTIVE and await self._active(job_id):
                resumed.append(job_id)
            elif job["status"] in FINISHED and not job.get("report_sent"):
                await self.finisher.finish(job_id)
        return resumed

    def _expired(self, job: JobDoc) -> bool:
        """An unconfirmed draft a day old, or a reported job past the retention period."""
        now = self.clock()
        if job["status"] == DRAFT:
            return now - float(job.get("created_at", now)) > DRAFT_TTL
        keep = self.retention_days * 86400.0
        return job["status"] in FINISHED and bool(job.get("report_sent")) and now - job.get("finished_at", now) > keep

    async def _active(self, job_id: str) -> bool:
        """A job that was running, paused or cancelling at the restart. True when it resumes."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            assert job is not None
            newly = tr.in_flight_to_unknown(job)
            self.book.save(job, newly)
        if newly:
            log.warning("mass job %s: unit(s) %s were in flight at a restart: unknown", job_id, newly)
        for index, unit in enumerate(job["units"]):
            if index in newly or (unit["state"] == UNKNOWN and not unit.get("card")):
                await self.notifier.unknown_unit(job, index)
        if job["status"] == CANCELLED:
            await self.finisher.finish(job_id)
        elif job["status"] == RUNNING:
            self.chains.kick(job_id, 1.0)
            return True
        else:
            await self.notifier.progress(job, force=True)
        return False

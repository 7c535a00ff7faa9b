"""The mass-send runner: sends confirmed jobs unit by unit, exactly once, over one or more lanes
(MioGram sending agents), and carries out the admins' decisions.

It is assembled from parts: :class:`~bot.massjobs.storage.JobBook` (the jobs, cached; every
write goes through it), :class:`~bot.massjobs.lanes.Chains` (which lane of which job has a
chain of steps), :class:`~bot.massjobs.stepper.Stepper` (one step: pick, write, send, record),
:class:`~bot.massjobs.finish.Finisher` and :class:`~bot.massjobs.recovery.Recovery`. The state
changes themselves are :mod:`bot.massjobs.transitions`.

Nothing here imports Telegram: the runner reports through a :class:`~bot.massjobs.ports.Notifier`
and is driven by whoever calls :meth:`MassRunner.step` (the job queue, in the bot), asked for
through the injected ``kick(job_id, lane, delay)``.
"""

from __future__ import annotations

from typing import Any

from bot.massjobs import transitions as tr
from bot.massjobs.counts import count
from bot.massjobs.docs import (
    BY_ADMIN,
    CANCELLED,
    CANCELLING,
    DONE,
    DRAFT,
    FINISHED,
    IN_FLIGHT,
    PAUSED,
    QUIET,
    RUNNING,
    SCHEDULED,
    UNKNOWN,
    JobDoc,
)
from bot.massjobs.finish import Finisher
from bot.massjobs.lanes import Chains, Lanes
from bot.massjobs.ports import Kick, MediaLoader, Notifier, RunnerDeps, Table
from bot.massjobs.recovery import Recovery
from bot.massjobs.sending import UnitSender
from bot.massjobs.spool import drop_spool
from bot.massjobs.stepper import Stepper
from bot.massjobs.storage import JobBook


class MassRunner:
    """Drives jobs and takes the admins' decisions; see the module's docstring for its parts."""

    def __init__(self, deps: RunnerDeps, notifier: Notifier, load_media: MediaLoader, kick: Kick) -> None:
        self.deps = deps
        self.store = deps.store
        self.notifier = notifier
        self.book = JobBook(deps.store, deps.locks)
        self.lanes = Lanes(deps.robots)
        self.chains = Chains(self.lanes, kick)
        self.finisher = Finisher(self.book, notifier, deps.clock, deps.store)
        sender = UnitSender(deps.client, load_media, deps.locks)
        self.stepper = Stepper(deps, self.book, self.chains, self.finisher, sender, notifier)

    # --- plumbing

    def get(self, job_id: str) -> JobDoc | None:
        return self.book.get(job_id)

    def now(self) -> float:
        return self.deps.clock()

    def kick(self, job_id: str, delay: float = 0.0) -> None:
        """Make sure every live lane of the job has a chain of steps."""
        self.chains.kick(job_id, delay)

    async def step(self, job_id: str, lane: str = "") -> bool:
        """One step of the job on ``lane``; see :meth:`bot.massjobs.stepper.Stepper.step`."""
        return await self.stepper.step(job_id, lane)

    async def park(self, job_id: str, lane: str | None = None) -> None:
        """The chain of ``lane`` (or every chain of the job) stops; see :meth:`Stepper.park`."""
        await self.stepper.park(job_id, lane)

    async def finish(self, job_id: str) -> None:
        await self.finisher.finish(job_id)

    def optout(self) -> Table:
        """The opt-out table (``number in runner.optout()`` is a key lookup)."""
        return self.store.table("optout")

    def audit(self, actor: str | int, action: str, job_id: str, **details: Any) -> None:
        self.store.audit(actor, action, job_id, **details)

    # --- transitions requested by admins

    async def confirm(self, job_id: str, by: int, *, anyway: bool = False) -> tuple[bool, JobDoc | None]:
        """draft/scheduled → running (``anyway``: even inside the quiet hours). False when the
        job had already started (a double press)."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] not in (DRAFT, SCHEDULED):
                return False, job
            if anyway:
                job["send_anyway"] = True
            tr.start(job, self.optout(), self.now(), by)
            self.book.save(job)
        self.audit(by, "mass.confirm", job_id, numbers=count(job).total)
        await self._started(job)
        return True, job

    async def _started(self, job: JobDoc) -> None:
        await self.notifier.progress(job, force=True)
        if job["status"] == DONE:  # everyone opted out meanwhile
            await self.finisher.finish(job["id"])
        else:
            self.kick(job["id"])

    async def schedule(self, job_id: str, run_at: float, by: int) -> bool:
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] not in (DRAFT, SCHEDULED):
                return False
            job["status"], job["run_at"], job["scheduled_by"] = SCHEDULED, run_at, by
            self.book.save(job)
        self.audit(by, "mass.schedule", job_id, run_at=run_at)
        return True

    async def start_scheduled(self, job_id: str) -> None:
        """The scheduled time came: start the job (a no-op if it was cancelled or started)."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] != SCHEDULED:
                return
            tr.start(job, self.optout(), self.now(), job.get("scheduled_by"))
            self.book.save(job)
        await self._started(job)

    async def pause(self, job_id: str, by: int) -> JobDoc | None:
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] != RUNNING:
                return job
            tr.pause(job, BY_ADMIN)
            self.book.save(job)
        self.audit(by, "mass.pause", job_id)
        await self.notifier.progress(job, force=True)
        return job

    async def send_anyway(self, job_id: str, by: int) -> bool:
        """An admin's override of the quiet hours for this send: a send paused for them goes on
        at once, and no later window stops it."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] in FINISHED:
                return False
            job["send_anyway"] = True
            quiet = job["status"] == PAUSED and job.get("pause_reason") == QUIET
            if quiet:
                tr.run(job)
            self.book.save(job)
        self.audit(by, "mass.send_anyway", job_id)
        await self.notifier.progress(job, force=True)
        if quiet:
            self.kick(job_id)
        return True

    async def wake(self, job_id: str) -> None:
        """The quiet hours a send paused for are over: it goes on by itself."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] != PAUSED or job.get("pause_reason") != QUIET:
                return
            tr.run(job)
            job.pop("resume_at", None)
            self.book.save(job)
        await self.notifier.progress(job, force=True)
        self.kick(job_id)

    async def resume(self, job_id: str, by: int) -> tuple[bool, JobDoc | None]:
        """paused → running (failed units are tried again). Not while a unit is unknown."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] != PAUSED or any(u["state"] == UNKNOWN for u in job["units"]):
                return False, job
            self.book.save(job, tr.resume(job))
        self.audit(by, "mass.resume", job_id)
        await self.notifier.resumed(job)
        await self.notifier.progress(job, force=True)
        self.kick(job_id)
        return True, job

    async def cancel(self, job_id: str, by: int) -> JobDoc | None:
        """Stop the job: at once when no request is out, else after the current one. A draft is
        dropped (nothing was sent: no report)."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] in FINISHED:
                return job
            was = job["status"]
            job["cancelled_by"] = by
            if was == DRAFT:
                return self._drop(job, by)
            in_flight = any(u["state"] == IN_FLIGHT for u in job.get("units", []))
            job["status"] = CANCELLING if in_flight and self.chains.running(job_id) else CANCELLED
            self.book.save(job)
        if was == SCHEDULED:
            self.deps.cancel_scheduled(f"mass:{job_id}")
        self.audit(by, "mass.cancel", job_id)
        if job["status"] == CANCELLED:
            await self.finisher.finish(job_id)
        else:
            await self.notifier.progress(job, force=True)
        return job

    def _drop(self, job: JobDoc, by: int) -> JobDoc:
        job["status"], job["finished_at"], job["report_sent"] = CANCELLED, self.now(), True
        self.book.save(job)
        drop_spool(job)
        self.audit(by, "mass.drop", job["id"])
        return job

    async def resolve(
        self, job_id: str, index: int, action: str, by: int, known: dict[str, str] | None = None
    ) -> tuple[bool, JobDoc | None]:
        """An admin's word on an ``unknown`` (or ``failed``) unit: ``resend``, ``skip`` or
        ``resend_missing`` (see :func:`bot.massjobs.transitions.resolve`)."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] in FINISHED or not tr.can_resolve(job, index):
                return False, job
            changed = tr.resolve(job, index, action, by, known or {})
            resume = tr.unblocked_resume(job)
            self.book.save(job, changed, doc=resume)
        self.audit(by, f"mass.{action}", job_id, unit=index)
        await self.notifier.progress(job, force=True)
        if resume:
            self.kick(job_id)
        return True, job

    # --- start-up

    async def recover(self) -> list[str]:
        """After a restart; see :class:`~bot.massjobs.recovery.Recovery`. Returns resumed job ids."""
        recovery = Recovery(
            self.book, self.notifier, self.chains, self.finisher, self.deps.clock, self.deps.retention_days
        )
        return await recovery.run()

"""The mass-send runner: sends a confirmed job unit by unit, exactly once, and carries out the
admins' decisions.

Every transition is written to the state store before the next step, so a crash leaves at most
one unit ``in_flight``; at start-up :meth:`MassRunner.recover` turns it into ``unknown`` and asks
the admins. Credit errors put the unit back to ``pending`` (the service sends nothing when credit
is short) and pause the job. The state changes themselves are :mod:`bot.massjobs.transitions`.

Nothing here imports Telegram: the runner reports through a :class:`~bot.massjobs.ports.Notifier`
and is driven one unit at a time by whoever calls :meth:`MassRunner.step` (the job queue, in the
bot), asked for through the injected ``kick``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bot.massjobs import transitions as tr
from bot.massjobs.counts import count
from bot.massjobs.docs import (
    ACTIVE,
    BY_ADMIN,
    CANCELLED,
    CANCELLING,
    DONE,
    DRAFT,
    FAILED,
    FINISHED,
    IN_FLIGHT,
    PAUSED,
    RUNNING,
    SCHEDULED,
    TABLE,
    UNKNOWN,
    UNKNOWN_BATCH,
    JobDoc,
    job_from_doc,
)
from bot.massjobs.ports import Kick, Locks, MassClient, MediaLoader, Notifier, StateStore, Table
from bot.massjobs.sending import UnitSender
from bot.massjobs.spool import drop_spool
from bot.massjobs.storage import JobBook, delete_job
from bot.massjobs.units import next_pending

log = logging.getLogger(__name__)

#: drafts nobody confirmed are dropped after this long
DRAFT_TTL = 24 * 3600.0


@dataclass(frozen=True)
class RunnerDeps:
    """What the runner works with: the state store, the MioGram client (None when not
    configured), per-key locks, a clock (UTC timestamps) and a way to cancel a scheduled start."""

    store: StateStore
    client: MassClient | None
    locks: Locks
    clock: Callable[[], float]
    cancel_scheduled: Callable[[str], object]
    retention_days: float = 30.0


def _status_of(job: JobDoc) -> tuple[str, str | None, str]:
    return job["status"], job.get("pause_reason"), job.get("pause_detail", "")


class MassRunner:
    """Drives jobs one unit at a time. ``kick(job_id, delay)`` (injected) makes sure a step of
    that job is scheduled; ``step(job_id)`` sends one unit and says whether another should follow."""

    def __init__(self, deps: RunnerDeps, notifier: Notifier, load_media: MediaLoader, kick: Kick) -> None:
        self.deps = deps
        self.store = deps.store
        self.book = JobBook(deps.store)
        self.notifier = notifier
        self.sender = UnitSender(deps.client, load_media, deps.locks)
        self._kick = kick
        #: jobs with a step scheduled or running in this process (one chain per job)
        self.active: set[str] = set()
        #: job → the unit its last step put in flight, whose request the next step sends
        self._prepared: dict[str, int] = {}

    # --- plumbing

    def get(self, job_id: str) -> JobDoc | None:
        return self.book.get(job_id)

    def now(self) -> float:
        return self.deps.clock()

    def lock(self, job_id: str) -> AbstractAsyncContextManager[Any]:
        return self.deps.locks(f"mass:{job_id}")

    def kick(self, job_id: str, delay: float = 0.0) -> None:
        if job_id in self.active:
            return
        self.active.add(job_id)
        self._kick(job_id, delay)

    def halt(self, job_id: str) -> None:
        self.active.discard(job_id)

    async def park(self, job_id: str) -> None:
        """The job's chain stops without finishing (shutdown, a failure): the unit its last step
        put in flight, whose request never went out, is pending again, so a restart does not
        take it for a request that may have been sent."""
        async with self.lock(job_id):
            index = self._prepared.pop(job_id, None)
            job = self.book.get(job_id)
            if index is not None and job is not None and job["units"][index]["state"] == IN_FLIGHT:
                tr.unbegin(job, index)
                self.book.save(job, [index], doc=False)
        self.halt(job_id)

    def optout(self) -> Table:
        """The opt-out table (``number in runner.optout()`` is a key lookup)."""
        return self.store.table("optout")

    def audit(self, actor: str | int, action: str, job_id: str, **details: Any) -> None:
        self.store.audit(actor, action, job_id, **details)

    # --- transitions requested by admins

    async def confirm(self, job_id: str, by: int) -> tuple[bool, JobDoc | None]:
        """draft/scheduled → running. False when the job had already started (a double press)."""
        async with self.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] not in (DRAFT, SCHEDULED):
                return False, job
            tr.start(job, self.optout(), self.now(), by)
            self.book.save(job)
        self.audit(by, "mass.confirm", job_id, numbers=count(job).total)
        await self._started(job)
        return True, job

    async def _started(self, job: JobDoc) -> None:
        await self.notifier.progress(job, force=True)
        if job["status"] == DONE:  # everyone opted out meanwhile
            await self.finish(job["id"])
        else:
            self.kick(job["id"])

    async def schedule(self, job_id: str, run_at: float, by: int) -> bool:
        async with self.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] not in (DRAFT, SCHEDULED):
                return False
            job["status"], job["run_at"], job["scheduled_by"] = SCHEDULED, run_at, by
            self.book.save(job)
        self.audit(by, "mass.schedule", job_id, run_at=run_at)
        return True

    async def start_scheduled(self, job_id: str) -> None:
        """The scheduled time came: start the job (a no-op if it was cancelled or started)."""
        async with self.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] != SCHEDULED:
                return
            tr.start(job, self.optout(), self.now(), job.get("scheduled_by"))
            self.book.save(job)
        await self._started(job)

    async def pause(self, job_id: str, by: int) -> JobDoc | None:
        async with self.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] != RUNNING:
                return job
            tr.pause(job, BY_ADMIN)
            self.book.save(job)
        self.audit(by, "mass.pause", job_id)
        await self.notifier.progress(job, force=True)
        return job

    async def resume(self, job_id: str, by: int) -> tuple[bool, JobDoc | None]:
        """paused → running (failed units are tried again). Not while a unit is unknown."""
        async with self.lock(job_id):
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
        async with self.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] in FINISHED:
                return job
            was = job["status"]
            job["cancelled_by"] = by
            if was == DRAFT:
                return self._drop(job, by)
            in_flight = any(u["state"] == IN_FLIGHT for u in job.get("units", []))
            job["status"] = CANCELLING if in_flight and job_id in self.active else CANCELLED
            self.book.save(job)
        if was == SCHEDULED:
            self.deps.cancel_scheduled(f"mass:{job_id}")
        self.audit(by, "mass.cancel", job_id)
        if job["status"] == CANCELLED:
            await self.finish(job_id)
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
        async with self.lock(job_id):
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
        """After a restart: in-flight units become unknown (and are shown to the admins), running
        jobs continue, finished jobs whose report was not sent get it, old drafts and jobs past
        the retention period are deleted. Returns the ids of the resumed jobs."""
        resumed: list[str] = []
        for job_id, raw in list(self.store.table(TABLE).items()):
            job = job_from_doc(raw)
            if self._expired(job):
                drop_spool(job)
                self.book.forget(job_id)
                delete_job(self.store, job_id)
            elif job["status"] in ACTIVE and await self._recover_active(job_id):
                resumed.append(job_id)
            elif job["status"] in FINISHED and not job.get("report_sent"):
                await self.finish(job_id)
        return resumed

    def _expired(self, job: JobDoc) -> bool:
        """An unconfirmed draft a day old, or a reported job past the retention period."""
        now = self.now()
        if job["status"] == DRAFT:
            return now - float(job.get("created_at", now)) > DRAFT_TTL
        keep = self.deps.retention_days * 86400.0
        return (
            job["status"] in FINISHED
            and bool(job.get("report_sent"))
            and (now - float(job.get("finished_at", now)) > keep)
        )

    async def _recover_active(self, job_id: str) -> bool:
        """A job that was running, paused or cancelling at the restart. True when it resumes."""
        async with self.lock(job_id):
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
            await self.finish(job_id)
        elif job["status"] == RUNNING:
            self.kick(job_id, 1.0)
            return True
        else:
            await self.notifier.progress(job, force=True)
        return False

    # --- one step

    async def step(self, job_id: str) -> bool:
        """Send the next unit of ``job_id``. True when another step should follow; False when
        the job stopped (paused, finished, waiting for an admin): it is then no longer ``active``."""
        async with self.lock(job_id):
            picked = self._next_unit(job_id)
        if picked is True:
            await self.finish(job_id)
        if isinstance(picked, bool):
            return False
        job, index, to_send = picked
        await self.notifier.progress(job)
        answer, reasons = await self.sender.send(job, index, to_send) if to_send else ({}, {})
        return await self._record(job_id, index, answer, reasons)

    def _next_unit(self, job_id: str) -> tuple[JobDoc, int, list[str]] | bool:
        """Under the job's lock: the unit the last step already put in flight, if the job still
        runs; else the next pending one (see :meth:`_begin_next`)."""
        index = self._prepared.pop(job_id, None)
        job = self.book.get(job_id)
        if index is None or job is None:
            return self._begin_next(job_id)
        unit = job["units"][index]
        if job["status"] == RUNNING and unit["state"] == IN_FLIGHT:
            return job, index, list(unit.get("sending", []))
        if unit["state"] == IN_FLIGHT:  # paused or cancelled before its request went out
            tr.unbegin(job, index)
            self.book.save(job, [index], doc=False)
        return self._begin_next(job_id)

    def _begin_next(self, job_id: str) -> tuple[JobDoc, int, list[str]] | bool:
        """Put the next pending unit in flight (written before the request goes out) and return
        it with its numbers; or stop the chain, True when the job just finished."""
        job = self.book.get(job_id)
        if job is None or job["status"] not in (RUNNING, CANCELLING):
            self.halt(job_id)
            return False
        index = next_pending(job) if job["status"] == RUNNING else None
        if index is None:
            self.halt(job_id)
            return self._stop_chain(job)
        to_send = tr.begin(job, index, self.optout(), self.now())
        self.book.save(job, [index], doc=False)
        return job, index, to_send

    def _stop_chain(self, job: JobDoc) -> bool:
        """Nothing to send: cancelled, waiting for decisions, or done. True when finished."""
        if job["status"] == CANCELLING:
            job["status"] = CANCELLED
        elif any(u["state"] in (UNKNOWN, FAILED, IN_FLIGHT) for u in job["units"]):
            tr.pause(job, UNKNOWN_BATCH)
        else:
            job["status"] = DONE
        self.book.save(job)
        return job["status"] in FINISHED

    async def _record(self, job_id: str, index: int, answer: tr.Answer, reasons: dict[str, str]) -> bool:
        async with self.lock(job_id):
            job = self.book.get(job_id)
            assert job is not None
            before = _status_of(job)
            recorded = tr.record(job, index, answer, reasons, self.now())
            stopped = job["status"] != RUNNING or recorded.pause is not None
            changed = [index] if stopped else [index, *self._prepare(job)]
            # one write: this unit's outcome with the next unit in flight; the job document
            # (with the whole audience) only when its state changed
            self.book.save(job, changed, doc=_status_of(job) != before)
            if stopped:
                self.halt(job_id)
        if recorded.unknown:
            await self.notifier.unknown_unit(job, index)
        elif recorded.pause is not None:
            await self.notifier.paused(job, *recorded.pause)
        if job["status"] in FINISHED:
            await self.finish(job_id)
            return False
        await self.notifier.progress(job, force=stopped)
        return not stopped

    def _prepare(self, job: JobDoc) -> list[int]:
        """Put the job's next pending unit in flight now, so its write travels with the outcome
        just recorded (one write per batch instead of two); the next step sends it."""
        index = next_pending(job)
        if index is None:
            return []
        tr.begin(job, index, self.optout(), self.now())
        self._prepared[job["id"]] = index
        return [index]

    async def finish(self, job_id: str) -> None:
        """A finished job: its progress drawn a last time, its report sent once, its file dropped."""
        async with self.lock(job_id):
            job = self.book.get(job_id)
            if job is None or job["status"] not in FINISHED or job.get("report_sent"):
                return
            job.setdefault("finished_at", self.now())
            self.book.save(job)
        await self.notifier.progress(job, force=True)
        if job.get("units"):  # a job stopped before it started has nothing to report
            await self.notifier.finished(job)
        async with self.lock(job_id):
            job = self.book.get(job_id) or job
            job["report_sent"] = True
            self.book.save(job)
        drop_spool(job)
        c = count(job)
        self.audit("bot", f"mass.{job['status']}", job_id, sent=c.sent, unknown=c.unknown)
        self.book.forget(job_id)

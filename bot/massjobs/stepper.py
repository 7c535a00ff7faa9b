"""The steps of a job on one lane: pick the next unit, write it in flight, send it through the
lane's agent, record the answer — exactly once, whatever happens between.

Every step writes before its request goes out, so a crash leaves at most the units in flight
(one per lane) to be decided by the admins. The outcome of a unit is written with the lane's
next unit marked in flight (one write per batch); a chain that stops before sending that unit
puts it back to pending (:meth:`Stepper.park`). No batch starts inside the quiet hours: the job
pauses and is woken at their end. An agent MioGram refuses leaves the lanes, its batch goes back
to the queue and the other lanes take it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from bot.massjobs import transitions as tr
from bot.massjobs.docs import (
    CANCELLED,
    CANCELLING,
    DONE,
    FAILED,
    FINISHED,
    IN_FLIGHT,
    QUIET,
    RUNNING,
    UNKNOWN,
    UNKNOWN_BATCH,
    JobDoc,
)
from bot.massjobs.finish import Finisher
from bot.massjobs.lanes import Chains, Spacing, is_refusal
from bot.massjobs.ports import NotDurable, Notifier, RunnerDeps, Table
from bot.massjobs.sending import UnitSender
from bot.massjobs.storage import JobBook
from bot.massjobs.units import next_ready

#: why a chain stops: nothing for it to do, the job finished, or quiet hours began
HALT, FINISH, QUIET_PAUSE = "halt", "finish", "quiet"


@dataclass(frozen=True)
class Picked:
    job: JobDoc
    index: int
    numbers: list[str]


async def _durable(flushed: Awaitable[None]) -> None:
    """Wait for a unit's in-flight mark to reach the disk before its request leaves."""
    try:
        await flushed
    except Exception as exc:
        raise NotDurable(str(exc)) from exc


def _status_of(job: JobDoc) -> tuple[str, str | None, str]:
    return job["status"], job.get("pause_reason"), job.get("pause_detail", "")


class Stepper:
    """Runs the steps of jobs, one unit per step, on the lanes of :class:`Chains`."""

    def __init__(
        self,
        deps: RunnerDeps,
        book: JobBook,
        chains: Chains,
        finisher: Finisher,
        sender: UnitSender,
        notifier: Notifier,
    ) -> None:
        self.deps = deps
        self.book = book
        self.chains = chains
        self.finisher = finisher
        self.sender = sender
        self.notifier = notifier
        #: (job, lane) → the unit its last step put in flight, whose request the next step sends
        self.prepared: dict[tuple[str, str], int] = {}
        #: (job, lane) → the disk flush of that write, which its request waits for
        self.flushes: dict[tuple[str, str], Awaitable[None]] = {}
        self.spacing = Spacing(time.monotonic)

    def optout(self) -> Table:
        return self.deps.store.table("optout")

    def quiet_until(self, job: JobDoc) -> float | None:
        """The end of the quiet hours now under way, unless they are off or overridden."""
        if self.deps.quiet is None or job.get("send_anyway"):
            return None
        window = self.deps.quiet.window_at(self.deps.clock())
        return None if window is None else window[1]

    async def step(self, job_id: str, lane: str = "") -> bool:
        """Send the job's next unit on ``lane``. True when another step should follow; False when
        this lane's chain stops (the job paused, finished, or has nothing for this lane)."""
        async with self.book.lock(job_id):
            # a database outage holds the send here, before its batch goes out, until it is back
            picked = await self.deps.store.durably(lambda: self._next_unit(job_id, lane))
        flushed = self.flushes.pop((job_id, lane), None)
        if isinstance(picked, str) or not picked.numbers:
            if flushed is not None:
                await flushed
            if isinstance(picked, str):
                await self._stopped(job_id, picked)
                return False
        await self.notifier.progress(picked.job)
        answer, reasons = await self._send(picked, lane, flushed) if picked.numbers else ({}, {})
        return await self._record(job_id, lane, picked.index, answer, reasons)

    async def _send(
        self, picked: Picked, lane: str, flushed: Awaitable[None] | None
    ) -> tuple[tr.Answer, dict[str, str]]:
        """The unit's request, which leaves once ``flushed`` (its in-flight mark's flush) is done;
        if that flush failed nothing went out, and the unit stays prepared for :meth:`park`."""
        job_id, ready = picked.job["id"], None if flushed is None else partial(_durable, flushed)
        wait = self.spacing.reserve(job_id, len(self.chains.lanes.live))
        if wait > 0:
            await asyncio.sleep(wait)  # another lane's request went out just now
        sent_at = time.monotonic()
        try:
            answer = await self.sender.send(picked.job, picked.index, picked.numbers, lane, ready)
        except NotDurable:
            self.prepared[(job_id, lane)] = picked.index
            raise
        self.spacing.answered(job_id, sent_at)
        return answer

    async def _finish(self, job_id: str) -> None:
        self.spacing.forget(job_id)
        await self.finisher.finish(job_id)

    async def _stopped(self, job_id: str, why: str) -> None:
        if why == FINISH:
            await self._finish(job_id)
        elif why == QUIET_PAUSE:
            job = self.book.get(job_id)
            if job is not None:
                await self.notifier.progress(job, force=True)

    def _next_unit(self, job_id: str, lane: str) -> Picked | str:
        """Under the job's lock: the unit this lane's last step put in flight, if the job still
        runs outside quiet hours; else the next ready one (see :meth:`_begin_next`)."""
        job = self.book.get(job_id)
        index = self.prepared.get((job_id, lane))  # kept until its write is made (a refused one is retried)
        if job is None:
            self.prepared.pop((job_id, lane), None)
            self.chains.halt(job_id, lane)
            return HALT
        if index is not None and job["units"][index]["state"] == IN_FLIGHT:
            if job["status"] == RUNNING and self.quiet_until(job) is None:
                del self.prepared[(job_id, lane)]
                return Picked(job, index, list(job["units"][index].get("sending", [])))
            tr.unbegin(job, index)  # paused, cancelled or quiet before its request went out
            self.book.save(job, [index], doc=False)
        self.prepared.pop((job_id, lane), None)
        return self._begin_next(job, lane)

    def _begin_next(self, job: JobDoc, lane: str) -> Picked | str:
        """Put the next ready unit in flight (written before the request goes out) and return
        it with its numbers; or say why this lane's chain stops."""
        job_id = job["id"]
        if job["status"] not in (RUNNING, CANCELLING) or lane not in self.chains.lanes.live:
            self.chains.halt(job_id, lane)
            return HALT
        if job["status"] == RUNNING and self._quiet_pause(job):
            self.chains.halt(job_id, lane)
            return QUIET_PAUSE
        index = next_ready(job) if job["status"] == RUNNING else None
        if index is None:
            self.chains.halt(job_id, lane)
            if any(u["state"] == IN_FLIGHT for u in job["units"]):
                return HALT  # another lane's request is out: that lane ends the job
            return FINISH if self._stop_chain(job) else HALT
        numbers = tr.begin(job, index, self.optout(), self.deps.clock(), lane)
        self.book.save(job, [index], doc=False)
        return Picked(job, index, numbers)

    def _quiet_pause(self, job: JobDoc) -> bool:
        """Inside quiet hours: pause the job until they end and ask to be woken then."""
        until = self.quiet_until(job)
        if until is None:
            return False
        tr.pause(job, QUIET)
        job["resume_at"] = until
        self.book.save(job)
        if self.deps.wake is not None:
            self.deps.wake(job["id"], until)
        return True

    def _stop_chain(self, job: JobDoc) -> bool:
        """Nothing left to send: cancelled, waiting for decisions, or done. True when finished."""
        if job["status"] == CANCELLING:
            job["status"] = CANCELLED
        elif any(u["state"] in (UNKNOWN, FAILED) for u in job["units"]):
            tr.pause(job, UNKNOWN_BATCH)
        else:
            job["status"] = DONE
        self.book.save(job)
        return job["status"] in FINISHED

    async def _record(self, job_id: str, lane: str, index: int, answer: tr.Answer, reasons: dict[str, str]) -> bool:
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            assert job is not None
            refused = self._refused(job, lane, index, answer)
            if refused is None:
                before = _status_of(job)
                recorded = tr.record(job, index, answer, reasons, self.deps.clock())
                stopped = job["status"] != RUNNING or recorded.pause is not None
                changed = [index] if stopped else [index, *self._prepare(job, lane)]
                # one write: this outcome with the lane's next unit in flight; the job document
                # (with the whole audience) only when its status changed. MioGram has answered:
                # a database outage makes this write wait for the database, never drops it.
                doc = _status_of(job) != before
                _, flushed = await self.deps.store.durable_soon(lambda: self.book.save(job, changed, doc=doc))
                if len(changed) > 1:  # the next step builds the prepared unit's request meanwhile
                    self.flushes[(job_id, lane)] = flushed
                else:
                    await flushed
                if stopped:
                    self.chains.halt(job_id, lane)
        if refused is not None:
            await self._lane_out(job, lane, refused)
            return False
        return await self._after_record(job, index, recorded, stopped)

    def _refused(self, job: JobDoc, lane: str, index: int, answer: tr.Answer) -> str | None:
        """MioGram refused this lane's agent and another lane is left: the unit (nothing went
        out) is pending again, the lane is out. Returns the reason, or None to record as usual."""
        lanes = self.chains.lanes
        if not is_refusal(answer) or (lane not in lanes.refused and not lanes.refuse(lane, str(answer))):
            return None
        tr.unbegin(job, index)
        self.book.save(job, [index], doc=False)
        self.chains.halt(job["id"], lane)
        self.chains.kick(job["id"])  # lanes that ran out of ready units take its batch
        return str(answer)[:300]

    async def _lane_out(self, job: JobDoc, lane: str, reason: str) -> None:
        await self.notifier.lane_refused(job, lane, reason)
        await self.notifier.progress(job, force=True)

    async def _after_record(self, job: JobDoc, index: int, recorded: tr.Recorded, stopped: bool) -> bool:
        if recorded.unknown:
            await self.notifier.unknown_unit(job, index)
        elif recorded.pause is not None:
            await self.notifier.paused(job, *recorded.pause)
        if job["status"] in FINISHED:
            await self._finish(job["id"])
            return False
        await self.notifier.progress(job, force=stopped)
        return not stopped

    def _prepare(self, job: JobDoc, lane: str) -> list[int]:
        """Put the lane's next ready unit in flight now, so its write travels with the outcome
        just recorded; the next step of this lane sends it."""
        index = next_ready(job)
        if index is None or self.quiet_until(job) is not None:
            return []
        tr.begin(job, index, self.optout(), self.deps.clock(), lane)
        self.prepared[(job["id"], lane)] = index
        return [index]

    async def park(self, job_id: str, lane: str | None = None) -> None:
        """A chain stops without finishing (shutdown, a failure): the unit its last step put in
        flight, whose request never went out, is pending again, so a restart does not take it
        for a request that may have been sent."""
        async with self.book.lock(job_id):
            job = self.book.get(job_id)
            keys = [key for key in self.prepared if key[0] == job_id and lane in (None, key[1])]
            for key in [key for key in self.flushes if key[0] == job_id and lane in (None, key[1])]:
                with suppress(Exception):  # logged by the store; the writes below flush anew
                    await self.flushes.pop(key)
            for key in keys:
                index = self.prepared.pop(key)
                if job is not None and job["units"][index]["state"] == IN_FLIGHT:
                    tr.unbegin(job, index)
                    self.book.save(job, [index], doc=False)
        self.chains.halt(job_id, lane)

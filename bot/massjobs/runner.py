"""Mass-send jobs: the state machine that sends a confirmed job batch by batch, exactly once.

A job is one document in the ``mass_jobs`` table. Its audience is cut into *units*: one MioGram
``*Mass`` request each (at most ``mass_batch_size`` numbers). A photo/video/file with a caption
makes two units per batch of numbers: the media, then the caption text to the numbers that got
the media (a Mass request carries either a file or a text, never both).

Unit states::

    pending ──► in_flight ──► done (per-number results)
                   │  └─────► failed (the service refused it: nothing went out)
                   └────────► unknown (999, lost connection, crash): resent or skipped only
                              when an admin says so (``resolve``)
    pending/unknown/failed ─► skipped (an admin's choice)

Every transition is written to the state file (an atomic write) before the next step, so a
crash leaves at most one unit ``in_flight``; at start-up :meth:`MassRunner.recover` turns it
into ``unknown`` and asks the admins. Credit errors put the unit back to ``pending`` (the service
sends nothing when credit is short) and pause the job.

Job statuses: ``draft`` (previewed, not confirmed) → ``scheduled`` → ``running`` ⇄ ``paused``
→ ``cancelling`` (cancel pressed during a request) → ``cancelled`` | ``done``.

Nothing here imports Telegram: the runner reports through a :class:`Notifier` (implemented by
``handlers.mass.wiring``) and is driven one unit at a time by whoever calls :meth:`MassRunner.step`
(the job queue, in the bot).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.clients.miogram.client import (
    Media,
    MioGramCreditError,
    MioGramError,
    MioGramLowCredit,
    MioGramOutcomeUnknown,
    MioGramServiceError,
    Outcome,
)

if TYPE_CHECKING:
    from bot.runtime.services import Services

log = logging.getLogger(__name__)

TABLE = "mass_jobs"
#: one document per unit that has left ``pending`` (key ``<job id>:<unit index>``): a batch's
#: progress is one small write, however large the audience (the job document holds the numbers)
UNITS = "mass_units"

# job statuses
DRAFT = "draft"
SCHEDULED = "scheduled"
RUNNING = "running"
PAUSED = "paused"
CANCELLING = "cancelling"
CANCELLED = "cancelled"
DONE = "done"
FINISHED = frozenset({CANCELLED, DONE})
ACTIVE = frozenset({RUNNING, PAUSED, CANCELLING})

# unit states
PENDING = "pending"
IN_FLIGHT = "in_flight"
UNIT_DONE = "done"
FAILED = "failed"
UNKNOWN = "unknown"
SKIPPED = "skipped"

# pause reasons
BY_ADMIN = "admin"
NO_CREDIT = "no_credit"
LOW_CREDIT = "low_credit"
UNKNOWN_BATCH = "unknown"
ERROR = "error"

# per-number outcomes in reports (beyond bot.clients.miogram.client.Outcome values)
OPTED_OUT = "opted_out"
INVALID_INPUT = "invalid_input"
NOT_SENT = "not_sent"
FAILED_OUTCOME = "failed"

#: drafts nobody confirmed are dropped after this long
DRAFT_TTL = 24 * 3600.0


class Notifier(Protocol):
    """What the runner tells the outside world (Telegram, in the bot)."""

    async def progress(self, job: dict[str, Any], *, force: bool = False) -> None: ...

    async def unknown_unit(self, job: dict[str, Any], index: int) -> None: ...

    async def paused(self, job: dict[str, Any], reason: str, detail: str) -> None: ...

    async def finished(self, job: dict[str, Any]) -> None: ...

    async def resumed(self, job: dict[str, Any]) -> None: ...


MediaLoader = Callable[[dict[str, Any]], Awaitable[Media]]


def new_id() -> str:
    return secrets.token_hex(4)


def now_ts(services: Services) -> float:
    return services.clock().timestamp()


# --- building a job


def make_units(numbers: list[str], batch_size: int, parts: Iterable[str]) -> list[dict[str, Any]]:
    """The units of a job: for each batch of numbers, one unit per part (``media``, ``text``)."""
    parts = list(parts)
    units: list[dict[str, Any]] = []
    for batch, start in enumerate(range(0, len(numbers), batch_size)):
        chunk = numbers[start : start + batch_size]
        for part in parts:
            units.append(
                {
                    "batch": batch,
                    "part": part,
                    # the caption part is sent to the numbers that received the media: set when it starts
                    "numbers": chunk if part == parts[0] else [],
                    "state": PENDING,
                    "results": {},
                    "error": "",
                    "started": None,
                    "finished": None,
                    "attempts": 0,
                }
            )
    return units


def parts_of(content: dict[str, Any]) -> list[str]:
    if content.get("media"):
        return ["media", "text"] if content.get("text") else ["media"]
    return ["text"]


def batch_count(job: dict[str, Any]) -> int:
    return len({u["batch"] for u in job.get("units", [])})


def primary_units(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The first unit of each batch (what the audience counts are about)."""
    first = parts_of(job["content"])[0]
    return [u for u in job.get("units", []) if u["part"] == first]


def caption_unit(job: dict[str, Any], batch: int) -> dict[str, Any] | None:
    for unit in job.get("units", []):
        if unit["batch"] == batch and unit["part"] == "text" and parts_of(job["content"])[0] == "media":
            return unit
    return None


def batch_numbers(job: dict[str, Any], batch: int) -> list[str]:
    for unit in primary_units(job):
        if unit["batch"] == batch:
            return list(unit["numbers"])
    return []


# --- storage: the job document (audience, content, status) and one document per started unit


def unit_key(job_id: str, index: int) -> str:
    return f"{job_id}:{index}"


def load(store: Any, job_id: str) -> dict[str, Any] | None:
    """The job with its ``units`` (pending ones are derived from the audience, the others read
    from the ``mass_units`` table), or None."""
    job = store.table(TABLE).get(job_id)
    if job is None:
        return None
    job["units"] = _assemble(store, job)
    return job


def _assemble(store: Any, job: dict[str, Any]) -> list[dict[str, Any]]:
    if not job.get("started_at"):
        return []
    units = make_units(job["numbers"], job["batch_size"], parts_of(job["content"]))
    table = store.table(UNITS)
    for index, unit in enumerate(units):
        stored = table.get(unit_key(job["id"], index))
        if stored is not None:
            unit.update(stored)
    return units


def load_all(store: Any) -> list[dict[str, Any]]:
    jobs = []
    for job_id, _ in list(store.table(TABLE).items()):
        job = load(store, job_id)
        if job is not None:
            jobs.append(job)
    return jobs


def save_job(store: Any, job: dict[str, Any]) -> None:
    """Write the job document (everything but its units)."""
    store.table(TABLE).put(job["id"], {k: v for k, v in job.items() if k != "units"})


def save_unit(store: Any, job: dict[str, Any], index: int) -> None:
    store.table(UNITS).put(unit_key(job["id"], index), {**job["units"][index], "job": job["id"]})


def update_unit(store: Any, job_id: str, index: int, **fields: Any) -> None:
    """Merge ``fields`` into one unit (handlers record a card's message id, a report check)."""
    job = load(store, job_id)
    if job is None or not 0 <= index < len(job["units"]):
        return
    job["units"][index].update(fields)
    save_unit(store, job, index)


def delete_job(store: Any, job_id: str) -> None:
    store.table(UNITS).prune(lambda doc: str(doc.get("job")) == job_id)
    store.table(TABLE).delete(job_id)


# --- counting and reporting


@dataclass
class Counts:
    total: int = 0  # numbers to send to (valid, not opted out at confirmation)
    sent: int = 0
    not_delivered: int = 0
    invalid: int = 0
    unknown: int = 0
    opted_out: int = 0  # opted out after confirmation, skipped at send time
    skipped: int = 0
    failed: int = 0
    left: int = 0  # not attempted yet (pending units)
    in_flight: int = 0
    batches: int = 0
    batches_done: int = 0

    @property
    def processed(self) -> int:
        return self.total - self.left - self.in_flight


def count(job: dict[str, Any]) -> Counts:
    c = Counts()
    for unit in primary_units(job):
        n = len(unit["numbers"])
        c.total += n
        c.batches += 1
        state = unit["state"]
        if state == PENDING:
            c.left += n
            continue
        if state == IN_FLIGHT:
            c.in_flight += n
            continue
        c.batches_done += 1
        for number in unit["numbers"]:
            outcome = unit["results"].get(number)
            if outcome is None:
                outcome = {UNKNOWN: Outcome.UNKNOWN.value, FAILED: FAILED_OUTCOME}.get(state, Outcome.SKIPPED.value)
            if outcome == Outcome.SENT.value:
                c.sent += 1
            elif outcome == Outcome.NOT_DELIVERED.value:
                c.not_delivered += 1
            elif outcome == Outcome.INVALID.value:
                c.invalid += 1
            elif outcome == Outcome.UNKNOWN.value:
                c.unknown += 1
            elif outcome == OPTED_OUT:
                c.opted_out += 1
            elif outcome == FAILED_OUTCOME:
                c.failed += 1
            else:
                c.skipped += 1
    return c


def rate_per_minute(job: dict[str, Any]) -> float | None:
    """Numbers per minute over the units finished so far (None before the first one)."""
    numbers, seconds = 0, 0.0
    for unit in job.get("units", []):
        if unit["state"] == UNIT_DONE and unit.get("started") and unit.get("finished"):
            numbers += len(unit["numbers"]) if unit["part"] == parts_of(job["content"])[0] else 0
            seconds += max(0.001, unit["finished"] - unit["started"])
    if numbers == 0 or seconds <= 0:
        return None
    return numbers * 60.0 / seconds


def eta_seconds(job: dict[str, Any]) -> float | None:
    rate = rate_per_minute(job)
    if not rate:
        return None
    c = count(job)
    left = c.left + c.in_flight
    # a caption part doubles the requests for every number
    factor = len(parts_of(job["content"]))
    return left * factor * 60.0 / rate


def number_outcomes(job: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Every number of the job once: (number, outcome, caption outcome, batch, detail)."""
    rows: list[tuple[str, str, str, str, str]] = []
    seen: set[str] = set()
    finished = job.get("status") in FINISHED
    for unit in primary_units(job):
        caption = caption_unit(job, unit["batch"])
        for number in unit["numbers"]:
            if number in seen:
                continue
            seen.add(number)
            outcome = unit["results"].get(number)
            detail = unit.get("reasons", {}).get(number, "")
            if outcome is None:
                outcome = {
                    UNKNOWN: Outcome.UNKNOWN.value,
                    IN_FLIGHT: Outcome.UNKNOWN.value,
                    FAILED: FAILED_OUTCOME,
                    PENDING: NOT_SENT if finished else "pending",
                }.get(unit["state"], Outcome.SKIPPED.value)
                if unit["state"] == FAILED:
                    detail = unit.get("error", "")
            cap = ""
            if caption is not None:
                cap = caption["results"].get(number, "")
                if not cap and outcome == Outcome.SENT.value:
                    cap = {
                        UNKNOWN: Outcome.UNKNOWN.value,
                        IN_FLIGHT: Outcome.UNKNOWN.value,
                        FAILED: FAILED_OUTCOME,
                    }.get(caption["state"], NOT_SENT if finished else "pending")
            rows.append((number, outcome, cap, str(unit["batch"] + 1), detail))
    for number in job.get("opted_out", []):
        if number not in seen:
            seen.add(number)
            rows.append((number, OPTED_OUT, "", "", ""))
    for raw, reason in job.get("invalid", []):
        rows.append((raw, INVALID_INPUT, "", "", reason))
    return rows


def report_csv(job: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    has_caption = "text" in parts_of(job["content"]) and parts_of(job["content"])[0] == "media"
    header = ["number", "outcome"] + (["caption"] if has_caption else []) + ["batch", "detail"]
    writer.writerow(header)
    for number, outcome, cap, batch, detail in number_outcomes(job):
        writer.writerow([number, outcome] + ([cap] if has_caption else []) + [batch, detail])
    return buffer.getvalue().encode("utf-8-sig")


# --- media spool


def spool_dir(services: Services) -> Path:
    """Where media files of jobs wait until the job ends: beside the state file."""
    path = services.store.path
    if path is not None:
        directory = path.parent / f"{path.name}.media"
    else:
        directory = Path(tempfile.gettempdir()) / f"mass-media-{os.getpid()}"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def drop_spool(job: dict[str, Any]) -> None:
    media = (job.get("content") or {}).get("media") or {}
    spool = media.get("spool")
    if spool:
        try:
            Path(spool).unlink()
        except OSError:
            pass


# --- the runner


class MassRunner:
    """Drives jobs one unit at a time. ``kick(job_id)`` (injected) makes sure a step of that job
    is scheduled; ``step(job_id)`` sends one unit and says whether another step should follow."""

    def __init__(
        self,
        services: Services,
        notifier: Notifier,
        load_media: MediaLoader,
        kick: Callable[[str, float], None],
    ) -> None:
        self.services = services
        self.notifier = notifier
        self.load_media = load_media
        self._kick = kick
        #: jobs with a step scheduled or running in this process (one chain per job)
        self.active: set[str] = set()

    # --- store helpers

    @property
    def table(self):
        return self.services.store.table(TABLE)

    def get(self, job_id: str) -> dict[str, Any] | None:
        return load(self.services.store, job_id)

    def save(self, job: dict[str, Any], units: Iterable[int] = (), *, doc: bool = True) -> None:
        """Write the units that changed, then (unless ``doc`` is False) the job document."""
        for index in dict.fromkeys(units):
            save_unit(self.services.store, job, index)
        if doc:
            save_job(self.services.store, job)

    def lock(self, job_id: str):
        return self.services.locks(f"mass:{job_id}")

    def kick(self, job_id: str, delay: float = 0.0) -> None:
        if job_id in self.active:
            return
        self.active.add(job_id)
        self._kick(job_id, delay)

    def halt(self, job_id: str) -> None:
        self.active.discard(job_id)

    def optout(self):
        """The opt-out table (``number in runner.optout()`` is a key lookup)."""
        return self.services.store.table("optout")

    # --- transitions requested by admins

    async def confirm(self, job_id: str, by: int) -> tuple[bool, dict[str, Any] | None]:
        """draft → running. False when the job is not a draft any more (a double press)."""
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] not in (DRAFT, SCHEDULED):
                return False, job
            self._start(job, by)
            self.save(job)
        self.services.store.audit(by, "mass.confirm", job_id, numbers=count(job).total)
        await self.notifier.progress(job, force=True)
        if job["status"] == DONE:  # everyone opted out meanwhile
            await self._finish(job_id)
        else:
            self.kick(job_id)
        return True, self.get(job_id)

    def _start(self, job: dict[str, Any], by: int | None) -> None:
        optout = self.optout()
        numbers = [n for n in job["numbers"] if n not in optout]
        late = [n for n in job["numbers"] if n in optout]
        job["opted_out"] = list(dict.fromkeys([*job.get("opted_out", []), *late]))
        job["numbers"] = numbers  # from now on the units are cut from this list: never change it
        job["units"] = make_units(numbers, job["batch_size"], parts_of(job["content"]))
        job["status"] = RUNNING
        job["started_at"] = now_ts(self.services)
        job["confirmed_by"] = by
        job["pause_reason"], job["pause_detail"] = None, ""
        if not job["units"]:
            job["status"] = DONE

    async def schedule(self, job_id: str, run_at: float, by: int) -> bool:
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] not in (DRAFT, SCHEDULED):
                return False
            job["status"] = SCHEDULED
            job["run_at"] = run_at
            job["scheduled_by"] = by
            self.save(job)
        self.services.store.audit(by, "mass.schedule", job_id, run_at=run_at)
        return True

    async def start_scheduled(self, job_id: str) -> None:
        """The scheduled time came: start the job (a no-op if it was cancelled or started)."""
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] != SCHEDULED:
                return
            self._start(job, job.get("scheduled_by"))
            self.save(job)
        await self.notifier.progress(job, force=True)
        if job["status"] == DONE:
            await self._finish(job_id)
            return
        self.kick(job_id)

    async def pause(self, job_id: str, by: int) -> dict[str, Any] | None:
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] != RUNNING:
                return job
            job["status"] = PAUSED
            job["pause_reason"], job["pause_detail"] = BY_ADMIN, ""
            self.save(job)
        self.services.store.audit(by, "mass.pause", job_id)
        await self.notifier.progress(job, force=True)
        return job

    async def resume(self, job_id: str, by: int) -> tuple[bool, dict[str, Any] | None]:
        """paused → running (failed units are tried again). Not while a unit is unknown."""
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] != PAUSED:
                return False, job
            if any(u["state"] == UNKNOWN for u in job["units"]):
                return False, job
            retried = [i for i, unit in enumerate(job["units"]) if unit["state"] == FAILED]
            for index in retried:
                job["units"][index]["state"], job["units"][index]["error"] = PENDING, ""
            job["status"] = RUNNING
            job["pause_reason"], job["pause_detail"] = None, ""
            self.save(job, retried)
        self.services.store.audit(by, "mass.resume", job_id)
        await self.notifier.resumed(job)
        await self.notifier.progress(job, force=True)
        self.kick(job_id)
        return True, job

    async def cancel(self, job_id: str, by: int) -> dict[str, Any] | None:
        """Stop the job: at once when no request is out, else after the current one."""
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] in FINISHED:
                return job
            was_scheduled = job["status"] == SCHEDULED
            in_flight = any(u["state"] == IN_FLIGHT for u in job.get("units", []))
            job["cancelled_by"] = by
            if job["status"] == DRAFT:
                job["status"] = CANCELLED
                job["finished_at"] = now_ts(self.services)
                job["report_sent"] = True  # nothing was sent: no report
                self.save(job)
                drop_spool(job)
                self.services.store.audit(by, "mass.drop", job_id)
                return job
            if was_scheduled:
                job.setdefault("units", [])
            job["status"] = CANCELLING if in_flight and job_id in self.active else CANCELLED
            self.save(job)
        if was_scheduled:
            self.services.scheduler.cancel(f"mass:{job_id}")
        self.services.store.audit(by, "mass.cancel", job_id)
        if job["status"] == CANCELLED:
            await self._finish(job_id)
        else:
            await self.notifier.progress(job, force=True)
        return self.get(job_id)

    async def resolve(
        self, job_id: str, index: int, action: str, by: int, known: dict[str, str] | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """An admin's word on an ``unknown`` (or ``failed``) unit: ``resend`` it, ``skip`` it, or
        ``resend_missing``: take the outcomes in ``known`` (number → outcome, from MioGram's own
        report) as final and resend only the other numbers."""
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] in FINISHED or not 0 <= index < len(job.get("units", [])):
                return False, job
            unit = job["units"][index]
            if unit["state"] not in (UNKNOWN, FAILED):
                return False, job
            unit["decided_by"] = by
            changed = [index]
            if action == "skip":
                unit["state"] = SKIPPED
                default = Outcome.UNKNOWN.value if unit.get("error_kind") == UNKNOWN else FAILED_OUTCOME
                for number in unit["numbers"]:
                    unit["results"].setdefault(number, default)
                if unit["part"] == "media":  # nothing certain went out: no caption to follow
                    cap = caption_unit(job, unit["batch"])
                    if cap is not None and cap["state"] == PENDING:
                        cap["state"] = SKIPPED
                        changed.append(job["units"].index(cap))
            elif action == "resend_missing":
                pool = unit.get("todo") or unit["numbers"]
                confirmed = {n: o for n, o in (known or {}).items() if n in set(pool)}
                unit["results"].update(confirmed)
                unit["todo"] = [n for n in pool if n not in confirmed]
                unit["state"] = PENDING
            else:
                unit.pop("todo", None)
                unit["state"] = PENDING
            unit["error"] = ""
            blocked = any(u["state"] in (UNKNOWN, FAILED) for u in job["units"])
            resume = job["status"] == PAUSED and job.get("pause_reason") in (UNKNOWN_BATCH, ERROR) and not blocked
            if resume:
                job["status"] = RUNNING
                job["pause_reason"], job["pause_detail"] = None, ""
            self.save(job, changed, doc=resume)
        self.services.store.audit(by, f"mass.{action}", job_id, unit=index)
        await self.notifier.progress(job, force=True)
        if resume:
            self.kick(job_id)
        return True, job

    # --- start-up

    async def recover(self) -> list[str]:
        """After a restart: in-flight units become unknown (and are shown to the admins), running
        jobs continue, finished jobs whose report was not sent get it. Returns resumed job ids."""
        resumed: list[str] = []
        now = now_ts(self.services)
        keep = float(getattr(self.services.config, "retention_days", 30)) * 86400.0
        for job_id, job in list(self.table.items()):
            status = job.get("status")
            if status == DRAFT and now - float(job.get("created_at", now)) > DRAFT_TTL:
                drop_spool(job)
                delete_job(self.services.store, job_id)
                continue
            if status in FINISHED and job.get("report_sent") and now - float(job.get("finished_at", now)) > keep:
                delete_job(self.services.store, job_id)  # past the retention period
                continue
            if status in ACTIVE:
                newly: list[int] = []
                async with self.lock(job_id):
                    job = self.get(job_id) or job
                    for index, unit in enumerate(job["units"]):
                        if unit["state"] == IN_FLIGHT:
                            unit["state"] = UNKNOWN
                            unit["error_kind"] = UNKNOWN
                            unit["error"] = "restart"
                            newly.append(index)
                    if job["status"] == CANCELLING:
                        job["status"] = CANCELLED
                    elif newly and job["status"] == RUNNING:
                        job["status"] = PAUSED
                        job["pause_reason"], job["pause_detail"] = UNKNOWN_BATCH, "restart"
                    self.save(job, newly)
                if newly:
                    log.warning("mass job %s: unit(s) %s were in flight at a restart: unknown", job_id, newly)
                for index in newly:
                    await self.notifier.unknown_unit(job, index)
                for index, unit in enumerate(job["units"]):
                    if unit["state"] == UNKNOWN and index not in newly and not unit.get("card"):
                        await self.notifier.unknown_unit(job, index)
                if job["status"] == CANCELLED:
                    await self._finish(job_id)
                elif job["status"] == RUNNING:
                    resumed.append(job_id)
                    self.kick(job_id, 1.0)
                else:
                    await self.notifier.progress(job, force=True)
            elif status in FINISHED and not job.get("report_sent"):
                await self._finish(job_id)
        return resumed

    # --- one step

    async def step(self, job_id: str) -> bool:
        """Send the next pending unit of ``job_id``. True when another step should follow;
        False when the job stopped (paused, finished, waiting for an admin) — it is then no
        longer ``active``."""
        services = self.services
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] not in (RUNNING, CANCELLING):
                self.halt(job_id)
                return False
            if job["status"] == CANCELLING:
                job["status"] = CANCELLED
                self.save(job)
                self.halt(job_id)
                finish = True
            else:
                finish = False
                index = next((i for i, u in enumerate(job["units"]) if u["state"] == PENDING), None)
                if index is None:
                    if any(u["state"] in (UNKNOWN, FAILED, IN_FLIGHT) for u in job["units"]):
                        job["status"] = PAUSED
                        job["pause_reason"] = UNKNOWN_BATCH
                        self.save(job)
                        self.halt(job_id)
                        return False
                    job["status"] = DONE
                    self.save(job)
                    self.halt(job_id)
                    finish = True
                else:
                    unit = job["units"][index]
                    to_send = self._numbers_for(job, unit)
                    optout = self.optout()
                    for number in to_send:
                        if number in optout:
                            unit["results"][number] = OPTED_OUT
                    to_send = [n for n in to_send if n not in optout]
                    unit["state"] = IN_FLIGHT
                    unit["started"] = now_ts(services)
                    unit["attempts"] = unit.get("attempts", 0) + 1
                    unit["sending"] = to_send
                    self.save(job, [index], doc=False)  # written before the request goes out
        if finish:
            await self._finish(job_id)
            return False
        await self.notifier.progress(job)
        if not to_send:
            outcome: dict[str, str] | Exception = {}
            reasons: dict[str, str] = {}
        else:
            outcome, reasons = await self._send(job, unit, to_send)
        return await self._record(job_id, index, outcome, reasons)

    def _numbers_for(self, job: dict[str, Any], unit: dict[str, Any]) -> list[str]:
        if unit["part"] == "text" and parts_of(job["content"])[0] == "media":
            # the caption goes to the numbers that received the media
            media_unit = next(u for u in job["units"] if u["batch"] == unit["batch"] and u["part"] == "media")
            unit["numbers"] = [n for n in media_unit["numbers"] if media_unit["results"].get(n) == Outcome.SENT.value]
        if "todo" in unit:
            return list(unit["todo"])
        return [n for n in unit["numbers"] if n not in unit["results"]]

    async def _send(
        self, job: dict[str, Any], unit: dict[str, Any], numbers: list[str]
    ) -> tuple[dict[str, str] | Exception, dict[str, str]]:
        client = self.services.miogram
        if client is None:
            return MioGramServiceError("MioGram is not configured"), {}
        content = job["content"]
        whatsapp = job.get("channel") == "whatsapp"
        try:
            media = await self.load_media(job) if unit["part"] == "media" else None
        except Exception as exc:  # the file is gone and cannot be fetched again: nothing was sent
            log.warning("mass job %s: media unavailable: %s", job["id"], exc)
            return MioGramServiceError(f"media unavailable: {exc}"), {}
        # the numbers were normalised by bot.clients.miogram.phones when the audience was read: no second parse
        client.remember_valid(numbers)
        try:
            async with self.services.locks("miogram:send"):  # one request at a time per account
                if media is not None:
                    result = await client.send_mass_batch(numbers, media=media)
                else:
                    result = await client.send_mass_batch(numbers, text=content["text"], whatsapp=whatsapp)
        except MioGramError as exc:
            return exc, {}
        except Exception as exc:  # anything unexpected after the request may have left: unknown
            log.exception("mass job %s: unexpected failure during a send", job["id"])
            return MioGramOutcomeUnknown(f"{type(exc).__name__}: {exc}"), {}
        return {n: o.value for n, o in result.outcomes.items()}, dict(result.reasons)

    async def _record(
        self, job_id: str, index: int, outcome: dict[str, str] | Exception, reasons: dict[str, str]
    ) -> bool:
        services = self.services
        pause: tuple[str, str] | None = None
        unknown = False
        async with self.lock(job_id):
            job = self.get(job_id)
            assert job is not None
            before = (job["status"], job.get("pause_reason"), job.get("pause_detail"))
            unit = job["units"][index]
            unit["finished"] = now_ts(services)
            sending = unit.pop("sending", [])
            if isinstance(outcome, MioGramOutcomeUnknown) or (
                isinstance(outcome, Exception) and not isinstance(outcome, MioGramError)
            ):
                unit["state"] = UNKNOWN
                unit["error_kind"] = UNKNOWN
                unit["error"] = str(outcome)[:300]
                unknown = True
                pause = (UNKNOWN_BATCH, str(outcome)[:300])
            elif isinstance(outcome, MioGramCreditError):
                unit["state"] = PENDING  # the service sent nothing: try again on Resume
                pause = (LOW_CREDIT if isinstance(outcome, MioGramLowCredit) else NO_CREDIT, str(outcome)[:300])
            elif isinstance(outcome, Exception):
                unit["state"] = FAILED
                unit["error_kind"] = FAILED
                unit["error"] = str(outcome)[:300]
                pause = (ERROR, str(outcome)[:300])
            else:
                unit["results"].update({n: outcome.get(n, Outcome.UNKNOWN.value) for n in sending})
                if reasons:
                    unit.setdefault("reasons", {}).update(reasons)
                unit.pop("todo", None)
                unit["state"] = UNIT_DONE
            if pause is not None:
                if job["status"] == RUNNING:
                    job["status"] = PAUSED
                    job["pause_reason"], job["pause_detail"] = pause
                elif job["status"] == PAUSED and job.get("pause_reason") == BY_ADMIN:
                    job["pause_reason"], job["pause_detail"] = pause
            status = job["status"]
            more = any(u["state"] == PENDING for u in job["units"])
            if status == CANCELLING:  # an unknown unit stays unknown in the report
                job["status"] = status = CANCELLED
            if status == RUNNING and not more and pause is None:
                job["status"] = status = DONE
            # the job document (with the whole audience) is written only when its state changes
            self.save(job, [index], doc=(job["status"], job.get("pause_reason"), job.get("pause_detail")) != before)
            if status != RUNNING or pause is not None:
                self.halt(job_id)
        if unknown:
            await self.notifier.unknown_unit(job, index)
        if pause is not None and not unknown:
            await self.notifier.paused(job, pause[0], pause[1])
        if status in FINISHED:
            await self._finish(job_id)
            return False
        if status != RUNNING or pause is not None:
            await self.notifier.progress(job, force=True)
            return False
        await self.notifier.progress(job)
        return True

    async def _finish(self, job_id: str) -> None:
        async with self.lock(job_id):
            job = self.get(job_id)
            if job is None or job["status"] not in FINISHED or job.get("report_sent"):
                return
            job.setdefault("finished_at", now_ts(self.services))
            self.save(job)
        await self.notifier.progress(job, force=True)
        if job.get("units"):  # a job stopped before it started has nothing to report
            await self.notifier.finished(job)
        async with self.lock(job_id):
            job = self.get(job_id) or job
            job["report_sent"] = True
            self.save(job)
        drop_spool(job)
        c = count(job)
        self.services.store.audit("bot", f"mass.{job['status']}", job_id, sent=c.sent, unknown=c.unknown)


def progress_bar(done: int, total: int, width: int = 12) -> str:
    if total <= 0:
        return "▓" * width
    filled = min(width, int(round(width * done / total)))
    return "▓" * filled + "░" * (width - filled)


def percent(done: int, total: int) -> int:
    return 100 if total <= 0 else int(math.floor(100 * done / total))

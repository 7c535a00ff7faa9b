"""Jobs in the state store, and :class:`JobBook`: the runner's cache of assembled jobs.

Assembling a job (its document plus a unit for every batch, the started ones read from the
``mass_units`` table) costs in proportion to its audience; a 10,000-number send would pay it
twice per batch. The book keeps each assembled job in memory and is the only writer of the two
tables while the bot runs, so what it holds is what is stored: a write that fails drops the
cached job, and the next read assembles it again from the store.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from bot.massjobs.docs import TABLE, UNITS, JobDoc, job_from_doc, job_to_doc, unit_from_doc, unit_to_doc
from bot.massjobs.ports import Locks, StateStore
from bot.massjobs.units import make_units, parts_of


def new_id() -> str:
    """A fresh job id (short: it travels in callback data)."""
    return secrets.token_hex(4)


def unit_key(job_id: str, index: int) -> str:
    return f"{job_id}:{index}"


def assemble(store: StateStore, raw: dict[str, Any]) -> JobDoc:
    """The job of a stored document, with its ``units`` (pending ones derived from the
    audience, the others read from the ``mass_units`` table)."""
    job = job_from_doc(raw)
    if not job.get("started_at"):
        job["units"] = []
        return job
    units = make_units(job["numbers"], job["batch_size"], parts_of(job["content"]))
    table = store.table(UNITS)
    for index in range(len(units)):
        stored = table.get(unit_key(job["id"], index))
        if stored is not None:
            units[index] = unit_from_doc(stored)
    job["units"] = units
    return job


def load(store: StateStore, job_id: str) -> JobDoc | None:
    """The assembled job, read from the store (no cache), or None."""
    raw = store.table(TABLE).get(job_id)
    return None if raw is None else assemble(store, raw)


def save_job(store: StateStore, job: JobDoc) -> None:
    """Write the job document (everything but its units)."""
    store.table(TABLE).put(job["id"], job_to_doc(job))


def save_unit(store: StateStore, job: JobDoc, index: int) -> None:
    store.table(UNITS).put(unit_key(job["id"], index), unit_to_doc(job["id"], job["units"][index]))


def save_units(store: StateStore, job: JobDoc, indices: Iterable[int]) -> None:
    """Write several units of a job as one write (all or none of them after a crash)."""
    docs = {unit_key(job["id"], i): unit_to_doc(job["id"], job["units"][i]) for i in dict.fromkeys(indices)}
    if docs:
        store.table(UNITS).put_many(docs)


def delete_job(store: StateStore, job_id: str) -> None:
    store.table(UNITS).prune(lambda doc: str(doc.get("job")) == job_id)
    store.table(TABLE).delete(job_id)


class JobBook:
    """Assembled jobs, cached; every read and write of a job goes through here.

    Jobs returned by :meth:`get` are the cached objects themselves: change them only under the
    job's lock and write them with :meth:`save` (or use :meth:`update`/:meth:`update_unit`)."""

    def __init__(self, store: StateStore, locks: Locks) -> None:
        self.store = store
        self.locks = locks
        self._jobs: dict[str, JobDoc] = {}

    def lock(self, job_id: str) -> AbstractAsyncContextManager[Any]:
        """``async with book.lock(job_id):`` one change of a job at a time."""
        return self.locks(f"mass:{job_id}")

    def get(self, job_id: str) -> JobDoc | None:
        job = self._jobs.get(job_id)
        if job is None:
            job = load(self.store, job_id)
            if job is not None:
                self._jobs[job_id] = job
        return job

    def all(self) -> list[JobDoc]:
        """Every stored job, assembled."""
        ids = [job_id for job_id, _ in self.store.table(TABLE).items()]
        return [job for job in map(self.get, ids) if job is not None]

    def documents(self) -> list[JobDoc]:
        """Every stored job document without its units (cheap: for counting statuses)."""
        return [job_from_doc(raw) for _, raw in self.store.table(TABLE).items()]

    def save(self, job: JobDoc, units: Iterable[int] = (), *, doc: bool = True) -> None:
        """Write the units that changed, then (unless ``doc`` is False) the job document."""
        self._jobs[job["id"]] = job
        try:
            save_units(self.store, job, units)
            if doc:
                save_job(self.store, job)
        except BaseException:
            self._jobs.pop(job["id"], None)  # the store is the truth: read it again next time
            raise

    def update(self, job_id: str, **fields: Any) -> JobDoc | None:
        """Merge ``fields`` into the stored job document (a message id, a preview's verdict)."""
        job = self.get(job_id)
        if job is None:
            return None
        cast(dict[str, Any], job).update(fields)
        self.save(job)
        return job

    def update_unit(self, job_id: str, index: int, **fields: Any) -> None:
        """Merge ``fields`` into one unit (a card's message id, a report check)."""
        job = self.get(job_id)
        if job is None or not 0 <= index < len(job.get("units", [])):
            return
        cast(dict[str, Any], job["units"][index]).update(fields)
        self.save(job, [index], doc=False)

    def delete(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)
        delete_job(self.store, job_id)

    def forget(self, job_id: str) -> None:
        """Drop the cached job (a finished job is read rarely; keep memory flat)."""
        self._jobs.pop(job_id, None)

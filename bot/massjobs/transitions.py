"""The state changes of a job, as functions on an assembled job (no I/O: the runner holds the
job's lock, applies one of these, writes what changed and tells the notifier).

Unit states::

    pending ──► in_flight ──► done (per-number results)
                   │  └─────► failed (the service refused it: nothing went out)
                   └────────► unknown (999, lost connection, crash): resent or skipped only
                              when an admin says so
    pending/unknown/failed ─► skipped (an admin's choice)

Job statuses: ``draft`` (previewed, not confirmed) → ``scheduled`` → ``running`` ⇄ ``paused``
→ ``cancelling`` (cancel pressed during a request) → ``cancelled`` | ``done``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.miogram.errors import MioGramCreditError, MioGramError, MioGramLowCredit, MioGramOutcomeUnknown
from bot.clients.miogram.models import Outcome
from bot.massjobs.docs import (
    BY_ADMIN,
    CANCELLED,
    CANCELLING,
    DONE,
    ERROR,
    FAILED,
    FAILED_OUTCOME,
    IN_FLIGHT,
    LOW_CREDIT,
    NO_CREDIT,
    OPTED_OUT,
    PAUSED,
    PENDING,
    RUNNING,
    SKIPPED,
    UNIT_DONE,
    UNKNOWN,
    UNKNOWN_BATCH,
    JobDoc,
    UnitDoc,
)
from bot.massjobs.ports import NumberSet
from bot.massjobs.units import caption_index, make_units, numbers_to_send, parts_of, request_numbers

#: what one Mass request came back with: number → outcome, or the error it raised
Answer = dict[str, str] | Exception


def pause(job: JobDoc, reason: str, detail: str = "") -> None:
    job["status"] = PAUSED
    job["pause_reason"], job["pause_detail"] = reason, detail


def run(job: JobDoc) -> None:
    job["status"] = RUNNING
    job["pause_reason"], job["pause_detail"] = None, ""


def start(job: JobDoc, optout: NumberSet, now: float, by: int | None) -> None:
    """draft/scheduled → running: numbers opted out meanwhile are set aside, the audience is
    fixed and cut into units (done at once when nobody is left)."""
    numbers = [n for n in job["numbers"] if n not in optout]
    late = [n for n in job["numbers"] if n in optout]
    job["opted_out"] = list(dict.fromkeys([*job.get("opted_out", []), *late]))
    job["numbers"] = numbers  # from now on the units are cut from this list: never change it
    job["units"] = make_units(numbers, job["batch_size"], parts_of(job["content"]))
    job["started_at"] = now
    job["confirmed_by"] = by
    run(job)
    if not job["units"]:
        job["status"] = DONE


def blocked(job: JobDoc) -> bool:
    """True while a unit waits for an admin's decision (unknown or failed)."""
    return any(u["state"] in (UNKNOWN, FAILED) for u in job.get("units", []))


def resume(job: JobDoc) -> list[int]:
    """paused → running; failed units are tried again. Returns their indices."""
    retried = [i for i, unit in enumerate(job["units"]) if unit["state"] == FAILED]
    for index in retried:
        job["units"][index]["state"], job["units"][index]["error"] = PENDING, ""
    run(job)
    return retried


def begin(job: JobDoc, index: int, optout: NumberSet, now: float, lane: str = "") -> list[str]:
    """Unit ``index`` goes in flight on ``lane``: the numbers it sends now (opted-out ones
    recorded as such)."""
    unit = job["units"][index]
    to_send = []
    for number in numbers_to_send(job, index):
        if number in optout:
            unit["results"][number] = OPTED_OUT
        else:
            to_send.append(number)
    unit["state"] = IN_FLIGHT
    unit["started"] = now
    unit["attempts"] = unit.get("attempts", 0) + 1
    unit["sending"] = to_send
    unit["lane"] = lane
    return to_send


def unbegin(job: JobDoc, index: int) -> None:
    """Unit ``index`` was put in flight but its request never went out: pending again."""
    unit = job["units"][index]
    unit.pop("sending", None)
    unit["state"] = PENDING
    unit["started"] = None
    unit["attempts"] = max(0, unit.get("attempts", 1) - 1)


@dataclass(frozen=True)
class Recorded:
    """What recording an answer did: the pause it caused (reason, detail), and whether the unit
    became unknown."""

    pause: tuple[str, str] | None
    unknown: bool


def _unit_error(unit: UnitDoc, kind: str, error: Exception) -> None:
    unit["state"] = kind
    unit["error_kind"] = kind
    unit["error"] = str(error)[:300]


def _apply_answer(unit: UnitDoc, answer: Answer, reasons: dict[str, str]) -> tuple[str, str] | None:
    """Put the answer on the unit; the pause it calls for, if any."""
    sending = unit.pop("sending", [])
    if isinstance(answer, MioGramOutcomeUnknown) or (
        isinstance(answer, Exception) and not isinstance(answer, MioGramError)
    ):
        _unit_error(unit, UNKNOWN, answer)
        unit["request"] = sending  # what a look-up in MioGram's report must match
        return UNKNOWN_BATCH, unit["error"]
    if isinstance(answer, MioGramCreditError):
        unit["state"] = PENDING  # the service sent nothing: try again on Resume
        return LOW_CREDIT if isinstance(answer, MioGramLowCredit) else NO_CREDIT, str(answer)[:300]
    if isinstance(answer, Exception):
        _unit_error(unit, FAILED, answer)
        return ERROR, unit["error"]
    unit["results"].update({n: answer.get(n, Outcome.UNKNOWN.value) for n in sending})
    if reasons:
        unit.setdefault("reasons", {}).update(reasons)
    unit.pop("todo", None)
    unit["state"] = UNIT_DONE
    return None


def record(job: JobDoc, index: int, answer: Answer, reasons: dict[str, str], now: float) -> Recorded:
    """The answer of unit ``index``'s request, applied to the unit and the job's status."""
    unit = job["units"][index]
    unit["finished"] = now
    paused = _apply_answer(unit, answer, reasons)
    if paused is not None:
        if job["status"] == RUNNING:
            pause(job, *paused)
        elif job["status"] == PAUSED and job.get("pause_reason") == BY_ADMIN:
            job["pause_reason"], job["pause_detail"] = paused
    # other lanes may still have a request out: the job ends when the last one is recorded
    out = any(u["state"] == IN_FLIGHT for u in job["units"])
    if job["status"] == CANCELLING and not out:  # an unknown unit stays unknown in the report
        job["status"] = CANCELLED
    more = out or any(u["state"] == PENDING for u in job["units"])
    if job["status"] == RUNNING and not more and paused is None:
        job["status"] = DONE
    return Recorded(paused, unit["state"] == UNKNOWN)


def _skip(job: JobDoc, index: int) -> list[int]:
    unit = job["units"][index]
    unit["state"] = SKIPPED
    default = Outcome.UNKNOWN.value if unit.get("error_kind") == UNKNOWN else FAILED_OUTCOME
    for number in unit["numbers"]:
        unit["results"].setdefault(number, default)
    cap = caption_index(job, unit["batch"]) if unit["part"] == "media" else None
    # nothing certain went out: no caption to follow
    if cap is not None and job["units"][cap]["state"] == PENDING:
        job["units"][cap]["state"] = SKIPPED
        return [index, cap]
    return [index]


def _resend_missing(unit: UnitDoc, known: dict[str, str]) -> None:
    pool = request_numbers(unit)
    members = set(pool)
    confirmed = {n: o for n, o in known.items() if n in members}
    unit["results"].update(confirmed)
    unit["todo"] = [n for n in pool if n not in confirmed]
    unit["state"] = PENDING


def resolve(job: JobDoc, index: int, action: str, by: int, known: dict[str, str]) -> list[int]:
    """An admin's word on an unknown or failed unit: ``resend`` it, ``skip`` it, or
    ``resend_missing``: take ``known`` (number → outcome, from MioGram's report) as final and
    resend the other numbers. Returns the indices of the units that changed."""
    unit = job["units"][index]
    unit["decided_by"] = by
    changed = [index]
    if action == "skip":
        changed = _skip(job, index)
    elif action == "resend_missing":
        _resend_missing(unit, known)
    else:
        unit.pop("todo", None)
        unit["state"] = PENDING
    unit["error"] = ""
    unit.pop("request", None)
    return changed


def can_resolve(job: JobDoc, index: int) -> bool:
    units = job.get("units", [])
    return 0 <= index < len(units) and units[index]["state"] in (UNKNOWN, FAILED)


def unblocked_resume(job: JobDoc) -> bool:
    """After a decision: run again when the job waited only for decisions and none is left."""
    if job["status"] == PAUSED and job.get("pause_reason") in (UNKNOWN_BATCH, ERROR) and not blocked(job):
        run(job)
        return True
    return False


def in_flight_to_unknown(job: JobDoc) -> list[int]:
    """After a restart: units that were in flight become unknown (the request may have gone
    out); a running job pauses for the admins, a cancelling one is cancelled."""
    newly: list[int] = []
    for index, unit in enumerate(job["units"]):
        if unit["state"] == IN_FLIGHT:
            unit["request"] = request_numbers(unit)
            unit.pop("sending", None)
            unit["state"] = UNKNOWN
            unit["error_kind"] = UNKNOWN
            unit["error"] = "restart"
            newly.append(index)
    if job["status"] == CANCELLING:
        job["status"] = CANCELLED
    elif newly and job["status"] == RUNNING:
        pause(job, UNKNOWN_BATCH, "restart")
    return newly

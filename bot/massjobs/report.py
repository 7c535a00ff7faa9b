"""The per-number report of a job: every number once with its outcome, as rows and as CSV."""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

from bot.clients.miogram.models import Outcome
from bot.massjobs.docs import (
    FAILED,
    FAILED_OUTCOME,
    FINISHED,
    IN_FLIGHT,
    INVALID_INPUT,
    NOT_SENT,
    OPTED_OUT,
    PENDING,
    UNKNOWN,
    JobDoc,
    UnitDoc,
)
from bot.massjobs.units import caption_unit, has_caption, primary_units


class Row(NamedTuple):
    number: str
    outcome: str
    caption: str
    batch: str
    detail: str


def _unsettled(state: str, finished: bool) -> str:
    """The outcome shown for a number its unit has no result for."""
    return {
        UNKNOWN: Outcome.UNKNOWN.value,
        IN_FLIGHT: Outcome.UNKNOWN.value,
        FAILED: FAILED_OUTCOME,
        PENDING: NOT_SENT if finished else "pending",
    }.get(state, Outcome.SKIPPED.value)


def _caption_outcome(caption: UnitDoc | None, number: str, outcome: str, finished: bool) -> str:
    if caption is None:
        return ""
    cap = caption["results"].get(number, "")
    if cap or outcome != Outcome.SENT.value:
        return cap
    return {UNKNOWN: Outcome.UNKNOWN.value, IN_FLIGHT: Outcome.UNKNOWN.value, FAILED: FAILED_OUTCOME}.get(
        caption["state"], NOT_SENT if finished else "pending"
    )


def _row(job: JobDoc, unit: UnitDoc, number: str, finished: bool) -> Row:
    outcome = unit["results"].get(number)
    detail = unit.get("reasons", {}).get(number, "")
    if outcome is None:
        outcome = _unsettled(unit["state"], finished)
        if unit["state"] == FAILED:
            detail = unit.get("error", "")
    caption = _caption_outcome(caption_unit(job, unit["batch"]), number, outcome, finished)
    return Row(number, outcome, caption, str(unit["batch"] + 1), detail)


def number_outcomes(job: JobDoc) -> list[Row]:
    """Every number of the job once: (number, outcome, caption outcome, batch, detail)."""
    rows: list[Row] = []
    seen: set[str] = set()
    finished = job.get("status") in FINISHED
    for unit in primary_units(job):
        for number in unit["numbers"]:
            if number not in seen:
                seen.add(number)
                rows.append(_row(job, unit, number, finished))
    for number in job.get("opted_out", []):
        if number not in seen:
            seen.add(number)
            rows.append(Row(number, OPTED_OUT, "", "", ""))
    rows.extend(Row(raw, INVALID_INPUT, "", "", reason) for raw, reason in job.get("invalid", []))
    return rows


def report_csv(job: JobDoc) -> bytes:
    """The report as CSV (UTF-8 with a byte-order mark, so spreadsheets read Persian right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    caption = has_caption(job)
    writer.writerow(["number", "outcome"] + (["caption"] if caption else []) + ["batch", "detail"])
    for row in number_outcomes(job):
        writer.writerow([row.number, row.outcome] + ([row.caption] if caption else []) + [row.batch, row.detail])
    return buffer.getvalue().encode("utf-8-sig")

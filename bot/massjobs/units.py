"""Cutting a job into units, and finding units in an assembled job.

Units are ordered batch by batch, each batch's parts in the order of :func:`parts_of`; so the
unit of batch ``b``, part ``p`` sits at index ``b × len(parts) + p``.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.clients.miogram.models import Outcome
from bot.massjobs.docs import IN_FLIGHT, MEDIA_PART, PENDING, TEXT_PART, ContentDoc, JobDoc, UnitDoc


def parts_of(content: ContentDoc) -> list[str]:
    """The parts of every batch: the file and then its caption, the file alone, or the text."""
    if content.get("media"):
        return [MEDIA_PART, TEXT_PART] if content.get("text") else [MEDIA_PART]
    return [TEXT_PART]


def new_unit(batch: int, part: str, numbers: list[str]) -> UnitDoc:
    return {
        "batch": batch,
        "part": part,
        "numbers": numbers,
        "state": PENDING,
        "results": {},
        "error": "",
        "started": None,
        "finished": None,
        "attempts": 0,
    }


def make_units(numbers: list[str], batch_size: int, parts: Iterable[str]) -> list[UnitDoc]:
    """The units of a job: for each batch of numbers, one unit per part (``media``, ``text``).
    A caption's numbers are those that received the file: set when the caption starts."""
    parts = list(parts)
    units: list[UnitDoc] = []
    for batch, start in enumerate(range(0, len(numbers), batch_size)):
        chunk = numbers[start : start + batch_size]
        units.extend(new_unit(batch, part, chunk if part == parts[0] else []) for part in parts)
    return units


def has_caption(job: JobDoc) -> bool:
    """True when each batch is a file followed by its caption."""
    return parts_of(job["content"]) == [MEDIA_PART, TEXT_PART]


def primary_units(job: JobDoc) -> list[UnitDoc]:
    """The first unit of each batch (what the audience counts are about)."""
    step = len(parts_of(job["content"]))
    return job.get("units", [])[::step]


def caption_index(job: JobDoc, batch: int) -> int | None:
    """The index of the caption unit of ``batch``, if the job has captions."""
    if not has_caption(job):
        return None
    index = batch * 2 + 1
    return index if index < len(job.get("units", [])) else None


def caption_unit(job: JobDoc, batch: int) -> UnitDoc | None:
    index = caption_index(job, batch)
    return None if index is None else job["units"][index]


def batch_count(job: JobDoc) -> int:
    return len(primary_units(job))


def batch_numbers(job: JobDoc, batch: int) -> list[str]:
    units = primary_units(job)
    return list(units[batch]["numbers"]) if 0 <= batch < len(units) else []


def is_primary(job: JobDoc, unit: UnitDoc) -> bool:
    return unit["part"] == parts_of(job["content"])[0]


def next_pending(job: JobDoc) -> int | None:
    """The index of the first unit still to send, or None."""
    return next((i for i, unit in enumerate(job.get("units", [])) if unit["state"] == PENDING), None)


def request_numbers(unit: UnitDoc) -> list[str]:
    """The numbers of the unit's last request as it went out: for an ``unknown`` unit, the
    request whose answer was lost (what a look-up in MioGram's report must match exactly)."""
    for key in ("request", "sending", "todo"):
        numbers = unit.get(key)
        if isinstance(numbers, list):
            return list(numbers)
    return [n for n in unit["numbers"] if n not in unit["results"]]


def next_ready(job: JobDoc) -> int | None:
    """The index of the first unit that can be sent now: pending, and for a caption, its file
    no longer pending or in flight (on another lane)."""
    caption = has_caption(job)
    for index, unit in enumerate(job.get("units", [])):
        if unit["state"] != PENDING:
            continue
        if caption and unit["part"] == TEXT_PART and job["units"][index - 1]["state"] in (PENDING, IN_FLIGHT):
            continue
        return index
    return None


def numbers_to_send(job: JobDoc, index: int) -> list[str]:
    """The numbers unit ``index`` is to send now. A caption goes to the numbers that received
    its file (recorded on the unit); ``todo`` narrows a unit to what an admin asked to resend."""
    unit = job["units"][index]
    if unit["part"] == TEXT_PART and has_caption(job):
        media = job["units"][index - 1]
        unit["numbers"] = [n for n in media["numbers"] if media["results"].get(n) == Outcome.SENT.value]
    if "todo" in unit:
        return list(unit["todo"])
    return [n for n in unit["numbers"] if n not in unit["results"]]

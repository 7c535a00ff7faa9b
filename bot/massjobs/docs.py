"""The typed documents of a mass send and the names of their states.

A *job* is one document in the ``mass_jobs`` table: its audience, content, status and the
messages that show it. Its audience is cut into *units*: one MioGram ``*Mass`` request each (at
most ``batch_size`` numbers). A unit that has left ``pending`` is one small document in the
``mass_units`` table (key ``<job id>:<unit index>``), so a batch's progress is one small write
however large the audience. The assembled job (the document plus its ``units``) is what the
runner and the handlers work on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NotRequired, Required, TypedDict, cast

TABLE: Final = "mass_jobs"
UNITS: Final = "mass_units"

# job statuses
DRAFT: Final = "draft"
SCHEDULED: Final = "scheduled"
RUNNING: Final = "running"
PAUSED: Final = "paused"
CANCELLING: Final = "cancelling"
CANCELLED: Final = "cancelled"
DONE: Final = "done"
FINISHED: Final = frozenset({CANCELLED, DONE})
ACTIVE: Final = frozenset({RUNNING, PAUSED, CANCELLING})

# unit states
PENDING: Final = "pending"
IN_FLIGHT: Final = "in_flight"
UNIT_DONE: Final = "done"
FAILED: Final = "failed"
UNKNOWN: Final = "unknown"
SKIPPED: Final = "skipped"

# pause reasons
BY_ADMIN: Final = "admin"
NO_CREDIT: Final = "no_credit"
LOW_CREDIT: Final = "low_credit"
UNKNOWN_BATCH: Final = "unknown"
ERROR: Final = "error"
QUIET: Final = "quiet"  # quiet hours: resumes by itself at ``resume_at``

# per-number outcomes in reports (beyond the MioGram client's Outcome values)
OPTED_OUT: Final = "opted_out"
INVALID_INPUT: Final = "invalid_input"
NOT_SENT: Final = "not_sent"
FAILED_OUTCOME: Final = "failed"

# the parts of a batch: a file and its caption travel as two Mass requests
MEDIA_PART: Final = "media"
TEXT_PART: Final = "text"


class MessageRef(TypedDict):
    """A Telegram message the bot keeps editing (a preview card, a progress message)."""

    chat_id: int
    message_id: int


class MediaDoc(TypedDict, total=False):
    """The job's file: where it is spooled, and how to fetch it again if the spool is gone."""

    ext: Required[str]
    size: Required[int]
    kind: Required[str]
    spool: str
    name: str
    file_id: str
    url: str


class ContentDoc(TypedDict):
    text: str | None
    media: MediaDoc | None


class UnitDoc(TypedDict):
    """One Mass request of a job. ``results`` maps each number to its outcome; ``todo`` (set by
    an admin's "resend the missing ones") narrows what is sent next; ``sending`` is what the
    request in flight carries, and ``request`` what the request of an ``unknown`` unit carried
    (the numbers a look-up in MioGram's report must match exactly)."""

    batch: int
    part: str
    numbers: list[str]
    state: str
    results: dict[str, str]
    error: str
    started: float | None
    finished: float | None
    attempts: int
    error_kind: NotRequired[str]
    todo: NotRequired[list[str]]
    sending: NotRequired[list[str]]
    request: NotRequired[list[str]]
    reasons: NotRequired[dict[str, str]]
    decided_by: NotRequired[int]
    card: NotRequired[MessageRef]
    checked: NotRequired[dict[str, str]]
    lane: NotRequired[str]  # the sending agent (robot) of its last request
    job: NotRequired[str]


class JobDoc(TypedDict):
    """A mass send. ``numbers`` is the audience (fixed at confirmation), ``invalid`` the inputs
    that are not numbers with their reasons; ``units`` is assembled, never stored here."""

    id: str
    status: str
    content: ContentDoc
    channel: str
    batch_size: int
    numbers: list[str]
    opted_out: list[str]
    invalid: list[list[str]]
    duplicates: int
    audience: str
    created_by: int
    created_at: float
    chat_id: int
    thread_id: int | None
    units: NotRequired[list[UnitDoc]]
    source: NotRequired[str]
    blocked: NotRequired[bool]
    preview: NotRequired[MessageRef]
    progress: NotRequired[MessageRef]
    started_at: NotRequired[float]
    confirmed_by: NotRequired[int | None]
    pause_reason: NotRequired[str | None]
    pause_detail: NotRequired[str]
    run_at: NotRequired[float]
    scheduled_by: NotRequired[int | None]
    cancelled_by: NotRequired[int]
    finished_at: NotRequired[float]
    report_sent: NotRequired[bool]
    send_anyway: NotRequired[bool]  # an admin's override of the quiet hours for this send
    resume_at: NotRequired[float]  # when a send paused for quiet hours goes on by itself


def job_from_doc(raw: Mapping[str, Any]) -> JobDoc:
    """A stored job document as a :class:`JobDoc` (fields that older documents lack are filled
    with their defaults)."""
    doc = dict(raw)
    doc.pop("units", None)
    for name, default in (
        ("numbers", []),
        ("opted_out", []),
        ("invalid", []),
        ("duplicates", 0),
        ("audience", ""),
        ("channel", "messenger"),
        ("thread_id", None),
    ):
        doc.setdefault(name, default)
    return cast(JobDoc, doc)


def unit_from_doc(raw: Mapping[str, Any]) -> UnitDoc:
    """A stored unit document as a :class:`UnitDoc` (its ``job`` key dropped)."""
    doc = dict(raw)
    doc.pop("job", None)
    return cast(UnitDoc, doc)


def job_to_doc(job: JobDoc) -> dict[str, Any]:
    """What is stored of a job: everything but its units."""
    return {key: value for key, value in job.items() if key != "units"}


def unit_to_doc(job_id: str, unit: UnitDoc) -> dict[str, Any]:
    return {**unit, "job": job_id}

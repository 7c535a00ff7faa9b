"""The preview check of a draft: its content against MioGram's limits, credit, batches. Pure:
the caller gathers the facts (a MioGram read), this decides; :mod:`handlers.mass.preview`
turns the result into the card."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.clients.miogram.media import MediaKind
from bot.clients.miogram.models import Credits, Limits
from bot.massjobs.docs import JobDoc
from bot.massjobs.quiet import QuietHours
from bot.massjobs.units import parts_of


@dataclass(frozen=True)
class PreviewFacts:
    """What the check needs beyond the draft: whether MioGram is configured, what it said (or
    the error it answered), and the bytes the text counts against the limit with its ad footer."""

    configured: bool
    limits: Limits | None = None
    credits: Credits | None = None
    error: str | None = None
    text_bytes: tuple[int, int] | None = None  # (bytes counted, of which the ad footer)
    lanes: int = 1  # sending agents side by side
    quiet: QuietHours | None = None
    now: float = 0.0


@dataclass(frozen=True)
class Issue:
    """A reason the send cannot be confirmed: a catalogue key and its raw values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaCheck:
    kind: MediaKind
    ext: str
    size: int
    limit: int | None  # None when the limits could not be read


@dataclass(frozen=True)
class TextCheck:
    caption: bool
    used: int
    limit: int | None
    footer: int


@dataclass(frozen=True)
class CreditCheck:
    kind: str
    needed: int
    left: int


@dataclass(frozen=True)
class QuietCheck:
    """The quiet hours against the send: their window, when the send would end with them
    counted, and whether they hold it up (then "send anyway" is offered)."""

    window: str
    finish_at: float
    delays: bool


@dataclass(frozen=True)
class PreviewCheck:
    """The verdict on a draft: the facts the card shows and the issues that block it."""

    media: MediaCheck | None
    text: TextCheck | None
    credits: list[CreditCheck]
    batches: int
    requests: int
    minutes: int
    issues: list[Issue]
    recheck: bool  # MioGram is configured but could not be asked: the admin may try again
    quiet: QuietCheck | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.issues)


def credit_needs(job: JobDoc) -> dict[str, int]:
    """Credit per kind the job needs (one per number per request)."""
    count = len(job["numbers"])
    media = job["content"].get("media")
    needs: dict[str, int] = {}
    if media:
        needs[MediaKind(media["kind"]).credit_kind] = count
    if job["content"].get("text"):
        needs["message"] = needs.get("message", 0) + count
    return needs


def _media(job: JobDoc, facts: PreviewFacts, issues: list[Issue]) -> MediaCheck | None:
    media = job["content"].get("media")
    if not media:
        return None
    kind = MediaKind(media["kind"])
    limit = facts.limits.for_kind(kind.limit_kind) if facts.limits is not None else None
    if limit is not None and media["size"] > limit:
        issues.append(Issue("mass.preview_media_over", {"size": media["size"], "limit": limit, "kind": kind}))
    if job["channel"] == "whatsapp":
        issues.append(Issue("mass.preview_whatsapp_media"))
    return MediaCheck(kind, media["ext"], media["size"], limit)


def _text(job: JobDoc, facts: PreviewFacts, issues: list[Issue]) -> TextCheck | None:
    text = job["content"].get("text")
    if not text:
        return None
    caption = bool(job["content"].get("media"))
    if facts.limits is None or facts.text_bytes is None:
        return TextCheck(caption, len(text.encode("utf-8")), None, 0)
    used, footer = facts.text_bytes
    limit = facts.limits.message_bytes
    if used > limit:
        issues.append(Issue("mass.preview_text_over", {"bytes": used, "limit": limit, "over": used - limit}))
    return TextCheck(caption, used, limit, footer)


def _reach(facts: PreviewFacts, issues: list[Issue]) -> None:
    if not facts.configured:
        issues.append(Issue("mass.not_configured"))
    elif facts.error is not None:
        issues.append(Issue("mass.preview_unchecked", {"error": facts.error}))


def send_seconds(job: JobDoc, lanes: int) -> float:
    """How long the send takes: the gateway sends about one number a second per agent."""
    return len(job["numbers"]) * len(parts_of(job["content"])) / max(1, lanes)


def _quiet(job: JobDoc, facts: PreviewFacts) -> QuietCheck | None:
    if facts.quiet is None or not job["numbers"]:
        return None
    seconds = send_seconds(job, facts.lanes)
    finish_at = facts.quiet.finish_time(facts.now, seconds)
    return QuietCheck(facts.quiet.label(), finish_at, finish_at > facts.now + seconds + 1)


def check_preview(job: JobDoc, facts: PreviewFacts) -> PreviewCheck:
    """The verdict on ``job`` given ``facts``; issues in the order the card lists them."""
    issues: list[Issue] = [] if job["numbers"] else [Issue("mass.preview_no_numbers")]
    _reach(facts, issues)
    media = _media(job, facts, issues)
    text = _text(job, facts, issues)
    credits: list[CreditCheck] = []
    if facts.credits is not None and job["numbers"]:
        credits = [CreditCheck(k, n, facts.credits.for_kind(k)) for k, n in credit_needs(job).items()]
    numbers, parts = len(job["numbers"]), len(parts_of(job["content"]))
    batches = -(-numbers // job["batch_size"]) if numbers else 0
    minutes = max(1, round(send_seconds(job, facts.lanes) / 60)) if numbers else 0
    recheck = facts.configured and facts.error is not None
    return PreviewCheck(media, text, credits, batches, batches * parts, minutes, issues, recheck, _quiet(job, facts))

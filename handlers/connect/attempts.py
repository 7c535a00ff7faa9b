"""Pending OAuth authorisations: one record per /connect, keyed by its single-use ``state``.

A record lives in the store's ``oauth`` table as ``state:<state>`` (so a restart between the
button and Resont's redirect loses nothing) and says who asked, from which chat, and when. The
first callback that brings a state back spends it, whatever the outcome: a reload of the
callback page, a second paste of the same address, or a forged request cannot use it again.
Spent and expired records are kept for a day so that a reused or stale state is named as such,
then pruned.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

from bot.store.state import Store

#: How long a /connect link can be completed (time to log in to Resont and approve).
STATE_TTL = 3600.0
#: How long spent and expired records are remembered (to name a reuse), then pruned.
KEEP_SECONDS = 86400.0
PREFIX = "state:"


class Verdict(str, Enum):
    """What a state brought back by a callback is."""

    OK = "ok"
    UNKNOWN = "unknown"  # never made by this bot (or pruned long ago)
    USED = "used"  # already spent by an earlier callback
    STALE = "stale"  # older than STATE_TTL


@dataclass(frozen=True)
class Attempt:
    """One /connect: its state, who asked (id and name), where, and when (unix seconds)."""

    state: str
    by: int
    by_name: str
    chat_id: int
    created: float
    used: float | None = None

    def to_doc(self) -> dict[str, object]:
        return {
            "by": self.by,
            "by_name": self.by_name,
            "chat_id": self.chat_id,
            "created": self.created,
            "used": self.used,
        }

    @classmethod
    def from_doc(cls, state: str, doc: dict[str, object]) -> Attempt:
        used = doc.get("used")
        return cls(
            state=state,
            by=int(str(doc.get("by", 0))),
            by_name=str(doc.get("by_name", "")),
            chat_id=int(str(doc.get("chat_id", 0))),
            created=float(str(doc.get("created", 0))),
            used=float(str(used)) if used is not None else None,
        )


def start(store: Store, *, by: int, by_name: str, chat_id: int, now: float) -> Attempt:
    """Remember a fresh attempt with a new random state (old records are pruned first)."""
    table = store.table("oauth")
    table.prune(lambda doc: "created" in doc and float(doc["created"]) < now - KEEP_SECONDS)
    attempt = Attempt(secrets.token_urlsafe(24), by, by_name, chat_id, now)
    table.put(PREFIX + attempt.state, attempt.to_doc())
    return attempt


def claim(store: Store, state: str, now: float) -> tuple[Verdict, Attempt | None]:
    """Spend ``state``: OK (first use, in time) or why not. Any known state is spent."""
    table = store.table("oauth")
    doc = table.get(PREFIX + state) if state else None
    if doc is None:
        return Verdict.UNKNOWN, None
    attempt = Attempt.from_doc(state, doc)
    if attempt.used is not None:
        return Verdict.USED, attempt
    table.update(PREFIX + state, used=now)
    if attempt.created < now - STATE_TTL:
        return Verdict.STALE, attempt
    return Verdict.OK, attempt

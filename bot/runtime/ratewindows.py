"""Rolling windows of request slots, the bookkeeping behind :mod:`bot.runtime.ratelimit`.

A :class:`Window` holds the :class:`Slot` of every request that started in it; a slot counts
until ``period`` seconds after its request finished. :class:`Waiting` is a request's place in the
backlogs of the windows it waits for.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

__all__ = ["Slot", "Waiting", "Window"]


class Slot:
    """One request's place in a window: ``end`` is None while the request is in flight."""

    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end: float | None = None


@dataclass
class Window:
    """The requests to one chat (or to all chats) in the last ``period`` seconds: at most
    ``limit`` slots; ``blocked_until`` after a 429; ``backlog`` requests waiting for room."""

    limit: int
    period: float
    slots: list[Slot] = field(default_factory=list)
    blocked_until: float = 0.0
    backlog: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def active(self, now: float) -> list[Slot]:
        """The slots still counting at ``now`` (the others are dropped)."""
        self.slots = [s for s in self.slots if s.end is None or s.end + self.period > now]
        return self.slots

    def wait_time(self, now: float, count: int = 1) -> float:
        """Seconds until ``count`` more requests may start (inf: wait for one in flight)."""
        blocked = max(0.0, self.blocked_until - now)
        active = self.active(now)
        excess = len(active) + count - self.limit
        if excess <= 0:
            return blocked
        ends = sorted(math.inf if s.end is None else s.end + self.period for s in active)
        return max(blocked, ends[excess - 1] - now)

    def free(self, now: float) -> int:
        """How many requests could start at ``now``."""
        if self.blocked_until > now:
            return 0
        return max(0, self.limit - len(self.active(now)))

    def idle(self, now: float) -> bool:
        """Nothing counts, waits or is blocked: the window may be forgotten."""
        return not self.active(now) and self.backlog == 0 and not self.lock.locked() and self.blocked_until <= now


class Waiting:
    """A request's place in the backlogs of its chat and of the overall window, until it has
    its slots (or gives up)."""

    def __init__(self, windows: tuple[Window, ...]) -> None:
        self.windows = windows
        self.queued = True
        for window in windows:
            window.backlog += 1

    def leave(self) -> bool:
        """Leave the backlogs (the first call only); whether the request was still queued."""
        if not self.queued:
            return False
        self.queued = False
        for window in self.windows:
            window.backlog -= 1
        return True

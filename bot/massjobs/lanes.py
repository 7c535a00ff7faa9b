"""Lanes: the sending agents (MioGram "robots") a job's batches are spread over, one request in
flight per agent. An agent MioGram refuses (827 no robot, 309 permission denied) leaves the
lanes until the bot restarts; the last lane is never taken out (its failure pauses the job)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.clients.miogram.errors import MioGramError, MioGramNoRobot, MioGramPermissionDenied

#: the errors that mean "this agent may not send", not "this batch is bad"
REFUSALS = (MioGramNoRobot, MioGramPermissionDenied)


def is_refusal(error: object) -> bool:
    return isinstance(error, REFUSALS) and isinstance(error, MioGramError)


class Lanes:
    """The agents in use, in order (``""`` is the account's default agent)."""

    def __init__(self, robots: Iterable[str] = ("",)) -> None:
        self.robots = list(dict.fromkeys(robots)) or [""]
        #: agent → why MioGram refused it
        self.refused: dict[str, str] = {}

    @property
    def live(self) -> list[str]:
        return [robot for robot in self.robots if robot not in self.refused]

    def refuse(self, robot: str, reason: str) -> bool:
        """Take ``robot`` out; False when it was out already or is the last live lane."""
        if robot in self.refused or self.live == [robot]:
            return False
        self.refused[robot] = reason
        return True


class Chains:
    """Which (job, lane) step chains run in this process; ``start(job_id, lane, delay)``
    (injected) schedules one."""

    def __init__(self, lanes: Lanes, start: Callable[[str, str, float], None]) -> None:
        self.lanes = lanes
        self._start = start
        self.active: set[tuple[str, str]] = set()

    def kick(self, job_id: str, delay: float = 0.0) -> None:
        """Make sure every live lane of the job has a chain (one each)."""
        for lane in self.lanes.live:
            if (job_id, lane) not in self.active:
                self.active.add((job_id, lane))
                self._start(job_id, lane, delay)

    def halt(self, job_id: str, lane: str | None = None) -> None:
        """The chain of ``lane`` (or every chain of the job) ended."""
        if lane is not None:
            self.active.discard((job_id, lane))
        else:
            self.active = {key for key in self.active if key[0] != job_id}

    def running(self, job_id: str) -> bool:
        return any(key[0] == job_id for key in self.active)


class Spacing:
    """Spreads the requests of a job's lanes over the round trip.

    Lanes that start together are answered together, and their answers then queue behind each
    other on the one event loop: every batch, each lane waits for the others' bookkeeping. So a
    request leaves no sooner than a share of the fastest round trip seen after the job's
    previous request: after their first round the lanes settle at even offsets, and since
    ``lanes × gap`` stays under a round trip, no lane idles once they have."""

    def __init__(self, clock: Callable[[], float], share: float = 0.9) -> None:
        self.clock = clock
        self.share = share
        #: job → when its last request left; its fastest round trip
        self.last_sent: dict[str, float] = {}
        self.fastest: dict[str, float] = {}

    def reserve(self, job_id: str, lanes: int) -> float:
        """Take the job's next request slot: the seconds to wait until it (0 with one lane, or
        before a round trip was seen). Each caller gets a slot of its own."""
        now, fastest, last = self.clock(), self.fastest.get(job_id), self.last_sent.get(job_id)
        gap = fastest * self.share / lanes if lanes > 1 and fastest is not None else 0.0
        slot = now if last is None else max(now, last + gap)
        self.last_sent[job_id] = slot
        return slot - now

    def answered(self, job_id: str, sent_at: float) -> None:
        took = self.clock() - sent_at
        self.fastest[job_id] = min(took, self.fastest.get(job_id, took))

    def forget(self, job_id: str) -> None:
        self.last_sent.pop(job_id, None)
        self.fastest.pop(job_id, None)

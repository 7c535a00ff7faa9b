"""What the runner needs from the rest of the bot, as small protocols (the composition root
passes the real store, locks, MioGram client and the Telegram-side notifier)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bot.clients.miogram.media import Media
from bot.clients.miogram.models import BatchResult
from bot.massjobs.docs import JobDoc
from bot.massjobs.quiet import QuietHours

T = TypeVar("T")


class Table(Protocol):
    """A key → document table of the state store (documents are copied in and out)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, doc: dict[str, Any]) -> None: ...

    def put_many(self, items: Mapping[str, dict[str, Any]], /) -> int: ...

    def delete(self, key: str) -> bool: ...

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def prune(self, predicate: Callable[[dict[str, Any]], bool]) -> int: ...

    def __contains__(self, key: str) -> bool: ...


class NumberSet(Protocol):
    """Numbers with a membership test (the opt-out table)."""

    def __contains__(self, number: str, /) -> bool: ...


class StateStore(Protocol):
    def table(self, name: str) -> Table: ...

    def audit(self, actor: str | int, action: str, target: str, **details: Any) -> None: ...

    async def durably(self, write: Callable[[], T]) -> T:
        """``write()``, retried while the database is unreachable (waiting for it), until made:
        for writes that may not be refused (a batch's outcome, the next batch put in flight)."""
        ...

    async def durable_soon(self, write: Callable[[], T]) -> tuple[T, Awaitable[None]]:
        """:meth:`durably`, with the disk flush handed back to be awaited before acting on it."""
        ...


class NotDurable(Exception):
    """The write a request depends on did not reach the disk: the request was not sent."""


class Locks(Protocol):
    """``async with locks(key):`` serialises work on one key."""

    def __call__(self, key: str) -> AbstractAsyncContextManager[Any]: ...


class MassClient(Protocol):
    """The part of the MioGram client a mass send uses."""

    def remember_valid(self, numbers: Iterable[str]) -> None: ...

    async def send_mass_batch(
        self,
        numbers: list[str],
        *,
        text: str | None = None,
        media: Media | None = None,
        whatsapp: bool = False,
        robot: str | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> BatchResult: ...


class Notifier(Protocol):
    """What the runner tells the outside world (Telegram, in the bot)."""

    async def progress(self, job: JobDoc, *, force: bool = False) -> None: ...

    async def unknown_unit(self, job: JobDoc, index: int) -> None: ...

    async def paused(self, job: JobDoc, reason: str, detail: str) -> None: ...

    async def finished(self, job: JobDoc) -> None: ...

    async def resumed(self, job: JobDoc) -> None: ...

    async def lane_refused(self, job: JobDoc, robot: str, detail: str) -> None: ...


#: the job's file, from its spool or fetched again
MediaLoader = Callable[[JobDoc], Awaitable[Media]]
#: start a chain of steps of job ``id`` on lane ``robot`` after ``delay`` seconds
Kick = Callable[[str, str, float], None]


@dataclass(frozen=True)
class RunnerDeps:
    """What the runner works with: the state store, the MioGram client (None when not
    configured), per-key locks, a clock (UTC timestamps), a way to cancel a scheduled start;
    the retention of finished jobs; the quiet hours (None: off) and a way to be woken at a time
    (``wake(job_id, timestamp)``, persistent across restarts); the sending agents (lanes)."""

    store: StateStore
    client: MassClient | None
    locks: Locks
    clock: Callable[[], float]
    cancel_scheduled: Callable[[str], object]
    retention_days: float = 30.0
    quiet: QuietHours | None = None
    wake: Callable[[str, float], object] | None = None
    robots: tuple[str, ...] = ("",)

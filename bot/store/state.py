"""The bot's state: named tables of key → document, behind one API whatever the storage.

The state holds what Resont and MioGram cannot tell us: what was already forwarded, which card
maps to which item, who decided what, mass-send progress, OAuth tokens. Every table is a
key → document mapping (keys are strings chosen by the caller).

Three storages behind this API (see ``bot.store.storage``): :meth:`Store.open` (a file:
snapshot + fdatasync'ed journal, ``bot.store.journal``), :meth:`Store.postgres` (a PostgreSQL
database, ``bot.store.postgres``) and :meth:`Store.memory` (the in-memory twin used by tests).
:meth:`Store.configured` picks one the way the bot does: ``DATABASE_URL`` set → PostgreSQL,
else the file at ``STATE_PATH``. The same tests run against all three.

Guarantees, every storage: a write (``put``, ``put_many``, ``insert_new``, ``update``,
``update_many``, ``delete``, ``prune``, ``audit``) returns only once it is durable (fdatasync'ed
or committed); a write that raises changed nothing (memory included); a multi-document write is
one record, all or nothing; reads are served from memory. When PostgreSQL is unreachable, writes
raise :class:`StoreUnavailable` until the store has reconnected by itself.

Concurrency: the bot runs handlers and jobs concurrently in one event loop. Every method here is
synchronous and never awaits, so each call is atomic with respect to the others; callers that
read, await, then write must hold a lock (see ``bot.runtime.locks``). Call the store from the
event loop's thread only.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.store.errors import StoreError, StoreTakenOver, StoreUnavailable
from bot.store.journal import FORMAT_MARK, FORMAT_VERSION, FileBackend, open_file
from bot.store.records import Data, public
from bot.store.storage import Health, MemoryBackend, StateStorage
from bot.store.tinyglue import StateDB, StoreTable

if TYPE_CHECKING:
    from bot.store.postgres import PostgresBackend

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The PostgreSQL storage, imported by name only when a database is opened (:meth:`Store.postgres`):
#: psycopg costs about 9 MiB of resident memory that a bot on the state file never needs, and the
#: bot at rest should stay small. This is the store's one by-name import; no other module on the
#: start-up path imports ``bot.store.postgres`` or psycopg.
POSTGRES_MODULE = "bot.store.postgres"

#: Tables the bot uses; opening creates none of them eagerly, the list documents the schema.
TABLES = (
    "meta",  # format mark
    "cursors",  # poll cursors: last seen ids/dates per stream
    "cards",  # Telegram message ↔ Resont item
    "approvals",  # post group approval state
    "mass_jobs",  # mass-send jobs and their batches
    "audit",  # who did what, when
    "oauth",  # Resont OAuth tokens, and pending /connect states (state:<state>)
    "prompts",  # force-reply prompts waiting for an answer
    "scheduled",  # one-off jobs that survive restarts
    "lists",  # saved audience lists
    "optout",  # opted-out phone numbers
    "alerts",  # open incidents (tell admins once)
    "users",  # per-user preferences (language)
    "inbox",  # forwarded comments/DMs: delivery state, card, open/replied/done
    "mass_units",  # started mass-send batches, one small document each
    "webhook",  # the last Resont webhook push received (for /status)
)


class Table:
    """A key → document mapping inside the store.

    Documents are copied in and out: mutating a document you passed to ``put`` or got from
    ``get`` never changes the store; only the write methods do.
    """

    def __init__(self, raw: StoreTable, name: str) -> None:
        if name.startswith("_"):
            raise ValueError(f"table names starting with '_' are reserved: {name!r}")
        self.raw = raw
        self.name = name
        self.index: dict[str, int] = {doc["_key"]: int(doc_id) for doc_id, doc in raw.raw_items() if "_key" in doc}

    def get(self, key: str) -> dict[str, Any] | None:
        doc = self.peek(key)
        return public(doc) if doc is not None else None

    def peek(self, key: str) -> dict[str, Any] | None:
        """The stored document itself, not a copy, with its ``_key``: for hot read-only paths
        (a benchmark watching a 10,000-number job); callers must not mutate it."""
        doc_id = self.index.get(key)
        return None if doc_id is None else self.raw.raw_document(doc_id)

    def __contains__(self, key: str) -> bool:
        return key in self.index

    def put(self, key: str, doc: dict[str, Any]) -> None:
        """Insert or replace the whole document under ``key``."""
        body = {**doc, "_key": key}
        doc_id = self.index.get(key)
        if doc_id is None:
            self.index[key] = self.raw.insert(body)
        else:
            self.raw.replace(doc_id, body)

    def put_many(self, items: Mapping[str, dict[str, Any]] | Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Insert or replace several whole documents as ONE write: one record (one fdatasync,
        or one transaction), so after a crash either all of them are stored or none is. Returns
        how many documents were written (a key given twice counts once; its last document wins).

        Everything is checked before anything is written: a key that is not a string, a
        document that is not a mapping (``TypeError``) or a value that JSON cannot hold
        (``TypeError``/``ValueError`` from the serialiser) rejects the whole batch and leaves
        the table as it was.
        """
        pairs = items.items() if isinstance(items, Mapping) else items
        bodies: dict[str, dict[str, Any]] = {}
        for key, doc in pairs:
            if not isinstance(key, str):
                raise TypeError(f"store keys are strings, not {type(key).__name__}: {key!r}")
            if not isinstance(doc, Mapping):
                raise TypeError(f"document for {key!r} is a {type(doc).__name__}, not a mapping")
            bodies.pop(key, None)  # a repeated key: its last document wins
            bodies[key] = {**doc, "_key": key}
        if not bodies:
            return 0
        entries = [(self.index.get(key), body) for key, body in bodies.items()]
        doc_ids = self.raw.write_many(entries)
        for key, doc_id in zip(bodies, doc_ids, strict=True):
            self.index[key] = doc_id
        return len(bodies)

    def update_many(self, keys: Iterable[str], **fields: Any) -> int:
        """Merge ``fields`` into each existing document of ``keys`` as ONE write (see
        :meth:`put_many`); absent keys are skipped. Returns how many documents were updated."""
        merged: dict[str, dict[str, Any]] = {}
        for key in keys:
            current = self.get(key)
            if current is not None:
                current.update(fields)
                merged[key] = current
        return self.put_many(merged)

    def insert_new(self, key: str, doc: dict[str, Any]) -> bool:
        """Insert only if ``key`` is absent; True when this call claimed it."""
        if key in self.index:
            return False
        self.put(key, doc)
        return True

    def update(self, key: str, **fields: Any) -> dict[str, Any] | None:
        """Merge ``fields`` into the document; returns the new document or None if absent."""
        current = self.get(key)
        if current is None:
            return None
        current.update(fields)
        self.put(key, current)
        return self.get(key)

    def delete(self, key: str) -> bool:
        doc_id = self.index.get(key)
        if doc_id is None:
            return False
        self.raw.remove(doc_ids=[doc_id])
        del self.index[key]
        return True

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for _, doc in self.raw.raw_items():
            if "_key" in doc:
                yield doc["_key"], public(doc)

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> list[tuple[str, dict[str, Any]]]:
        return [(key, doc) for key, doc in self.items() if predicate(doc)]

    def prune(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        """Delete every document matching ``predicate`` (one write); returns how many."""
        doomed = [
            (doc["_key"], int(doc_id))
            for doc_id, doc in self.raw.raw_items()
            if "_key" in doc and predicate(public(doc))
        ]
        if doomed:
            self.raw.remove(doc_ids=[doc_id for _, doc_id in doomed])
            for key, _ in doomed:
                self.index.pop(key, None)
        return len(doomed)

    def __len__(self) -> int:
        return len(self.index)


class Store:
    """The bot's state: named tables of key → document (see the module docstring)."""

    def __init__(
        self, storage: StateStorage, path: Path | None = None, database: PostgresBackend | None = None
    ) -> None:
        self.storage = storage
        #: the PostgreSQL storage when the state lives in a database (None: file or memory)
        self.database = database
        self.db = StateDB(storage)
        self.path = path
        self.tables: dict[str, Table] = {}
        self.audit_seq = 0
        meta = self.table("meta")
        if meta.get("format") is None:
            meta.put("format", {"mark": FORMAT_MARK, "version": FORMAT_VERSION})

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (or create) the state file; waits while another process has it open. A corrupt
        or foreign file is moved aside and :class:`StoreError` explains where."""
        backend = open_file(path)
        return cls(StateStorage(backend, backend.data), Path(path))

    @classmethod
    def postgres(cls, url: str, wait: float | None = None) -> Store:
        """Open the state in a PostgreSQL database; waits while another bot holds it. ``wait``:
        how long to retry an unreachable server (None: until it answers)."""
        postgres = importlib.import_module(POSTGRES_MODULE)  # see POSTGRES_MODULE
        backend: PostgresBackend = postgres.open_postgres(url, wait)
        return cls(StateStorage(backend, backend.data), database=backend)

    @classmethod
    def memory(cls) -> Store:
        """The in-memory twin: same behaviour, nothing kept."""
        return cls(StateStorage(MemoryBackend()))

    @classmethod
    def configured(
        cls, database_url: str | None, state_path: str | os.PathLike[str], wait: float | None = None
    ) -> Store:
        """The bot's choice: PostgreSQL when ``database_url`` is set, else the state file."""
        if database_url:
            return cls.postgres(database_url, wait)
        return cls.open(state_path)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            raw = self.db.table(name)
            assert isinstance(raw, StoreTable)
            self.tables[name] = Table(raw, name)
        return self.tables[name]

    def audit(self, actor: str | int, action: str, target: str, **details: Any) -> None:
        """Append an audit record: who did what to which item, when (and a trace id, if any)."""
        self.audit_seq += 1
        key = f"{time.time_ns()}-{self.audit_seq}"
        doc = {"at": time.time(), "actor": str(actor), "action": action, "target": target}
        self.table("audit").put(key, {**doc, **details})

    # -- where the state lives ----------------------------------------------------------------

    def health(self) -> Health:
        """Kind, place (no password) and whether writes can be made now."""
        return self.storage.backend.health()

    def check(self) -> Health:
        """Like :meth:`health`, after one round trip to the database (``/status``)."""
        if self.database is not None:
            self.database.check()
        return self.storage.backend.health()

    @property
    def available(self) -> bool:
        return self.health().available

    async def wait_available(self, interval: float = 0.25) -> None:
        """Wait until writes can be made again (at once when they can). Raises
        :class:`StoreTakenOver` when another bot took the database meanwhile."""
        while not self.available:
            if self.storage.closed or (self.database is not None and self.database.closed):
                raise StoreError("the state store is closed")
            if self.database is not None and self.database.taken_over:
                raise StoreTakenOver("another bot took over the database")
            await asyncio.sleep(interval)

    def on_taken_over(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from another thread) if another bot takes the database over."""
        if self.database is not None:
            self.database.on_taken_over.append(callback)

    def compact(self) -> None:
        """Fold the history into one snapshot now (normally automatic; no-op elsewhere)."""
        try:
            self.storage.backend.compact(self.storage.data)
        except OSError as exc:
            raise StoreError(f"state file {self.path} cannot be compacted: {exc.strerror or exc}") from None

    def size_bytes(self) -> int:
        """Bytes used by the durable state (0 in memory)."""
        return self.storage.backend.size_bytes()

    def replace_all(self, data: Data) -> None:
        """Replace every table with ``data`` (raw layout) as one write (``state import``)."""
        self.storage.write(data)
        self.db = StateDB(self.storage)  # TinyDB caches tables and their next ids
        self.tables = {}
        meta = self.table("meta")
        if meta.get("format") is None:
            meta.put("format", {"mark": FORMAT_MARK, "version": FORMAT_VERSION})

    async def durably(self, write: Callable[[], T]) -> T:
        """``write()``, again and again while the database is unreachable, until it is made.
        For writes that record what already happened outside (a card Telegram accepted, a
        batch MioGram answered): they must not be lost, and cannot be refused.

        On the state file, the disk flush (fdatasync) of what ``write()`` appended runs in a
        worker thread and this returns once it is done: the event loop serves other work
        meanwhile (a mass send's other lanes), and memory holds the change during the flush.
        A failed flush raises :class:`StoreError`; the next write then folds memory into a new
        snapshot, so nothing is acted on that the disk may not have."""
        result, flushed = await self.durable_soon(write)
        await flushed
        return result

    async def durable_soon(self, write: Callable[[], T]) -> tuple[T, Awaitable[None]]:
        """:meth:`durably`, handing back the flush instead of waiting for it: ``write()`` is made
        (in memory, and appended on the state file) and its disk flush runs meanwhile; await
        the second value before acting on the write outside (a mass send builds its next
        request during the flush and waits for it before the request leaves). Elsewhere the
        write is durable already and the second value is done."""
        backend = file_backend(self)
        if backend is None:
            return await self.retrying(write), _done()
        try:
            with backend.deferred_flush():
                result = write()
        except BaseException:
            await flush_off_loop(backend)  # what was appended before it raised
            raise
        return result, flush_task(backend)

    async def retrying(self, write: Callable[[], T]) -> T:
        """``write()``, again and again while the database is unreachable, until it is made."""
        while True:
            try:
                return write()
            except StoreUnavailable as exc:
                log.warning("a write waits for the database: %s", exc)
                await self.wait_available()

    def close(self) -> None:
        self.db.close()


async def flush_off_loop(backend: FileBackend) -> None:
    """fdatasync what deferred appends wrote, in a worker thread (see :meth:`Store.durably`)."""
    await flush_task(backend)


def flush_task(backend: FileBackend) -> Awaitable[None]:
    """The flush of what deferred appends wrote, handed to a worker thread at once (so the disk
    works while the event loop goes on; a done future when there is nothing to flush). A
    failure reaches whoever awaits it and is logged, so it is seen even when nobody does (a
    chain that stopped before sending)."""
    fd = backend.take_flush()
    if fd is None:
        return _done()
    loop = asyncio.get_running_loop()
    syncing = loop.run_in_executor(None, os.fdatasync, fd)
    task = loop.create_task(_settle_flush(backend, fd, syncing))
    task.add_done_callback(_log_unawaited_failure)
    return task


async def _settle_flush(backend: FileBackend, fd: int, syncing: asyncio.Future[None]) -> None:
    try:
        await syncing
    except OSError as exc:
        backend.flush_failed()
        raise StoreError(f"state journal {backend.journal_path} cannot be written: {exc.strerror}") from None
    finally:
        os.close(fd)


def _done() -> asyncio.Future[None]:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


def _log_unawaited_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("state flush failed: %s", task.exception())


def file_backend(store: Store) -> FileBackend | None:
    """The file store's backend (journal, generation, compactions), or None."""
    backend = store.storage.backend
    return backend if isinstance(backend, FileBackend) else None

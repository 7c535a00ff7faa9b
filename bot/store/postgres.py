"""The PostgreSQL store: one row per document, one transaction per record, one bot per database.

Table ``bot_state (tbl, id, doc)`` holds every document as the JSON text the file store would
write. Memory keeps every table (reads never reach the database); each write is one statement,
hence one transaction, executed with autocommit: it returns only once PostgreSQL committed it
(``synchronous_commit`` as the server has it: on by default, and on Heroku).

One active bot per database: the connection that writes holds a session advisory lock
(:data:`LOCK_KEY`). A second process logs that it waits and blocks on the lock; when the first
exits (or is killed: its session ends) the second takes over.

The database going away: a write that fails on the connection raises
:class:`~bot.store.errors.StoreUnavailable` and changes nothing in memory; it may or may not have
reached the database, so its documents are marked *uncertain*. A keeper thread reconnects with
back-off, takes the lock again, rewrites the uncertain documents from memory (so the database
equals what the bot acknowledged), and only then accepts writes again. Until then every write
is refused at once. If another process got the lock meanwhile, this one is *taken over*: its
writes are refused for good and the ``on_taken_over`` callbacks run (the bot stops).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

import psycopg

from bot.store.errors import StoreError, StoreTakenOver, StoreUnavailable
from bot.store.journal import FORMAT_MARK
from bot.store.pgsql import (
    LOCK_KEY,
    Rows,
    connect,
    ensure_schema,
    holder_pid,
    load_rows,
    replace_all,
    write,
)
from bot.store.pgurl import DatabaseUrl
from bot.store.records import Data, Record, dumps
from bot.store.storage import Health

log = logging.getLogger(__name__)


class Backoff:
    """Reconnection delays: ``first``, doubling up to ``cap`` seconds."""

    first: ClassVar[float] = 0.5
    cap: ClassVar[float] = 10.0


class PostgresBackend:
    """See the module docstring."""

    #: database → the backend holding its lock in this process (a second connection of the
    #: same process would wait for itself; a restart simulated in-process closes the first)
    holders: ClassVar[dict[str, weakref.ref[PostgresBackend]]] = {}

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self.data: Data = {}
        self.conn: psycopg.Connection[Any] | None = None
        self.mutex = threading.RLock()
        self.closed = False
        self.taken_over = False
        self.down_since: float | None = None
        self.down_reason = ""
        self.backend_pid = 0
        #: table → doc ids a failed write may or may not have changed (None: the whole table)
        self.uncertain: dict[str, set[str] | None] = {}
        self.on_taken_over: list[Callable[[], None]] = []
        self.stop = threading.Event()
        self.keeper: threading.Thread | None = None

    # -- start-up -----------------------------------------------------------------------------

    def open(self, wait: float | None) -> None:
        """Connect (retrying for ``wait`` seconds, None: until it works), take the lock (waiting
        for another bot to exit), load every document."""
        self.fence_earlier()
        deadline = None if wait is None else time.monotonic() + wait
        delay = Backoff.first
        while True:
            try:
                conn = connect(self.url)
                break
            except psycopg.OperationalError as exc:
                reason = one_line(exc)
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise StoreError(f"cannot connect to {self.url}: {reason}") from None
                log.error("cannot connect to %s (%s); retrying in %.1f s", self.url, reason, delay)
                time.sleep(delay)
                delay = min(Backoff.cap, delay * 2)
        try:
            self.take_lock(conn)
            ensure_schema(conn)
            self.data = check_format(load_rows(conn), self.url)
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"database {self.url} cannot be used: {one_line(exc)}") from None
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        self.backend_pid = conn.info.backend_pid
        self.holders[self.url.describe()] = weakref.ref(self)

    def take_lock(self, conn: psycopg.Connection[Any]) -> None:
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone() == (True,):
            return
        log.warning(
            "database %s is in use by another running bot; waiting for it to exit before starting",
            self.url,
        )
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        log.info("database %s: the other bot exited; taking over", self.url)

    def fence_earlier(self) -> None:
        entry = self.holders.pop(self.url.describe(), None)
        earlier = entry() if entry is not None else None
        if earlier is not None and not earlier.closed:
            log.warning("database %s opened again; the earlier store is closed", self.url)
            earlier.close()

    # -- Backend ------------------------------------------------------------------------------

    def persist(self, record: Record, line: str) -> None:
        rows = record_rows(record)
        with self.mutex:
            conn = self.usable()
            try:
                write(conn, record["t"], rows, bool(record.get("clear")))
            except psycopg.Error as exc:
                if not (conn.broken or isinstance(exc, psycopg.OperationalError)):
                    raise StoreError(f"the database refused the write: {one_line(exc)}") from None
                self.mark_uncertain(record)
                self.lost(exc)
                raise StoreUnavailable(self.unavailable_message()) from None

    def usable(self) -> psycopg.Connection[Any]:
        """The connection, or the reason why no write can be made now (raised)."""
        if self.closed:
            raise StoreError("the state store is closed; no further writes are accepted")
        if self.taken_over:
            raise StoreTakenOver(f"another bot took over {self.url} while this one was disconnected; this one stops")
        if self.conn is None:
            raise StoreUnavailable(self.unavailable_message())
        return self.conn

    def unavailable_message(self) -> str:
        return (
            f"the database ({self.url}) is unreachable ({self.down_reason}); the change was not "
            "saved. The bot reconnects by itself."
        )

    def mark_uncertain(self, record: Record) -> None:
        table = record["t"]
        if record.get("clear") or self.uncertain.get(table, set()) is None:
            self.uncertain[table] = None
            return
        ids = self.uncertain.setdefault(table, set())
        assert ids is not None
        ids.update(record["c"])

    def after_persist(self, data: Data) -> None:
        self.data = data

    def rewrite(self, data: Data) -> None:
        with self.mutex:
            conn = self.usable()
            try:
                replace_all(conn, data)
            except psycopg.OperationalError as exc:
                self.uncertain.update(dict.fromkeys(set(self.data) | set(data)))
                self.lost(exc)
                raise StoreUnavailable(self.unavailable_message()) from None
            self.data = data

    def compact(self, data: Data) -> None:
        """Nothing to fold: PostgreSQL keeps its own log (VACUUM reclaims old row versions)."""

    def size_bytes(self) -> int:
        with self.mutex:
            if self.conn is None:
                return 0
            try:
                row = self.conn.execute("SELECT pg_total_relation_size('bot_state')").fetchone()
            except psycopg.Error as exc:
                self.lost(exc)
                return 0
        return int(row[0]) if row else 0

    def check(self) -> None:
        """One round trip to see whether the database still answers (for ``/status``)."""
        with self.mutex:
            if self.conn is not None:
                try:
                    self.conn.execute("SELECT 1")
                except psycopg.Error as exc:
                    self.lost(exc)

    def health(self) -> Health:
        if self.taken_over:
            return Health(
                "postgresql", self.url.describe(), False, self.down_since, "another bot took over the database"
            )
        available = self.conn is not None and not self.closed
        return Health("postgresql", self.url.describe(), available, self.down_since, self.down_reason)

    def close(self) -> None:
        self.closed = True
        self.stop.set()
        with self.mutex:
            if self.conn is not None:
                self.conn.close()  # ends the session: releases the lock
                self.conn = None
        keeper = self.keeper
        if keeper is not None and keeper is not threading.current_thread():
            keeper.join(timeout=30)

    # -- the database going away -------------------------------------------------------------

    def lost(self, exc: BaseException) -> None:
        """The connection failed: refuse writes from now on and start reconnecting."""
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                pass
            self.conn = None
        if self.down_since is None:
            self.down_since = time.time()
        self.down_reason = one_line(exc)
        log.error(
            "database %s is unreachable (%s); writes are refused until it is back; reconnecting",
            self.url,
            self.down_reason,
        )
        if self.keeper is None or not self.keeper.is_alive():
            self.keeper = threading.Thread(target=self.reconnect, name="store-keeper", daemon=True)
            self.keeper.start()

    def reconnect(self) -> None:
        """Keeper thread: reconnect with back-off until writes can resume (or we were replaced)."""
        delay = Backoff.first
        while not self.stop.wait(delay):
            delay = min(Backoff.cap, delay * 2)
            try:
                conn = connect(self.url)
            except psycopg.OperationalError as exc:
                self.down_reason = one_line(exc)
                log.info("database %s still unreachable (%s); next try in %.1f s", self.url, self.down_reason, delay)
                continue
            try:
                if self.resume(conn):
                    return
            except psycopg.Error as exc:
                self.down_reason = one_line(exc)
                log.info("database %s: reconnecting failed (%s); next try in %.1f s", self.url, self.down_reason, delay)
            conn.close()

    def resume(self, conn: psycopg.Connection[Any]) -> bool:
        """Take the lock back, repair uncertain documents, hand the connection over. True when
        done (resumed, or taken over: nothing more to try)."""
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone() != (True,):
            holder = holder_pid(conn)
            if holder == self.backend_pid and holder:
                # our own old session, not yet noticed dead by the server: end it, try again
                conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
                return False
            self.give_up(conn)
            return True
        self.repair(conn)
        with self.mutex:
            if self.closed:
                conn.close()
                return True
            self.conn = conn
            self.backend_pid = conn.info.backend_pid
            gone = time.time() - (self.down_since or time.time())
            self.down_since, self.down_reason = None, ""
        log.warning("database %s is reachable again after %.1f s; writes resume", self.url, gone)
        return True

    def repair(self, conn: psycopg.Connection[Any]) -> None:
        """Make the uncertain documents in the database equal to memory, in one transaction.
        Memory cannot change meanwhile: every write is refused while disconnected."""
        with conn.transaction():
            for table, ids in self.uncertain.items():
                current = self.data.get(table, {})
                if ids is None:
                    write(conn, table, {k: dumps(v) for k, v in current.items()}, True)
                else:
                    write(conn, table, {i: dumps(current[i]) if i in current else None for i in ids})
        self.uncertain.clear()

    def give_up(self, conn: psycopg.Connection[Any]) -> None:
        conn.close()
        self.taken_over = True
        log.error("another bot took over %s while this one was disconnected; this one stops", self.url)
        for callback in self.on_taken_over:
            callback()


def record_rows(record: Record) -> Rows:
    """doc id → JSON text of the document, or None to delete."""
    return {doc_id: None if doc is None else dumps(doc) for doc_id, doc in record["c"].items()}


def check_format(data: Data, url: DatabaseUrl) -> Data:
    """Refuse a ``bot_state`` table that another program wrote."""
    marks = [doc for doc in data.get("meta", {}).values() if doc.get("_key") == "format"]
    if data and (not marks or marks[0].get("mark") != FORMAT_MARK):
        raise StoreError(f"table bot_state in {url} was not written by this bot; refusing to use it")
    return data


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def open_postgres(url: str | DatabaseUrl, wait: float | None = None) -> PostgresBackend:
    """Open the state in the database at ``url`` (a ``DATABASE_URL`` or a parsed one)."""
    backend = PostgresBackend(url if isinstance(url, DatabaseUrl) else DatabaseUrl.parse(url))
    backend.open(wait)
    return backend

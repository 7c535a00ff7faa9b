"""The state file. The only module that imports tinydb.

The state holds what Resont and MioGram cannot tell us: what was already forwarded, which card
maps to which item, who decided what, mass-send progress, OAuth tokens. Every table is a
key → document mapping (keys are strings chosen by the caller).

Two storages behind one interface: :meth:`Store.open` (a file) and :meth:`Store.memory` (the
in-memory twin used by tests; the same tests run against both, through the same code path: the
twin serialises every change exactly as the file store does and only skips the disk).

On disk (all mode 0600):

``<path>``
    a TinyDB-compatible JSON snapshot (one extra table, ``_snapshot``, holds its generation);
``<path>.journal``
    one header line naming the snapshot generation it continues, then one JSON line per write
    (``{"t": table, "c": {doc_id: document or null}}``), each appended and fdatasync'ed before the
    write returns;
``<path>.lock``
    an advisory ``flock`` so that a second process cannot open the same state.

Durability: a write (``put``, ``put_many``, ``insert_new``, ``update``, ``update_many``, ``delete``,
``prune``, ``audit``) returns only once its journal line is on disk (``write`` + ``fdatasync``), so every write that returned
survives a crash of the process or of the machine (as far as the disk honours a flush). A write
interrupted half-way leaves at most a torn last line, which is ignored on the next start: each
operation is all-or-nothing. When the journal outgrows the snapshot, the snapshot is rewritten
atomically (temp file, fsync, rename, fsync of the directory) with the next generation and a fresh
journal is started the same way; a journal older than the snapshot is never replayed.

Concurrency: the bot runs handlers and jobs concurrently in one event loop. Every method here is
synchronous and never awaits, so each call is atomic with respect to the others; callers that
read, await, then write must hold a lock (see ``bot.runtime.locks``). Call the store from the event loop's
thread only.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table as TinyTable

log = logging.getLogger(__name__)

FORMAT_MARK = "resont-miogram-bot/state"
FORMAT_VERSION = 1
JOURNAL_MARK = "resont-miogram-bot/state-journal"
JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"
#: Reserved snapshot table holding ``{"1": {"generation": n}}``; hidden from the tables.
SNAPSHOT_TABLE = "_snapshot"

#: The journal is folded into a new snapshot once it is larger than both this many bytes and
#: ``COMPACT_RATIO`` × the snapshot's size, so the cost of rewriting the snapshot, spread over
#: the writes that filled the journal, stays proportional to the size of one write.
COMPACT_MIN_BYTES = 1 << 20
COMPACT_RATIO = 1.0

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

_JSON = {"ensure_ascii": False, "separators": (",", ":")}
_datasync = getattr(os, "fdatasync", os.fsync)


class StoreError(Exception):
    """The state file cannot be used. ``str()`` is one line meant for the operator."""


class _Corrupt(Exception):
    """A file at start-up is unusable; ``str()`` says why (half a sentence)."""


# ---------------------------------------------------------------------------------------------
# Storage: TinyDB's raw data in memory, each change turned into one journal record.
# ---------------------------------------------------------------------------------------------


class JournalStorage(Storage):
    """TinyDB storage keeping the data in memory and turning each change into one JSON record.

    This class is the in-memory twin (like TinyDB's ``MemoryStorage``, but every change goes
    through the same serialisation as on disk, so a document that the file store would refuse
    is refused here too, and what is read back is what a restart would read back).
    :class:`JournaledFileStorage` adds the disk.
    """

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self.closed = False
        #: number of records committed (for tests and benchmarks)
        self.writes = 0

    # -- TinyDB Storage interface -------------------------------------------------------------

    def read(self) -> dict[str, dict[str, Any]]:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Whole-database write (only TinyDB's generic paths, e.g. ``drop_table``, use it)."""
        self._check_open()
        data = json.loads(json.dumps(data, **_JSON))
        self._data = data
        self._checkpoint()

    def close(self) -> None:
        self.closed = True

    # -- the fast path ------------------------------------------------------------------------

    def table_data(self, name: str) -> dict[str, Any]:
        return self._data.get(name, {})

    def commit(self, table: str, changes: dict[str, Any], cleared: bool = False) -> None:
        """Apply ``changes`` (doc_id → document, or None to delete) to ``table`` as one record.

        The record is serialised first and made durable second; memory changes last, so a
        failure at any step leaves the state as it was.
        """
        self._check_open()
        record: dict[str, Any] = {"t": table, "c": changes}
        if cleared:
            record["clear"] = True
        line = json.dumps(record, **_JSON)
        encoded = line.encode("utf-8") + b"\n"
        self._append(encoded)
        _apply(self._data, json.loads(line))
        self.writes += 1
        self._after_append()

    def _check_open(self) -> None:
        if self.closed:
            raise StoreError("the state store is closed; no further writes are accepted")

    # hooks for the file storage
    def _append(self, encoded: bytes) -> None:
        pass

    def _after_append(self) -> None:
        pass

    def _checkpoint(self) -> None:
        pass

    def compact(self) -> None:
        pass

    def size_bytes(self) -> int:
        return 0


def _apply(data: dict[str, dict[str, Any]], record: dict[str, Any]) -> None:
    table = data.setdefault(record["t"], {})
    if record.get("clear"):
        table.clear()
    for doc_id, doc in record["c"].items():
        if doc is None:
            table.pop(doc_id, None)
        else:
            table[doc_id] = doc


def _valid_record(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("t"), str)
        and record["t"] != SNAPSHOT_TABLE
        and isinstance(record.get("c"), dict)
        and all(doc_id.isdigit() and (isinstance(doc, dict) or doc is None) for doc_id, doc in record["c"].items())
    )


class JournaledFileStorage(JournalStorage):
    """The file store: snapshot + append-only journal, see the module docstring."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + JOURNAL_SUFFIX)
        self.lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        self.generation = 0
        self.compactions = 0
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        #: the journal cannot take more records (its tail is unknown, or a compaction wrote the
        #: snapshot but not the new journal): the next write compacts first
        self._journal_pending = False
        self._next_compact_try = 0

    # -- start-up -----------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the per-path advisory lock; StoreError if another process holds it."""
        _fence_other_opens(self)
        directory = _directory(self.path)
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(
                f"state file {self.path} is in use by another running process (lock {self.lock_path}); stop it first"
            ) from None
        os.fchmod(fd, 0o600)
        self._lock_fd = fd
        _OPEN[str(self.path.resolve())] = weakref.ref(self)

    def load_snapshot(self) -> bool:
        """Read the snapshot; True when there was one. Raises _Corrupt."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return False
        if not raw.strip():
            return False
        try:
            data = json.loads(raw)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError
            raise _Corrupt("it is not valid JSON") from None
        if not isinstance(data, dict) or not all(
            isinstance(table, dict) and all(doc_id.isdigit() and isinstance(doc, dict) for doc_id, doc in table.items())
            for table in data.values()
        ):
            raise _Corrupt("it is not a TinyDB document")
        snapshot = data.pop(SNAPSHOT_TABLE, {})
        generation = snapshot.get("1", {}).get("generation", 0)
        if type(generation) is not int or generation < 0:
            raise _Corrupt("its snapshot generation is not a number")
        meta = data.get("meta", {})
        marks = [doc for doc in meta.values() if doc.get("_key") == "format"]
        if data and (not marks or marks[0].get("mark") != FORMAT_MARK):
            raise _Corrupt("it was not written by this bot")
        self._data = data
        self.generation = generation
        self._snapshot_bytes = len(raw)
        return True

    def load_journal(self, have_snapshot: bool) -> None:
        """Replay the journal if it continues the snapshot. Raises _Corrupt (about the journal)."""
        try:
            raw = self.journal_path.read_bytes()
        except FileNotFoundError:
            return  # finish_open starts one
        if not have_snapshot:
            raise _Corrupt("it has no snapshot next to it (the state file is missing)")
        lines = raw.split(b"\n")
        # ``lines[-1]`` is what follows the last newline: empty, or a write that never finished.
        try:
            header = json.loads(lines[0]) if len(lines) > 1 else None
        except ValueError:  # JSONDecodeError, UnicodeDecodeError
            header = None
        if (
            not isinstance(header, dict)
            or header.get("journal") != JOURNAL_MARK
            or not isinstance(header.get("generation"), int)
        ):
            raise _Corrupt("its header is not a journal header of this bot")
        generation = header["generation"]
        if generation < self.generation:
            log.info(
                "state journal %s (generation %d) is older than the snapshot (generation %d) "
                "and already contained in it; starting a new journal",
                self.journal_path,
                generation,
                self.generation,
            )
            self._start_journal(self.generation)
            return
        if generation > self.generation:
            raise _Corrupt(
                f"it continues snapshot generation {generation} but the state file is "
                f"generation {self.generation} (was an older state file restored?)"
            )
        good_end = len(lines[0]) + 1
        complete = lines[1:-1]
        torn = lines[-1]
        for number, line in enumerate(complete, start=2):
            try:
                record = json.loads(line)
                ok = _valid_record(record)
            except ValueError:  # JSONDecodeError, UnicodeDecodeError
                ok = False
            if not ok:
                if number == len(complete) + 1 and not torn:
                    torn = line + b"\n"  # the last line: a write cut short (e.g. power loss)
                    break
                raise _Corrupt(f"line {number} is not a valid record")
            _apply(self._data, record)
            good_end += len(line) + 1
        if torn:
            log.warning(
                "state journal %s: ignored an incomplete last record (%d bytes) left by an interrupted write",
                self.journal_path,
                len(torn),
            )
            with open(self.journal_path, "r+b") as handle:
                handle.truncate(good_end)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(self.journal_path, 0o600)
        self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        self._journal_bytes = good_end

    def finish_open(self, had_snapshot: bool) -> None:
        if not had_snapshot:
            # A new state: the first snapshot carries the format mark, so the file on disk is
            # recognisable as ours from the start.
            self._data = {"meta": {"1": {"_key": "format", "mark": FORMAT_MARK, "version": FORMAT_VERSION}}}
            self._write_snapshot(self.generation)
            self._start_journal(self.generation)
        else:
            os.chmod(self.path, 0o600)
            if self._fd is None:
                self._start_journal(self.generation)
        _remove_stale_temps(self.path)
        _remove_stale_temps(self.journal_path)
        if self._journal_bytes > self._compact_threshold():
            self._try_compact()

    def release(self) -> None:
        """Close file descriptors (the journal and the lock) after a failed open or on close."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None
            entry = _OPEN.get(str(self.path.resolve()))
            if entry is not None and entry() is self:
                del _OPEN[str(self.path.resolve())]

    # -- writing ------------------------------------------------------------------------------

    def _append(self, encoded: bytes) -> None:
        if self._journal_pending:
            # The journal is unusable (see below): fold everything into a new snapshot first.
            try:
                self.compact()
            except OSError as exc:
                raise StoreError(f"state file {self.path} cannot be written: {exc.strerror or exc}") from None
        fd = self._fd
        assert fd is not None
        start = self._journal_bytes
        try:
            view = memoryview(encoded)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            _datasync(fd)
        except OSError as exc:
            try:  # take back a partial line so the next record does not land after garbage
                os.ftruncate(fd, start)
            except OSError:
                self._journal_pending = True  # its tail is unknown: never append to it again
            raise StoreError(f"state journal {self.journal_path} cannot be written: {exc.strerror}") from None
        self._journal_bytes = start + len(encoded)

    def _after_append(self) -> None:
        if self._journal_bytes > self._compact_threshold():
            self._try_compact()

    def _compact_threshold(self) -> int:
        return max(COMPACT_MIN_BYTES, int(self._snapshot_bytes * COMPACT_RATIO), self._next_compact_try)

    def _try_compact(self) -> None:
        try:
            self.compact()
        except OSError as exc:
            # The journal still holds everything; try again after it grew by half as much again.
            self._next_compact_try = self._journal_bytes + self._journal_bytes // 2
            log.error("state file %s: compaction failed (%s); will retry", self.path, exc)

    def compact(self) -> None:
        """Fold the journal into a new snapshot generation and start an empty journal."""
        self._check_open()
        generation = self.generation + 1
        self._write_snapshot(generation)
        self.generation = generation
        self._journal_pending = True  # the old journal must not be appended to any more
        self._start_journal(generation)
        self._next_compact_try = 0
        self.compactions += 1

    def _checkpoint(self) -> None:
        self.compact()

    def _write_snapshot(self, generation: int) -> None:
        snapshot = {**self._data, SNAPSHOT_TABLE: {"1": {"generation": generation}}}
        payload = json.dumps(snapshot, **_JSON).encode("utf-8")
        atomic_write(self.path, payload)
        self._snapshot_bytes = len(payload)

    def _start_journal(self, generation: int) -> None:
        header = {"journal": JOURNAL_MARK, "version": FORMAT_VERSION, "generation": generation}
        payload = json.dumps(header).encode("utf-8") + b"\n"
        atomic_write(self.journal_path, payload)
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self._journal_bytes = len(payload)
        self._journal_pending = False

    def close(self) -> None:
        super().close()
        self.release()

    def size_bytes(self) -> int:
        total = 0
        for path in (self.path, self.journal_path):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total


#: resolved path → the storage currently holding it in this process
_OPEN: dict[str, weakref.ref[JournaledFileStorage]] = {}


def _fence_other_opens(storage: JournaledFileStorage) -> None:
    """Opening a path again in this process (a simulated restart) closes the earlier store."""
    entry = _OPEN.pop(str(storage.path.resolve()), None)
    earlier = entry() if entry is not None else None
    if earlier is not None and not earlier.closed:
        log.warning("state file %s opened again; the earlier store is closed", storage.path)
        earlier.close()


def _directory(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _remove_stale_temps(path: Path) -> None:
    """Remove temp files a crash left behind (``atomic_write`` names them ``.<name>.*.tmp``)."""
    for leftover in _directory(path).glob(f".{path.name}.*.tmp"):
        try:
            leftover.unlink()
        except OSError:
            pass


def atomic_write(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` so that a crash leaves the old or the new file whole."""
    directory = _directory(path)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------------------------------------
# TinyDB table: writes touch only the documents they change.
# ---------------------------------------------------------------------------------------------


class _ChangeView(MutableMapping):  # type: ignore[type-arg]
    """What TinyDB's updaters see instead of a converted copy of the whole table.

    TinyDB's ``Table._update_table`` converts every document id of the table to ``int`` and
    back on each write (O(table size)). This view presents the stored table with ``int`` ids
    but records only what an updater reads or changes: a document read for writing is cloned, so
    the stored data stays untouched until the change is durable.
    """

    __slots__ = ("_raw", "_new", "_set", "_gone", "_cleared")

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._new: dict[str, Any] = {}
        self._set: set[str] = set()  # ids assigned (not just read): always written
        self._gone: set[str] = set()
        self._cleared = False

    def _stored(self, sid: str) -> bool:
        return not self._cleared and sid in self._raw and sid not in self._gone

    def __contains__(self, doc_id: object) -> bool:
        sid = str(doc_id)
        return sid in self._new or self._stored(sid)

    def __getitem__(self, doc_id: Any) -> Any:
        sid = str(doc_id)
        doc = self._new.get(sid)
        if doc is None:
            if not self._stored(sid):
                raise KeyError(doc_id)
            doc = self._new[sid] = _clone(self._raw[sid])
        return doc

    def __setitem__(self, doc_id: Any, doc: Any) -> None:
        sid = str(doc_id)
        self._new[sid] = doc
        self._set.add(sid)

    def __delitem__(self, doc_id: Any) -> None:
        sid = str(doc_id)
        stored = self._stored(sid)
        if self._new.pop(sid, None) is None and not stored:
            raise KeyError(doc_id)
        self._set.discard(sid)
        if stored:
            self._gone.add(sid)

    def __iter__(self) -> Iterator[int]:
        if not self._cleared:
            for sid in list(self._raw):
                if sid not in self._gone and sid not in self._new:
                    yield int(sid)
        for sid in list(self._new):
            yield int(sid)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def clear(self) -> None:
        self._cleared = True
        self._new.clear()
        self._set.clear()
        self._gone.clear()

    def changes(self) -> tuple[dict[str, Any], bool]:
        changes: dict[str, Any] = {}
        for sid, doc in self._new.items():
            if self._cleared or sid in self._set or not _same(self._raw.get(sid), doc):
                changes[sid] = doc
        for sid in self._gone:
            if sid not in self._new:
                changes[sid] = None
        return changes, self._cleared


class StoreTable(TinyTable):
    """A TinyDB table whose writes cost O(changed documents), each one journal record."""

    _storage: JournalStorage

    def _update_table(self, updater: Callable[[dict[int, Any]], None]) -> None:
        view = _ChangeView(self._storage.table_data(self.name))
        try:
            updater(view)  # type: ignore[arg-type]
        finally:
            self.clear_cache()
        changes, cleared = view.changes()
        if changes or cleared or self.name not in self._storage.read():
            self._storage.commit(self.name, changes, cleared)

    def replace(self, doc_id: int, document: dict[str, Any]) -> None:
        """Replace the whole document ``doc_id`` (TinyDB's ``upsert`` would merge fields)."""

        def updater(table: dict[int, Any]) -> None:
            table[doc_id] = dict(document)

        self._update_table(updater)

    def write_many(self, entries: list[tuple[int | None, dict[str, Any]]]) -> list[int]:
        """Store several whole documents (``None`` as id: a new document) in one journal record;
        returns their ids, in order."""
        ids = [doc_id if doc_id is not None else self._get_next_id() for doc_id, _ in entries]

        def updater(table: dict[int, Any]) -> None:
            for doc_id, (_, document) in zip(ids, entries, strict=False):
                table[doc_id] = dict(document)

        self._update_table(updater)
        return ids

    def raw_document(self, doc_id: int) -> dict[str, Any] | None:
        """The stored document itself (not a copy): callers must not mutate it."""
        return self._storage.table_data(self.name).get(str(doc_id))

    def raw_items(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._storage.table_data(self.name).items())


class _StateDB(TinyDB):
    table_class = StoreTable


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells ``1``, ``1.0`` and ``True`` apart (they serialise differently)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))
    return bool(a == b)


def _clone(value: Any) -> Any:
    """Deep copy of a JSON value (dicts, lists, scalars), much faster than ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: _clone(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if type(value) is list:
        return [_clone(v) if type(v) in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = (dict, list)


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    """A private copy of a stored document without its key."""
    return {k: _clone(v) if type(v) in _CONTAINERS else v for k, v in doc.items() if k != "_key"}


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


class Table:
    """A key → document mapping inside the store.

    Documents are copied in and out: mutating a document you passed to ``put`` or got from
    ``get`` never changes the store; only the write methods do.
    """

    def __init__(self, store: Store, name: str) -> None:
        if name.startswith("_"):
            raise ValueError(f"table names starting with '_' are reserved: {name!r}")
        self._store = store
        self._table: StoreTable = store._db.table(name)  # type: ignore[assignment]
        self.name = name
        self._index: dict[str, int] = {
            doc["_key"]: int(doc_id) for doc_id, doc in self._table.raw_items() if "_key" in doc
        }

    def get(self, key: str) -> dict[str, Any] | None:
        doc_id = self._index.get(key)
        if doc_id is None:
            return None
        doc = self._table.raw_document(doc_id)
        return _public(doc) if doc is not None else None

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def put(self, key: str, doc: dict[str, Any]) -> None:
        """Insert or replace the whole document under ``key``."""
        body = {**doc, "_key": key}
        doc_id = self._index.get(key)
        if doc_id is None:
            self._index[key] = self._table.insert(body)
        else:
            self._table.replace(doc_id, body)

    def put_many(self, items: Mapping[str, dict[str, Any]] | Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Insert or replace several whole documents as ONE write: one journal record, one
        fdatasync, so after a crash either all of them are stored or none is. Returns how many
        documents were written (a key given twice counts once; its last document wins).

        Everything is checked before anything is written: a key that is not a string, a
        document that is not a mapping (``TypeError``) or a value that JSON cannot hold
        (``TypeError``/``ValueError`` from the serialiser) rejects the whole batch and leaves
        the table as it was.
        """
        pairs = items.items() if isinstance(items, Mapping) else items
        bodies: dict[str, dict[str, Any]] = {}
        for pair in pairs:
            key, doc = pair
            if not isinstance(key, str):
                raise TypeError(f"store keys are strings, not {type(key).__name__}: {key!r}")
            if not isinstance(doc, Mapping):
                raise TypeError(f"document for {key!r} is a {type(doc).__name__}, not a mapping")
            bodies.pop(key, None)  # a repeated key: its last document wins
            bodies[key] = {**doc, "_key": key}
        if not bodies:
            return 0
        doc_ids = self._table.write_many([(self._index.get(key), body) for key, body in bodies.items()])
        for key, doc_id in zip(bodies, doc_ids, strict=False):
            self._index[key] = doc_id
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
        if key in self._index:
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
        doc_id = self._index.get(key)
        if doc_id is None:
            return False
        self._table.remove(doc_ids=[doc_id])
        del self._index[key]
        return True

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for _, doc in self._table.raw_items():
            if "_key" in doc:
                yield doc["_key"], _public(doc)

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> list[tuple[str, dict[str, Any]]]:
        return [(key, doc) for key, doc in self.items() if predicate(doc)]

    def prune(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        """Delete every document matching ``predicate`` (one write); returns how many."""
        doomed = [
            (doc["_key"], int(doc_id))
            for doc_id, doc in self._table.raw_items()
            if "_key" in doc and predicate(_public(doc))
        ]
        if doomed:
            self._table.remove(doc_ids=[doc_id for _, doc_id in doomed])
            for key, _ in doomed:
                self._index.pop(key, None)
        return len(doomed)

    def __len__(self) -> int:
        return len(self._index)


class Store:
    """The bot's state: named tables of key → document, file-backed or in memory."""

    def __init__(self, db: TinyDB, path: Path | None) -> None:
        self._db = db
        self.path = path
        self._tables: dict[str, Table] = {}
        self._audit_seq = 0

    @property
    def _storage(self) -> JournalStorage:
        return self._db.storage  # type: ignore[return-value]

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (or create) the state file. A corrupt or foreign file is moved aside and
        :class:`StoreError` explains where; it is never silently overwritten."""
        file_path = Path(path)
        storage = JournaledFileStorage(file_path)
        storage.lock()
        try:
            try:
                had_snapshot = storage.load_snapshot()
            except _Corrupt as exc:
                moved = _move_aside(file_path, storage.journal_path)
                raise StoreError(
                    f"state file {file_path} cannot be used ({exc}); it was moved to {moved}. "
                    "Start again to begin with a fresh state, or restore a backup to that path."
                ) from None
            try:
                storage.load_journal(had_snapshot)
            except _Corrupt as exc:
                moved = _move_aside(storage.journal_path)
                raise StoreError(
                    f"state journal {storage.journal_path} cannot be used ({exc}); it was moved "
                    f"to {moved}. Start again to continue from the state file alone (writes "
                    "since its last snapshot are lost), or repair the journal and put it back."
                ) from None
            storage.finish_open(had_snapshot)
        except OSError as exc:
            storage.release()
            raise StoreError(f"state file {file_path} cannot be read or written: {exc.strerror or exc}") from None
        except BaseException:
            storage.release()
            raise
        db = _StateDB(storage=lambda: storage)  # type: ignore[arg-type]
        store = cls(db, file_path)
        store._mark()
        return store

    @classmethod
    def memory(cls) -> Store:
        """The in-memory twin: same behaviour, nothing on disk."""
        storage = JournalStorage()
        store = cls(_StateDB(storage=lambda: storage), None)  # type: ignore[arg-type]
        store._mark()
        return store

    def _mark(self) -> None:
        meta = self.table("meta")
        if meta.get("format") is None:
            meta.put("format", {"mark": FORMAT_MARK, "version": FORMAT_VERSION})

    def table(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = Table(self, name)
        return self._tables[name]

    def audit(self, actor: str | int, action: str, target: str, **details: Any) -> None:
        """Append an audit record: who did what to which item, when (and a trace id, if any)."""
        self._audit_seq += 1
        key = f"{time.time_ns()}-{self._audit_seq}"
        self.table("audit").put(
            key, {"at": time.time(), "actor": str(actor), "action": action, "target": target, **details}
        )

    def compact(self) -> None:
        """Fold the journal into a new snapshot now (normally automatic; no-op in memory)."""
        try:
            self._storage.compact()
        except OSError as exc:
            raise StoreError(f"state file {self.path} cannot be compacted: {exc.strerror or exc}") from None

    def size_bytes(self) -> int:
        """Bytes on disk: the snapshot plus the journal (0 in memory)."""
        return self._storage.size_bytes()

    def close(self) -> None:
        self._db.close()


def _move_aside(*paths: Path) -> str:
    """Rename each existing path to ``<name>.corrupt-<time>`` (unique); describe where."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for path in paths:
        if not path.exists():
            continue
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        os.replace(path, aside)
        moved.append(str(aside))
    return " and ".join(moved) if moved else "nowhere (it disappeared)"

"""The file store: a TinyDB-compatible JSON snapshot plus an append-only, fdatasync'ed journal.

On disk (all mode 0600):

``<path>``
    the snapshot (one extra table, ``_snapshot``, holds its generation);
``<path>.journal``
    one header line naming the snapshot generation it continues, then one JSON line per write
    (a :class:`~bot.store.records.Record`), each appended and fdatasync'ed before the write
    returns;
``<path>.lock``
    an advisory ``flock``: one process at a time. A second process on the same path logs that
    it waits and takes over when the first exits (in one process, opening the path again closes
    the earlier store: a simulated restart).

Durability: a write returns only once its journal line is on disk, so every write that returned
survives a crash of the process or of the machine (as far as the disk honours a flush). A write
interrupted half-way leaves at most a torn last line, ignored on the next start: each record is
all-or-nothing. When the journal outgrows the snapshot, the snapshot is rewritten atomically
(temp file, fsync, rename, fsync of the directory) with the next generation and a fresh journal
is started the same way; a journal older than the snapshot is never replayed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from bot.store.errors import Corrupt, StoreError
from bot.store.files import atomic_write, directory_of, move_aside, remove_stale_temps
from bot.store.records import SNAPSHOT_TABLE, Data, Record, apply, dumps, valid_data, valid_record
from bot.store.storage import Health

log = logging.getLogger(__name__)

FORMAT_MARK = "resont-miogram-bot/state"
FORMAT_VERSION = 1
JOURNAL_MARK = "resont-miogram-bot/state-journal"
JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"


class Compaction:
    """When the journal is folded into a new snapshot: once it is larger than both
    ``min_bytes`` and ``ratio`` × the snapshot, so the cost of rewriting the snapshot, spread
    over the writes that filled the journal, stays proportional to the size of one write."""

    min_bytes: ClassVar[int] = 1 << 20
    ratio: ClassVar[float] = 1.0


class FileBackend:
    """The snapshot + journal pair at ``path``; see the module docstring."""

    #: resolved path → the backend holding it in this process (flock would make a second open
    #: in the same process wait for itself; a restart simulated in-process closes the first)
    holders: ClassVar[dict[str, weakref.ref[FileBackend]]] = {}

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + JOURNAL_SUFFIX)
        self.lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        self.generation = 0
        self.compactions = 0
        self.closed = False
        self.fd: int | None = None
        self.lock_fd: int | None = None
        self.journal_bytes = 0
        self.snapshot_bytes = 0
        #: the journal cannot take more records (its tail is unknown, or a compaction wrote the
        #: snapshot but not the new journal): the next write compacts first
        self.journal_pending = False
        self.next_compact_try = 0
        self.data: Data = {}
        self.deferring = self.unflushed = False  # see deferred_flush

    # -- start-up -----------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the per-path lock; when another process holds it, log so and wait for it."""
        self.fence_earlier()
        directory_of(self.path).mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning(
                    "state file %s is in use by another running bot (lock %s); waiting for it to exit before starting",
                    self.path,
                    self.lock_path,
                )
                fcntl.flock(fd, fcntl.LOCK_EX)
                log.info("state file %s: the other bot exited; taking over", self.path)
            os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            raise
        self.lock_fd = fd
        self.holders[str(self.path.resolve())] = weakref.ref(self)

    def fence_earlier(self) -> None:
        """Opening a path again in this process (a simulated restart) closes the earlier store."""
        entry = self.holders.pop(str(self.path.resolve()), None)
        earlier = entry() if entry is not None else None
        if earlier is not None and not earlier.closed:
            log.warning("state file %s opened again; the earlier store is closed", self.path)
            earlier.close()

    def load_snapshot(self) -> bool:
        """Read the snapshot; True when there was one. Raises Corrupt."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return False
        if not raw.strip():
            return False
        try:
            data = json.loads(raw)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError
            raise Corrupt("it is not valid JSON") from None
        if not valid_data(data):
            raise Corrupt("it is not a TinyDB document")
        snapshot = data.pop(SNAPSHOT_TABLE, {})
        generation = snapshot.get("1", {}).get("generation", 0)
        if type(generation) is not int or generation < 0:
            raise Corrupt("its snapshot generation is not a number")
        marks = [doc for doc in data.get("meta", {}).values() if doc.get("_key") == "format"]
        if data and (not marks or marks[0].get("mark") != FORMAT_MARK):
            raise Corrupt("it was not written by this bot")
        self.data = data
        self.generation = generation
        self.snapshot_bytes = len(raw)
        return True

    def load_journal(self, have_snapshot: bool) -> None:
        """Replay the journal if it continues the snapshot. Raises Corrupt (about the journal)."""
        try:
            raw = self.journal_path.read_bytes()
        except FileNotFoundError:
            return  # finish_open starts one
        if not have_snapshot:
            raise Corrupt("it has no snapshot next to it (the state file is missing)")
        lines = raw.split(b"\n")
        # ``lines[-1]`` is what follows the last newline: empty, or a write that never finished.
        generation = self.journal_generation(lines[0] if len(lines) > 1 else b"")
        if generation < self.generation:
            log.info(
                "state journal %s (generation %d) is older than the snapshot (generation %d) "
                "and already contained in it; starting a new journal",
                self.journal_path,
                generation,
                self.generation,
            )
            self.start_journal(self.generation)
            return
        if generation > self.generation:
            raise Corrupt(
                f"it continues snapshot generation {generation} but the state file is "
                f"generation {self.generation} (was an older state file restored?)"
            )
        self.replay(lines)

    @staticmethod
    def journal_generation(first_line: bytes) -> int:
        try:
            header = json.loads(first_line) if first_line else None
        except ValueError:  # JSONDecodeError, UnicodeDecodeError
            header = None
        if (
            not isinstance(header, dict)
            or header.get("journal") != JOURNAL_MARK
            or not isinstance(header.get("generation"), int)
        ):
            raise Corrupt("its header is not a journal header of this bot")
        generation: int = header["generation"]
        return generation

    def replay(self, lines: list[bytes]) -> None:
        """Apply the journal's records; a torn last record is cut off (with a warning)."""
        good_end = len(lines[0]) + 1
        complete = lines[1:-1]
        torn = lines[-1]
        for number, line in enumerate(complete, start=2):
            try:
                record = json.loads(line)
                ok = valid_record(record)
            except ValueError:  # JSONDecodeError, UnicodeDecodeError
                ok = False
            if not ok:
                if number == len(complete) + 1 and not torn:
                    torn = line + b"\n"  # the last line: a write cut short (e.g. power loss)
                    break
                raise Corrupt(f"line {number} is not a valid record")
            apply(self.data, record)
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
        self.fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        self.journal_bytes = good_end

    def finish_open(self, had_snapshot: bool) -> None:
        if not had_snapshot:
            # A new state: the first snapshot carries the format mark, so the file on disk is
            # recognisable as ours from the start.
            self.data = {"meta": {"1": {"_key": "format", "mark": FORMAT_MARK, "version": FORMAT_VERSION}}}
            self.write_snapshot(self.data, self.generation)
            self.start_journal(self.generation)
        else:
            os.chmod(self.path, 0o600)
            if self.fd is None:
                self.start_journal(self.generation)
        remove_stale_temps(self.path)
        remove_stale_temps(self.journal_path)
        self.after_persist(self.data)

    def release(self) -> None:
        """Close file descriptors (the journal and the lock) after a failed open or on close."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the flock
            self.lock_fd = None
            entry = self.holders.get(str(self.path.resolve()))
            if entry is not None and entry() is self:
                del self.holders[str(self.path.resolve())]

    # -- Backend ------------------------------------------------------------------------------

    def persist(self, record: Record, line: str) -> None:
        if self.closed:
            raise StoreError("the state store is closed; no further writes are accepted")
        if self.journal_pending:
            # The journal is unusable (see below): fold everything into a new snapshot first.
            try:
                self.compact(self.data)
            except OSError as exc:
                raise StoreError(f"state file {self.path} cannot be written: {exc.strerror or exc}") from None
        self.append((line + "\n").encode("utf-8"))

    def append(self, encoded: bytes) -> None:
        """Write and fdatasync one journal line; on failure take back what was written."""
        fd = self.fd
        assert fd is not None
        start = self.journal_bytes
        try:
            view = memoryview(encoded)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self.deferring:
                self.unflushed = True
            else:
                os.fdatasync(fd)
        except OSError as exc:
            try:  # take back a partial line so the next record does not land after garbage
                os.ftruncate(fd, start)
            except OSError:
                self.journal_pending = True  # its tail is unknown: never append to it again
            raise StoreError(f"state journal {self.journal_path} cannot be written: {exc.strerror}") from None
        self.journal_bytes = start + len(encoded)

    @contextmanager
    def deferred_flush(self) -> Iterator[None]:
        """Appends inside leave their fdatasync to :meth:`take_flush` (``Store.durably``)."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False

    def take_flush(self) -> int | None:
        """A duplicate of the journal's descriptor to fdatasync and close, if appends wait for
        it (a compaction may replace the journal meanwhile: its records are in the snapshot)."""
        if not self.unflushed or self.fd is None:
            return None
        self.unflushed = False
        return os.dup(self.fd)

    def flush_failed(self) -> None:
        """The journal's tail is unknown; the next write folds memory into a new snapshot."""
        self.journal_pending = True

    def after_persist(self, data: Data) -> None:
        self.data = data
        if self.journal_bytes > self.compact_threshold():
            try:
                self.compact(data)
            except OSError as exc:
                # The journal still holds everything; try again after it grew by half again.
                self.next_compact_try = self.journal_bytes + self.journal_bytes // 2
                log.error("state file %s: compaction failed (%s); will retry", self.path, exc)

    def compact_threshold(self) -> int:
        by_ratio = int(self.snapshot_bytes * Compaction.ratio)
        return max(Compaction.min_bytes, by_ratio, self.next_compact_try)

    def compact(self, data: Data) -> None:
        """Fold the journal into a new snapshot generation and start an empty journal."""
        if self.closed:
            raise StoreError("the state store is closed; no further writes are accepted")
        self.data = data
        generation = self.generation + 1
        self.write_snapshot(data, generation)
        self.generation = generation
        self.journal_pending = True  # the old journal must not be appended to any more
        self.start_journal(generation)
        self.next_compact_try = 0
        self.compactions += 1

    def rewrite(self, data: Data) -> None:
        self.compact(data)

    def write_snapshot(self, data: Data, generation: int) -> None:
        snapshot = {**data, SNAPSHOT_TABLE: {"1": {"generation": generation}}}
        payload = dumps(snapshot).encode("utf-8")
        atomic_write(self.path, payload)
        self.snapshot_bytes = len(payload)

    def start_journal(self, generation: int) -> None:
        header = {"journal": JOURNAL_MARK, "version": FORMAT_VERSION, "generation": generation}
        payload = json.dumps(header).encode("utf-8") + b"\n"
        atomic_write(self.journal_path, payload)
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        if self.fd is not None:
            os.close(self.fd)
        self.fd = fd
        self.journal_bytes = len(payload)
        self.journal_pending = False

    def size_bytes(self) -> int:
        total = 0
        for path in (self.path, self.journal_path):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    def health(self) -> Health:
        return Health("file", str(self.path))

    def close(self) -> None:
        self.closed = True
        self.release()


def open_file(path: str | os.PathLike[str]) -> FileBackend:
    """Lock and load the state at ``path`` (created when absent). A corrupt or foreign file is
    moved aside and :class:`StoreError` explains where; it is never silently overwritten."""
    backend = FileBackend(path)
    backend.lock()
    try:
        load(backend)
    except OSError as exc:
        backend.release()
        raise StoreError(f"state file {backend.path} cannot be read or written: {exc.strerror or exc}") from None
    except BaseException:
        backend.release()
        raise
    return backend


def load(backend: FileBackend) -> None:
    try:
        had_snapshot = backend.load_snapshot()
    except Corrupt as exc:
        moved = move_aside(backend.path, backend.journal_path)
        raise StoreError(
            f"state file {backend.path} cannot be used ({exc}); it was moved to {moved}. "
            "Start again to begin with a fresh state, or restore a backup to that path."
        ) from None
    try:
        backend.load_journal(had_snapshot)
    except Corrupt as exc:
        moved = move_aside(backend.journal_path)
        raise StoreError(
            f"state journal {backend.journal_path} cannot be used ({exc}); it was moved "
            f"to {moved}. Start again to continue from the state file alone (writes "
            "since its last snapshot are lost), or repair the journal and put it back."
        ) from None
    backend.finish_open(had_snapshot)

"""One storage, three homes: the data lives in memory, a backend makes each change durable.

:class:`StateStorage` is what TinyDB sees: it keeps every table in memory (reads never leave
the process) and turns each change into one :class:`~bot.store.records.Record`, which its
:class:`Backend` makes durable *before* memory changes, so a write that raised changed nothing.
The backends: :class:`MemoryBackend` (the in-memory twin used by tests: every change still goes
through the same serialisation, only nothing is kept), ``bot.store.journal.FileBackend`` (a
snapshot and an fdatasync'ed journal) and ``bot.store.postgres.PostgresBackend`` (one row per
document, one transaction per record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from tinydb.storages import Storage

from bot.store.errors import StoreError
from bot.store.records import Data, Record, apply, dumps, encode


@dataclass(frozen=True)
class Health:
    """Where the state lives and whether writes can be made now (for ``/status`` and logs)."""

    kind: str  #: ``memory``, ``file`` or ``postgresql``
    where: str  #: a path, or the database without its password
    available: bool = True
    since: float | None = None  #: ``time.time()`` when it became unavailable
    detail: str = ""  #: why it is unavailable (one line, no secret)


class Backend(Protocol):
    """Where committed records go. Every method either succeeds or raises ``StoreError`` (or
    ``OSError`` from a file) having written nothing that a restart would read back."""

    def persist(self, record: Record, line: str) -> None:
        """Make one record durable (``line`` is its JSON)."""

    def after_persist(self, data: Data) -> None:
        """Housekeeping after a record was applied to ``data`` (e.g. compaction)."""

    def rewrite(self, data: Data) -> None:
        """Replace the whole durable state with ``data``."""

    def compact(self, data: Data) -> None:
        """Fold history into one snapshot of ``data`` (no-op where there is no history)."""

    def size_bytes(self) -> int:
        """Bytes used by the durable state (0 when unknown or in memory)."""

    def health(self) -> Health:
        """Kind, place and availability."""

    def close(self) -> None:
        """Release files, locks and connections."""


class MemoryBackend:
    """Nothing is kept: the in-memory twin (tests, and ``Store.memory()``)."""

    def persist(self, record: Record, line: str) -> None:
        pass

    def after_persist(self, data: Data) -> None:
        pass

    def rewrite(self, data: Data) -> None:
        pass

    def compact(self, data: Data) -> None:
        pass

    def size_bytes(self) -> int:
        return 0

    def health(self) -> Health:
        return Health("memory", "memory (nothing is kept after the process ends)")

    def close(self) -> None:
        pass


class StateStorage(Storage):
    """TinyDB storage: the data in memory, each change one record made durable by ``backend``."""

    def __init__(self, backend: Backend, data: Data | None = None) -> None:
        self.backend = backend
        self.data: Data = data if data is not None else {}
        self.closed = False
        #: records committed (for tests and benchmarks)
        self.writes = 0

    # -- TinyDB Storage interface -------------------------------------------------------------

    def read(self) -> Data:
        return self.data

    def write(self, data: Data) -> None:
        """Whole-database write (only TinyDB's generic paths, e.g. ``drop_table``, and
        ``state import`` use it)."""
        self.check_open()
        normalised: Data = json.loads(dumps(data))
        self.backend.rewrite(normalised)
        self.data = normalised

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.backend.close()

    # -- the fast path ------------------------------------------------------------------------

    def table_data(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})

    def commit(self, table: str, changes: dict[str, Any], cleared: bool = False) -> None:
        """Apply ``changes`` (doc_id → document, or None to delete) to ``table`` as one record.

        The record is serialised first and made durable second; memory changes last, so a
        failure at any step leaves the state as it was.
        """
        self.check_open()
        record: Record = {"t": table, "c": changes}
        if cleared:
            record["clear"] = True
        line, decoded = encode(record)
        self.backend.persist(decoded, line)
        apply(self.data, decoded)
        self.writes += 1
        self.backend.after_persist(self.data)

    def check_open(self) -> None:
        if self.closed:
            raise StoreError("the state store is closed; no further writes are accepted")

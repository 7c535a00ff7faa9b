"""The TinyDB layer: a table class whose writes touch only the documents they change.

The only module (with ``bot.store.storage``) that imports tinydb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table as TinyTable

from bot.store.records import clone, same
from bot.store.storage import StateStorage


class ChangeView(MutableMapping[int, Any]):
    """What TinyDB's updaters see instead of a converted copy of the whole table.

    TinyDB's ``Table._update_table`` converts every document id of the table to ``int`` and
    back on each write (O(table size)). This view presents the stored table with ``int`` ids
    but records only what an updater reads or changes: a document read for writing is cloned, so
    the stored data stays untouched until the change is durable.
    """

    __slots__ = ("raw", "new", "assigned", "gone", "cleared")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.new: dict[str, Any] = {}
        self.assigned: set[str] = set()  # ids assigned (not just read): always written
        self.gone: set[str] = set()
        self.cleared = False

    def stored(self, sid: str) -> bool:
        return not self.cleared and sid in self.raw and sid not in self.gone

    def __contains__(self, doc_id: object) -> bool:
        sid = str(doc_id)
        return sid in self.new or self.stored(sid)

    def __getitem__(self, doc_id: int) -> Any:
        sid = str(doc_id)
        doc = self.new.get(sid)
        if doc is None:
            if not self.stored(sid):
                raise KeyError(doc_id)
            doc = self.new[sid] = clone(self.raw[sid])
        return doc

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        sid = str(doc_id)
        self.new[sid] = doc
        self.assigned.add(sid)

    def __delitem__(self, doc_id: int) -> None:
        sid = str(doc_id)
        stored = self.stored(sid)
        if self.new.pop(sid, None) is None and not stored:
            raise KeyError(doc_id)
        self.assigned.discard(sid)
        if stored:
            self.gone.add(sid)

    def __iter__(self) -> Iterator[int]:
        if not self.cleared:
            for sid in list(self.raw):
                if sid not in self.gone and sid not in self.new:
                    yield int(sid)
        for sid in list(self.new):
            yield int(sid)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def clear(self) -> None:
        self.cleared = True
        self.new.clear()
        self.assigned.clear()
        self.gone.clear()

    def changes(self) -> tuple[dict[str, Any], bool]:
        changes: dict[str, Any] = {}
        for sid, doc in self.new.items():
            if self.cleared or sid in self.assigned or not same(self.raw.get(sid), doc):
                changes[sid] = doc
        for sid in self.gone:
            if sid not in self.new:
                changes[sid] = None
        return changes, self.cleared


class StoreTable(TinyTable):
    """A TinyDB table whose writes cost O(changed documents), each one record."""

    _storage: StateStorage

    def _update_table(self, updater: Callable[[dict[int, Any]], None]) -> None:
        view = ChangeView(self._storage.table_data(self.name))
        try:
            updater(view)  # type: ignore[arg-type]  # a mapping with the dict API TinyDB uses
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
        """Store several whole documents (``None`` as id: a new document) in one record;
        returns their ids, in order."""
        ids = [
            doc_id if doc_id is not None else self._get_next_id()  # type: ignore[no-untyped-call]
            for doc_id, _ in entries
        ]

        def updater(table: dict[int, Any]) -> None:
            for doc_id, (_, document) in zip(ids, entries, strict=True):
                table[doc_id] = dict(document)

        self._update_table(updater)
        return ids

    def raw_document(self, doc_id: int) -> dict[str, Any] | None:
        """The stored document itself (not a copy): callers must not mutate it."""
        doc: dict[str, Any] | None = self._storage.table_data(self.name).get(str(doc_id))
        return doc

    def raw_items(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._storage.table_data(self.name).items())


class StateDB(TinyDB):
    """TinyDB over one :class:`StateStorage` with :class:`StoreTable` tables."""

    table_class = StoreTable

    def __init__(self, storage: StateStorage) -> None:
        super().__init__(storage=lambda: storage)
        self.state_storage = storage

"""The unit of change: one record per write, and the JSON helpers every storage shares.

A record is ``{"t": table, "c": {doc_id: document or None}}`` (``None`` deletes), with
``"clear": true`` when the table was emptied first. The file store appends records to its
journal as JSON lines; the PostgreSQL store turns each into one statement; memory applies it.
Documents are JSON values: what is kept is what ``json.dumps`` wrote, so every storage reads
back exactly what a restart of the file store would.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

#: Reserved snapshot table holding ``{"1": {"generation": n}}``; hidden from the tables.
SNAPSHOT_TABLE = "_snapshot"

Data = dict[str, dict[str, Any]]
"""All tables: table name → doc id (decimal string) → document."""


class Record(TypedDict):
    """One write: changes of one table, applied all together or not at all."""

    t: str
    c: dict[str, dict[str, Any] | None]
    clear: NotRequired[bool]


def dumps(value: Any) -> str:
    """Compact JSON (UTF-8 kept as is); the one serialiser of the store."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode(record: Record) -> tuple[str, Record]:
    """The record's JSON line and the record as it will be read back (values normalised by
    JSON: tuples become lists, int keys strings). Raises TypeError/ValueError for a value JSON
    cannot hold, before anything is written."""
    line = dumps(record)
    decoded: Record = json.loads(line)
    return line, decoded


def apply(data: Data, record: Record) -> None:
    """Apply ``record`` to ``data`` in place."""
    table = data.setdefault(record["t"], {})
    if record.get("clear"):
        table.clear()
    for doc_id, doc in record["c"].items():
        if doc is None:
            table.pop(doc_id, None)
        else:
            table[doc_id] = doc


def valid_record(record: Any) -> bool:
    """True when ``record`` (parsed from a journal line) is shaped like a :class:`Record`."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("t"), str)
        and record["t"] != SNAPSHOT_TABLE
        and isinstance(record.get("c"), dict)
        and all(doc_id.isdigit() and (isinstance(doc, dict) or doc is None) for doc_id, doc in record["c"].items())
    )


def valid_data(data: Any) -> bool:
    """True when ``data`` is shaped like :data:`Data` (TinyDB's raw layout)."""
    return isinstance(data, dict) and all(
        isinstance(table, dict) and all(doc_id.isdigit() and isinstance(doc, dict) for doc_id, doc in table.items())
        for table in data.values()
    )


def same(a: Any, b: Any) -> bool:
    """Equality that also tells ``1``, ``1.0`` and ``True`` apart (they serialise differently)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def clone(value: Any) -> Any:
    """Deep copy of a JSON value (dicts, lists, scalars), much faster than ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: clone(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if type(value) is list:
        return [clone(v) if type(v) in (dict, list) else v for v in value]
    return value


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A private copy of a stored document without its key."""
    return {k: clone(v) if type(v) in (dict, list) else v for k, v in doc.items() if k != "_key"}

"""Moving and keeping the state: a JSON export of every table, and its import.

The export is one JSON document::

    {"format": "resont-miogram-bot/state-export", "version": 1,
     "exported_at": "2026-12-06T09:00:00+00:00", "source": "PostgreSQL bot@host:5432/db",
     "left_out": [], "tables": {"cards": {"<key>": {document}, …}, …}}

keyed by the documents' keys (not by storage ids), so it moves between the file store and
PostgreSQL in either direction. ``left_out`` names the tables an export for people (``/backup``)
leaves out because they hold secrets: :data:`SECRET_TABLES` (OAuth tokens).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypedDict

from bot.store.records import SNAPSHOT_TABLE, Data, dumps, public
from bot.store.state import Store

EXPORT_MARK = "resont-miogram-bot/state-export"
EXPORT_VERSION = 1
#: Tables holding secrets: left out of exports meant for people.
SECRET_TABLES = ("oauth",)


class Export(TypedDict):
    format: str
    version: int
    exported_at: str
    source: str
    left_out: list[str]
    tables: dict[str, dict[str, dict[str, Any]]]


class ImportRefused(ValueError):
    """The file cannot be imported; ``str()`` says why in one line."""


def export_state(store: Store, *, secrets: bool = True) -> Export:
    """Every table of ``store`` (without :data:`SECRET_TABLES` unless ``secrets``)."""
    left_out = [] if secrets else [t for t in SECRET_TABLES if store.storage.table_data(t)]
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for name, docs in sorted(store.storage.data.items()):
        if name == SNAPSHOT_TABLE or name in left_out or (not secrets and name in SECRET_TABLES):
            continue
        tables[name] = {doc["_key"]: public(doc) for doc in docs.values() if "_key" in doc}
    return {
        "format": EXPORT_MARK,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": store.health().where,
        "left_out": left_out,
        "tables": tables,
    }


def export_bytes(export: Export) -> bytes:
    """The export as indented UTF-8 JSON."""
    return json.dumps(export, ensure_ascii=False, indent=1).encode("utf-8")


def parse_export(raw: bytes) -> Export:
    """Read and check an export; ImportRefused says what is wrong with it."""
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ImportRefused("the file is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_MARK:
        raise ImportRefused("the file is not a state export of this bot")
    if doc.get("version") != EXPORT_VERSION:
        raise ImportRefused(
            f"the export has format version {doc.get('version')!r}; this bot reads version {EXPORT_VERSION}"
        )
    tables = doc.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(name, str)
        and not name.startswith("_")
        and isinstance(docs, dict)
        and all(isinstance(k, str) and isinstance(v, dict) for k, v in docs.items())
        for name, docs in tables.items()
    ):
        raise ImportRefused("the export's tables are malformed")
    export: Export = doc  # type: ignore[assignment]  # checked field by field above
    return export


def import_state(store: Store, export: Export, *, replace: bool = False) -> int:
    """Replace the state of ``store`` with ``export`` in one write (all or nothing); returns
    the number of documents. Refuses a store that already holds state unless ``replace``."""
    if not replace and holds_state(store):
        raise ImportRefused(
            f"{store.health().where} already holds state; import into an empty store, or pass --replace to overwrite it"
        )
    data: Data = {}
    count = 0
    for name, docs in export["tables"].items():
        data[name] = {str(n): {**doc, "_key": key} for n, (key, doc) in enumerate(docs.items(), start=1)}
        count += len(docs)
    json.loads(dumps(data))  # refuse what JSON cannot hold before anything is written
    store.replace_all(data)
    return count


def holds_state(store: Store) -> bool:
    """True when any table other than ``meta`` has a document."""
    return any(docs for name, docs in store.storage.data.items() if name != "meta")


def summary(export: Export) -> tuple[int, int]:
    """(tables, documents) in ``export``."""
    return len(export["tables"]), sum(len(docs) for docs in export["tables"].values())

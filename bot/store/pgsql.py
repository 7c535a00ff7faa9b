"""The SQL of the PostgreSQL store (``bot.store.postgres`` decides when each runs)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from bot.store.pgurl import DatabaseUrl
from bot.store.records import Data, dumps

#: The session advisory lock of the active bot (advisory locks are per database).
LOCK_KEY = 0x52_4D_42_6F_74  # "RMBot"

Rows = dict[str, str | None]
"""doc id → the document's JSON text, or None to delete it."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS bot_state (
    tbl text NOT NULL,
    id bigint NOT NULL,
    doc text NOT NULL,
    PRIMARY KEY (tbl, id)
)
"""

#: Each write is one statement, hence one transaction (autocommit), of the simplest shape it
#: needs: upserts only (the common case), deletes only, both (disjoint ids), or a cleared table.
UPSERT = """
INSERT INTO bot_state (tbl, id, doc)
SELECT %(t)s, u.id, u.doc FROM unnest(%(ids)s::bigint[], %(docs)s::text[]) AS u(id, doc)
ON CONFLICT (tbl, id) DO UPDATE SET doc = EXCLUDED.doc
"""
DELETE = "DELETE FROM bot_state WHERE tbl = %(t)s AND id = ANY(%(deleted)s::bigint[])"
BOTH = f"WITH gone AS ({DELETE}), put AS ({UPSERT}) SELECT 1"
CLEAR = f"""WITH gone AS (
    DELETE FROM bot_state WHERE tbl = %(t)s AND NOT id = ANY(%(ids)s::bigint[])
), put AS ({UPSERT}) SELECT 1"""


def connect(url: DatabaseUrl) -> psycopg.Connection[Any]:
    """A new autocommit connection (each statement is its own transaction)."""
    return psycopg.connect(url.conninfo(), autocommit=True)


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    conn.execute(SCHEMA)


def load_rows(conn: psycopg.Connection[Any]) -> Data:
    """Every document, as the file store would read them."""
    data: Data = {}
    with conn.cursor() as cur:
        cur.execute("SELECT tbl, id, doc FROM bot_state")
        for table, doc_id, doc in cur:
            data.setdefault(table, {})[str(doc_id)] = json.loads(doc)
    return data


def write(conn: psycopg.Connection[Any], table: str, rows: Rows, clear: bool = False) -> None:
    """Apply ``rows`` to ``table`` in one statement (``clear``: every other row goes)."""
    ids = [int(i) for i, doc in rows.items() if doc is not None]
    deleted = [int(i) for i, doc in rows.items() if doc is None]
    sql = CLEAR if clear else (BOTH if ids else DELETE) if deleted else UPSERT
    docs = [doc for doc in rows.values() if doc is not None]
    conn.execute(sql.encode(), {"t": table, "ids": ids, "docs": docs, "deleted": deleted})


def replace_all(conn: psycopg.Connection[Any], data: Data) -> None:
    """Replace every document with ``data`` in one transaction."""
    with conn.transaction():
        conn.execute("DELETE FROM bot_state")
        with conn.cursor() as cur, cur.copy("COPY bot_state (tbl, id, doc) FROM STDIN") as copy:
            for table, docs in data.items():
                for doc_id, doc in docs.items():
                    copy.write_row((table, int(doc_id), dumps(doc)))


def holder_pid(conn: psycopg.Connection[Any]) -> int:
    """The server process id of the session holding the bot's lock (0: none)."""
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = %s",
        (LOCK_KEY,),
    ).fetchone()
    return int(row[0]) if row else 0

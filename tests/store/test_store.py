"""bot.store.state: the same behaviour on the file store and the in-memory twin, plus the file store's
journal, compaction, corruption handling, file modes and a kill-during-write crash test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime.locks import KeyedLocks
from bot.store import state as store_module
from bot.store.state import JOURNAL_MARK, SNAPSHOT_TABLE, Store, StoreError
from tests.store.crash_worker import WINDOW, expected

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "crash_worker.py"


class Opener:
    """Opens a store of one kind; ``reopen()`` simulates a restart (the memory twin keeps its
    instance, there is nothing to restart from)."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.path = directory / "state.json"
        self.current: Store | None = None

    def open(self) -> Store:
        self.current = Store.open(self.path) if self.kind == "file" else Store.memory()
        return self.current

    def reopen(self) -> Store:
        assert self.current is not None
        if self.kind == "memory":
            return self.current
        self.current.close()
        return self.open()


@pytest.fixture(params=["file", "memory"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    made = Opener(request.param, tmp_path)
    yield made
    if made.current is not None:
        made.current.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener.open()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def _journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------------------------
# Behaviour: both kinds
# --------------------------------------------------------------------------------------------


def test_put_get_contains_len(store: Store) -> None:
    cards = store.table("cards")
    assert cards.get("a") is None and "a" not in cards and len(cards) == 0
    cards.put("a", {"item": 1, "tags": ["x"]})
    cards.put("b", {"item": 2})
    assert cards.get("a") == {"item": 1, "tags": ["x"]}
    assert "a" in cards and "zzz" not in cards
    assert len(cards) == 2
    assert store.table("cards") is cards


def test_put_replaces_the_whole_document(store: Store) -> None:
    cards = store.table("cards")
    cards.put("a", {"x": 1, "y": 2})
    cards.put("a", {"x": 3})
    assert cards.get("a") == {"x": 3}
    assert len(cards) == 1


def test_insert_new_claims_once(store: Store) -> None:
    approvals = store.table("approvals")
    assert approvals.insert_new("post:1", {"by": 7}) is True
    assert approvals.insert_new("post:1", {"by": 8}) is False
    assert approvals.get("post:1") == {"by": 7}


def test_update_merges_and_returns_the_new_document(store: Store) -> None:
    jobs = store.table("mass_jobs")
    assert jobs.update("missing", state="x") is None
    assert "missing" not in jobs
    jobs.put("j1", {"state": "queued", "batches": [{"n": 1, "state": "new"}]})
    assert jobs.update("j1", state="running", sent=5) == {
        "state": "running",
        "batches": [{"n": 1, "state": "new"}],
        "sent": 5,
    }
    assert jobs.get("j1")["sent"] == 5


def test_delete(store: Store) -> None:
    cursors = store.table("cursors")
    cursors.put("resont", {"since": 5})
    assert cursors.delete("resont") is True
    assert cursors.delete("resont") is False
    assert cursors.get("resont") is None and len(cursors) == 0
    cursors.put("resont", {"since": 6})
    assert cursors.get("resont") == {"since": 6}


def test_items_and_find(store: Store) -> None:
    optout = store.table("optout")
    for n in range(5):
        optout.put(f"+98912000000{n}", {"n": n, "even": n % 2 == 0})
    assert sorted(key for key, _ in optout.items()) == [f"+98912000000{n}" for n in range(5)]
    found = optout.find(lambda doc: doc["even"])
    assert sorted(doc["n"] for _, doc in found) == [0, 2, 4]
    assert all("_key" not in doc for _, doc in optout.items())


def test_prune_is_one_write(store: Store) -> None:
    audit = store.table("audit")
    for n in range(10):
        audit.put(f"e{n}", {"n": n})
    writes = store._storage.writes
    assert audit.prune(lambda doc: doc["n"] < 7) == 7
    assert store._storage.writes == writes + 1
    assert sorted(doc["n"] for _, doc in audit.items()) == [7, 8, 9]
    assert len(audit) == 3 and "e0" not in audit
    assert audit.prune(lambda doc: False) == 0
    assert store._storage.writes == writes + 1


def test_put_many_is_one_write_applied_together(opener: Opener) -> None:
    store = opener.open()
    inbox = store.table("inbox")
    inbox.put("a", {"n": 0, "old": True})
    writes = store._storage.writes
    assert inbox.put_many({"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}}) == 3
    assert store._storage.writes == writes + 1
    assert dict(inbox.items()) == {"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}}  # "a" replaced whole
    # pairs work too; a key given twice is written once, its last document wins
    assert inbox.put_many([("d", {"n": 4}), ("a", {"n": 5}), ("d", {"n": 6})]) == 2
    assert store._storage.writes == writes + 2
    assert inbox.put_many({}) == 0 and inbox.put_many([]) == 0
    assert store._storage.writes == writes + 2  # nothing to write: no record
    expected = {"a": {"n": 5}, "b": {"n": 2}, "c": {"n": 3}, "d": {"n": 6}}
    assert dict(inbox.items()) == expected and len(inbox) == 4
    store = opener.reopen()
    inbox = store.table("inbox")
    assert dict(inbox.items()) == expected
    inbox.put("e", {"n": 7})  # ids keep working after a batch and a restart
    inbox.delete("b")
    assert dict(inbox.items()) == {**{k: v for k, v in expected.items() if k != "b"}, "e": {"n": 7}}


def test_update_many_merges_in_one_write(opener: Opener) -> None:
    store = opener.open()
    inbox = store.table("inbox")
    inbox.put_many({f"k{n}": {"n": n, "status": "pending"} for n in range(5)})
    writes = store._storage.writes
    assert inbox.update_many(["k0", "k2", "missing", "k4"], status="open", digest="d1") == 3
    assert store._storage.writes == writes + 1
    assert "missing" not in inbox
    assert inbox.update_many(["missing"], status="x") == 0
    assert store._storage.writes == writes + 1
    store = opener.reopen()
    got = dict(store.table("inbox").items())
    assert got == {
        f"k{n}": {"n": n, "status": "open", "digest": "d1"} if n % 2 == 0 else {"n": n, "status": "pending"}
        for n in range(5)
    }


@pytest.mark.parametrize(
    "batch",
    [
        {"a": {"n": 10}, "b": {"n": object()}},  # one value JSON cannot hold
        {"a": {"n": 10}, "new": {"n": {1, 2}}},
        [("a", {"n": 10}), ("b", ["not", "a", "mapping"])],
        [("a", {"n": 10}), (7, {"n": 1})],  # a key that is not a string
    ],
)
def test_a_rejected_batch_applies_nothing(opener: Opener, batch: Any) -> None:
    store = opener.open()
    alerts = store.table("alerts")
    alerts.put_many({"a": {"n": 1}, "b": {"n": 2}})
    writes = store._storage.writes
    with pytest.raises(TypeError):
        alerts.put_many(batch)
    with pytest.raises(TypeError):
        alerts.update_many(["a", "b"], n=object())
    assert store._storage.writes == writes
    assert dict(alerts.items()) == {"a": {"n": 1}, "b": {"n": 2}} and len(alerts) == 2
    assert "new" not in alerts
    alerts.put_many({"c": {"n": 3}, "a": {"n": 4}})
    store = opener.reopen()
    assert dict(store.table("alerts").items()) == {"a": {"n": 4}, "b": {"n": 2}, "c": {"n": 3}}


def test_a_batch_whose_write_fails_applies_nothing(opener: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    """The storage refuses the record (disk full, say): no document of the batch is applied,
    neither in memory nor in the key index, and the table keeps working."""
    store = opener.open()
    cards = store.table("cards")
    cards.put("a", {"n": 1})

    def refuse(encoded: bytes) -> None:
        raise StoreError("state journal cannot be written: No space left on device")

    monkeypatch.setattr(store._storage, "_append", refuse)
    with pytest.raises(StoreError, match="No space left"):
        cards.put_many({"a": {"n": 2}, "b": {"n": 3}, "c": {"n": 4}})
    with pytest.raises(StoreError):
        cards.update_many(["a"], n=9)
    monkeypatch.undo()
    assert dict(cards.items()) == {"a": {"n": 1}} and "b" not in cards and len(cards) == 1
    cards.put_many({"b": {"n": 5}, "c": {"n": 6}})
    store = opener.reopen()
    assert dict(store.table("cards").items()) == {"a": {"n": 1}, "b": {"n": 5}, "c": {"n": 6}}


def test_items_allows_deleting_while_iterating(store: Store) -> None:
    table = store.table("prompts")
    for n in range(5):
        table.put(str(n), {"n": n})
    for key, _ in table.items():
        table.delete(key)
    assert len(table) == 0 and list(table.items()) == []


def test_audit(store: Store) -> None:
    before = time.time()
    store.audit(42, "approve", "post:7", trace="t-1")
    store.audit("system", "send", "job:1")
    records = sorted((doc for _, doc in store.table("audit").items()), key=lambda d: d["at"])
    assert [r["action"] for r in records] == ["approve", "send"]
    assert records[0] == {
        "at": records[0]["at"],
        "actor": "42",
        "action": "approve",
        "target": "post:7",
        "trace": "t-1",
    }
    assert records[0]["at"] >= before


def test_documents_are_copied_in_and_out(store: Store) -> None:
    lists = store.table("lists")
    original = {"numbers": ["+1"], "meta": {"owner": 1}}
    lists.put("l", original)
    original["numbers"].append("+2")
    original["meta"]["owner"] = 2
    got = lists.get("l")
    assert got == {"numbers": ["+1"], "meta": {"owner": 1}}
    got["numbers"].append("+3")
    next(iter(lists.items()))[1]["numbers"].append("+4")
    lists.find(lambda doc: bool(doc["numbers"].append("+5")))
    assert lists.get("l") == {"numbers": ["+1"], "meta": {"owner": 1}}


def test_values_come_back_as_json_would_after_a_restart(opener: Opener) -> None:
    store = opener.open()
    users = store.table("users")
    users.put("1", {"pair": (1, 2), "by_id": {3: "x"}, "flag": True})
    users.put("2", {"n": 1})
    users.put("2", {"n": True})  # 1 == True in Python, but not the same JSON
    for current in (store, opener.reopen()):
        assert current.table("users").get("1") == {"pair": [1, 2], "by_id": {"3": "x"}, "flag": True}
        assert current.table("users").get("2")["n"] is True


def test_unserialisable_document_is_refused_and_nothing_changes(opener: Opener) -> None:
    store = opener.open()
    alerts = store.table("alerts")
    alerts.put("a", {"n": 1})
    with pytest.raises(TypeError):
        alerts.put("a", {"n": object()})
    with pytest.raises(TypeError):
        alerts.put("b", {"n": {1, 2}})
    assert alerts.get("a") == {"n": 1} and "b" not in alerts and len(alerts) == 1
    alerts.put("b", {"n": 2})
    store = opener.reopen()
    assert dict(store.table("alerts").items()) == {"a": {"n": 1}, "b": {"n": 2}}


def test_reserved_table_names(store: Store) -> None:
    with pytest.raises(ValueError):
        store.table(SNAPSHOT_TABLE)


def test_closed_store_refuses_writes(store: Store) -> None:
    table = store.table("cards")
    table.put("a", {"n": 1})
    store.close()
    with pytest.raises(StoreError, match="closed"):
        table.put("b", {"n": 2})
    assert table.get("a") == {"n": 1}


def test_size_bytes(opener: Opener) -> None:
    store = opener.open()
    store.table("cards").put("a", {"n": 1})
    if opener.kind == "file":
        assert store.size_bytes() == opener.path.stat().st_size + _journal(opener.path).stat().st_size
    else:
        assert store.size_bytes() == 0


def test_tinydb_generic_writes_stay_consistent(opener: Opener) -> None:
    """TinyDB's own query-based writes go through the same journalled change view."""
    from tinydb import Query  # test-only: exercising the TinyDB layer underneath

    store = opener.open()
    raw = store._db.table("cards")
    ids = [raw.insert({"_key": f"k{n}", "n": n}) for n in range(6)]
    raw.update({"big": True}, Query().n >= 4)
    raw.update(lambda doc: doc.update(n=doc["n"] * 10), doc_ids=ids[:2])
    raw.remove(Query().n == 2)
    raw.upsert({"_key": "k9", "n": 9}, Query().n == 99)
    expected = {0: {"n": 0}, 1: {"n": 10}, 3: {"n": 3}, 4: {"n": 4, "big": True}, 5: {"n": 5, "big": True}}
    assert {
        int(k): {x: y for x, y in d.items() if x != "_key"} for k, d in raw._read_table().items() if d["_key"] != "k9"
    } == {ids[i]: doc for i, doc in expected.items()}
    store = opener.reopen()
    cards = store.table("cards")
    assert cards.get("k1") == {"n": 10} and cards.get("k5") == {"n": 5, "big": True}
    assert "k2" not in cards and cards.get("k9") == {"n": 9} and len(cards) == 6
    store._db.table("cards").truncate()
    store = opener.reopen()
    assert list(store._db.table("cards")) == []


async def test_concurrent_read_modify_write_loses_no_update(store: Store) -> None:
    counters = store.table("cursors")
    locks = KeyedLocks()

    async def without_await_between(worker: int) -> None:
        for _ in range(20):
            doc = counters.get("shared") or {"n": 0}  # read and write in one step: atomic
            counters.put("shared", {"n": doc["n"] + 1})
            counters.put(f"own:{worker}", {"n": (counters.get(f"own:{worker}") or {"n": 0})["n"] + 1})
            await asyncio.sleep(0)

    async def awaiting_between(worker: int, key: str, lock: bool) -> None:
        for _ in range(10):
            async with locks(key) if lock else contextlib.nullcontext():
                doc = counters.get(key) or {"n": 0}
                await asyncio.sleep(0)  # e.g. an HTTP call between read and write
                if doc["n"] == 0:
                    counters.insert_new(key, {"n": 0})
                counters.update(key, n=doc["n"] + 1)

    await asyncio.gather(
        *(without_await_between(w) for w in range(10)),
        *(awaiting_between(w, "locked", True) for w in range(10)),
        *(awaiting_between(w, "unlocked", False) for w in range(10)),
    )
    assert counters.get("shared") == {"n": 10 * 20}
    assert all(counters.get(f"own:{w}") == {"n": 20} for w in range(10))
    assert counters.get("locked") == {"n": 10 * 10}
    assert counters.get("unlocked")["n"] < 10 * 10  # the test can see a lost update


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["put", "insert_new", "update", "delete", "prune"]),
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(-3, 3),
        ),
        max_size=30,
    )
)
def test_matches_a_dict_model(opener: Opener, ops: list[tuple[str, str, int]]) -> None:
    store = opener.open()
    table = store.table("model")
    model: dict[str, dict[str, Any]] = {key: doc for key, doc in table.items()}
    for op, key, value in ops:
        if op == "put":
            table.put(key, {"v": value})
            model[key] = {"v": value}
        elif op == "insert_new":
            assert table.insert_new(key, {"v": value}) is (key not in model)
            model.setdefault(key, {"v": value})
        elif op == "update":
            result = table.update(key, w=value)
            if key in model:
                model[key] = {**model[key], "w": value}
            assert result == model.get(key)
        elif op == "delete":
            assert table.delete(key) is (model.pop(key, None) is not None)
        else:
            doomed = [k for k, d in model.items() if d["v"] < value]
            assert table.prune(lambda d: d["v"] < value) == len(doomed)
            for k in doomed:
                del model[k]
        assert dict(table.items()) == model and len(table) == len(model)
    store = opener.reopen()
    assert dict(store.table("model").items()) == model
    store.close()


# --------------------------------------------------------------------------------------------
# File store: persistence, journal, compaction
# --------------------------------------------------------------------------------------------


def test_reopen_persists_every_kind_of_write(path: Path) -> None:
    store = Store.open(path)
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    cards.put("b", {"n": 2})
    cards.insert_new("c", {"n": 3})
    cards.update("a", m=1)
    cards.delete("b")
    cards.prune(lambda doc: doc["n"] == 3)
    store.audit(1, "act", "t")
    store.close()
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 1, "m": 1}}
    assert len(again.table("audit")) == 1
    again.table("cards").put("d", {"n": 4})  # ids keep working after a restart
    assert len(again.table("cards")) == 2
    again.close()


def test_each_write_is_one_journal_line_replayed_on_open(path: Path) -> None:
    store = Store.open(path)
    snapshot = path.read_bytes()
    lines_before = _journal(path).read_bytes().count(b"\n")
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    cards.put("a", {"n": 2})
    cards.delete("a")
    cards.put("b", {"n": 3})
    assert path.read_bytes() == snapshot  # small writes leave the snapshot alone
    lines = _journal(path).read_bytes().splitlines()
    assert len(lines) == lines_before + 4
    assert json.loads(lines[0])["journal"] == JOURNAL_MARK
    assert json.loads(lines[-1]) == {"t": "cards", "c": {"2": {"n": 3, "_key": "b"}}}
    # Not closed: a crash. The next open replays the journal.
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"b": {"n": 3}}
    again.close()


def test_compaction_folds_the_journal_into_a_new_snapshot(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "COMPACT_MIN_BYTES", 4096)
    store = Store.open(path)
    storage = store._storage
    cards = store.table("cards")
    for n in range(300):
        cards.put(f"k{n % 40}", {"n": n, "pad": "p" * 50})
    assert storage.compactions >= 3
    assert storage.generation == storage.compactions
    assert _journal(path).stat().st_size <= 4096 + 200
    snapshot = json.loads(path.read_text())
    assert snapshot[SNAPSHOT_TABLE] == {"1": {"generation": storage.generation}}
    header = json.loads(_journal(path).read_text().splitlines()[0])
    assert header["generation"] == storage.generation
    store.compact()
    assert json.loads(_journal(path).read_text().splitlines()[0])["generation"] == storage.generation
    assert len(_journal(path).read_text().splitlines()) == 1
    store.close()
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {f"k{n % 40}": {"n": n, "pad": "p" * 50} for n in range(260, 300)}
    again.close()


def test_a_stale_journal_is_not_replayed(path: Path) -> None:
    """Crash after the new snapshot was renamed but before the new journal replaced the old one."""
    store = Store.open(path)
    cards = store.table("cards")
    cards.put("a", {"v": "old"})
    cards.put("gone", {"v": 1})
    old_journal = _journal(path).read_bytes()
    cards.put("a", {"v": "new"})
    cards.delete("gone")
    store.compact()
    store.close()
    _journal(path).write_bytes(old_journal)
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"v": "new"}}
    assert json.loads(_journal(path).read_text().splitlines()[0])["generation"] == 1
    again.close()


def test_crash_between_snapshot_and_new_journal(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same crash, produced by the real code path."""
    store = Store.open(path)
    cards = store.table("cards")
    for n in range(5):
        cards.put(f"k{n}", {"n": n})
    cards.delete("k0")

    class Crash(BaseException):
        pass

    def crash(self: Any, generation: int) -> None:
        raise Crash

    monkeypatch.setattr(store_module.JournaledFileStorage, "_start_journal", crash)
    with pytest.raises(Crash):
        store.compact()
    monkeypatch.undo()
    again = Store.open(path)  # the crashed instance is never closed
    assert dict(again.table("cards").items()) == {f"k{n}": {"n": n} for n in range(1, 5)}
    again.table("cards").put("k9", {"n": 9})
    again.close()
    third = Store.open(path)
    assert len(third.table("cards")) == 5
    third.close()


def test_torn_journal_tail_is_ignored_with_a_warning(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store.open(path)
    store.table("cards").put("a", {"n": 1})
    store.close()
    good = _journal(path).read_bytes()
    with open(_journal(path), "ab") as handle:
        handle.write(b'{"t":"cards","c":{"2":{"n":2,"_k')  # a write cut short
    with caplog.at_level(logging.WARNING, logger="bot.store.state"):
        again = Store.open(path)
    assert "incomplete last record" in caplog.text
    assert dict(again.table("cards").items()) == {"a": {"n": 1}}
    assert _journal(path).read_bytes() == good  # trimmed, so the next line starts cleanly
    again.table("cards").put("b", {"n": 2})
    again.close()
    third = Store.open(path)
    assert dict(third.table("cards").items()) == {"a": {"n": 1}, "b": {"n": 2}}
    third.close()


def test_a_torn_batch_record_drops_the_whole_batch(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A batch is one journal line: a crash that tears it loses all of it, never a part."""
    store = Store.open(path)
    inbox = store.table("inbox")
    inbox.put_many({f"k{n}": {"n": n, "status": "pending"} for n in range(25)})
    good = _journal(path).read_bytes()
    inbox.update_many([f"k{n}" for n in range(25)], status="open", digest="d1")
    full = _journal(path).read_bytes()
    assert full.count(b"\n") == good.count(b"\n") + 1  # the whole batch: one record
    record = json.loads(full[len(good) :])
    assert record["t"] == "inbox" and len(record["c"]) == 25
    for cut in (len(good) + 1, len(good) + (len(full) - len(good)) // 2, len(full) - 1):
        _journal(path).write_bytes(full[:cut])  # the write reached the disk only up to ``cut``
        with caplog.at_level(logging.WARNING, logger="bot.store.state"):
            again = Store.open(path)  # the earlier instance is fenced off: a crash
        assert "incomplete last record" in caplog.text
        statuses = {doc["status"] for _, doc in again.table("inbox").items()}
        assert statuses == {"pending"} and len(again.table("inbox")) == 25, cut
        assert _journal(path).read_bytes() == good
        again.close()
    again = Store.open(path)
    again.table("inbox").update_many(["k0", "k1"], status="open")
    again.close()
    third = Store.open(path)
    assert sorted(k for k, d in third.table("inbox").items() if d["status"] == "open") == ["k0", "k1"]
    third.close()


def test_a_batch_cut_short_by_a_failed_write_applies_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(path)
    cards = store.table("cards")
    cards.put_many({"a": {"n": 1}, "b": {"n": 2}})
    real_write = os.write

    def half(fd: int, data: Any) -> int:
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", half)
    with pytest.raises(StoreError, match="No space left"):
        cards.put_many({"a": {"n": 3}, "b": {"n": 4}, "c": {"n": 5}})
    monkeypatch.undo()
    assert dict(cards.items()) == {"a": {"n": 1}, "b": {"n": 2}}
    # not closed: a crash; the half line was taken back, the next start sees the old batch
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 1}, "b": {"n": 2}}
    again.close()


def test_compaction_keeps_batches(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "COMPACT_MIN_BYTES", 4096)
    store = Store.open(path)
    storage = store._storage
    inbox = store.table("inbox")
    for round_ in range(30):
        inbox.put_many({f"k{n}": {"round": round_, "n": n, "pad": "p" * 20} for n in range(20)})
        inbox.put(f"digest{round_}", {"items": [f"k{n}" for n in range(20)]})
    assert storage.compactions >= 2
    inbox.update_many([f"k{n}" for n in range(0, 20, 2)], status="open")
    store.compact()  # the last batch folded into the snapshot, the journal empty again
    assert len(_journal(path).read_text().splitlines()) == 1
    inbox.update_many([f"k{n}" for n in range(1, 20, 2)], status="done")  # and one in the journal
    expected = {
        **{
            f"k{n}": {"round": 29, "n": n, "pad": "p" * 20, "status": "open" if n % 2 == 0 else "done"}
            for n in range(20)
        },
        **{f"digest{r}": {"items": [f"k{n}" for n in range(20)]} for r in range(30)},
    }
    assert dict(inbox.items()) == expected
    store.close()
    again = Store.open(path)
    assert dict(again.table("inbox").items()) == expected
    again.close()


def test_garbage_last_line_is_a_torn_tail(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = Store.open(path)
    store.table("cards").put("a", {"n": 1})
    store.close()
    with open(_journal(path), "ab") as handle:
        handle.write(b"\x00" * 37 + b"\n")  # e.g. zeros after a power loss
    with caplog.at_level(logging.WARNING, logger="bot.store.state"):
        again = Store.open(path)
    assert "incomplete last record" in caplog.text
    assert dict(again.table("cards").items()) == {"a": {"n": 1}}
    again.close()


def test_corrupt_journal_line_in_the_middle(path: Path) -> None:
    store = Store.open(path)
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    store.close()
    journal = _journal(path)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines) + b"{not json\n" + b'{"t":"cards","c":{"9":{"n":9,"_key":"z"}}}\n')
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert "\n" not in message and "line" in message and "moved to" in message
    aside = list(path.parent.glob("state.json.journal.corrupt-*"))
    assert len(aside) == 1 and str(aside[0]) in message
    assert not journal.exists() and path.exists()  # the snapshot is kept
    again = Store.open(path)  # continues from the snapshot alone
    assert again.table("cards").get("a") is None
    again.close()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"meta": {"1": ', "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2, 3]", "not a TinyDB document"),
        (b'{"_default": {"1": {"name": "someone else"}}}', "not written by this bot"),
        (b'{"cards": {"x": {"n": 1}}}', "not a TinyDB document"),
    ],
)
def test_corrupt_or_foreign_snapshot_is_moved_aside(path: Path, content: bytes, reason: str) -> None:
    path.write_bytes(content)
    _journal(path).write_bytes(b'{"journal": "' + JOURNAL_MARK.encode() + b'", "generation": 0}\n')
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert "\n" not in message and reason in message and str(path) in message
    snapshot_aside = list(path.parent.glob("state.json.corrupt-*"))
    journal_aside = list(path.parent.glob("state.json.journal.corrupt-*"))
    assert len(snapshot_aside) == 1 and snapshot_aside[0].read_bytes() == content
    assert len(journal_aside) == 1 and str(snapshot_aside[0]) in message
    assert not path.exists() and not _journal(path).exists()
    fresh = Store.open(path)  # never overwritten silently; the next start begins afresh
    assert len(fresh.table("cards")) == 0
    fresh.close()


def test_moving_aside_twice_in_one_second_keeps_both(path: Path) -> None:
    for _ in range(2):
        path.write_bytes(b"nope")
        with pytest.raises(StoreError):
            Store.open(path)
    assert len(list(path.parent.glob("state.json.corrupt-*"))) == 2


def test_journal_newer_than_snapshot_or_without_snapshot(path: Path) -> None:
    store = Store.open(path)
    store.table("cards").put("a", {"n": 1})
    store.compact()
    store.close()
    journal = _journal(path).read_bytes()
    # An older snapshot (generation 0) restored next to a generation-1 journal.
    snapshot = json.loads(path.read_text())
    snapshot[SNAPSHOT_TABLE] = {"1": {"generation": 0}}
    path.write_text(json.dumps(snapshot))
    with pytest.raises(StoreError, match="generation 1 but the state file is generation 0"):
        Store.open(path)
    Store.open(path).close()
    # A journal with no snapshot next to it.
    path.unlink()
    _journal(path).write_bytes(journal)
    with pytest.raises(StoreError, match="no snapshot"):
        Store.open(path)


def test_the_first_version_file_still_opens(path: Path) -> None:
    """A state file written by the first (whole-file) version: no generation, no journal."""
    path.write_text(
        json.dumps(
            {
                "meta": {"1": {"_key": "format", "mark": "resont-miogram-bot/state", "version": 1}},
                "cards": {"1": {"_key": "a", "n": 1}},
            }
        )
    )
    store = Store.open(path)
    assert store.table("cards").get("a") == {"n": 1}
    store.table("cards").put("b", {"n": 2})
    store.close()
    again = Store.open(path)
    assert len(again.table("cards")) == 2
    again.close()


def test_files_are_private(path: Path) -> None:
    old = os.umask(0)
    try:
        store = Store.open(path)
        store.table("oauth").put("token", {"access": "secret"})
        store.compact()
        store.table("oauth").put("token", {"access": "secret2"})
    finally:
        os.umask(old)
    for file in (path, _journal(path), path.with_name("state.json.lock")):
        assert _mode(file) == 0o600, file
    store.close()
    os.chmod(path, 0o644)
    os.chmod(_journal(path), 0o644)
    Store.open(path).close()
    assert _mode(path) == 0o600 and _mode(_journal(path)) == 0o600


def test_leftover_temp_files_are_removed(path: Path) -> None:
    Store.open(path).close()
    leftover = path.parent / ".state.json.abc123.tmp"
    leftover.write_text("{half")
    other = path.parent / ".unrelated.tmp"
    other.write_text("x")
    Store.open(path).close()
    assert not leftover.exists() and other.exists()


def test_a_failed_journal_write_changes_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(path)
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    real_write = os.write

    def half_then_full(fd: int, data: Any) -> int:
        real_write(fd, bytes(data[:10]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", half_then_full)
    with pytest.raises(StoreError, match="No space left"):
        cards.put("a", {"n": 2})
    with pytest.raises(StoreError):
        cards.put("b", {"n": 3})
    monkeypatch.undo()
    assert dict(cards.items()) == {"a": {"n": 1}}
    cards.put("c", {"n": 4})
    store.close()
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 1}, "c": {"n": 4}}
    again.close()


def test_a_journal_that_cannot_be_repaired_is_replaced_by_a_snapshot(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(path)
    cards = store.table("cards")
    cards.put("a", {"n": 1})

    def fail(*args: Any) -> Any:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store_module.os, "fdatasync", fail)
    monkeypatch.setattr(store_module, "_datasync", fail)
    monkeypatch.setattr(store_module.os, "ftruncate", fail)
    with pytest.raises(StoreError, match="Input/output error"):
        cards.put("b", {"n": 2})
    monkeypatch.undo()
    generation = store._storage.generation
    cards.put("c", {"n": 3})  # compacts first, then journals into the new generation
    assert store._storage.generation == generation + 1
    store.close()
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 1}, "c": {"n": 3}}
    again.close()


def test_failed_compactions_lose_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store_module, "COMPACT_MIN_BYTES", 1024)
    store = Store.open(path)
    cards = store.table("cards")
    real_atomic_write = store_module.atomic_write

    def full_disk(target: Path, payload: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "atomic_write", full_disk)
    with caplog.at_level(logging.ERROR, logger="bot.store.state"):
        for n in range(40):
            cards.put(f"k{n}", {"n": n, "pad": "p" * 40})  # the journal keeps everything
    assert "compaction failed" in caplog.text and store._storage.compactions == 0

    def snapshot_only(target: Path, payload: bytes) -> None:
        if target.name.endswith(".journal"):
            raise OSError(28, "No space left on device")
        real_atomic_write(target, payload)

    monkeypatch.setattr(store_module, "atomic_write", snapshot_only)
    with pytest.raises(StoreError):
        store.compact()
    with pytest.raises(StoreError):
        cards.put("x", {"n": -1})  # refused: no journal to make it durable in
    monkeypatch.setattr(store_module, "atomic_write", real_atomic_write)
    cards.put("k0", {"n": 100})
    store.close()
    again = Store.open(path)
    assert again.table("cards").get("k0") == {"n": 100} and len(again.table("cards")) == 40
    assert "x" not in again.table("cards")
    again.close()


def test_opening_again_in_process_closes_the_earlier_store(path: Path) -> None:
    first = Store.open(path)
    first.table("cards").put("a", {"n": 1})
    second = Store.open(path)
    with pytest.raises(StoreError, match="closed"):
        first.table("cards").put("b", {"n": 2})
    second.table("cards").put("c", {"n": 3})
    second.close()
    third = Store.open(path)
    assert dict(third.table("cards").items()) == {"a": {"n": 1}, "c": {"n": 3}}
    third.close()


def test_another_process_cannot_open_the_same_state(path: Path) -> None:
    store = Store.open(path)
    code = (
        "import sys\nfrom bot.store.state import Store, StoreError\n"
        "try:\n    Store.open(sys.argv[1])\nexcept StoreError as e:\n    print(e); sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 3 and "in use by another running process" in result.stdout
    store.close()


# --------------------------------------------------------------------------------------------
# Crash test: SIGKILL a real writer process at seeded random moments
# --------------------------------------------------------------------------------------------


def _run_worker_until_killed(path: Path, start: int, delay: float) -> list[int]:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(path), str(start)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acks: list[int] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ready"):
                ready.set()
            elif line.startswith("ack "):
                acks.append(int(line.split()[1]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(30):
            raise AssertionError(f"worker did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
        time.sleep(delay)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
        reader.join(30)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    return acks


def test_killed_writer_leaves_an_intact_store_with_every_acknowledged_write(path: Path) -> None:

    rng = random.Random(1234)
    start = 0
    total_acks = 0
    generations = []
    for iteration in range(10):
        delay = 0.0 if iteration == 0 else rng.uniform(0.01, 0.3)
        acks = _run_worker_until_killed(path, start, delay)
        assert acks == list(range(start, start + len(acks))), "acks out of order"
        last = acks[-1] if acks else start - 1
        total_acks += len(acks)

        store = Store.open(path)  # must open: no StoreError, no corruption
        json.loads(path.read_text())  # the snapshot is plain, whole JSON
        assert _mode(path) == 0o600 and _mode(_journal(path)) == 0o600
        generations.append(store._storage.generation)
        table = store.table("crash")
        counter = table.get("counter")
        assert counter is not None or last < 0
        n = counter["n"] if counter else -1
        assert n in (last, last + 1), (n, last)  # every acknowledged write is there
        present = {}
        for key, doc in table.items():
            if key != "counter":
                i = int(key[1:])
                assert doc == expected(i), key  # nothing half-written
                present[i] = doc
        # k<last + 1 - WINDOW> may have been deleted by the unacknowledged iteration last + 1
        must_have = range(max(0, last - WINDOW + 2), last + 1)
        assert set(must_have) <= set(present), sorted(set(must_have) - set(present))
        assert max(present, default=-1) <= last + 1  # nothing that was never written
        assert min(present, default=0) >= last - WINDOW + 1  # acknowledged deletes stuck
        store.close()
        start = n + 1
    assert total_acks > 100
    assert generations[-1] > 10  # the kills happened among many compactions

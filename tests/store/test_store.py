"""bot.store: the same behaviour on every storage (memory, file, PostgreSQL), through the same
public API. The file store's journal is tested in ``test_journal.py``, PostgreSQL's lock and
outages in ``test_postgres.py``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime.locks import KeyedLocks
from bot.store.errors import StoreError
from bot.store.records import SNAPSHOT_TABLE
from bot.store.state import Store


class Opener:
    """Opens a store of one kind; ``reopen()`` simulates a restart (the memory twin keeps its
    instance, there is nothing to restart from)."""

    def __init__(self, kind: str, directory: Path, database_url: str = "") -> None:
        self.kind = kind
        self.path = directory / "state.json"
        self.database_url = database_url
        self.current: Store | None = None

    def open(self) -> Store:
        if self.kind == "file":
            self.current = Store.open(self.path)
        elif self.kind == "postgres":
            self.current = Store.postgres(self.database_url, wait=10)
        else:
            self.current = Store.memory()
        return self.current

    def reopen(self) -> Store:
        assert self.current is not None
        if self.kind == "memory":
            return self.current
        self.current.close()
        return self.open()


@pytest.fixture(params=["file", "memory", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else ""
    made = Opener(request.param, tmp_path, url)
    yield made
    if made.current is not None:
        made.current.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener.open()


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


# --------------------------------------------------------------------------------------------
# Behaviour: every kind
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
    writes = store.storage.writes
    assert audit.prune(lambda doc: doc["n"] < 7) == 7
    assert store.storage.writes == writes + 1
    assert sorted(doc["n"] for _, doc in audit.items()) == [7, 8, 9]
    assert len(audit) == 3 and "e0" not in audit
    assert audit.prune(lambda doc: False) == 0
    assert store.storage.writes == writes + 1


def test_put_many_is_one_write_applied_together(opener: Opener) -> None:
    store = opener.open()
    inbox = store.table("inbox")
    inbox.put("a", {"n": 0, "old": True})
    writes = store.storage.writes
    assert inbox.put_many({"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}}) == 3
    assert store.storage.writes == writes + 1
    assert dict(inbox.items()) == {"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}}  # "a" replaced whole
    # pairs work too; a key given twice is written once, its last document wins
    assert inbox.put_many([("d", {"n": 4}), ("a", {"n": 5}), ("d", {"n": 6})]) == 2
    assert store.storage.writes == writes + 2
    assert inbox.put_many({}) == 0 and inbox.put_many([]) == 0
    assert store.storage.writes == writes + 2  # nothing to write: no record
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
    writes = store.storage.writes
    assert inbox.update_many(["k0", "k2", "missing", "k4"], status="open", digest="d1") == 3
    assert store.storage.writes == writes + 1
    assert "missing" not in inbox
    assert inbox.update_many(["missing"], status="x") == 0
    assert store.storage.writes == writes + 1
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
    writes = store.storage.writes
    with pytest.raises(TypeError):
        alerts.put_many(batch)
    with pytest.raises(TypeError):
        alerts.update_many(["a", "b"], n=object())
    assert store.storage.writes == writes
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

    def refuse(record: Any, line: str) -> None:
        raise StoreError("state journal cannot be written: No space left on device")

    monkeypatch.setattr(store.storage.backend, "persist", refuse)
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
        assert store.size_bytes() == opener.path.stat().st_size + journal_of(opener.path).stat().st_size
    elif opener.kind == "postgres":
        assert store.size_bytes() > 0  # the table, its index and TOAST
    else:
        assert store.size_bytes() == 0


def test_tinydb_generic_writes_stay_consistent(opener: Opener) -> None:
    """TinyDB's own query-based writes go through the same journalled change view."""
    from tinydb import Query  # test-only: exercising the TinyDB layer underneath

    store = opener.open()
    raw = store.db.table("cards")
    ids = [raw.insert({"_key": f"k{n}", "n": n}) for n in range(6)]
    raw.update({"big": True}, Query().n >= 4)
    raw.update(lambda doc: doc.update(n=doc["n"] * 10), doc_ids=ids[:2])
    raw.remove(Query().n == 2)
    raw.upsert({"_key": "k9", "n": 9}, Query().n == 99)
    expected = {0: {"n": 0}, 1: {"n": 10}, 3: {"n": 3}, 4: {"n": 4, "big": True}, 5: {"n": 5, "big": True}}
    assert {
        int(k): {x: y for x, y in d.items() if x != "_key"}
        for k, d in store.storage.table_data("cards").items()
        if d["_key"] != "k9"
    } == {ids[i]: doc for i, doc in expected.items()}
    store = opener.reopen()
    cards = store.table("cards")
    assert cards.get("k1") == {"n": 10} and cards.get("k5") == {"n": 5, "big": True}
    assert "k2" not in cards and cards.get("k9") == {"n": 9} and len(cards) == 6
    store.db.table("cards").truncate()
    store = opener.reopen()
    assert list(store.db.table("cards")) == []


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

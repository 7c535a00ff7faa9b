"""Saved lists read back from the store as SavedList: by key, all of them by name, and documents
written before a list had a name or numbers read as empty."""

from __future__ import annotations

from bot.store.state import Store
from handlers.mass.savedlists import TABLE, SavedList, list_to_doc, saved_list, saved_lists


def test_a_saved_list_reads_back_as_written() -> None:
    store = Store.memory()
    saved: SavedList = {"name": "VIP", "numbers": ["+989121234567"], "created_at": 1.0, "created_by": 7}
    store.table(TABLE).put("a1", list_to_doc(saved))
    assert saved_list(store, "a1") == saved
    assert saved_list(store, "gone") is None


def test_an_old_list_without_name_or_numbers_reads_as_empty() -> None:
    store = Store.memory()
    store.table(TABLE).put("old", {"numbers": ["+989121234567"]})
    store.table(TABLE).put("bare", {})
    assert saved_list(store, "old") == {"name": "", "numbers": ["+989121234567"]}
    assert saved_list(store, "bare") == {"name": "", "numbers": []}


def test_all_lists_come_by_name_whatever_the_case() -> None:
    store = Store.memory()
    for key, name in (("k1", "charlie"), ("k2", "Alpha"), ("k3", "bravo")):
        store.table(TABLE).put(key, {"name": name, "numbers": []})
    assert [(key, doc["name"]) for key, doc in saved_lists(store)] == [
        ("k2", "Alpha"),
        ("k3", "bravo"),
        ("k1", "charlie"),
    ]

"""Saved audience lists: the document of the ``lists`` table and how it is read.

A list is kept under a short id: its name, its E.164 numbers, and who made and last changed it
when. ``/lists`` writes them (:mod:`handlers.mass.lists`); the ``/mass`` flow, the Bridge and a
draft's list buttons read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NotRequired, TypedDict, cast

from bot.store.state import Store

TABLE: Final = "lists"


class SavedList(TypedDict):
    """A saved list (documents written before the list had a name or numbers read as empty)."""

    name: str
    numbers: list[str]
    created_at: NotRequired[float]
    created_by: NotRequired[int]
    updated_at: NotRequired[float]
    updated_by: NotRequired[int]


def list_from_doc(raw: Mapping[str, Any]) -> SavedList:
    """A stored list document as a :class:`SavedList` (a missing name or numbers: empty)."""
    doc = dict(raw)
    doc.setdefault("name", "")
    doc.setdefault("numbers", [])
    return cast(SavedList, doc)


def list_to_doc(saved: SavedList) -> dict[str, Any]:
    """What is stored of a list."""
    return dict(saved)


def saved_list(store: Store, key: str) -> SavedList | None:
    """The list saved under ``key``, or None."""
    raw = store.table(TABLE).get(key)
    return None if raw is None else list_from_doc(raw)


def saved_lists(store: Store) -> list[tuple[str, SavedList]]:
    """Every saved list with its key, by name (case-insensitive)."""
    lists = [(key, list_from_doc(raw)) for key, raw in store.table(TABLE).items()]
    return sorted(lists, key=lambda kv: kv[1]["name"].lower())

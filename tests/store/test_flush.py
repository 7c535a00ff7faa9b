"""``Store.durably`` on the state file: the disk flush of a write runs in a worker thread, the
event loop serves other work meanwhile, and the write is on disk when the call returns."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.store.errors import StoreError
from bot.store.state import Store, file_backend


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def slow_fdatasync(seconds: float, threads: list[str]) -> Callable[[int], None]:
    """An fdatasync that notes its thread and takes ``seconds`` (a loaded disk)."""
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        threads.append(threading.current_thread().name)
        threading.Event().wait(seconds)
        real(fd)

    return fdatasync


async def test_the_flush_runs_off_the_event_loop_which_serves_others_meanwhile(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(path)
    threads: list[str] = []
    monkeypatch.setattr(os, "fdatasync", slow_fdatasync(0.3, threads))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await store.durably(lambda: store.table("mass_units").put("j:0", {"state": "done"}))
    served_during_flush = ticks
    ticking.cancel()
    # one flush, not on the loop's thread; the loop went on during it (a blocking flush of
    # 0.3 s would have let the ticker run at most once, when it ended)
    assert threads and threading.main_thread().name not in threads
    assert served_during_flush >= 5
    store.close()
    assert Store.open(path).table("mass_units").get("j:0") == {"state": "done"}


async def test_a_write_outside_durably_still_flushes_before_it_returns(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(path)
    threads: list[str] = []
    monkeypatch.setattr(os, "fdatasync", slow_fdatasync(0.0, threads))
    store.table("cards").put("a", {"n": 1})
    assert threads == [threading.current_thread().name]
    backend = file_backend(store)
    assert backend is not None and not backend.unflushed


async def test_several_writes_in_one_durably_call_share_one_flush(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(path)
    threads: list[str] = []
    monkeypatch.setattr(os, "fdatasync", slow_fdatasync(0.0, threads))

    def two_writes() -> None:
        store.table("mass_units").put("j:0", {"state": "done"})
        store.table("mass_jobs").put("j", {"status": "done"})

    await store.durably(two_writes)
    assert len(threads) == 1
    store.close()
    again = Store.open(path)
    assert again.table("mass_jobs").get("j") == {"status": "done"}


async def test_what_a_failing_write_appended_before_failing_is_flushed_too(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(path)
    threads: list[str] = []
    monkeypatch.setattr(os, "fdatasync", slow_fdatasync(0.0, threads))

    def half_then_fail() -> None:
        store.table("cards").put("a", {"n": 1})
        raise ValueError("the caller's own failure after its first write")

    with pytest.raises(ValueError):
        await store.durably(half_then_fail)
    assert len(threads) == 1
    store.close()
    assert Store.open(path).table("cards").get("a") == {"n": 1}


async def test_a_failed_flush_is_reported_and_the_next_write_rewrites_the_snapshot(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(path)
    backend = file_backend(store)
    assert backend is not None
    real = os.fdatasync

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    with pytest.raises(StoreError, match="cannot be written"):
        await store.durably(lambda: store.table("cards").put("a", {"n": 1}))
    monkeypatch.setattr(os, "fdatasync", real)
    generation = backend.generation
    # memory kept the record; the next write folds it into a new snapshot (fsync'ed) rather
    # than appending after a journal tail the disk may not hold
    store.table("cards").put("b", {"n": 2})
    assert backend.generation == generation + 1
    store.close()
    again = Store.open(path).table("cards")
    assert again.get("a") == {"n": 1} and again.get("b") == {"n": 2}


async def test_on_the_memory_store_durably_writes_at_once() -> None:
    store = Store.memory()
    assert await store.durably(lambda: store.table("cards").put("a", {"n": 1})) is None
    assert store.table("cards").get("a") == {"n": 1}

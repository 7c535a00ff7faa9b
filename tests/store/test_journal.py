"""bot.store.journal: the file store's snapshot and journal, compaction, corruption handling,
file modes, the lock between processes, and a kill-during-write crash test."""

from __future__ import annotations

import json
import logging
import os
import random
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import journal
from bot.store.errors import StoreError
from bot.store.journal import JOURNAL_MARK, Compaction, FileBackend
from bot.store.records import SNAPSHOT_TABLE
from bot.store.state import Store, file_backend
from tests.store.crash_worker import check_after_kill, run_until_killed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def backend_of(store: Store) -> FileBackend:
    backend = file_backend(store)
    assert backend is not None
    return backend


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
    lines_before = journal_of(path).read_bytes().count(b"\n")
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    cards.put("a", {"n": 2})
    cards.delete("a")
    cards.put("b", {"n": 3})
    assert path.read_bytes() == snapshot  # small writes leave the snapshot alone
    lines = journal_of(path).read_bytes().splitlines()
    assert len(lines) == lines_before + 4
    assert json.loads(lines[0])["journal"] == JOURNAL_MARK
    assert json.loads(lines[-1]) == {"t": "cards", "c": {"2": {"n": 3, "_key": "b"}}}
    # Not closed: a crash. The next open replays the journal.
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"b": {"n": 3}}
    again.close()


def test_compaction_folds_the_journal_into_a_new_snapshot(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Compaction, "min_bytes", 4096)
    store = Store.open(path)
    storage = backend_of(store)
    cards = store.table("cards")
    for n in range(300):
        cards.put(f"k{n % 40}", {"n": n, "pad": "p" * 50})
    assert storage.compactions >= 3
    assert storage.generation == storage.compactions
    assert journal_of(path).stat().st_size <= 4096 + 200
    snapshot = json.loads(path.read_text())
    assert snapshot[SNAPSHOT_TABLE] == {"1": {"generation": storage.generation}}
    header = json.loads(journal_of(path).read_text().splitlines()[0])
    assert header["generation"] == storage.generation
    store.compact()
    assert json.loads(journal_of(path).read_text().splitlines()[0])["generation"] == storage.generation
    assert len(journal_of(path).read_text().splitlines()) == 1
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
    old_journal = journal_of(path).read_bytes()
    cards.put("a", {"v": "new"})
    cards.delete("gone")
    store.compact()
    store.close()
    journal_of(path).write_bytes(old_journal)
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"v": "new"}}
    assert json.loads(journal_of(path).read_text().splitlines()[0])["generation"] == 1
    again.close()


def test_crash_between_snapshot_and_newjournal_of(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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

    monkeypatch.setattr(FileBackend, "start_journal", crash)
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
    good = journal_of(path).read_bytes()
    with open(journal_of(path), "ab") as handle:
        handle.write(b'{"t":"cards","c":{"2":{"n":2,"_k')  # a write cut short
    with caplog.at_level(logging.WARNING, logger="bot.store.journal"):
        again = Store.open(path)
    assert "incomplete last record" in caplog.text
    assert dict(again.table("cards").items()) == {"a": {"n": 1}}
    assert journal_of(path).read_bytes() == good  # trimmed, so the next line starts cleanly
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
    good = journal_of(path).read_bytes()
    inbox.update_many([f"k{n}" for n in range(25)], status="open", digest="d1")
    full = journal_of(path).read_bytes()
    assert full.count(b"\n") == good.count(b"\n") + 1  # the whole batch: one record
    record = json.loads(full[len(good) :])
    assert record["t"] == "inbox" and len(record["c"]) == 25
    for cut in (len(good) + 1, len(good) + (len(full) - len(good)) // 2, len(full) - 1):
        journal_of(path).write_bytes(full[:cut])  # the write reached the disk only up to ``cut``
        with caplog.at_level(logging.WARNING, logger="bot.store.journal"):
            again = Store.open(path)  # the earlier instance is fenced off: a crash
        assert "incomplete last record" in caplog.text
        statuses = {doc["status"] for _, doc in again.table("inbox").items()}
        assert statuses == {"pending"} and len(again.table("inbox")) == 25, cut
        assert journal_of(path).read_bytes() == good
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

    monkeypatch.setattr(journal.os, "write", half)
    with pytest.raises(StoreError, match="No space left"):
        cards.put_many({"a": {"n": 3}, "b": {"n": 4}, "c": {"n": 5}})
    monkeypatch.undo()
    assert dict(cards.items()) == {"a": {"n": 1}, "b": {"n": 2}}
    # not closed: a crash; the half line was taken back, the next start sees the old batch
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 1}, "b": {"n": 2}}
    again.close()


def test_compaction_keeps_batches(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Compaction, "min_bytes", 4096)
    store = Store.open(path)
    storage = backend_of(store)
    inbox = store.table("inbox")
    for round_ in range(30):
        inbox.put_many({f"k{n}": {"round": round_, "n": n, "pad": "p" * 20} for n in range(20)})
        inbox.put(f"digest{round_}", {"items": [f"k{n}" for n in range(20)]})
    assert storage.compactions >= 2
    inbox.update_many([f"k{n}" for n in range(0, 20, 2)], status="open")
    store.compact()  # the last batch folded into the snapshot, the journal empty again
    assert len(journal_of(path).read_text().splitlines()) == 1
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
    with open(journal_of(path), "ab") as handle:
        handle.write(b"\x00" * 37 + b"\n")  # e.g. zeros after a power loss
    with caplog.at_level(logging.WARNING, logger="bot.store.journal"):
        again = Store.open(path)
    assert "incomplete last record" in caplog.text
    assert dict(again.table("cards").items()) == {"a": {"n": 1}}
    again.close()


def test_corrupt_journal_line_in_the_middle(path: Path) -> None:
    store = Store.open(path)
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    store.close()
    journal = journal_of(path)
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
    journal_of(path).write_bytes(b'{"journal": "' + JOURNAL_MARK.encode() + b'", "generation": 0}\n')
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert "\n" not in message and reason in message and str(path) in message
    snapshot_aside = list(path.parent.glob("state.json.corrupt-*"))
    journal_aside = list(path.parent.glob("state.json.journal.corrupt-*"))
    assert len(snapshot_aside) == 1 and snapshot_aside[0].read_bytes() == content
    assert len(journal_aside) == 1 and str(snapshot_aside[0]) in message
    assert not path.exists() and not journal_of(path).exists()
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
    journal = journal_of(path).read_bytes()
    # An older snapshot (generation 0) restored next to a generation-1 journal.
    snapshot = json.loads(path.read_text())
    snapshot[SNAPSHOT_TABLE] = {"1": {"generation": 0}}
    path.write_text(json.dumps(snapshot))
    with pytest.raises(StoreError, match="generation 1 but the state file is generation 0"):
        Store.open(path)
    Store.open(path).close()
    # A journal with no snapshot next to it.
    path.unlink()
    journal_of(path).write_bytes(journal)
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
    for file in (path, journal_of(path), path.with_name("state.json.lock")):
        assert mode_of(file) == 0o600, file
    store.close()
    os.chmod(path, 0o644)
    os.chmod(journal_of(path), 0o644)
    Store.open(path).close()
    assert mode_of(path) == 0o600 and mode_of(journal_of(path)) == 0o600


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

    monkeypatch.setattr(journal.os, "write", half_then_full)
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

    monkeypatch.setattr(journal.os, "fdatasync", fail)
    monkeypatch.setattr(journal.os, "ftruncate", fail)
    with pytest.raises(StoreError, match="Input/output error"):
        cards.put("b", {"n": 2})
    monkeypatch.undo()
    generation = backend_of(store).generation
    cards.put("c", {"n": 3})  # compacts first, then journals into the new generation
    assert backend_of(store).generation == generation + 1
    store.close()
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 1}, "c": {"n": 3}}
    again.close()


def test_failed_compactions_lose_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Compaction, "min_bytes", 1024)
    store = Store.open(path)
    cards = store.table("cards")
    real_atomic_write = journal.atomic_write

    def full_disk(target: Path, payload: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal, "atomic_write", full_disk)
    with caplog.at_level(logging.ERROR, logger="bot.store.journal"):
        for n in range(40):
            cards.put(f"k{n}", {"n": n, "pad": "p" * 40})  # the journal keeps everything
    assert "compaction failed" in caplog.text and backend_of(store).compactions == 0

    def snapshot_only(target: Path, payload: bytes) -> None:
        if target.name.endswith(".journal"):
            raise OSError(28, "No space left on device")
        real_atomic_write(target, payload)

    monkeypatch.setattr(journal, "atomic_write", snapshot_only)
    with pytest.raises(StoreError):
        store.compact()
    with pytest.raises(StoreError):
        cards.put("x", {"n": -1})  # refused: no journal to make it durable in
    monkeypatch.setattr(journal, "atomic_write", real_atomic_write)
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


WAITER = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
    "from bot.store.state import Store\n"
    "store = Store.open(sys.argv[1])\n"
    "print('opened', store.table('cards').get('a'), flush=True)\n"
    "store.table('cards').put('b', {'n': 2})\n"
    "store.close()\n"
)


def test_a_second_process_waits_for_the_first_and_takes_over(path: Path) -> None:
    """Two bots on one state file: the second says it waits, and starts when the first exits."""
    store = Store.open(path)
    store.table("cards").put("a", {"n": 1})
    second = subprocess.Popen(
        [sys.executable, "-c", WAITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert second.stdout is not None
        line = second.stdout.readline()
        assert "in use by another running bot" in line and "waiting" in line, line
        time.sleep(0.3)
        assert second.poll() is None  # still waiting: it never read or wrote the state
        store.table("cards").put("a", {"n": 10})
        store.close()  # the first bot exits
        rest = second.stdout.read()
        assert second.wait(30) == 0, rest
        assert "taking over" in rest and "opened {'n': 10}" in rest
    finally:
        second.kill()
        second.wait(30)
    again = Store.open(path)
    assert dict(again.table("cards").items()) == {"a": {"n": 10}, "b": {"n": 2}}
    again.close()


def test_killed_writer_leaves_an_intact_store_with_every_acknowledged_write(path: Path) -> None:
    rng = random.Random(1234)
    start = 0
    total_acks = 0
    generations = []
    for iteration in range(10):
        delay = 0.0 if iteration == 0 else rng.uniform(0.01, 0.3)
        acks = run_until_killed(str(path), start, delay, min_acks=20 if iteration else 0)
        assert acks == list(range(start, start + len(acks))), "acks out of order"
        last = acks[-1] if acks else start - 1
        total_acks += len(acks)
        store = Store.open(path)  # must open: no StoreError, no corruption
        json.loads(path.read_text())  # the snapshot is plain, whole JSON
        assert mode_of(path) == 0o600 and mode_of(journal_of(path)) == 0o600
        generations.append(backend_of(store).generation)
        n = check_after_kill(store, last)
        store.close()
        start = n + 1
    assert total_acks > 100
    assert generations[-1] > 10  # the kills happened among many compactions

"""State benchmark: the project's store against plain TinyDB (default JSONStorage), and the
PostgreSQL store (``bench/postgres.py``: a local server, or ``BENCH_DATABASE_URL``), same run.

``python -m bench.state`` prints the figures; :func:`run` returns the lines so a bench
runner can aggregate them. Goal (benchmarks issue): ≥ 10× faster per write at 100,000 items
while keeping atomic, crash-safe writes.

Method, per size (1,000 / 10,000 / 100,000 tracked items of ~200 bytes in table ``cards``):

* both files are built directly (one JSON dump), then opened;
* writes alternate "replace an existing item" and "insert a new item", each timed alone;
  the project's store also pays its periodic compaction: one compaction is timed and spread
  over the writes that fill a journal (``threshold / record size``), and that amortised share is
  included in the per-write figure used for the ratio;
* reads fetch random existing items by key (the store) or by doc_id (plain TinyDB: the cheapest
  lookup it has; JSONStorage still reads and parses the whole file on every call);
* plain TinyDB is slow at large sizes, so it is sampled with fewer operations.

Plain TinyDB is given its best case (doc_id lookups, no query scan). Its JSONStorage rewrites the
file in place (with fsync), so a crash mid-write can leave a truncated, unreadable file.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tinydb import TinyDB  # the baseline; the bot itself reaches TinyDB only through bot.store.state
from tinydb.storages import MemoryStorage

from bench.postgres import databases
from bot.store.journal import FORMAT_MARK, FORMAT_VERSION, Compaction
from bot.store.records import SNAPSHOT_TABLE
from bot.store.state import Store, file_backend

SIZES = (1_000, 10_000, 100_000)
STORE_WRITES = 2_000
STORE_READS = 5_000
PLAIN_SAMPLES = {1_000: 200, 10_000: 50, 100_000: 20}
GOAL = 10.0
PG_P99_GOAL = 0.005  # seconds: p99 of an acknowledged PostgreSQL write, locally (issue 16)
SEED = 20240601

DURABILITY = (
    "Durability of the fast path: each write returns only after its journal line is written and "
    "fdatasync'ed (one fsync per write, no batching), so every acknowledged write survives a "
    "process kill or power loss; a torn last line from an interrupted write is ignored on restart "
    "(each operation is all-or-nothing); compaction rewrites the snapshot via temp file + fsync + "
    "rename + directory fsync with generation numbers, so a crash at any point leaves a readable "
    "state with every acknowledged write."
)


def _doc(i: int, rng: random.Random) -> dict[str, Any]:
    """A card-like document of about 200 bytes of JSON."""
    return {
        "chat_id": -1001234567890,
        "message_id": 100_000 + i,
        "item_id": f"res-{i:08d}",
        "status": rng.choice(("forwarded", "approved", "rejected", "pending")),
        "at": 1_717_000_000.0 + i,
        "by": 123456789,
        "title": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(48)),
    }


def _build_files(directory: Path, n: int, rng: random.Random) -> tuple[Path, Path, int]:
    docs = {str(i + 1): {**_doc(i, rng), "_key": f"k{i}"} for i in range(n)}
    record_bytes = len(json.dumps({"t": "cards", "c": {"1": docs["1"]}}, separators=(",", ":")))
    ours = directory / f"store-{n}.json"
    ours.write_text(
        json.dumps(
            {
                "meta": {"1": {"_key": "format", "mark": FORMAT_MARK, "version": FORMAT_VERSION}},
                "cards": docs,
                SNAPSHOT_TABLE: {"1": {"generation": 0}},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
    )
    plain = directory / f"plain-{n}.json"
    plain.write_text(json.dumps({"cards": docs}))
    return ours, plain, record_bytes


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "mean": statistics.fmean(samples),
        "median": statistics.median(samples),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": ordered[-1],
    }


def _bench_store(path: Path, n: int, record_bytes: int, rng: random.Random) -> dict[str, Any]:
    started = time.perf_counter()
    store = Store.open(path)
    open_s = time.perf_counter() - started
    table = store.table("cards")
    writes: list[float] = []
    for w in range(STORE_WRITES):
        if w % 2:
            key, doc = f"k{rng.randrange(n)}", _doc(rng.randrange(n), rng)
        else:
            key, doc = f"new{w}", _doc(n + w, rng)
        t0 = time.perf_counter()
        table.put(key, doc)
        writes.append(time.perf_counter() - t0)
    reads: list[float] = []
    for _ in range(STORE_READS):
        key = f"k{rng.randrange(n)}"
        t0 = time.perf_counter()
        table.get(key)
        reads.append(time.perf_counter() - t0)
    storage = file_backend(store)
    assert storage is not None
    automatic = storage.compactions
    t0 = time.perf_counter()
    store.compact()
    compact_s = time.perf_counter() - t0
    snapshot_bytes = path.stat().st_size
    threshold = max(Compaction.min_bytes, snapshot_bytes * Compaction.ratio)
    writes_per_compaction = threshold / record_bytes
    store.close()
    write = _stats(writes)
    return {
        "open_s": open_s,
        "write": write,
        "read": _stats(reads),
        "compact_s": compact_s,
        "automatic_compactions": automatic,
        "amortised_write": write["mean"] + compact_s / writes_per_compaction,
        "writes_per_compaction": writes_per_compaction,
    }


def _bench_postgres(url: str, n: int, rng: random.Random) -> dict[str, Any]:
    """The same writes on the PostgreSQL store: ``n`` documents loaded (one COPY), then the
    store reopened (timed: it reads every document into memory) and written to."""
    store = Store.postgres(url, wait=30)
    store.replace_all({"cards": {str(i + 1): {**_doc(i, rng), "_key": f"k{i}"} for i in range(n)}})
    store.close()
    started = time.perf_counter()
    store = Store.postgres(url, wait=30)
    open_s = time.perf_counter() - started
    table = store.table("cards")
    writes: list[float] = []
    for w in range(STORE_WRITES):
        if w % 2:
            key, doc = f"k{rng.randrange(n)}", _doc(rng.randrange(n), rng)
        else:
            key, doc = f"new{w}", _doc(n + w, rng)
        t0 = time.perf_counter()
        table.put(key, doc)  # returns once PostgreSQL committed it
        writes.append(time.perf_counter() - t0)
    reads: list[float] = []
    for _ in range(STORE_READS):
        key = f"k{rng.randrange(n)}"
        t0 = time.perf_counter()
        table.get(key)
        reads.append(time.perf_counter() - t0)
    store.close()
    return {"open_s": open_s, "write": _stats(writes), "read": _stats(reads)}


def _bench_plain(path: Path, n: int, rng: random.Random) -> dict[str, Any]:
    samples = PLAIN_SAMPLES[n]
    db = TinyDB(path)
    table = db.table("cards")
    writes: list[float] = []
    for w in range(samples):
        if w % 2:
            doc_id = rng.randrange(n) + 1
            doc = {**_doc(doc_id, rng), "_key": f"k{doc_id - 1}"}
            t0 = time.perf_counter()
            table.update(doc, doc_ids=[doc_id])
        else:
            doc = {**_doc(n + w, rng), "_key": f"new{w}"}
            t0 = time.perf_counter()
            table.insert(doc)
        writes.append(time.perf_counter() - t0)
    reads: list[float] = []
    for _ in range(samples):
        doc_id = rng.randrange(n) + 1
        t0 = time.perf_counter()
        table.get(doc_id=doc_id)
        reads.append(time.perf_counter() - t0)
    db.close()
    return {"write": _stats(writes), "read": _stats(reads), "samples": samples}


def _bench_stock_table(n: int, rng: random.Random) -> float:
    """Mean write time of TinyDB's stock ``Table`` on ``MemoryStorage`` (no disk at all): the
    O(table size) id conversion in ``Table._update_table`` that the store's table class avoids."""
    db = TinyDB(storage=MemoryStorage)
    db.storage.write({"cards": {str(i + 1): {**_doc(i, rng), "_key": f"k{i}"} for i in range(n)}})
    table = db.table("cards")
    samples = []
    for _ in range(PLAIN_SAMPLES[n]):
        doc_id = rng.randrange(n) + 1
        t0 = time.perf_counter()
        table.update({"status": "approved"}, doc_ids=[doc_id])
        samples.append(time.perf_counter() - t0)
    return statistics.fmean(samples)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def run() -> list[str]:
    """Run the benchmark; returns its lines (the caller prints them)."""
    lines: list[str] = []

    def say(line: str = "") -> None:
        lines.append(line)

    rng = random.Random(SEED)
    directory = Path(tempfile.mkdtemp(prefix="bench-state-"))
    ratio_at_max = 0.0
    worst_pg_p99 = 0.0
    stack = ExitStack()
    new_database = stack.enter_context(databases())
    try:
        say("State store benchmark: project store (snapshot + fsync'ed journal) vs plain TinyDB(path)")
        say(
            f"documents ~200 B; store: {STORE_WRITES} writes / {STORE_READS} reads per size; "
            "plain TinyDB: " + ", ".join(f"{k:,}: {v}" for k, v in PLAIN_SAMPLES.items()) + " of each"
        )
        for n in SIZES:
            ours_path, plain_path, record_bytes = _build_files(directory, n, rng)
            ours = _bench_store(ours_path, n, record_bytes, rng)
            plain = _bench_plain(plain_path, n, rng)
            ratio = plain["write"]["mean"] / ours["amortised_write"]
            read_ratio = plain["read"]["mean"] / ours["read"]["mean"]
            if n == SIZES[-1]:
                ratio_at_max = ratio
            w, r = ours["write"], ours["read"]
            say(f"--- {n:,} items")
            say(
                f"  store  write: mean {_ms(w['mean'])}, median {_ms(w['median'])}, p99 {_ms(w['p99'])}, "
                f"max {_ms(w['max'])}; + compaction {_ms(ours['compact_s'])} every "
                f"~{ours['writes_per_compaction']:,.0f} writes -> amortised {_ms(ours['amortised_write'])}"
            )
            say(f"  store  read:  mean {_ms(r['mean'])}, median {_ms(r['median'])}; open {_ms(ours['open_s'])}")
            pw, pr = plain["write"], plain["read"]
            say(
                f"  plain  write: mean {_ms(pw['mean'])}, median {_ms(pw['median'])}, max {_ms(pw['max'])}"
                f" ({plain['samples']} samples)"
            )
            say(f"  plain  read:  mean {_ms(pr['mean'])}, median {_ms(pr['median'])}")
            say(
                f"  (TinyDB stock Table on MemoryStorage, no disk: write mean {_ms(_bench_stock_table(n, rng))}"
                " - the per-write table conversion the store avoids)"
            )
            say(f"  ratio  write {ratio:,.1f}x faster (amortised), read {read_ratio:,.1f}x faster")
            pg = _bench_postgres(new_database(), n, rng)
            worst_pg_p99 = max(worst_pg_p99, pg["write"]["p99"])
            gw, gr = pg["write"], pg["read"]
            say(
                f"  postgres write: p50 {_ms(gw['median'])}, p99 {_ms(gw['p99'])}, mean {_ms(gw['mean'])}, "
                f"max {_ms(gw['max'])} per acknowledged (committed) write; p99 / {_ms(PG_P99_GOAL)} goal = "
                f"{gw['p99'] / PG_P99_GOAL:.2f}"
            )
            say(
                f"  postgres read: mean {_ms(gr['mean'])} (memory, no round trip); open (load {n:,} documents) "
                f"{_ms(pg['open_s'])}"
            )
            say(f"  file   write: p50 {_ms(w['median'])}, p99 {_ms(w['p99'])} (same run, for comparison)")
            ours_path.unlink(missing_ok=True)
            plain_path.unlink(missing_ok=True)
        verdict = "MET" if ratio_at_max >= GOAL else "NOT MET"
        say(f"Goal >= {GOAL:.0f}x faster per write at {SIZES[-1]:,} items: {ratio_at_max:,.1f}x -> {verdict}")
        pg_verdict = "MET" if worst_pg_p99 < PG_P99_GOAL else "NOT MET"
        say(
            f"Goal PostgreSQL p99 write < {_ms(PG_P99_GOAL)} at every size: worst p99 {_ms(worst_pg_p99)} "
            f"(ratio {worst_pg_p99 / PG_P99_GOAL:.2f}) -> {pg_verdict}"
        )
        say(DURABILITY)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        stack.close()
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)

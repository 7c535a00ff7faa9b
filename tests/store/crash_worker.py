"""Crash-test worker: writes to a store in a loop until it is killed; and the driver side.

Usage: ``python tests/store/crash_worker.py TARGET START`` (from the repository root), TARGET a
state file path or a ``postgresql://`` URL.

Iteration ``i`` puts ``k<i>``, deletes ``k<i - WINDOW>`` (so the data stays small and
compactions are frequent), puts ``counter`` = ``{"n": i}``, then prints ``ack <i>``: the ack
means all three writes returned. On the file store, compaction thresholds are tiny so that
kills also land in the middle of compactions; every ``FORCE_EVERY`` iterations a compaction is
forced as well.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.store.journal import Compaction  # noqa: E402
from bot.store.pgurl import is_database_url  # noqa: E402
from bot.store.state import Store  # noqa: E402

WINDOW = 50
FORCE_EVERY = 7


def expected(i: int) -> dict[str, object]:
    return {"i": i, "pad": "x" * (i * 37 % 300), "nested": {"list": [i, str(i)]}}


def open_target(target: str) -> Store:
    return Store.configured(target if is_database_url(target) else None, target, wait=30)


def main() -> None:
    target, start = sys.argv[1], int(sys.argv[2])
    Compaction.min_bytes = 2048
    Compaction.ratio = 0.5
    store = open_target(target)
    table = store.table("crash")
    print("ready", flush=True)
    i = start
    while True:
        table.put(f"k{i}", expected(i))
        if i >= WINDOW:
            table.delete(f"k{i - WINDOW}")
        table.put("counter", {"n": i})
        if i % FORCE_EVERY == 0:
            store.compact()
        print(f"ack {i}", flush=True)
        i += 1


def run_until_killed(target: str, start: int, delay: float, min_acks: int = 0) -> list[int]:
    """Start a worker on ``target``, SIGKILL it ``delay`` seconds after it acknowledged
    ``min_acks`` writes (so a slow, loaded machine still kills it mid-work); its acks."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), target, str(start)],
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
        if not ready.wait(60):
            raise AssertionError(
                f"worker did not start: {proc.stderr.read() if proc.poll() is not None and proc.stderr else ''}"
            )
        deadline = time.monotonic() + 60
        while len(acks) < min_acks and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
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


def check_after_kill(store: Store, last: int) -> int:
    """Every acknowledged write is there, nothing half-written, nothing never written; returns
    the counter found (``last`` or ``last + 1``)."""
    table = store.table("crash")
    counter = table.get("counter")
    assert counter is not None or last < 0
    n: int = counter["n"] if counter else -1
    assert n in (last, last + 1), (n, last)  # every acknowledged write is there
    present: dict[int, Any] = {}
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
    return n


if __name__ == "__main__":
    main()

"""Crash-test worker for tests/store/test_store.py: writes to a store in a loop until it is killed.

Usage: ``python tests/store/crash_worker.py STATE_PATH START`` (from the repository root).

Iteration ``i`` puts ``k<i>``, deletes ``k<i - WINDOW>`` (so the data stays small and
compactions are frequent), puts ``counter`` = ``{"n": i}``, then prints ``ack <i>``: the ack
means all three writes returned. Compaction thresholds are tiny so that kills also land in the
middle of compactions; every ``FORCE_EVERY`` iterations a compaction is forced as well.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.store import state as store_module

WINDOW = 50
FORCE_EVERY = 7


def expected(i: int) -> dict[str, object]:
    return {"i": i, "pad": "x" * (i * 37 % 300), "nested": {"list": [i, str(i)]}}


def main() -> None:
    path, start = sys.argv[1], int(sys.argv[2])
    store_module.COMPACT_MIN_BYTES = 2048
    store_module.COMPACT_RATIO = 0.5
    store = store_module.Store.open(path)
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


if __name__ == "__main__":
    main()

"""Per-key asyncio locks: one decision at a time per post, card or job."""

from __future__ import annotations

import asyncio
import weakref


class KeyedLocks:
    """``async with locks("post:42"):`` serialises work on one key; unrelated keys run freely."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

"""What can go wrong with the state store, as exceptions (one line each, for an operator)."""

from __future__ import annotations


class StoreError(Exception):
    """The state cannot be used or a write was refused. ``str()`` is one line for the operator;
    when it is raised by a write, nothing of that write took effect."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now: the write was NOT made (memory and database are
    as before it). The store keeps reconnecting by itself; :meth:`Store.wait_available` waits."""


class StoreTakenOver(StoreError):
    """Another bot process took the database's lock while this one was disconnected; this
    process must stop (its writes are refused from now on)."""


class Corrupt(Exception):
    """A file found at start-up is unusable; ``str()`` says why (half a sentence)."""

"""PostgreSQL for the benchmarks: ``BENCH_DATABASE_URL`` when set (a server of your own; each
run uses fresh databases created in it), else a throw-away local PostgreSQL 15 started like the
tests start theirs (``tests/pgserver.py``) and removed afterwards."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from tests.pgserver import PostgresServer


@contextmanager
def databases() -> Iterator[Callable[[], str]]:
    """Yields a function that creates a fresh database and returns its URL."""
    own = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if own:
        counter = itertools.count(1)

        def create() -> str:
            name = f"bench_{os.getpid()}_{next(counter)}"
            with psycopg.connect(own, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"'.encode())
            return own.rsplit("/", 1)[0] + "/" + name

        yield create
        return
    server = PostgresServer()
    server.init()
    server.start()
    try:
        yield server.new_database
    finally:
        server.destroy()

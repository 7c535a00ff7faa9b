"""bot.store.postgres: one bot per database, the database going away and coming back, a writer
killed with SIGKILL, and ``DATABASE_URL`` as Heroku writes it — against a real server."""

from __future__ import annotations

import asyncio
import logging
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.store.errors import StoreError, StoreTakenOver, StoreUnavailable
from bot.store.pgurl import DatabaseUrl
from bot.store.state import Store
from tests.pgserver import PostgresServer
from tests.store.crash_worker import check_after_kill, run_until_killed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store.postgres(database_url, wait=10)
    yield opened
    opened.close()


def rows(url: str) -> dict[tuple[str, int], str]:
    with psycopg.connect(url) as conn:
        return {(t, i): d for t, i, d in conn.execute("SELECT tbl, id, doc FROM bot_state")}


def wait_until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# --- DATABASE_URL ----------------------------------------------------------------------------


def test_heroku_urls_are_understood_and_described_without_the_password() -> None:
    url = DatabaseUrl.parse("postgres://u5er:s3cr%40t@ec2-1-2-3-4.compute.amazonaws.com:5432/d8?sslmode=require")
    assert url.password == "s3cr@t"
    assert url.describe() == "PostgreSQL u5er@ec2-1-2-3-4.compute.amazonaws.com:5432/d8 (sslmode=require)"
    assert "s3cr" not in str(url) and "s3cr" not in repr(url)
    assert "sslmode=require" in url.conninfo() and "connect_timeout=5" in url.conninfo()
    assert "connect_timeout=2" in DatabaseUrl.parse("postgresql://h/db?connect_timeout=2").conninfo()
    for bad in ("mysql://u:p@h/db", "state.json", "http://h/db"):
        with pytest.raises(ValueError, match="postgres://") as caught:
            DatabaseUrl.parse(bad)
        assert "p@h" not in str(caught.value)


def test_sslmode_require_is_honoured(pg_server: PostgresServer, database_url: str) -> None:
    """The test server has no TLS: with ``sslmode=require`` the connection must be refused
    (proof that the URL's setting reaches libpq), and the error carries no password."""
    url = database_url.replace("postgres@", "postgres:pw-XYZ@") + "?sslmode=require"
    with pytest.raises(Exception) as caught:
        Store.postgres(url, wait=0)
    assert "SSL" in str(caught.value) and "pw-XYZ" not in str(caught.value)


def test_a_unix_socket_url_works(pg_server: PostgresServer, database_url: str) -> None:
    dbname = database_url.rsplit("/", 1)[1]
    store = Store.postgres(pg_server.socket_url(dbname), wait=10)
    store.table("cards").put("a", {"n": 1})
    assert store.health().kind == "postgresql" and store.health().available
    store.close()
    heroku = database_url.replace("postgresql://", "postgres://")  # the scheme Heroku writes
    assert Store.postgres(heroku, wait=10).table("cards").get("a") == {"n": 1}


# --- what is in the database -----------------------------------------------------------------


def test_each_write_is_committed_before_it_returns(store: Store, database_url: str) -> None:
    cards = store.table("cards")
    cards.put("a", {"n": 1, "text": "سلام"})
    assert '{"n":1,"text":"سلام","_key":"a"}' in rows(database_url).values()
    cards.put_many({"b": {"n": 2}, "c": {"n": 3}})
    cards.delete("a")
    docs = sorted(rows(database_url).values())
    assert '{"n":2,"_key":"b"}' in docs and '{"n":3,"_key":"c"}' in docs
    assert not any('"_key":"a"' in d for d in docs)


def test_a_foreign_bot_state_table_is_refused(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bot_state (tbl text, id bigint, doc text, PRIMARY KEY (tbl, id))")
        conn.execute("""INSERT INTO bot_state VALUES ('meta', 1, '{"_key":"format","mark":"other"}')""")
    with pytest.raises(Exception, match="not written by this bot"):
        Store.postgres(database_url, wait=0)


# --- one bot per database --------------------------------------------------------------------

WAITER = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
    "from bot.store.state import Store\n"
    "store = Store.postgres(sys.argv[1], wait=30)\n"
    "print('opened', store.table('cards').get('a'), flush=True)\n"
    "store.table('cards').put('b', {'n': 2})\n"
    "store.close()\n"
)


def second_bot(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WAITER, url], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_a_second_bot_waits_and_takes_over_when_the_first_goes(database_url: str, how: str) -> None:
    if how == "exits":
        first: Store | subprocess.Popen[str] = Store.postgres(database_url, wait=10)
        first.table("cards").put("a", {"n": 10})
    else:
        first = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time\nfrom bot.store.state import Store\n"
                "s = Store.postgres(sys.argv[1], wait=30)\ns.table('cards').put('a', {'n': 10})\n"
                "print('ready', flush=True)\ntime.sleep(600)\n",
                database_url,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    second = second_bot(database_url)
    try:
        assert second.stdout is not None
        line = second.stdout.readline()
        assert "in use by another running bot" in line and "waiting" in line, line
        time.sleep(0.3)
        assert second.poll() is None  # still waiting: it has not read or written anything
        if isinstance(first, Store):
            first.close()
        else:
            first.kill()
            first.wait(30)
        rest = second.stdout.read()
        assert second.wait(30) == 0, rest
        assert "taking over" in rest and "opened {'n': 10}" in rest
    finally:
        second.kill()
        second.wait(30)
        if isinstance(first, subprocess.Popen):
            first.kill()
            first.wait(30)
    again = Store.postgres(database_url, wait=10)
    assert dict(again.table("cards").items()) == {"a": {"n": 10}, "b": {"n": 2}}
    again.close()


# --- the database going away -----------------------------------------------------------------


def test_a_restart_refuses_writes_then_resumes_with_nothing_lost(
    pg_server: PostgresServer,
    store: Store,
    database_url: str,
    fast_reconnect: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    pg_server.stop()
    with caplog.at_level(logging.INFO, logger="bot.store.postgres"):
        with pytest.raises(StoreUnavailable, match="not saved"):
            cards.put("b", {"n": 2})
        assert "is unreachable" in caplog.text
        health = store.health()
        assert not health.available and health.since is not None and health.detail
        with pytest.raises(StoreUnavailable):  # refused at once while it is away
            cards.put_many({"c": {"n": 3}, "a": {"n": 9}})
        assert dict(cards.items()) == {"a": {"n": 1}} and "b" not in cards  # memory unchanged
        assert cards.get("a") == {"n": 1}  # reads still work (from memory)
        pg_server.start()
        wait_until(lambda: store.available)
        assert "reachable again" in caplog.text
    cards.put("d", {"n": 4})
    store.close()
    again = Store.postgres(database_url, wait=10)
    assert dict(again.table("cards").items()) == {"a": {"n": 1}, "d": {"n": 4}}
    again.close()


def test_an_uncertain_write_is_repaired_to_what_was_acknowledged(
    store: Store, database_url: str, fast_reconnect: None
) -> None:
    """A write whose connection broke may have been committed anyway: after reconnecting the
    database is made equal to memory (the write was reported as not done, so it is undone)."""
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    with psycopg.connect(database_url, autocommit=True) as admin:
        # the write reaches the database, then the connection dies before the bot hears back
        admin.execute("""UPDATE bot_state SET doc = '{"n":2,"_key":"a"}' WHERE doc LIKE '%"_key":"a"%'""")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'resont-miogram-bot'"
        )
    with pytest.raises(StoreUnavailable):
        cards.put("a", {"n": 2})
    wait_until(lambda: store.available)
    assert any(d == '{"n":1,"_key":"a"}' for d in rows(database_url).values())
    assert cards.get("a") == {"n": 1}


def test_another_bot_taking_over_during_an_outage_stops_this_one(
    pg_server: PostgresServer, store: Store, database_url: str, fast_reconnect: None
) -> None:
    stopped = threading.Event()
    store.on_taken_over(stopped.set)
    pg_server.restart()
    # the lock was free: another bot got it (through the socket: not this process's "reopen")
    other = Store.postgres(pg_server.socket_url(database_url.rsplit("/", 1)[1]), wait=10)
    try:
        with pytest.raises(StoreUnavailable):
            store.table("cards").put("x", {"n": 1})
        assert stopped.wait(30)
        with pytest.raises(StoreTakenOver):
            store.table("cards").put("x", {"n": 1})
        assert not store.health().available and "took over" in store.health().detail
        other.table("cards").put("y", {"n": 2})
    finally:
        other.close()


def test_killed_writer_loses_no_acknowledged_write(database_url: str) -> None:
    rng = random.Random(4321)
    start = 0
    total_acks = 0
    for iteration in range(6):
        delay = 0.0 if iteration == 0 else rng.uniform(0.05, 0.4)
        acks = run_until_killed(database_url, start, delay, min_acks=10 if iteration else 0)
        assert acks == list(range(start, start + len(acks))), "acks out of order"
        last = acks[-1] if acks else start - 1
        total_acks += len(acks)
        store = Store.postgres(database_url, wait=10)  # the killed session's lock is gone
        n = check_after_kill(store, last)
        store.close()
        start = n + 1
    assert total_acks > 50


async def test_a_write_that_may_not_be_refused_waits_for_the_database(
    pg_server: PostgresServer, store: Store, database_url: str, fast_reconnect: None
) -> None:
    """``Store.durably``: what already happened outside (a card sent, a batch answered) is
    written when the database is back, not dropped and not reported as done before."""
    cards = store.table("cards")
    cards.put("a", {"n": 1})
    await asyncio.to_thread(pg_server.stop)
    pending = asyncio.create_task(store.durably(lambda: cards.put("b", {"n": 2})))
    await asyncio.sleep(0.5)
    assert not pending.done() and "b" not in cards
    await asyncio.to_thread(pg_server.start)
    await asyncio.wait_for(pending, 30)
    assert cards.get("b") == {"n": 2}
    assert '{"n":2,"_key":"b"}' in rows(database_url).values()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.wait_available()

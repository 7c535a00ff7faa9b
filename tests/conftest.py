"""Shared test fixtures: the Telegram side, and the PostgreSQL server (``pg_server``, ``database_url``).

* ``botapi``   – a started :class:`tests.botapi.BotApiEmulator` (function scope). Flood limits
  default to ``FloodLimits.relaxed()`` (60/min per group, 30/s overall); change them per test
  with ``botapi.set_limits(group=20, group_window=2.0)`` or ``botapi.set_limits(FloodLimits.off())``.
* ``tta``      – telegram-test-api (one node process per session, a fresh bot token per test):
  skipped with the reason when node_modules/telegram-test-api is missing.
* ``telegram`` – parametrized over both: use it for text/command/button/edit/delete flows so the
  home-made emulator stays honest.

A folder's own fixtures live in its ``conftest.py`` (the MioGram client's fake, the posts tests'
Resont); a config for tests comes from :func:`tests.harness.test_config`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store.postgres import Backoff
from tests.botapi import DEFAULT_TOKEN, BotApiEmulator, FloodLimits
from tests.botapi.tta import TtaServer, tta_unavailable_reason
from tests.pgserver import PostgresServer

TEST_TOKEN = DEFAULT_TOKEN


@pytest.fixture
def botapi():
    """A started BotApiEmulator (token ``TEST_TOKEN``), stopped after the test."""
    emulator = BotApiEmulator(TEST_TOKEN, limits=FloodLimits.relaxed())
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def tta_server():
    """The telegram-test-api node process for the whole session (skips when not installed)."""
    reason = tta_unavailable_reason()
    if reason:
        pytest.skip(f"telegram-test-api backend unavailable: {reason}")
    server = TtaServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tta(tta_server):
    """A TtaEmulator with its own bot token on the shared telegram-test-api server."""
    client = tta_server.client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(params=["emulator", "tta"])
def telegram(request):
    """Both backends in turn, behind the same user-side API (``telegram.name`` says which)."""
    return request.getfixturevalue("botapi" if request.param == "emulator" else "tta")


# --- suite-wide log capture (tests/drills/log_capture.py): every log record of the session is
# checked for the configured secrets; a leak fails the run at the end.
def pytest_configure(config: pytest.Config) -> None:
    from tests.drills.log_capture import register

    register(config)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (see tests/pgserver.py), stopped at its end."""
    server = PostgresServer()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def database_url(pg_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return pg_server.new_database()


@pytest.fixture
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The PostgreSQL store retries every 0.05-0.2 s instead of 0.5-10 s (drills in-process)."""
    monkeypatch.setattr(Backoff, "first", 0.05)
    monkeypatch.setattr(Backoff, "cap", 0.2)

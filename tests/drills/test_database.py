"""Database drills: the real ``python -m bot`` on PostgreSQL (``DATABASE_URL``), and the server
restarted under it — during a mass send and during poll cycles. Afterwards nothing is lost and
nothing was sent twice, the log said the database was unreachable and back, and the bot carried
on by itself. Also: two bots on one database (the second waits, then takes over)."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections import Counter
from typing import Any

import pytest

from tests.botapi import text_of, wait_for
from tests.drills.arrivals import Arrivals
from tests.drills.flows import go_button, mass_preview, recent, report_of
from tests.drills.killdrill import BotProcess, drill_env
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT
from tests.pgserver import PostgresServer

pytestmark = pytest.mark.timeout(180)

SEED = 20241206
RESONT_TOKEN = "drill-resont-token"
MIOGRAM_SECRET = "drill-mio-secret"
DB_PASSWORD = "drill-db-password"


def db_env(botapi: Any, tmp_path: Any, database_url: str, **settings: Any) -> dict[str, str]:
    # a password in the URL (the test server trusts loopback and ignores it): it must never
    # reach the log
    url = database_url.replace("postgres@", f"postgres:{DB_PASSWORD}@")
    unused = tmp_path / "unused" / "state.json"
    return drill_env(botapi, resont_token=RESONT_TOKEN, database_url=url, state_path=unused, **settings)


def assert_clean_log(bot: BotProcess, botapi: Any) -> str:
    log = bot.log_text()
    for secret in (RESONT_TOKEN, MIOGRAM_SECRET, DB_PASSWORD, botapi.token):
        assert secret not in log
    assert "Traceback" not in log, log[-4000:]
    return log


async def outage(pg_server: PostgresServer, seconds: float) -> None:
    await asyncio.to_thread(pg_server.stop)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(pg_server.start)


async def test_a_database_restart_during_a_mass_send_pauses_it_and_loses_or_doubles_nothing(
    botapi: Any, tmp_path: Any, pg_server: PostgresServer, database_url: str
) -> None:
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    resont = FakeResont(token=RESONT_TOKEN)
    numbers = [f"+98912{4_000_000 + i}" for i in range(200)]
    with fake.serve() as mio, resont.serve() as rs:
        env = db_env(
            botapi,
            tmp_path,
            database_url,
            resont_base_url=f"{rs.url}{resont.base_path}",
            poll_seconds=3600,
            miogram_secret=MIOGRAM_SECRET,
            miogram_url=f"{mio.url}/dojob.php",
            mass_batch_size=5,
        )
        bot = BotProcess(env, tmp_path)
        try:
            bot.start()
            await wait_for(lambda: botapi.requests_of("getUpdates"), timeout=30, message=bot.tail)
            assert "state: PostgreSQL postgres@127.0.0.1" in bot.log_text()
            preview = await mass_preview(botapi, numbers)
            go = go_button(preview)
            job_id = go.split(":")[2]
            fake.latency = 0.05
            botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], go)
            for _ in range(2):
                before = len(fake.calls_of("SendMessageMass"))
                await wait_for(
                    lambda: len(fake.calls_of("SendMessageMass")) > before + 3,
                    timeout=30,
                    message=lambda: f"{recent(botapi)}\n{bot.tail()}",
                )
                await asyncio.to_thread(pg_server.stop)
                await wait_for(lambda: "is unreachable" in bot.log_text(), timeout=30, message=bot.tail)
                paused_at = len(fake.calls_of("SendMessageMass"))
                await asyncio.sleep(1.5)
                # at most the batch that was already out finishes; no new batch starts
                assert len(fake.calls_of("SendMessageMass")) <= paused_at + 1, "a batch started without the database"
                await asyncio.to_thread(pg_server.start)
            report = await report_of(botapi, job_id, timeout=90)
            log = assert_clean_log(bot, botapi)
        finally:
            bot.stop()
    assert log.count("reachable again") >= 2
    sent = fake.sent_numbers()
    assert not [n for n, c in Counter(sent).items() if c > 1], "a number was sent twice"
    rows = list(csv.DictReader(io.StringIO(botapi.file_bytes(report["document"]["file_id"]).decode("utf-8-sig"))))
    assert {row["number"]: row["outcome"] for row in rows} == dict.fromkeys(numbers, "sent")
    assert sorted(sent) == sorted(numbers)


async def test_a_database_restart_during_poll_cycles_forwards_every_item_exactly_once(
    botapi: Any, tmp_path: Any, pg_server: PostgresServer, database_url: str
) -> None:
    rng = random.Random(SEED)
    arrivals = Arrivals(rng, RESONT_TOKEN)
    fake, arrive = arrivals.fake, arrivals.arrive

    with fake.serve() as server:
        env = db_env(
            botapi,
            tmp_path,
            database_url,
            resont_base_url=f"{server.url}{fake.base_path}",
            poll_seconds=0.3,
            digest_threshold=4,
            dm_group_seconds=1,
        )
        bot = BotProcess(env, tmp_path)
        try:
            bot.start()
            await wait_for(lambda: len(fake.requests_to(r"^GET conversation$")) >= 2, timeout=30, message=bot.tail)
            fake.latency = 0.02
            for _ in range(3):
                arrive(rng.randint(2, 6))
                seen = len(fake.requests)
                await wait_for(lambda: len(fake.requests) > seen, timeout=30, message=bot.tail)
                await asyncio.sleep(rng.uniform(0.0, 0.5))
                stop = asyncio.create_task(outage(pg_server, rng.uniform(0.5, 2.0)))
                arrive(rng.randint(1, 4))  # more arrive while the database is away
                await stop
            await wait_for(
                lambda: not arrivals.missing(botapi),
                timeout=60,
                message=lambda: f"missing {arrivals.missing(botapi)}\n{bot.tail()}",
            )
            await asyncio.sleep(1.2)  # a few more poll cycles: nothing may come again
            log = assert_clean_log(bot, botapi)
        finally:
            bot.stop()
    counts = arrivals.counts(botapi)
    assert set(counts) == set(arrivals.tags), "an item was lost"
    assert [t for t, c in counts.items() if c > 1] == [], "an item was forwarded twice"
    assert "is unreachable" in log and "reachable again" in log


async def test_a_second_bot_on_the_same_database_waits_and_takes_over(
    botapi: Any, tmp_path: Any, database_url: str
) -> None:
    resont = FakeResont(token=RESONT_TOKEN)
    with resont.serve() as rs:
        env = db_env(botapi, tmp_path, database_url, resont_base_url=f"{rs.url}{resont.base_path}", poll_seconds=3600)
        first = BotProcess(env, tmp_path / "one")
        second = BotProcess(env, tmp_path / "two")
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        try:
            first.start()
            await wait_for(lambda: botapi.requests_of("getUpdates"), timeout=30, message=first.tail)
            second.start()
            await wait_for(
                lambda: "in use by another running bot" in second.log_text(), timeout=30, message=second.tail
            )
            await asyncio.sleep(1.0)
            assert second.running and "starting:" not in second.log_text()  # it only waits
            assert first.running
            first.stop()
            await wait_for(
                lambda: "taking over" in second.log_text() and "starting:" in second.log_text(),
                timeout=30,
                message=second.tail,
            )
            botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
            status = await wait_for(
                lambda: [m for m in botapi.bot_messages(ADMIN_CHAT) if "PostgreSQL" in text_of(m)],
                timeout=30,
                message=second.tail,
            )
            assert DB_PASSWORD not in text_of(status[0])
        finally:
            first.stop()
            second.stop()
    assert_clean_log(second, botapi)

"""Kill drills: the real ``python -m bot`` (configured by environment variables only) killed
with SIGKILL at seeded random points, restarted on the same state file, again and again.

* During poll cycles (12 kills): comments and DMs keep arriving in the Resont fake; afterwards
  every one of them was forwarded to the admin chat exactly once (counted by a unique tag in
  the text of every card and digest the emulator holds).
* During a mass send (8 kills): afterwards no number reached the MioGram fake twice, every batch
  that was in flight at a kill was surfaced as "outcome unknown" (a card) and settled by an
  admin through MioGram's own report, and the final report agrees with what the gateway got.

The one duplicate a crash can cause by nature is a card that Telegram accepted in the instant
before the kill, before the bot could write that down (Telegram has no idempotency key): a
duplicate is accepted only when its first copy reached the emulator less than
``IN_FLIGHT_WINDOW`` before a kill, and the drill reports how many there were.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections import Counter
from typing import Any

import pytest

from tests.botapi import wait_for
from tests.drills.arrivals import Arrivals
from tests.drills.flows import (
    go_button,
    last_message_id,
    mass_preview,
    recent,
    report_of,
    settle_by_report,
    unknown_cards,
)
from tests.drills.killdrill import BotProcess, drill_env
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT

pytestmark = pytest.mark.timeout(150)

SEED = 20241124
POLL_KILLS = 12
MASS_KILLS = 8
IN_FLIGHT_WINDOW = 0.5
RESONT_TOKEN = "drill-resont-token"
MIOGRAM_SECRET = "drill-mio-secret"


@pytest.fixture(params=["file", "postgres"])
def home(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    """Where the killed bot keeps its state: the state file, or a PostgreSQL database (then each
    start gets a new, empty working directory, as a Heroku dyno does)."""
    if request.param == "file":
        return {"state_path": tmp_path / "state.json"}
    return {"database_url": request.getfixturevalue("database_url")}  # STATE_PATH: ./state.json, unused


def _env(botapi: Any, home: dict[str, Any], **settings: Any) -> dict[str, str]:
    return drill_env(botapi, resont_token=RESONT_TOKEN, **home, **settings)


def _first_copy(botapi: Any, tag: str) -> tuple[float, int] | None:
    """When the first request carrying ``tag`` to the admin chat reached the emulator, and the
    message it made or changed."""
    for request in botapi.requests_of("sendMessage", "editMessageText"):
        if request.ok and tag in str(request.params.get("text", "")):
            return request.time, int((request.result or {}).get("message_id", 0))
    return None


async def test_sigkill_at_random_points_of_poll_cycles_forwards_every_item_exactly_once(botapi, tmp_path, home):
    rng = random.Random(SEED)
    arrivals = Arrivals(rng, RESONT_TOKEN)
    fake, arrive, tags = arrivals.fake, arrivals.arrive, arrivals.tags

    with fake.serve() as server:
        env = _env(
            botapi,
            home,
            resont_base_url=f"{server.url}{fake.base_path}",
            poll_seconds=0.3,
            digest_threshold=4,
            dm_group_seconds=1,
        )
        bot = BotProcess(env, tmp_path, fresh_cwd="database_url" in home)
        try:
            bot.start()
            # first start: the polls remember where history ends (nothing old is forwarded)
            await wait_for(lambda: len(fake.requests_to(r"^GET conversation$")) >= 2, timeout=30, message=bot.tail)
            fake.latency = 0.02
            for _ in range(POLL_KILLS):
                if not bot.running:
                    bot.start()
                arrive(rng.randint(1, 6))
                seen = len(fake.requests)
                await wait_for(lambda: len(fake.requests) > seen, timeout=30, message=bot.tail)
                await asyncio.sleep(rng.uniform(0.0, 1.0))
                if rng.random() < 0.5:
                    arrive(rng.randint(1, 3))  # more arrive in the middle of a cycle
                bot.kill()
            bot.start()

            await wait_for(
                lambda: not arrivals.missing(botapi),
                timeout=40,
                message=lambda: f"missing: {arrivals.missing(botapi)}\n{bot.tail()}",
            )
            await asyncio.sleep(1.2)  # a few more poll cycles: nothing may come again
        finally:
            bot.stop()
    counts = arrivals.counts(botapi)
    assert set(counts) == set(tags), "an item was lost"
    explained: dict[int, list[str]] = {}  # message (first copy) → its duplicated tags
    by_kill: dict[int, set[int]] = {}  # kill → messages it explains
    unexplained = []
    for tag, count in sorted(counts.items()):
        if count == 1:
            continue
        first = _first_copy(botapi, tag)
        kills = [
            i for i, kill in enumerate(bot.kills) if first is not None and 0 <= kill - first[0] <= IN_FLIGHT_WINDOW
        ]
        if not kills:
            unexplained.append((tag, count))
            continue
        explained.setdefault(first[1], []).append(tag)
        by_kill.setdefault(kills[0], set()).add(first[1])
    print(
        f"poll kill drill: {len(bot.kills)} kills, {len(tags)} items; sent again after a kill that came in "
        f"the instant after Telegram accepted them: {sum(len(v) for v in explained.values())} item(s) of "
        f"{len(explained)} message(s) {explained}"
    )
    assert not unexplained, f"items forwarded more than once: {unexplained}"
    assert all(len(messages) == 1 for messages in by_kill.values()), f"one kill, several messages: {by_kill}"
    log = bot.log_text()
    assert RESONT_TOKEN not in log and botapi.token not in log
    last_run = log.split("===== start")[-1]
    assert "Traceback" not in last_run, f"the last run logged a crash:\n{last_run[-4000:]}"


async def test_sigkill_during_a_mass_send_never_sends_a_number_twice(botapi, tmp_path, home):
    rng = random.Random(SEED + 1)
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    resont = FakeResont(token=RESONT_TOKEN)
    numbers = [f"+98912{3_000_000 + i}" for i in range(250)]

    def mass_requests() -> int:
        return len(fake.calls_of("SendMessageMass"))

    with fake.serve() as mio, resont.serve() as rs:
        env = _env(
            botapi,
            home,
            resont_base_url=f"{rs.url}{resont.base_path}",
            poll_seconds=3600,
            miogram_secret=MIOGRAM_SECRET,
            miogram_url=f"{mio.url}/dojob.php",
            mass_batch_size=5,
        )
        bot = BotProcess(env, tmp_path, fresh_cwd="database_url" in home)
        surfaced: list[str] = []
        choices: list[str] = []
        try:
            bot.start()
            await wait_for(lambda: botapi.requests_of("getUpdates"), timeout=30, message=bot.tail)
            preview = await mass_preview(botapi, numbers)
            go = go_button(preview)
            job_id = go.split(":")[2]
            fake.latency = 0.1  # the gateway takes its time: a kill usually finds a batch in flight
            botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], go)
            for _ in range(MASS_KILLS):
                before = mass_requests()
                await wait_for(
                    lambda: mass_requests() > before, timeout=30, message=lambda: f"{recent(botapi)}\n{bot.tail()}"
                )
                await asyncio.sleep(rng.uniform(0.0, 0.4))
                bot.kill()
                last = last_message_id(botapi)
                bot.start()
                await asyncio.sleep(0.3)  # a request the gateway was still working on is counted
                after_kill = mass_requests()
                # after the restart: either the batch that was out is shown as unknown (and the
                # send waits for an admin), or nothing was out and the send simply goes on
                outcome = await wait_for(
                    lambda: unknown_cards(botapi, after=last) or mass_requests() > after_kill,
                    timeout=30,
                    message=bot.tail,
                )
                if outcome is not True:
                    card = outcome[0]
                    surfaced.append(card["message_id"])
                    await asyncio.sleep(0.3)
                    assert mass_requests() == after_kill, "a send went on while a batch was unknown"
                    choices.append(await settle_by_report(botapi, card, otherwise="skip"))
            report = await report_of(botapi, job_id, timeout=60)
        finally:
            bot.stop()
    sent = fake.sent_numbers()
    duplicates = [n for n, c in Counter(sent).items() if c > 1]
    assert not duplicates, f"numbers sent twice: {duplicates}"
    rows = list(csv.DictReader(io.StringIO(botapi.file_bytes(report["document"]["file_id"]).decode("utf-8-sig"))))
    outcomes = {row["number"]: row["outcome"] for row in rows}
    assert sorted(outcomes) == sorted(numbers)
    reported_sent = {n for n, o in outcomes.items() if o == "sent"}
    assert reported_sent == set(sent), "the report must say sent exactly for what the gateway got"
    assert set(outcomes.values()) <= {"sent", "unknown"}
    unknown_batches = {int(row["batch"]) for row in rows if row["outcome"] == "unknown"}
    assert len(unknown_batches) <= len(surfaced), "an unknown batch was not shown to the admins"
    log = bot.log_text()
    assert log.count("in flight at a restart") == len(surfaced)
    assert MIOGRAM_SECRET not in log and RESONT_TOKEN not in log and botapi.token not in log
    print(
        f"mass kill drill: {len(bot.kills)} kills, {len(surfaced)} batch(es) in flight surfaced as unknown "
        f"and settled ({Counter(c.split(':')[1] for c in choices)}), {len(sent)} numbers sent once, "
        f"{len(numbers) - len(sent)} reported unknown"
    )

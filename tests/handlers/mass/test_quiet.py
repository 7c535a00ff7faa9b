"""Quiet hours (``MASS_QUIET_HOURS``) end to end: the real bot and its Telegram stack against the
Bot API emulator and the MioGram fake, with a clock the test moves. The fake "takes a minute"
per batch by moving that clock, so a send can run into the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application

from bot.massjobs import docs as md
from handlers.mass import buttons as kinds
from tests.botapi.emulator import button_datas, text_of
from tests.fakes.base import FakeResponse
from tests.fakes.miogram import FakeMioGram
from tests.handlers.mass.flows import (
    bot_says,
    button,
    flow_to_preview,
    mass_bot,
    numbers,
    progress_showing,
    report_rows,
    store_of,
)
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET

QUIET = {"mass_quiet_hours": "21:00-09:00", "timezone": "UTC", "mass_batch_size": 100}


class Clock:
    """A clock the test (and the fake) moves; the bot reads it as its ``clock``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class SlowGateway(FakeMioGram):
    """A MioGram whose gateway takes a minute of the test's clock per Mass request."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(secret=MIOGRAM_SECRET)
        self.clock = clock

    def _mass_send(self, fields: dict[str, str]) -> FakeResponse:
        answer = super()._mass_send(fields)
        self.clock.advance(60)
        return answer


async def run_scheduled(app: Application, key: str) -> None:
    """Run the bot's scheduled job ``key`` now (its time came on the test's clock)."""
    jobs = app.job_queue.get_jobs_by_name(f"scheduled:{key}")
    assert jobs, f"nothing scheduled as {key!r}: {[j.name for j in app.job_queue.jobs()]}"
    await jobs[0].run(app)


def job_doc(app: Application, job_id: str) -> dict[str, Any]:
    return store_of(app).table(md.TABLE).get(job_id)


async def test_a_send_crossing_the_quiet_hours_pauses_at_their_start_and_resumes_at_their_end(botapi):
    clock = Clock(datetime(2026, 12, 7, 20, 58, tzinfo=UTC))
    fake = SlowGateway(clock)
    audience = numbers(300)
    async with mass_bot(botapi, fake, clock=clock, **QUIET) as app:
        preview = await flow_to_preview(botapi, "\n".join(audience))
        # 300 numbers take about 5 minutes: the window at 21:00 holds the end until after 09:00
        assert "Quiet hours 21:00–09:00" in text_of(preview) and "09:" in text_of(preview)
        assert button(preview, "mass:goq:")
        job_id = button(preview, "mass:go:").split(":")[2]
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], kinds.Go(job_id).encode())
        paused = await progress_showing(app, botapi, job_id, "Paused for the quiet hours")
        assert "goes on by itself at" in text_of(paused) and "09:00" in text_of(paused)
        assert any(d.startswith("mass:anyway:") for d in button_datas(paused))
        # batches at 20:58 and 20:59 went out; none started at 21:00
        assert len(fake.sent) == 200 and job_doc(app, job_id)["pause_reason"] == md.QUIET
        clock.now = datetime(2026, 12, 8, 9, 0, 5, tzinfo=UTC)
        await run_scheduled(app, f"mass-wake:{job_id}")
        rows = await report_rows(botapi, job_id)
    assert sorted(fake.sent_numbers()) == sorted(audience)  # every number once
    assert {row["outcome"] for row in rows if row["number"].startswith("+")} == {"sent"}


async def test_a_send_scheduled_inside_the_quiet_hours_waits_for_their_end(botapi):
    clock = Clock(datetime(2026, 12, 7, 21, 30, tzinfo=UTC))
    fake = SlowGateway(clock)
    async with mass_bot(botapi, fake, clock=clock, **QUIET) as app:
        preview = await flow_to_preview(botapi, "\n".join(numbers(150)))
        job_id = button(preview, "mass:sched:").split(":")[2]
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], kinds.Schedule(job_id).encode())
        ask = await bot_says(botapi, "When should", after=preview["message_id"])
        botapi.user_sends(ADMIN, ADMIN_CHAT, "22:00", reply_to=ask["message_id"])
        await bot_says(botapi, "is scheduled for", after=ask["message_id"])
        clock.now = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
        await run_scheduled(app, f"mass:{job_id}")
        paused = await progress_showing(app, botapi, job_id, "Paused for the quiet hours")
        assert "09:00" in text_of(paused) and fake.sent == []
        clock.now = datetime(2026, 12, 8, 9, 1, tzinfo=UTC)
        await run_scheduled(app, f"mass-wake:{job_id}")
        await report_rows(botapi, job_id)
    assert sorted(fake.sent_numbers()) == sorted(numbers(150))


async def test_an_admin_can_send_anyway_inside_the_quiet_hours(botapi):
    clock = Clock(datetime(2026, 12, 7, 23, 0, tzinfo=UTC))
    fake = SlowGateway(clock)
    async with mass_bot(botapi, fake, clock=clock, **QUIET) as app:
        preview = await flow_to_preview(botapi, "\n".join(numbers(150)))
        job_id = button(preview, "mass:goq:").split(":")[2]
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], kinds.GoAnyway(job_id).encode())
        await report_rows(botapi, job_id)
        assert job_doc(app, job_id)["send_anyway"] is True
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        assert "quiet hours: 21:00–09:00 (UTC)" in text_of(await bot_says(botapi, "Mass-send quiet hours"))
    assert sorted(fake.sent_numbers()) == sorted(numbers(150))

"""Approval deadlines end to end: one reminder before a draft's time, naming who has not approved,
and a card that says the draft missed its slot, with Publish now and Reschedule.

The real bot against the Bot API emulator and the Resont fake, both on a clock the test moves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.store.state import Store
from tests.botapi import text_of
from tests.fakes.resont import FakeResont
from tests.handlers.posts.helpers import (
    Clock,
    audit,
    bot_text,
    card_of,
    current,
    datas,
    deadlines_ran,
    draft,
    press,
    reminders,
    running,
    writes,
)
from tests.harness import ADMIN, ADMIN_2, ADMIN_CHAT, RESONT_TOKEN


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))


@pytest.fixture
def resont(clock) -> FakeResont:
    fake = FakeResont(token=RESONT_TOKEN, clock=clock)
    fake.add_account("Brand IG", "instagram")
    fake.add_account("Brand TG", "telegram")
    return fake


async def settle(app, runs: int = 2) -> None:
    """Let the deadlines job run a few times at the current (fake) time."""
    for _ in range(runs):
        await deadlines_ran(app)


async def test_one_reminder_names_the_admins_who_have_not_approved(botapi, resont, clock, tmp_path):
    botapi.add_member(ADMIN_CHAT, {"id": ADMIN_2, "first_name": "Dana"})
    pg = draft(resont, "Launch day", schedule=clock.now + timedelta(hours=3))["id"]
    path = tmp_path / "state.json"
    async with running(botapi, resont, store=Store.open(path), clock=clock, approvals_required=2) as app:
        card = await card_of(botapi, pg)
        await press(botapi, ADMIN, card, f"post:ok:{pg}")  # one of two
        await settle(app)
        assert reminders(botapi, pg) == []  # three hours before: not yet

        clock.advance(hours=2, minutes=5)  # 55 minutes before, within the default hour
        [reminder] = await botapi.wait_for(lambda: reminders(botapi, pg))
        assert reminder["reply_to_message"]["message_id"] == card["message_id"]
        text = text_of(reminder)
        assert "in about 55 min" in text and "Not yet approved by: Dana." in text
        assert "User1" not in text  # ADMIN approved already
        mentioned = [e["user"]["id"] for e in reminder.get("entities", []) if e["type"] == "text_mention"]
        assert mentioned == [ADMIN_2]  # a mention: Telegram notifies the admin
        await settle(app)
        clock.advance(minutes=30)
        await settle(app)
        assert len(reminders(botapi, pg)) == 1
        assert writes(resont, pg) == []  # a reminder changes nothing in Resont

    async with running(botapi, resont, store=Store.open(path), clock=clock, approvals_required=2) as app:
        await settle(app, 3)
        assert len(reminders(botapi, pg)) == 1  # a restart does not remind again
        [record] = audit(app, "post.reminder")
        assert record["waiting"] == [ADMIN_2]


async def test_without_a_name_the_reminder_mentions_the_admin_by_id(botapi, resont, clock):
    pg = draft(resont, "Soon", schedule=clock.now + timedelta(minutes=20))["id"]
    async with running(botapi, resont, clock=clock):
        [reminder] = await botapi.wait_for(lambda: reminders(botapi, pg))
        assert "Not yet approved by: admin 1, admin 4." in text_of(reminder)
        assert "in about 20 min" in text_of(reminder)


async def test_no_reminder_when_turned_off_but_the_missed_slot_still_shows(botapi, resont, clock):
    pg = draft(resont, "Quiet", schedule=clock.now + timedelta(hours=3))["id"]
    async with running(botapi, resont, clock=clock, approval_remind_minutes=0) as app:
        card = await card_of(botapi, pg)
        clock.advance(hours=2, minutes=30)
        await settle(app, 3)
        assert reminders(botapi, pg) == []
        clock.advance(hours=1)
        await botapi.wait_for(lambda: "Missed its slot" in text_of(current(botapi, card)))
        assert reminders(botapi, pg) == []


async def test_missed_slot_offers_publish_now_and_changes_nothing_by_itself(botapi, resont, clock):
    pg = draft(resont, "Flash sale", schedule=clock.now + timedelta(hours=2))["id"]
    async with running(botapi, resont, clock=clock) as app:
        card = await card_of(botapi, pg)
        assert f"post:ok:{pg}" in datas(card) and "Missed its slot" not in text_of(card)
        clock.advance(hours=2, minutes=1)
        await botapi.wait_for(lambda: "Missed its slot" in text_of(current(botapi, card)))
        missed = current(botapi, card)
        assert datas(missed) == [f"post:now:{pg}", f"post:time:{pg}", f"post:cap:{pg}", f"post:no:{pg}"]
        await settle(app)
        assert writes(resont, pg) == [] and resont.post_groups[pg]["status"] == "draft"
        [record] = audit(app, "post.missed")
        assert record["actor"] == "bot"

        answer = await press(botapi, ADMIN, missed, f"post:now:{pg}")
        assert answer["text"] == "Approved: published now."
        assert resont.post_groups[pg]["status"] == "published" and len(writes(resont, pg)) == 1
        await botapi.wait_for(lambda: "published now" in text_of(current(botapi, card)))
        assert "Missed its slot" not in text_of(current(botapi, card))


async def test_missed_slot_reschedule_keeps_the_draft_and_gives_it_a_new_deadline(botapi, resont, clock):
    pg = draft(resont, "Webinar", schedule=clock.now + timedelta(minutes=30))["id"]
    async with running(botapi, resont, clock=clock) as app:
        card = await card_of(botapi, pg)
        await botapi.wait_for(lambda: reminders(botapi, pg))
        clock.advance(minutes=31)
        await botapi.wait_for(
            lambda: (
                f"post:time:{pg}" in datas(current(botapi, card))
                and "Missed its slot" in text_of(current(botapi, card))
            )
        )
        await press(botapi, ADMIN, current(botapi, card), f"post:time:{pg}")
        prompt = await bot_text(botapi, rf"new time for post #{pg}")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "+3h", reply_to=prompt["message_id"])
        confirm = await bot_text(botapi, rf"Move post #{pg} to")
        [yes] = [d for d in datas(confirm) if d.startswith(f"post:rsok:{pg}:")]
        assert writes(resont, pg) == []  # nothing in Resont before the confirmation
        await press(botapi, ADMIN, confirm, yes)
        new_time = datetime.fromtimestamp(int(yes.split(":")[3]), UTC)
        await botapi.wait_for(lambda: resont.post_groups[pg]["schedule_date"] == new_time)
        assert resont.post_groups[pg]["status"] == "draft"  # still waits for its approval
        await botapi.wait_for(lambda: "Missed its slot" not in text_of(current(botapi, card)))
        assert f"post:ok:{pg}" in datas(current(botapi, card))

        clock.advance(hours=2, minutes=10)  # within the hour before the new time
        await botapi.wait_for(lambda: len(reminders(botapi, pg)) == 2)
        await settle(app)
        assert len(reminders(botapi, pg)) == 2


async def test_persian_reminder_and_missed_card(botapi, resont, clock):
    pg = draft(resont, "سلام", schedule=clock.now + timedelta(minutes=10))["id"]
    async with running(botapi, resont, clock=clock, language="fa"):
        card = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "پیش‌نویس" in text_of(m))
        reminder = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: text_of(m).startswith("⏰"))
        assert "هنوز تأیید نکرده‌اند" in text_of(reminder)
        clock.advance(minutes=11)
        await botapi.wait_for(lambda: "زمانش گذشت" in text_of(current(botapi, card)))
        assert f"post:now:{pg}" in datas(current(botapi, card))

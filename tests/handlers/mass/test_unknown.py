"""An unknown batch checked against MioGram's send report, and /report, end to end: the real
bot, the Bot API emulator, the MioGram fake writing its send log exactly as the server does
(one record per Mass request, none for a 999, only the first 1,000 records ever read)."""

from __future__ import annotations

from typing import Any

from bot.massjobs import docs as md
from bot.massjobs import storage
from bot.massjobs.counts import count
from bot.runtime.context import Context
from handlers.mass import buttons as kinds
from handlers.mass import start_from_post
from tests.botapi.emulator import button_datas, text_of
from tests.fakes.miogram import FakeMioGram
from tests.handlers.mass.flows import (
    bot_says,
    confirm,
    flow_to_preview,
    mass_bot,
    numbers,
    progress_showing,
    report_rows,
    store_of,
)
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2


async def card_after_check(botapi, card: dict[str, Any], job_id: str, text: str) -> dict[str, Any]:
    """Press Check on an unknown batch's card; the card once it shows ``text``."""
    botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.Check(job_id, 0).encode())
    return await botapi.wait_for(
        lambda: (
            text in text_of(botapi.message(ADMIN_CHAT, card["message_id"]))
            and botapi.message(ADMIN_CHAT, card["message_id"])
        )
    )


async def test_a_999_shows_an_unknown_card_and_the_report_cannot_tell(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.mass_999_over = 0  # the gateway sends, the front end answers 999 and writes no record
    audience = numbers(30)
    async with mass_bot(botapi, fake) as app:
        preview = await flow_to_preview(botapi, " ".join(audience))
        job_id = await confirm(botapi, preview)
        card = await bot_says(botapi, "outcome unknown")
        fake.mass_999_over = None
        assert set(button_datas(card)) == {f"mass:resend:{job_id}:0", f"mass:skip:{job_id}:0", f"mass:check:{job_id}:0"}
        progress = await progress_showing(app, botapi, job_id, "unknown outcome")
        assert f"mass:resume:{job_id}" not in button_datas(progress)
        checked = await card_after_check(botapi, card, job_id, "cannot tell")
        assert "these 30 numbers" in text_of(checked) and "answered 999" in text_of(checked)
        assert "stays unknown" in text_of(checked)
        assert button_datas(checked) == [f"mass:resend:{job_id}:0", f"mass:skip:{job_id}:0", f"mass:check:{job_id}:0"]
        # A stale "take the report" press finds no proof on record: nothing is decided or sent.
        query = botapi.user_presses(
            ADMIN, ADMIN_CHAT, card["message_id"], kinds.ResendMissing(job_id, 0).encode(), force=True
        )
        answer = await botapi.wait_for(lambda: botapi.callback_answer(query))
        assert "Check MioGram's report first" in answer["text"]
        job = store_of(app).table(md.TABLE).get(job_id)
        assert job["status"] == md.PAUSED and storage.load(store_of(app), job_id)["units"][0]["state"] == md.UNKNOWN
        assert len(fake.sent) == 30 and [c["Func"] for c in fake.calls].count("SendMessageMass") == 1
        botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.Skip(job_id, 0).encode())
        rows = await report_rows(botapi, job_id)
        assert [r["outcome"] for r in rows] == ["unknown"] * 30 and len(fake.sent) == 30


async def test_check_on_a_busy_account_cannot_tell(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.add_old_records(1000)  # the server reads only these: the new send is never in the report
    fake.faults.add("drop", match="SendMessageMass")
    audience = numbers(4)
    async with mass_bot(botapi, fake) as app:
        job_id = await confirm(botapi, await flow_to_preview(botapi, " ".join(audience)))
        card = await bot_says(botapi, "outcome unknown")
        checked = await card_after_check(botapi, card, job_id, "cannot tell")
        assert "first 1,000 records" in text_of(checked)
        assert f"mass:rmiss:{job_id}:0" not in button_datas(checked)
        assert storage.load(store_of(app), job_id)["units"][0]["state"] == md.UNKNOWN
        assert len(fake.sent) == 4 and len(fake.report_log) == 1001


async def test_check_after_a_lost_answer_takes_the_deliveries_and_resends_only_the_undelivered(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(5)
    fake.not_delivered.update(audience[1:3])
    fake.faults.add("drop", match="SendMessageMass")  # the server sent and logged it; the answer is lost
    async with mass_bot(botapi, fake) as app:
        job_id = await confirm(botapi, await flow_to_preview(botapi, " ".join(audience), "Spring sale"))
        card = await bot_says(botapi, "outcome unknown")
        checked = await card_after_check(botapi, card, job_id, "has this batch's request")
        assert "5 numbers" in text_of(checked) and "3 delivered, 2 not delivered" in text_of(checked)
        assert button_datas(checked) == [f"mass:rmiss:{job_id}:0", f"mass:rnd:{job_id}:0", f"mass:skip:{job_id}:0"]
        assert len(fake.sent) == 5  # Check sent nothing
        fake.not_delivered.clear()
        botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.ResendNotDelivered(job_id, 0).encode())
        rows = await report_rows(botapi, job_id)
        assert {r["number"]: r["outcome"] for r in rows} == dict.fromkeys(audience, "sent")
        resent = [c["Phone"] for c in fake.calls_of("SendMessageMass")][1:]
        assert resent == [",".join(audience[1:3])]  # only the two the report proved not delivered
        await botapi.wait_for(
            lambda: "2 number(s) will be sent again" in text_of(botapi.message(ADMIN_CHAT, card["message_id"]))
        )
        assert count(storage.load(store_of(app), job_id)).sent == 5


async def test_report_counts_numbers_of_a_mass_send_with_some_undelivered(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(5)
    fake.not_delivered.update(audience[:2])
    async with mass_bot(botapi, fake):
        job_id = await confirm(botapi, await flow_to_preview(botapi, " ".join(audience), "Spring sale"))
        await report_rows(botapi, job_id)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/report")
        text = text_of(await bot_says(botapi, "Recent mass sends"))
        assert f"#{job_id} — done — 3/5 sent" in text
        assert "MioGram's send report (last 1 records): 3 delivered, 2 not delivered" in text
        assert "“Spring sale” → 5 numbers: 3 of 5 delivered" in text
        assert "newest sends may be missing" not in text


async def test_check_of_a_file_batch_matches_the_file_itself(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(3)
    fake.faults.add("drop", match="SendPhotoMass")  # the photo went out and was logged; the answer is lost
    async with mass_bot(botapi, fake) as app:
        store_of(app).table("lists").put("abc123", {"name": "Newsletter", "numbers": audience})
        job_id = await start_from_post(
            Context(app), admin_id=ADMIN, chat_id=ADMIN_CHAT, caption="Our new post", media=PHOTO, media_ext="png"
        )
        picker = await bot_says(botapi, "Send this post to a saved list")
        botapi.user_presses(ADMIN, ADMIN_CHAT, picker["message_id"], f"mass:pick:{job_id}:abc123")
        preview = await botapi.wait_for(
            lambda: (
                "preview" in text_of(botapi.message(ADMIN_CHAT, picker["message_id"]))
                and botapi.message(ADMIN_CHAT, picker["message_id"])
            )
        )
        await confirm(botapi, preview)
        card = await bot_says(botapi, "outcome unknown")
        checked = await card_after_check(botapi, card, job_id, "has this batch's request")
        assert "3 delivered, 0 not delivered" in text_of(checked)
        assert button_datas(checked) == [f"mass:rmiss:{job_id}:0", f"mass:skip:{job_id}:0"]
        botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.ResendMissing(job_id, 0).encode())
        rows = await report_rows(botapi, job_id)
        assert {(r["number"], r["outcome"], r["caption"]) for r in rows} == {(n, "sent", "sent") for n in audience}
        sends = [c["Func"] for c in fake.calls if c["Func"].startswith("Send")]
        assert sends == ["SendPhotoMass", "SendMessageMass"]  # the file once, then its caption

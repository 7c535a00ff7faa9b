"""Mass sends end to end: the real bot, a Telegram Bot API emulator, the MioGram fake.

The admin walks through /mass in the admin group; assertions look at what the emulator shows
(messages with edits applied, buttons, documents) and what reached the MioGram fake.
"""

from __future__ import annotations

import csv
import io

import pytest

from bot.clients.miogram.phones import parse_numbers
from bot.massjobs import docs as md
from bot.massjobs import storage
from bot.massjobs.counts import count
from bot.store.state import Store
from handlers.mass import buttons as kinds
from tests.botapi.emulator import button_datas, text_of
from tests.fakes.miogram import FakeMioGram
from tests.handlers.mass.flows import (
    bot_says,
    button,
    confirm,
    flow_to_preview,
    mass_bot,
    national,
    numbers,
    progress_showing,
    report_rows,
    store_of,
)
from tests.harness import ADMIN, ADMIN_2, ADMIN_CHAT, AGENT, MIOGRAM_SECRET

# --- the preview


async def test_a_pasted_audience_previews_valid_invalid_duplicate_and_opted_out_numbers(telegram):
    pasted = "09121234567, 0912 123 4567; +989121234568\n12345 | abc\n09351234567، ۰۹۱۲۱۲۳۴۵۶۹"
    parsed = parse_numbers(pasted, "IR")
    assert (len(parsed.valid), len(parsed.invalid), len(parsed.duplicates)) == (4, 2, 1)
    async with mass_bot(telegram) as app:
        store_of(app).table("optout").put("+989351234567", {"at": 0})
        preview = await flow_to_preview(telegram, pasted, "Hi")
        text = text_of(preview)
        assert "Valid: 3" in text and "Invalid: 2" in text and "Duplicates: 1" in text and "Opted out: 1" in text
        assert "12345 — too short" in text and "abc — not a number" in text
        assert "Message: 2 of 4,096 bytes" in text
        assert "Credit: 3 message credit(s) needed, 1000 left" in text
        assert "Batches: 1 of up to 100 numbers" in text
        datas = button_datas(preview)
        job_id = button(preview, "mass:go:").split(":")[2]
        assert {f"mass:go:{job_id}", f"mass:sched:{job_id}", f"mass:inv:{job_id}", f"mass:drop:{job_id}"} <= set(datas)
        job = store_of(app).table(md.TABLE).get(job_id)
        assert job["status"] == md.DRAFT
        assert job["numbers"] == ["+989121234567", "+989121234568", "+989121234569"]
        assert job["opted_out"] == ["+989351234567"]


async def test_the_invalid_numbers_are_downloadable_with_their_reasons(botapi):
    async with mass_bot(botapi):
        preview = await flow_to_preview(botapi, "09121234567, 12345, hello, 0912123456789", "Hi")
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], button(preview, "mass:inv:"))
        doc = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "document" in m, after=preview["message_id"])
        rows = list(csv.reader(io.StringIO(botapi.file_bytes(doc["document"]["file_id"]).decode("utf-8-sig"))))
        assert rows[0] == ["input", "reason"]
        assert dict(rows[1:]) == {"12345": "too short", "hello": "not a number", "0912123456789": "too long"}


async def test_a_message_over_the_limit_is_refused_with_the_figure(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.set_limit("Message", 20)
    async with mass_bot(botapi, fake):
        preview = await flow_to_preview(botapi, "09121234567", "x" * 25)
        text = text_of(preview)
        assert "too long: 25 bytes, the limit is 20 bytes (5 bytes over)" in text
        assert not any(d.startswith(("mass:go:", "mass:sched:")) for d in button_datas(preview))
        job_id = button(preview, "mass:drop:").split(":")[2]
        # A forged confirmation is refused too.
        cq = botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], kinds.Go(job_id).encode(), force=True)
        answer = await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert "cannot be confirmed" in answer["text"]
        assert fake.sent == []


async def test_mass_without_miogram_says_it_is_not_configured(botapi):
    async with mass_bot(botapi, miogram_secret=""):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        await bot_says(botapi, "MioGram is not configured: set MIOGRAM_SECRET")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/credits")
        replies = await botapi.wait_for(
            lambda: [m for m in botapi.bot_messages(ADMIN_CHAT) if "not configured" in text_of(m)][1:]
        )
        assert replies


async def test_cancel_leaves_the_flow_and_nothing_is_sent(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    async with mass_bot(botapi, fake) as app:
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        ask = await bot_says(botapi, "step 1 of 3")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "09121234567", reply_to=ask["message_id"])
        await bot_says(botapi, "Step 2 of 3")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/cancel")
        await bot_says(botapi, "Mass send cancelled. Nothing was sent.")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "some text after the flow")
        assert len(store_of(app).table(md.TABLE)) == 0
        assert fake.sent == []


# --- running


@pytest.mark.parametrize("home", ["memory", "postgres"])
async def test_a_250_number_send_runs_as_three_batches_with_one_progress_message(botapi, request, home):
    fake = FakeMioGram(secret=MIOGRAM_SECRET, latency=0.05)
    audience = numbers(250)
    fake.not_delivered = {audience[10]}
    store = Store.postgres(request.getfixturevalue("database_url"), wait=10) if home == "postgres" else Store.memory()
    async with mass_bot(botapi, fake, store=store) as app:
        preview = await flow_to_preview(botapi, "\n".join(national(n) for n in audience))
        assert "Valid: 250" in text_of(preview) and "Batches: 3 of up to 100 numbers" in text_of(preview)
        job_id = await confirm(botapi, preview)
        rows = await report_rows(botapi, job_id)
        assert [len(c["Phone"].split(",")) for c in fake.calls_of("SendMessageMass")] == [100, 100, 50]
        assert sorted(fake.sent_numbers()) == sorted(audience)
        # one progress message, edited in place
        progress = await progress_showing(app, botapi, job_id, "100%")
        edits = [
            r
            for r in botapi.requests_of("editMessageText")
            if r.params.get("message_id") == progress["message_id"] and r.ok
        ]
        assert len(edits) >= 3
        assert sum(1 for m in botapi.bot_messages(ADMIN_CHAT) if text_of(m).startswith(f"📤 Mass send #{job_id}")) == 1
        text = text_of(progress)
        assert "done" in text and "100%" in text and "Sent: 249 · Not delivered: 1 · Left: 0 of 250" in text
        assert "Batches done: 3 of 3" in text
        assert button_datas(progress) == [f"mass:csv:{job_id}"]
        # the report: every number once, with its outcome
        assert [r["number"] for r in rows] == audience
        assert {r["number"]: r["outcome"] for r in rows}[audience[10]] == "not_delivered"
        assert sum(1 for r in rows if r["outcome"] == "sent") == 249
        # the preview card says who confirmed it and lost its buttons
        card = await botapi.wait_for(
            lambda: (
                "confirmed by" in text_of(botapi.message(ADMIN_CHAT, preview["message_id"]))
                and botapi.message(ADMIN_CHAT, preview["message_id"])
            )
        )
        assert button_datas(card) == []
        # a second press of the (forged) confirm button does nothing
        cq = botapi.user_presses(ADMIN_2, ADMIN_CHAT, preview["message_id"], kinds.Go(job_id).encode(), force=True)
        assert "already" in (await botapi.wait_for(lambda: botapi.callback_answer(cq)))["text"]
        assert len(fake.calls_of("SendMessageMass")) == 3


async def test_no_credit_pauses_with_an_alert_and_resume_continues(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.set_credit("Message", 150)
    audience = numbers(250)
    async with mass_bot(botapi, fake) as app:
        preview = await flow_to_preview(botapi, " ".join(audience))
        assert "only 150 left" in text_of(preview)
        job_id = await confirm(botapi, preview)
        alert = await bot_says(botapi, "paused: no MioGram credit")
        assert len(fake.sent) == 100
        job = storage.load(store_of(app), job_id)
        assert job["status"] == md.PAUSED and job["pause_reason"] == md.NO_CREDIT
        assert count(job).sent == 100 and job["units"][1]["results"] == {}
        progress = await progress_showing(app, botapi, job_id, "paused")
        assert f"mass:resume:{job_id}" in button_datas(progress)
        fake.set_credit("Message", 500)
        botapi.user_presses(ADMIN, ADMIN_CHAT, alert["message_id"], kinds.Resume(job_id).encode())
        rows = await report_rows(botapi, job_id)
        assert sorted(fake.sent_numbers()) == sorted(audience) and len(fake.sent) == 250
        assert [r["outcome"] for r in rows] == ["sent"] * 250
        assert "mass:credit:" + job_id not in store_of(app).table("alerts")


async def test_opted_out_numbers_never_reach_miogram(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(12)
    async with mass_bot(botapi, fake) as app:
        botapi.user_sends(ADMIN, ADMIN_CHAT, f"/optout add {national(audience[0])}, {audience[5]} 123")
        reply = await bot_says(botapi, "added to the opt-out list")
        assert "2 number(s) added" in text_of(reply) and "123 — too short" in text_of(reply)
        preview = await flow_to_preview(botapi, "\n".join(audience))
        assert "Valid: 10" in text_of(preview) and "Opted out: 2" in text_of(preview)
        job_id = await confirm(botapi, preview)
        rows = await report_rows(botapi, job_id)
        assert audience[0] not in fake.sent_numbers() and audience[5] not in fake.sent_numbers()
        assert len(fake.sent) == 10
        outcomes = {r["number"]: r["outcome"] for r in rows}
        assert outcomes[audience[0]] == outcomes[audience[5]] == "opted_out"
        assert len(rows) == 12 and len({r["number"] for r in rows}) == 12
        botapi.user_sends(ADMIN, ADMIN_CHAT, f"/optout remove {audience[5]}")
        await bot_says(botapi, "1 number(s) removed")
        assert audience[5] not in store_of(app).table("optout")


async def test_pause_then_cancel_ends_the_send_with_a_report(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.set_credit("Message", 100)
    audience = numbers(150)
    async with mass_bot(botapi, fake) as app:
        job_id = await confirm(botapi, await flow_to_preview(botapi, " ".join(audience)))
        await bot_says(botapi, "paused: no MioGram credit")
        progress = await progress_showing(app, botapi, job_id, "paused")
        botapi.user_presses(ADMIN, ADMIN_CHAT, progress["message_id"], kinds.Cancel(job_id).encode())
        rows = await report_rows(botapi, job_id)
        assert [r["outcome"] for r in rows] == ["sent"] * 100 + ["not_sent"] * 50
        await progress_showing(app, botapi, job_id, "cancelled")
        assert store_of(app).table(md.TABLE).get(job_id)["status"] == md.CANCELLED


async def test_an_agent_cannot_confirm_a_mass_send(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    async with mass_bot(botapi, fake) as app:
        preview = await flow_to_preview(botapi, "09121234567")
        cq = botapi.user_presses(AGENT, ADMIN_CHAT, preview["message_id"], button(preview, "mass:go:"))
        answer = await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert answer["show_alert"] and "not for your role" in answer["text"]
        job_id = button(preview, "mass:go:").split(":")[2]
        assert store_of(app).table(md.TABLE).get(job_id)["status"] == md.DRAFT and fake.sent == []
        botapi.user_sends(AGENT, ADMIN_CHAT, "/mass")
        await bot_says(botapi, "You may not use /mass")

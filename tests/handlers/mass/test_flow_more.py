"""Mass sends end to end, continued: audience files, saved lists, media, scheduling, the direct
commands, the Bridge from an approved post, opt-out imports and the Persian interface."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.runtime.context import Context
from handlers.mass import buttons as kinds
from handlers.mass import start_from_post
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
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET

# --- files, lists, media, schedule


async def test_a_csv_upload_with_the_column_named_in_the_caption(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    data = b"name,home,mobile2\nAli,02188776655,09121234567\nSara,02188776656,09121234568\nBad,1,x\n"
    async with mass_bot(botapi, fake):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        ask = await bot_says(botapi, "step 1 of 3")
        botapi.user_sends_document(
            ADMIN, ADMIN_CHAT, data, "customers&co.csv", caption="mobile2", reply_to=ask["message_id"]
        )
        step2 = await bot_says(botapi, "Step 2 of 3", after=ask["message_id"])
        assert "2 valid number(s), 1 invalid" in text_of(step2)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "Hi", reply_to=step2["message_id"])
        step3 = await bot_says(botapi, "Step 3 of 3", after=step2["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], kinds.Channel("w").encode())
        preview = await bot_says(botapi, "preview", after=step3["message_id"])
        assert "file customers&co.csv" in text_of(preview) and "WhatsApp (beta" in text_of(preview)
        job_id = await confirm(botapi, preview)
        await report_rows(botapi, job_id)
        assert [c["Func"] for c in fake.calls if c["Func"].startswith("Send")] == ["SendMessageWhatsAppMass"]


async def test_a_file_without_a_phone_column_asks_which_column(botapi):
    data = b"code,ref\n12,9121234567\n13,9121234568\n"
    async with mass_bot(botapi):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        ask = await bot_says(botapi, "step 1 of 3")
        botapi.user_sends_document(ADMIN, ADMIN_CHAT, data, "x.csv", caption="phone", reply_to=ask["message_id"])
        column = await bot_says(botapi, "Columns found: code, ref", after=ask["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, column["message_id"], kinds.Column(1).encode())
        step2 = await bot_says(botapi, "Step 2 of 3", after=column["message_id"])
        assert "2 valid number(s)" in text_of(step2)


async def test_a_saved_list_is_made_with_lists_and_picked_in_mass(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(4)
    async with mass_bot(botapi, fake) as app:
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/lists new VIP customers")
        ask = await bot_says(botapi, "numbers of the list “VIP customers”")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "\n".join(audience + [audience[0], "nope"]), reply_to=ask["message_id"])
        saved = await bot_says(botapi, "saved with 4 number(s)")
        assert "1 invalid, 1 duplicate(s)" in text_of(saved)
        list_id = next(iter(store_of(app).table("lists").items()))[0]
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/lists")
        overview = await bot_says(botapi, "Saved lists", after=saved["message_id"])
        assert f"lists:show:{list_id}" in button_datas(overview)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        start = await bot_says(botapi, "step 1 of 3", after=overview["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, start["message_id"], f"mass:aud:{list_id}")
        step2 = await bot_says(botapi, "Step 2 of 3", after=start["message_id"])
        botapi.user_sends(ADMIN, ADMIN_CHAT, "To the VIPs", reply_to=step2["message_id"])
        step3 = await bot_says(botapi, "Step 3 of 3", after=step2["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], kinds.Channel("m").encode())
        preview = await bot_says(botapi, "preview", after=step3["message_id"])
        assert "list “VIP customers”" in text_of(preview) and "Valid: 4" in text_of(preview)
        job_id = await confirm(botapi, preview)
        await report_rows(botapi, job_id)
        assert sorted(fake.sent_numbers()) == sorted(audience)
        # delete it
        botapi.user_presses(ADMIN, ADMIN_CHAT, overview["message_id"], kinds.ShowList(list_id).encode())
        card = await bot_says(botapi, "VIP customers: 4 number(s)", after=overview["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.DeleteList(list_id).encode())
        sure = await bot_says(botapi, "Delete the list", after=card["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, sure["message_id"], kinds.DeleteListYes(list_id).encode())
        await botapi.wait_for(lambda: len(store_of(app).table("lists")) == 0)


async def test_a_photo_with_a_caption_is_sent_as_a_file_then_a_message(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    audience = numbers(3)
    async with mass_bot(botapi, fake):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        ask = await bot_says(botapi, "step 1 of 3")
        botapi.user_sends(ADMIN, ADMIN_CHAT, " ".join(audience), reply_to=ask["message_id"])
        step2 = await bot_says(botapi, "Step 2 of 3", after=ask["message_id"])
        botapi.user_sends_photo(ADMIN, ADMIN_CHAT, photo, caption="New collection", reply_to=step2["message_id"])
        preview = await bot_says(botapi, "preview", after=step2["message_id"])
        text = text_of(preview)
        assert "File: photo (.jpg)" in text and "within the limit of 5.0 MB" in text
        assert "Text after the file: 14 of 4,096 bytes" in text
        assert "3 photo credit(s) needed" in text and "3 message credit(s) needed" in text
        job_id = await confirm(botapi, preview)
        rows = await report_rows(botapi, job_id)
        assert [c["Func"] for c in fake.calls if c["Func"].startswith("Send")] == ["SendPhotoMass", "SendMessageMass"]
        assert fake.received_files[0].extension == "jpg"
        assert fake.received_files[0].sha256 == hashlib.sha256(photo).hexdigest()
        assert [r["caption"] for r in rows] == ["sent"] * 3


async def test_a_send_scheduled_for_later_can_be_started_early(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    async with mass_bot(botapi, fake) as app:
        preview = await flow_to_preview(botapi, "09121234567 09121234568")
        job_id = button(preview, "mass:go:").split(":")[2]
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], kinds.Schedule(job_id).encode())
        ask = await bot_says(botapi, "When should mass send", after=preview["message_id"])
        botapi.user_sends(ADMIN, ADMIN_CHAT, "yesterday-ish", reply_to=ask["message_id"])
        again = await bot_says(botapi, "Reply with another time", after=ask["message_id"])
        botapi.user_sends(ADMIN, ADMIN_CHAT, "+2h", reply_to=again["message_id"])
        await bot_says(botapi, f"Mass send #{job_id} is scheduled for", after=again["message_id"])
        services = app.bot_data.services
        assert [key for key, _ in services.scheduler.pending()] == [f"mass:{job_id}"]
        progress = await progress_showing(app, botapi, job_id, "Starts at")
        assert "scheduled" in text_of(progress)
        assert fake.sent == []
        botapi.user_presses(ADMIN, ADMIN_CHAT, progress["message_id"], kinds.Go(job_id).encode())
        await report_rows(botapi, job_id)
        assert len(fake.sent) == 2 and services.scheduler.pending() == []


async def test_credits_limits_and_report_answer_directly(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.set_credit("Video", 0)
    async with mass_bot(botapi, fake):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/credits")
        credits = await bot_says(botapi, "MioGram credit")
        assert "message: 1,000" in text_of(credits) and "video: 0 ⚠️ exhausted" in text_of(credits)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/limits")
        limits = await bot_says(botapi, "MioGram limits")
        assert "Message: 4,096 bytes" in text_of(limits) and "Photo: 5.0 MB" in text_of(limits)
        job_id = await confirm(botapi, await flow_to_preview(botapi, "09121234567"))
        await report_rows(botapi, job_id)
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/report")
        report = await bot_says(botapi, "Recent mass sends")
        text = text_of(report)
        assert f"#{job_id} — done — 1/1 sent" in text
        assert "MioGram's send report (last 1 records): 1 delivered" in text and "+989121234567" in text
        assert f"mass:csv:{job_id}" in button_datas(report)


# --- the Bridge


async def test_an_approved_post_can_be_sent_to_a_saved_list(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(3)
    async with mass_bot(botapi, fake) as app:
        store_of(app).table("lists").put("abc123", {"name": "Newsletter", "numbers": audience})
        context = Context(app)
        job_id = await start_from_post(
            context,
            admin_id=ADMIN,
            chat_id=ADMIN_CHAT,
            caption="Our new post",
            media=b"\x89PNG\r\n\x1a\n" + b"p" * 300,
            media_ext="png",
        )
        picker = await bot_says(botapi, "Send this post to a saved list")
        assert button_datas(picker) == [f"mass:pick:{job_id}:abc123", f"mass:drop:{job_id}"]
        botapi.user_presses(ADMIN, ADMIN_CHAT, picker["message_id"], f"mass:pick:{job_id}:abc123")
        preview = await botapi.wait_for(
            lambda: (
                "preview" in text_of(botapi.message(ADMIN_CHAT, picker["message_id"]))
                and botapi.message(ADMIN_CHAT, picker["message_id"])
            )
        )
        assert "list “Newsletter”" in text_of(preview) and "File: photo (.png)" in text_of(preview)
        await confirm(botapi, preview)
        await report_rows(botapi, job_id)
        assert [c["Func"] for c in fake.calls if c["Func"].startswith("Send")] == ["SendPhotoMass", "SendMessageMass"]
        assert sorted(n for f, n in fake.sent if f == "SendMessageMass") == sorted(audience)


async def test_optout_import_from_a_file_and_list_replace(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = numbers(5)
    async with mass_bot(botapi, fake) as app:
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/optout import")
        ask = await bot_says(botapi, "Reply with the numbers to opt out")
        data = ("name;mobile\n" + "\n".join(f"x;{national(n)}" for n in audience[:2]) + "\n").encode()
        botapi.user_sends_document(ADMIN, ADMIN_CHAT, data, "stop.csv", reply_to=ask["message_id"])
        await bot_says(botapi, "2 number(s) added to the opt-out list", after=ask["message_id"])
        assert audience[0] in store_of(app).table("optout") and audience[1] in store_of(app).table("optout")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/optout")
        listing = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "2 number(s) are opted out" in text_of(m))
        assert botapi.file_bytes(listing["document"]["file_id"]).decode().split() == sorted(audience[:2])
        # a list, then its numbers replaced
        store_of(app).table("lists").put("a1", {"name": "Old", "numbers": audience[:1]})
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/lists")
        overview = await bot_says(botapi, "Saved lists")
        botapi.user_presses(ADMIN, ADMIN_CHAT, overview["message_id"], kinds.ShowList("a1").encode())
        card = await bot_says(botapi, "Old: 1 number(s)", after=overview["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.ReplaceList("a1").encode())
        ask = await bot_says(botapi, "new numbers of the list “Old”", after=card["message_id"])
        botapi.user_sends(ADMIN, ADMIN_CHAT, " ".join(audience), reply_to=ask["message_id"])
        await bot_says(botapi, "List “Old” now has 5 number(s)", after=ask["message_id"])
        assert store_of(app).table("lists").get("a1")["numbers"] == audience
        # the opted-out ones are counted and left out when the list is used
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
        start = await bot_says(botapi, "step 1 of 3", after=ask["message_id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, start["message_id"], "mass:aud:a1")
        step2 = await bot_says(botapi, "Step 2 of 3", after=start["message_id"])
        assert "2 opted out" in text_of(step2)


async def test_the_flow_speaks_persian_to_a_persian_admin(botapi):
    async with mass_bot(botapi) as app:
        store_of(app).table("users").put(str(ADMIN), {"lang": "fa"})
        preview = await _persian_preview(botapi)
        text = text_of(preview)
        assert "پیش‌نمایش" in text and "معتبر: \u2068۲\u2069" in text
        assert any(
            b["text"] == "✅ همین حالا بفرست" for row in botapi.buttons(ADMIN_CHAT, preview["message_id"]) for b in row
        )


async def _persian_preview(botapi) -> dict[str, Any]:
    botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
    ask = await bot_says(botapi, "گام ۱ از ۳")
    botapi.user_sends(ADMIN, ADMIN_CHAT, "۰۹۱۲۱۲۳۴۵۶۷ ، ۰۹۱۲۱۲۳۴۵۶۸", reply_to=ask["message_id"])
    step2 = await bot_says(botapi, "گام ۲ از ۳", after=ask["message_id"])
    botapi.user_sends(ADMIN, ADMIN_CHAT, "سلام", reply_to=step2["message_id"])
    step3 = await bot_says(botapi, "گام ۳ از ۳", after=step2["message_id"])
    botapi.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], kinds.Channel("m").encode())
    return await bot_says(botapi, "پیش‌نمایش", after=step3["message_id"])


async def test_a_preview_that_could_not_reach_miogram_can_be_checked_again(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.faults.add("status", status=200, body="oops", match="APIGetLimits")
    async with mass_bot(botapi, fake):
        preview = await flow_to_preview(botapi, "09121234567")
        assert "limits and credit could not be read" in text_of(preview)
        assert not any(d.startswith("mass:go:") for d in button_datas(preview))
        botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], button(preview, "mass:prev:"))
        checked = await botapi.wait_for(
            lambda: (
                any(d.startswith("mass:go:") for d in button_datas(botapi.message(ADMIN_CHAT, preview["message_id"])))
                and botapi.message(ADMIN_CHAT, preview["message_id"])
            )
        )
        assert "Credit: 1 message credit(s) needed" in text_of(checked)

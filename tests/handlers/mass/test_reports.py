"""Reports of mass sends: the CSV button of a finished send, and ``/limits`` with MioGram's ad
footer. The real bot, the Telegram Bot API emulator, the MioGram fake."""

from __future__ import annotations

from handlers.mass import buttons as kinds
from tests.botapi.emulator import text_of
from tests.fakes.miogram import FakeMioGram
from tests.handlers.mass.flows import bot_says, confirm, flow_to_preview, mass_bot, progress_showing, report_rows
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET


async def test_the_csv_button_sends_the_report_into_the_topic_it_was_pressed_in(botapi):
    topic = botapi.create_topic(ADMIN_CHAT, "Mass sends")
    async with mass_bot(botapi, topic_mass=topic) as app:
        job_id = await confirm(botapi, await flow_to_preview(botapi, "09121234567"))
        await report_rows(botapi, job_id)
        progress = await progress_showing(app, botapi, job_id, "100%")
        assert progress.get("message_thread_id") == topic
        botapi.user_presses(ADMIN, ADMIN_CHAT, progress["message_id"], kinds.Csv(job_id).encode())
        caption = f"Mass send #{job_id} (done): 1 of 1 sent."
        report = await bot_says(botapi, caption, after=progress["message_id"])
        assert report["document"]["file_name"] == f"mass-{job_id}.csv"
        assert report.get("message_thread_id") == topic
        rows = botapi.file_bytes(report["document"]["file_id"]).decode("utf-8-sig").splitlines()
        assert rows[1].startswith("+989121234567,")


async def test_limits_count_miogram_s_ad_footer_only_when_it_has_one(botapi):
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.ad_footer = "Ads by MioGram"
    async with mass_bot(botapi, fake, miogram_ad_footer="Ads by MioGram"):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/limits")
        limits = await bot_says(botapi, "MioGram limits")
        assert "Message: 4,096 bytes" in text_of(limits)
        assert "(MioGram's ad footer, 15 bytes, is counted)" in text_of(limits)
    async with mass_bot(botapi, FakeMioGram(secret=MIOGRAM_SECRET)):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/limits")
        after = limits["message_id"]
        limits = await bot_says(botapi, "MioGram limits", after=after)
        assert "ad footer" not in text_of(limits)

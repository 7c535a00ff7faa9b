"""The Bridge (an approved post → a mass send) given its saved list by id or by name, and without
any saved list. The real bot, the Telegram Bot API emulator, the MioGram fake."""

from __future__ import annotations

from bot.massjobs import docs as md
from bot.runtime.context import Context
from handlers.mass import start_from_post
from tests.botapi.emulator import button_datas, text_of
from tests.handlers.mass.flows import bot_says, mass_bot, numbers, store_of
from tests.harness import ADMIN, ADMIN_CHAT


async def test_a_post_for_a_list_named_in_any_case_goes_straight_to_its_preview(botapi):
    audience = numbers(3)
    async with mass_bot(botapi) as app:
        store_of(app).table("lists").put("a1", {"name": "Old", "numbers": audience[:1]})
        store_of(app).table("lists").put("b2", {"name": "Newsletter", "numbers": audience})
        job_id = await start_from_post(
            Context(app), admin_id=ADMIN, chat_id=ADMIN_CHAT, caption="Our new post", list_name=" newsLETTER "
        )
        preview = await bot_says(botapi, "preview")
        assert "list “Newsletter”" in text_of(preview) and "Valid: 3" in text_of(preview)
        assert f"mass:go:{job_id}" in button_datas(preview)
        assert store_of(app).table(md.TABLE).get(job_id)["numbers"] == audience


async def test_a_post_for_a_list_id_goes_straight_to_its_preview(botapi):
    audience = numbers(2)
    async with mass_bot(botapi) as app:
        store_of(app).table("lists").put("a1", {"name": "Old", "numbers": audience[:1]})
        store_of(app).table("lists").put("b2", {"name": "Newsletter", "numbers": audience})
        job_id = await start_from_post(Context(app), admin_id=ADMIN, chat_id=ADMIN_CHAT, caption="Hi", list_id="a1")
        preview = await bot_says(botapi, "preview")
        assert "list “Old”" in text_of(preview) and "Valid: 1" in text_of(preview)
        assert store_of(app).table(md.TABLE).get(job_id)["numbers"] == audience[:1]


async def test_without_a_saved_list_the_draft_is_dropped_and_the_admin_told(botapi):
    async with mass_bot(botapi) as app:
        job_id = await start_from_post(Context(app), admin_id=ADMIN, chat_id=ADMIN_CHAT, caption="Our new post")
        assert job_id is None
        await bot_says(botapi, "There is no saved list yet")
        (job,) = [doc for _, doc in store_of(app).table(md.TABLE).items()]
        assert job["status"] == md.CANCELLED

"""Approvals that reset end to end: a caption or media changed after approvals were given (through
Edit caption, or in Resont itself, seen by the poll) clears them; the card says why and shows the
new content, and the audit log keeps both versions. A new time alone keeps them.
"""

from __future__ import annotations

from datetime import timedelta

from tests.botapi import text_of
from tests.handlers.posts.helpers import audit, bot_text, card_of, current, datas, draft, press, running, tomorrow
from tests.harness import ADMIN, ADMIN_2, ADMIN_CHAT


def buttons(message) -> str:
    return str(message.get("reply_markup"))


async def approved_once(backend, pg: int, user: int = ADMIN):
    """The card of ``pg`` after ``user`` gave the first of two approvals."""
    card = await card_of(backend, pg)
    answer = await press(backend, user, card, f"post:ok:{pg}")
    assert answer["text"].startswith("Your approval counts: 1 of 2")
    await backend.wait_for(lambda: "Approve (1/2)" in buttons(current(backend, card)))
    return card


async def test_caption_changed_in_resont_clears_the_approvals_and_says_why(botapi, resont):
    pg = draft(resont, "Old caption")["id"]
    async with running(botapi, resont, approvals_required=2) as app:
        card = await approved_once(botapi, pg)
        resont.edit_in_panel(pg, caption="Panel <caption>")
        await botapi.wait_for(lambda: "Panel <caption>" in text_of(current(botapi, card)))
        shown = text_of(current(botapi, card))
        assert "Old caption" not in shown
        assert "changed in Resont (the caption)" in shown
        assert "Approvals cleared: the caption changed after User1 approved." in shown
        assert "Approve (0/2)" in buttons(current(botapi, card))

        [record] = audit(app, "post.approvals_reset")
        assert record["actor"] == "resont" and record["parts"] == ["caption"]
        assert [a["id"] for a in record["cleared"]] == [ADMIN]
        assert record["before"]["caption"] == "Old caption" and record["after"]["caption"] == "Panel <caption>"

        again = await press(botapi, ADMIN, current(botapi, card), f"post:ok:{pg}")  # the same admin counts anew
        assert again["text"].startswith("Your approval counts: 1 of 2")
        assert resont.post_groups[pg]["status"] == "draft"


async def test_media_changed_in_resont_clears_them_too(botapi, resont):
    first, second = resont.add_file("a.jpg"), resont.add_file("b.jpg")
    pg = draft(resont, "Photo post", media_ids=[first["id"]], type="image")["id"]
    async with running(botapi, resont, approvals_required=2) as app:
        card = await approved_once(botapi, pg, ADMIN_2)
        resont.edit_in_panel(pg, media_ids=[first["id"], second["id"]], type="album")
        await botapi.wait_for(lambda: "Album: 2 files" in text_of(current(botapi, card)))
        assert "Approvals cleared: the media changed after User4 approved." in text_of(current(botapi, card))
        [record] = audit(app, "post.approvals_reset")
        assert record["before"]["media_ids"] == [first["id"]]
        assert record["after"]["media_ids"] == [first["id"], second["id"]]


async def test_a_new_time_in_resont_keeps_the_approvals(botapi, resont):
    pg = draft(resont, "Same words")["id"]
    async with running(botapi, resont, approvals_required=2) as app:
        card = await approved_once(botapi, pg)
        resont.edit_in_panel(pg, schedule_date=tomorrow() + timedelta(hours=5))
        await botapi.wait_for(lambda: "changed in Resont (the time)" in text_of(current(botapi, card)))
        shown = current(botapi, card)
        assert "Approvals: 1 of 2 — User1" in text_of(shown) and "Approve (1/2)" in buttons(shown)
        assert "Approvals cleared" not in text_of(shown)
        assert audit(app, "post.approvals_reset") == []
        [record] = audit(app, "post.changed")
        assert record["parts"] == ["time"]
        final = await press(botapi, ADMIN_2, shown, f"post:ok:{pg}")
        assert final["text"].startswith("Approved: scheduled")


async def test_edit_caption_clears_the_approvals_and_keeps_both_versions(botapi, resont):
    pg = draft(resont, "First words")["id"]
    async with running(botapi, resont, approvals_required=2) as app:
        card = await approved_once(botapi, pg, ADMIN_2)
        await press(botapi, ADMIN, current(botapi, card), f"post:cap:{pg}")
        prompt = await bot_text(botapi, rf"new caption for post #{pg}")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "Better words", reply_to=prompt["message_id"])
        preview = await bot_text(botapi, rf"New caption for post #{pg}:")
        [save] = [d for d in datas(preview) if d.startswith(f"post:capok:{pg}:")]
        await press(botapi, ADMIN, preview, save)
        await botapi.wait_for(lambda: "Better words" in text_of(current(botapi, card)))
        shown = text_of(current(botapi, card))
        assert "Caption edited by User1." in shown
        assert "Approvals cleared: the caption changed after User4 approved." in shown
        assert "Approve (0/2)" in buttons(current(botapi, card))
        [record] = audit(app, "post.approvals_reset")
        assert record["actor"] == str(ADMIN) and [a["id"] for a in record["cleared"]] == [ADMIN_2]
        assert (record["before"]["caption"], record["after"]["caption"]) == ("First words", "Better words")


async def test_persian_reset_note(botapi, resont):
    pg = draft(resont, "متن اول")["id"]
    async with running(botapi, resont, approvals_required=2, language="fa"):
        card = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "پیش‌نویس" in text_of(m))
        await press(botapi, ADMIN, card, f"post:ok:{pg}")
        await botapi.wait_for(lambda: "User1" in text_of(current(botapi, card)))
        resont.edit_in_panel(pg, caption="متن دوم")
        await botapi.wait_for(lambda: "متن دوم" in text_of(current(botapi, card)))
        assert "تأییدها پاک شد" in text_of(current(botapi, card))

"""Post approvals end to end: the real bot against a Telegram emulator and the Resont fake.

Text-and-button flows run on both Telegram backends (the ``telegram`` fixture); photo cards,
edits of captions and failure alerts on the home-made emulator (``botapi``).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.state import Store
from bot.text.timeparse import parse_when
from handlers.posts.buttons import (
    POST,
    Approve,
    EditCaption,
    PickTime,
    PublishNow,
    Reject,
    Reschedule,
    RescheduleYes,
    Retry,
    SendToList,
)
from tests.botapi import text_of
from tests.fakes.resont import FakeResont
from tests.handlers.posts.helpers import (
    audit,
    bot_text,
    card_of,
    cards,
    current,
    datas,
    draft,
    is_card,
    poll_ran,
    press,
    running,
    tomorrow,
    writes,
)
from tests.harness import ADMIN, ADMIN_2, ADMIN_CHAT, AUTHOR, STRANGER

# --------------------------------------------------------------------------- cards


async def test_draft_becomes_one_card_and_approve_schedules_it(telegram, resont):
    group = draft(resont, "Launch <b>day</b> & more")
    when = group["schedule_date"]
    async with running(telegram, resont) as app:
        card = await card_of(telegram, group["id"])
        text = text_of(card)
        assert "Launch <b>day</b> & more" in text  # user content escaped, shown literally
        assert "Brand IG (instagram)" in text and "Brand TG (telegram)" in text
        assert "Asia/Tehran" in text and "Author: Author" in text
        assert datas(card) == [f"post:{a}:{group['id']}" for a in ("ok", "no", "time", "cap")]
        await poll_ran(app)
        await poll_ran(app)
        assert len(cards(telegram, group["id"])) == 1  # later polls do not card it again

        answer = await press(telegram, ADMIN, card, Approve(group["id"]).encode())
        assert answer["text"].startswith("Approved: scheduled for")
        stored = resont.post_groups[group["id"]]
        assert stored["status"] == "scheduled" and stored["schedule_date"] == when
        await telegram.wait_for(lambda: "Approved" in text_of(current(telegram, card)))
        decided = current(telegram, card)
        # decided: the decision buttons are gone; only the bridge to a mass send stays
        assert "by User1" in text_of(decided) and datas(decided) == [SendToList(group["id"]).encode()]
        assert len(writes(resont, group["id"])) == 1
        [record] = audit(app, "post.approve")
        assert record["actor"] == str(ADMIN) and record["outcome"] == "scheduled"
        await poll_ran(app)
        assert len(cards(telegram, group["id"])) == 1  # now a scheduled post: still the one card


async def test_scheduled_post_is_carded_and_approval_needs_no_resont_call(botapi, resont):
    group = resont.add_post_group("Already scheduled", [1], status="scheduled", schedule=tomorrow())
    resont.add_post_group("Old and published", [1], status="published", schedule=datetime.now(UTC) - timedelta(hours=3))
    async with running(botapi, resont) as app:
        card = await card_of(botapi, group["id"])
        assert text_of(card).startswith("🗓 Scheduled post")
        await poll_ran(app)
        assert [c for c in botapi.bot_messages(ADMIN_CHAT) if is_card(c)] == [card]
        answer = await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        assert answer["text"] == "Approved."
        assert writes(resont, group["id"]) == []
        await botapi.wait_for(lambda: "stays scheduled" in text_of(current(botapi, card)))


async def test_image_draft_card_is_a_photo_with_caption(botapi, resont):
    photo = resont.add_file("launch.jpg")
    group = draft(
        resont,
        "Photo post " + "x" * 2000,
        media_ids=[photo["id"]],
        type="image",
        custom_captions={"telegram": "Custom TG caption"},
    )
    video = resont.add_file("clip.mp4", content_type="video/mp4")
    clip = draft(resont, "Video post", media_ids=[video["id"]], type="video")
    a, b = resont.add_file("a.jpg"), resont.add_file("b.jpg")
    album = draft(resont, "Album post", media_ids=[a["id"], b["id"]], type="album")
    async with running(botapi, resont):
        card = await card_of(botapi, group["id"])
        assert card["photo"] and botapi.requests_of("sendPhoto")[0].params["photo"] == photo["url"]
        caption = text_of(card)
        assert len(caption) <= 1024 and "…" in caption
        assert "Caption for telegram:" in caption and "Custom TG caption" in caption
        video_card = await card_of(botapi, clip["id"])
        assert "photo" not in video_card and "🎬 Video" in text_of(video_card)
        album_card = await card_of(botapi, album["id"])
        assert album_card["photo"] and "Album: 2 files" in text_of(album_card)
        # decisions edit the photo's caption in place
        await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        await botapi.wait_for(lambda: "Approved" in text_of(current(botapi, card)))
        assert botapi.requests_of("editMessageCaption")


# --------------------------------------------------------------------------- n-of-m, races, roles


async def test_two_of_two_approvals(telegram, resont):
    group = draft(resont)
    pg = group["id"]
    async with running(telegram, resont, approvals_required=2) as app:
        card = await card_of(telegram, pg)
        assert "Approve (0/2)" in str(card["reply_markup"])
        first = await press(telegram, ADMIN, card, Approve(pg).encode())
        assert first["text"] == "Your approval counts: 1 of 2. Waiting for another admin."
        await telegram.wait_for(lambda: "Approvals: 1 of 2 — User1" in text_of(current(telegram, card)))
        assert resont.post_groups[pg]["status"] == "draft" and writes(resont, pg) == []

        again = await press(telegram, ADMIN, current(telegram, card), Approve(pg).encode())
        assert "already approved" in again["text"] and writes(resont, pg) == []

        second = await press(telegram, ADMIN_2, current(telegram, card), Approve(pg).encode())
        assert second["text"].startswith("Approved: scheduled")
        assert resont.post_groups[pg]["status"] == "scheduled" and len(writes(resont, pg)) == 1
        await telegram.wait_for(
            lambda: (
                "Approved</b>" in str(current(telegram, card)) or "by User1, User4" in text_of(current(telegram, card))
            )
        )
        assert "User1, User4" in text_of(current(telegram, card))
        assert [r["count"] for r in audit(app, "post.approval")] == [1]


async def test_concurrent_presses_make_one_resont_call(botapi, resont):
    group = draft(resont)
    pg = group["id"]
    async with running(botapi, resont):
        card = await card_of(botapi, pg)
        resont.latency = 0.2  # the decision is slow: the other presses arrive meanwhile
        ids = [
            botapi.user_presses(user, ADMIN_CHAT, card["message_id"], Approve(pg).encode())
            for user in (ADMIN, ADMIN_2, ADMIN)
        ]
        answers = [await botapi.wait_for(lambda cq=cq: botapi.callback_answer(cq), 15) for cq in ids]
        assert len(resont.requests_to(rf"^PUT post/{pg}$")) == 1
        texts = sorted(a["text"] for a in answers)
        assert sum(t.startswith("Approved: scheduled") for t in texts) == 1
        assert sum(t.startswith("Already approved by User") for t in texts) == 2


async def test_non_admin_press_is_refused(telegram, resont):
    group = draft(resont)
    async with running(telegram, resont):
        card = await card_of(telegram, group["id"])
        for user in (AUTHOR, STRANGER):
            answer = await press(telegram, user, card, Approve(group["id"]).encode())
            assert answer["show_alert"] and "not for your role" in answer["text"]
        assert writes(resont, group["id"]) == [] and resont.post_groups[group["id"]]["status"] == "draft"
        assert datas(current(telegram, card))  # still actionable


# --------------------------------------------------------------------------- reject, reschedule, caption


async def test_reject_cancels_and_keeps_the_reason(telegram, resont):
    group = draft(resont)
    pg = group["id"]
    async with running(telegram, resont) as app:
        card = await card_of(telegram, pg)
        answer = await press(telegram, ADMIN, card, Reject(pg).encode())
        assert answer["text"] == "Rejected."
        assert resont.post_groups[pg]["status"] == "canceled"
        prompt = await bot_text(telegram, rf"why was post #{pg} rejected")
        mentions = [e for e in prompt.get("entities", []) if e["type"] in ("text_mention", "text_link")]
        assert mentions, "the question mentions the admin, so their client shows the reply field"
        await telegram.wait_for(lambda: "Rejected" in text_of(current(telegram, card)))
        assert datas(current(telegram, card)) == []
        telegram.user_sends(ADMIN, ADMIN_CHAT, "Off-brand <colours>", reply_to=prompt["message_id"])
        await bot_text(telegram, rf"Reason saved for post #{pg}")
        [record] = audit(app, "post.reject_reason")
        assert record["reason"] == "Off-brand <colours>" and record["actor"] == str(ADMIN)
        await telegram.wait_for(lambda: "Reason: Off-brand <colours>" in text_of(current(telegram, card)))
        late = await press(telegram, ADMIN_2, card, Approve(pg).encode(), force=True)  # an old keyboard
        assert late["text"] == "Already rejected by User1."
        assert len(writes(resont, pg)) == 1


async def test_reject_can_delete(botapi, resont):
    group = draft(resont)
    async with running(botapi, resont, reject_action="delete"):
        card = await card_of(botapi, group["id"])
        await press(botapi, ADMIN, card, Reject(group["id"]).encode())
        assert group["id"] not in resont.post_groups
        await botapi.wait_for(lambda: "deleted in Resont" in text_of(current(botapi, card)))


async def test_reschedule_with_a_typed_time(telegram, resont):
    group = resont.add_post_group("Move me", [1], status="scheduled", schedule=tomorrow())
    pg, before = group["id"], group["schedule_date"]
    async with running(telegram, resont) as app:
        card = await card_of(telegram, pg)
        answer = await press(telegram, ADMIN, card, Reschedule(pg).encode())
        assert answer["text"] == "Reply to my question below."
        prompt = await bot_text(telegram, rf"new time for post #{pg}")
        telegram.user_sends(ADMIN, ADMIN_CHAT, "someday maybe", reply_to=prompt["message_id"])
        again = await bot_text(telegram, r"could not read", after=prompt["message_id"])
        telegram.user_sends(ADMIN, ADMIN_CHAT, "+3h", reply_to=again["message_id"])
        expected = parse_when("+3h", now=datetime.now(UTC), tz=app.bot_data.services.tz).replace(
            second=0, microsecond=0
        )
        confirm = await bot_text(telegram, rf"Move post #{pg} to", after=again["message_id"])
        assert resont.post_groups[pg]["schedule_date"] == before  # nothing before confirming
        yes = next(d for d in datas(confirm) if d.startswith(f"post:rsok:{pg}:"))
        assert abs(int(yes.split(":")[3]) - expected.timestamp()) <= 60
        await press(telegram, ADMIN, confirm, yes)
        await telegram.wait_for(lambda: resont.post_groups[pg]["schedule_date"] != before)
        assert abs((resont.post_groups[pg]["schedule_date"] - expected).total_seconds()) <= 60
        await telegram.wait_for(lambda: "Rescheduled to" in text_of(current(telegram, card)))
        assert datas(current(telegram, card))  # rescheduling is not a decision: still open
        await telegram.wait_for(lambda: "moved to" in text_of(current(telegram, confirm)))
        [record] = audit(app, "post.reschedule")
        assert record["actor"] == str(ADMIN)
        await poll_ran(app)
        assert "changed in Resont" not in text_of(current(telegram, card))


@pytest.mark.parametrize("kept", [True, False], ids=["resont_keeps_the_time", "resont_drops_the_time"])
async def test_rescheduled_draft_is_approved_for_the_new_time(botapi, resont, kept):
    """A draft moved to a new time stays a draft; Approve schedules it for that time, also when
    Resont keeps no time on drafts (the bot keeps it then)."""
    resont.drafts_keep_schedule = kept
    group = draft(resont)
    pg, before = group["id"], group["schedule_date"]
    async with running(botapi, resont) as app:
        card = await card_of(botapi, pg)
        await press(botapi, ADMIN, card, Reschedule(pg).encode())
        prompt = await bot_text(botapi, rf"new time for post #{pg}")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "+2d", reply_to=prompt["message_id"])
        confirm = await bot_text(botapi, rf"Move post #{pg} to")
        [yes] = [POST.decode(d) for d in datas(confirm) if d.startswith("post:rsok")]
        assert isinstance(yes, RescheduleYes) and yes.pg == pg and yes.approve is None
        ts = yes.ts
        await press(botapi, ADMIN, confirm, RescheduleYes(pg, ts).encode())
        await botapi.wait_for(lambda: "Rescheduled to" in text_of(current(botapi, card)))
        stored = resont.post_groups[pg]
        assert stored["status"] == "draft"
        assert stored["schedule_date"] == (datetime.fromtimestamp(ts, UTC) if kept else before)
        await poll_ran(app)
        assert "changed in Resont" not in text_of(current(botapi, card))
        await press(botapi, ADMIN, current(botapi, card), Approve(pg).encode())
        stored = resont.post_groups[pg]
        assert stored["status"] == "scheduled" and stored["schedule_date"].timestamp() == ts


async def test_edit_caption_with_preview(telegram, resont):
    group = draft(resont, "Old caption")
    pg = group["id"]
    async with running(telegram, resont, approvals_required=2) as app:
        card = await card_of(telegram, pg)
        await press(telegram, ADMIN_2, card, Approve(pg).encode())  # approved the old caption
        await press(telegram, ADMIN, card, EditCaption(pg).encode())
        prompt = await bot_text(telegram, rf"new caption for post #{pg}")
        telegram.user_sends(ADMIN, ADMIN_CHAT, "Fresh <i>caption</i> ✨", reply_to=prompt["message_id"])
        preview = await bot_text(telegram, rf"New caption for post #{pg}:")
        assert "Fresh <i>caption</i> ✨" in text_of(preview)
        assert resont.post_groups[pg]["caption"] == "Old caption"  # nothing saved before Save
        save = next(d for d in datas(preview) if d.startswith(f"post:capok:{pg}:"))
        answer = await press(telegram, ADMIN, preview, save)
        assert answer["text"] == "Caption saved."
        assert resont.post_groups[pg]["caption"] == "Fresh <i>caption</i> ✨"
        await telegram.wait_for(lambda: "Fresh <i>caption</i> ✨" in text_of(current(telegram, card)))
        shown = text_of(current(telegram, card))
        assert "Caption edited by User1" in shown and "Approvals: 0 of 2" in shown  # approvals start again
        again = await press(telegram, ADMIN, preview, save, force=True)
        assert "no longer valid" in again["text"]
        await poll_ran(app)
        assert "changed in Resont" not in text_of(current(telegram, card))
        assert len(resont.requests_to(rf"^PUT post/{pg}$")) == 1


# --------------------------------------------------------------------------- the whole post in every edit


def puts(fake: FakeResont, pg: int) -> list[dict[str, list[str]]]:
    """The forms of the Edit post requests sent for ``pg``."""
    return [r.form for r in fake.requests_to(rf"^PUT post/{pg}$")]


def whole_post(form: dict[str, list[str]], media: list[int], *, draft_flag: str) -> None:
    """``form`` carries every field the document does not mark optional, with these values."""
    assert form["media_ids[]"] == [str(m) for m in media]
    assert form["type"] == ["album"] and form["account_ids[]"] == ["1", "2"]
    assert form["is_draft"] == [draft_flag] and form["is_scheduled"] == ["1"] and form["schedule_date"][0].isdigit()


async def test_album_draft_is_approved_with_its_media(botapi, resont):
    files = [resont.add_file(f"{n}.jpg")["id"] for n in "abc"]
    group = draft(resont, "Three views", media_ids=files, type="album")
    pg = group["id"]
    async with running(botapi, resont):
        card = await card_of(botapi, pg)
        answer = await press(botapi, ADMIN, card, f"post:ok:{pg}")
        assert answer["text"].startswith("Approved: scheduled for")
        [form] = puts(resont, pg)
        whole_post(form, files, draft_flag="0")
        assert form["caption"] == ["Three views"]
        assert form["schedule_date"] == [str(int(group["schedule_date"].timestamp()))]
        stored = resont.post_groups[pg]
        assert stored["status"] == "scheduled" and stored["media_ids"] == files


async def test_caption_and_time_edits_keep_a_draft_a_draft(botapi, resont):
    files = [resont.add_file(f"{n}.jpg")["id"] for n in "ab"]
    group = draft(resont, "Old words", media_ids=files, type="album")
    pg = group["id"]
    async with running(botapi, resont) as app:
        card = await card_of(botapi, pg)
        await press(botapi, ADMIN, card, f"post:cap:{pg}")
        prompt = await bot_text(botapi, rf"new caption for post #{pg}")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "New words", reply_to=prompt["message_id"])
        preview = await bot_text(botapi, rf"New caption for post #{pg}:")
        save = next(d for d in datas(preview) if d.startswith(f"post:capok:{pg}:"))
        assert (await press(botapi, ADMIN, preview, save))["text"] == "Caption saved."
        stored = resont.post_groups[pg]
        assert (stored["status"], stored["caption"], stored["media_ids"]) == ("draft", "New words", files)

        await press(botapi, ADMIN, current(botapi, card), f"post:time:{pg}")
        prompt = await bot_text(botapi, rf"new time for post #{pg}")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "+2d", reply_to=prompt["message_id"])
        confirm = await bot_text(botapi, rf"Move post #{pg} to")
        yes = next(d for d in datas(confirm) if d.startswith(f"post:rsok:{pg}:"))
        await press(botapi, ADMIN, confirm, yes)
        await botapi.wait_for(lambda: "Rescheduled to" in text_of(current(botapi, card)))
        ts = int(yes.split(":")[3])
        stored = resont.post_groups[pg]
        assert (stored["status"], stored["caption"], stored["media_ids"]) == ("draft", "New words", files)
        assert stored["schedule_date"].timestamp() == ts

        caption_put, time_put = puts(resont, pg)
        whole_post(caption_put, files, draft_flag="1")
        whole_post(time_put, files, draft_flag="1")
        assert caption_put["caption"] == time_put["caption"] == ["New words"]
        assert time_put["schedule_date"] == [str(ts)]
        await poll_ran(app)
        shown = current(botapi, card)
        assert "changed in Resont" not in text_of(shown) and f"post:ok:{pg}" in datas(shown)  # still waiting


# --------------------------------------------------------------------------- stale cards, errors


async def test_post_deleted_or_changed_in_resont_meanwhile(botapi, resont):
    gone, changed = draft(resont, "Soon deleted"), draft(resont, "Soon changed")
    async with running(botapi, resont, poll_seconds=3600) as app:
        gone_card, changed_card = await card_of(botapi, gone["id"]), await card_of(botapi, changed["id"])
        del resont.post_groups[gone["id"]]
        resont.post_groups[changed["id"]]["caption"] = "Changed in the panel"
        answer = await press(botapi, ADMIN, gone_card, Approve(gone["id"]).encode())
        assert answer["text"] == "This post no longer exists in Resont."
        await botapi.wait_for(lambda: "no longer exists" in text_of(current(botapi, gone_card)))
        assert datas(current(botapi, gone_card)) == []
        again = await press(botapi, ADMIN_2, gone_card, Reject(gone["id"]).encode(), force=True)
        assert again["text"] == "This post no longer exists in Resont."

        answer = await press(botapi, ADMIN, changed_card, Approve(changed["id"]).encode())
        assert "changed in Resont meanwhile" in answer["text"]
        assert writes(resont, changed["id"]) == [] and resont.post_groups[changed["id"]]["status"] == "draft"
        await botapi.wait_for(lambda: "Changed in the panel" in text_of(current(botapi, changed_card)))
        answer = await press(botapi, ADMIN, current(botapi, changed_card), Approve(changed["id"]).encode())
        assert answer["text"].startswith("Approved")
        assert audit(app, "post.gone")


async def test_card_of_a_post_published_without_a_decision_is_closed(botapi, resont):
    group = resont.add_post_group("Goes out by itself", [1], status="scheduled", schedule=tomorrow())
    pg = group["id"]
    async with running(botapi, resont):
        card = await card_of(botapi, pg)
        resont.publish_due(now=tomorrow() + timedelta(minutes=1))
        await botapi.wait_for(lambda: "status: published" in text_of(current(botapi, card)))
        assert datas(current(botapi, card)) == []
        answer = await press(botapi, ADMIN, card, Approve(pg).encode(), force=True)
        assert answer["text"] == "This post no longer waits for approval in Resont (status: published)."
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/pending")
        await bot_text(botapi, r"No post is waiting for approval")


async def test_resont_error_is_shown_with_trace_id_and_card_stays_open(botapi, resont):
    group = draft(resont)
    pg = group["id"]
    async with running(botapi, resont) as app:
        card = await card_of(botapi, pg)
        resont.faults.add(
            "status",
            status=422,
            match=rf"^PUT post/{pg}$",
            body={"error": {"message": "The account is busy", "type": "ValidationException", "trace_id": "trace-xyz"}},
        )
        answer = await press(botapi, ADMIN, card, Approve(pg).encode())
        assert answer["show_alert"] and "trace-xyz" in answer["text"]
        await botapi.wait_for(lambda: "trace-xyz" in text_of(current(botapi, card)))
        assert "The account is busy" in text_of(current(botapi, card))
        assert Approve(pg).encode() in datas(current(botapi, card))
        [record] = [r for r in audit(app, "post.approve") if r.get("outcome") == "error"]
        assert record["trace_id"] == "trace-xyz"
        answer = await press(botapi, ADMIN, current(botapi, card), Approve(pg).encode())  # same admin may retry
        assert answer["text"].startswith("Approved")
        await botapi.wait_for(lambda: "trace-xyz" not in text_of(current(botapi, card)))


async def test_past_time_asks_publish_now_or_new_time(botapi, resont):
    late = draft(resont, "Missed its slot", schedule=None)
    pg = late["id"]
    async with running(botapi, resont):
        card = await card_of(botapi, pg)
        assert "Time: not set" in text_of(card)
        answer = await press(botapi, ADMIN, card, Approve(pg).encode())
        assert "Publish now, or pick a time" in answer["text"]
        await botapi.wait_for(lambda: PublishNow(pg).encode() in datas(current(botapi, card)))
        assert writes(resont, pg) == []
        answer = await press(botapi, ADMIN, current(botapi, card), PublishNow(pg).encode())
        assert answer["text"] == "Approved: published now."
        assert resont.post_groups[pg]["status"] == "published"
        await botapi.wait_for(lambda: "published now" in text_of(current(botapi, card)))


async def test_pick_a_new_time_after_approve(botapi, resont):
    late = draft(resont, "Missed its slot", schedule=None)
    pg = late["id"]
    async with running(botapi, resont):
        card = await card_of(botapi, pg)
        await press(botapi, ADMIN, card, Approve(pg).encode())
        await botapi.wait_for(lambda: PickTime(pg).encode() in datas(current(botapi, card)))
        await press(botapi, ADMIN, current(botapi, card), PickTime(pg).encode())
        prompt = await bot_text(botapi, rf"new time for post #{pg}")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "tomorrow 9:00", reply_to=prompt["message_id"])
        confirm = await bot_text(botapi, rf"Approve post #{pg} for")
        yes = next(d for d in datas(confirm) if d.startswith("post:rsok"))
        assert yes.endswith(":a")
        await press(botapi, ADMIN, confirm, yes)
        await botapi.wait_for(lambda: resont.post_groups[pg]["status"] == "scheduled")
        assert resont.post_groups[pg]["schedule_date"].timestamp() == int(yes.split(":")[3])
        await botapi.wait_for(lambda: "Approved" in text_of(current(botapi, card)))


# --------------------------------------------------------------------------- failures, accounts, polls


async def test_failed_post_raises_a_retry_alert_that_works(botapi, resont):
    group = resont.add_post_group(
        "Will fail", [1, 2], status="scheduled", schedule=datetime.now(UTC) - timedelta(minutes=5)
    )
    resont.fail_post_group(group["id"], log="Media could not be processed")
    pg = group["id"]
    async with running(botapi, resont) as app:
        alert = await bot_text(botapi, rf"Post #{pg} failed to publish")
        assert "Media could not be processed" in text_of(alert) and "Brand IG (instagram)" in text_of(alert)
        assert datas(alert) == [Retry(pg).encode()]
        await poll_ran(app)
        assert len([m for m in botapi.bot_messages(ADMIN_CHAT) if "failed to publish" in text_of(m)]) == 1
        answer = await press(botapi, ADMIN, alert, Retry(pg).encode())
        assert answer["text"] == "Retry requested."
        assert len(resont.requests_to(rf"^POST post/{pg}/retry$")) == 1
        await botapi.wait_for(lambda: "Retry requested by User1" in text_of(current(botapi, alert)))
        assert datas(current(botapi, alert)) == []
        await bot_text(botapi, rf"Post #{pg} is no longer failing \(status: published\)")
        assert audit(app, "post.retry")[0]["outcome"] == "ok"


async def test_retry_error_keeps_the_button(botapi, resont):
    group = resont.add_post_group("Will fail", [1], status="failed", schedule=datetime.now(UTC) - timedelta(minutes=5))
    resont.fail_post_group(group["id"])
    pg = group["id"]
    async with running(botapi, resont):
        alert = await bot_text(botapi, rf"Post #{pg} failed to publish")
        resont.faults.add("status", status=400, match=rf"^POST post/{pg}/retry$")
        answer = await press(botapi, ADMIN, alert, Retry(pg).encode())
        assert answer["show_alert"] and "injected" in answer["text"]
        await botapi.wait_for(lambda: "Resont refused" in text_of(current(botapi, alert)))
        assert datas(current(botapi, alert)) == [Retry(pg).encode()]


async def test_login_required_alert_once_per_incident(botapi, resont):
    account = resont.add_account("Brand LI", "linkedin", login_required=True, relogin_reason="Token expired")
    async with running(botapi, resont) as app:
        alert = await bot_text(botapi, r"Brand LI.*needs a new login")
        assert "Token expired" in text_of(alert)
        await poll_ran(app)
        await poll_ran(app)
        assert len([m for m in botapi.bot_messages(ADMIN_CHAT) if "needs a new login" in text_of(m)]) == 1
        account["login_required"] = 0
        await bot_text(botapi, r"Brand LI is logged in again")


async def test_poll_failure_raises_one_alert_and_recovers(botapi, resont):
    resont.faults.add("status", status=401, match=r"^GET account$", times=4)
    async with running(botapi, resont) as app:
        await bot_text(botapi, r"Resont polls for posts are failing")
        await botapi.wait_for(lambda: not resont.faults.pending(), 10)
        await bot_text(botapi, r"polls for posts work again")
        assert len([m for m in botapi.bot_messages(ADMIN_CHAT) if "are failing" in text_of(m)]) == 1
        assert app.bot_data.services.health.jobs["posts"].ok


# --------------------------------------------------------------------------- restarts, lists


async def test_restart_does_not_resend_cards(botapi, resont, tmp_path):
    group = draft(resont)
    path = tmp_path / "state.json"
    async with running(botapi, resont, store=Store.open(path)) as app:
        card = await card_of(botapi, group["id"])
        await poll_ran(app)
    second = draft(resont, "Arrived while the bot was down")
    async with running(botapi, resont, store=Store.open(path)) as app:
        await card_of(botapi, second["id"])
        await poll_ran(app)
        await poll_ran(app)
        assert len(cards(botapi, group["id"])) == 1 and len(cards(botapi, second["id"])) == 1
        answer = await press(botapi, ADMIN, card, Approve(group["id"]).encode())  # the old card still works
        assert answer["text"].startswith("Approved")


async def test_overlapping_polls_send_one_card(botapi, resont):
    from bot.runtime.context import Context
    from handlers.posts import wiring as posts

    groups = [draft(resont, f"Draft {n}") for n in range(3)]
    async with running(botapi, resont, poll_seconds=3600) as app:
        resont.latency = 0.05  # polls take a while: they overlap
        context = Context(app)
        await asyncio.gather(*(posts.poll_posts(context) for _ in range(3)))
        await poll_ran(app, after=0)
        for group in groups:
            assert len(cards(botapi, group["id"])) == 1


async def test_pending_and_posts_lists(telegram, resont):
    first = draft(resont, "First draft")
    scheduled = resont.add_post_group(
        "Going out soon", [1], status="scheduled", schedule=tomorrow() + timedelta(hours=2)
    )
    async with running(telegram, resont):
        await card_of(telegram, first["id"])
        await card_of(telegram, scheduled["id"])
        telegram.user_sends(ADMIN, ADMIN_CHAT, "/pending")
        listing = await bot_text(telegram, r"Waiting for approval \(2\)")
        assert f"#{first['id']}" in text_of(listing) and "First draft" in text_of(listing)
        telegram.user_sends(AUTHOR, ADMIN_CHAT, "/posts")
        upcoming = await bot_text(telegram, r"Next scheduled posts \(1\)")
        assert "Going out soon" in text_of(upcoming) and "Brand IG" in text_of(upcoming)
        telegram.user_sends(AUTHOR, ADMIN_CHAT, "/pending")
        await bot_text(telegram, r"You may not use /pending")


async def test_persian_admin_chat(botapi, resont):
    group = draft(resont, "سلام دنیا")
    async with running(botapi, resont, language="fa"):
        card = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "پیش‌نویس" in text_of(m))
        assert "سلام دنیا" in text_of(card) and re.search("[۰-۹]{4}", text_of(card))  # a Jalali year
        assert card["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ تأیید"
        answer = await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        assert answer["text"].startswith("تأیید شد")
        await botapi.wait_for(lambda: "تأیید شد" in text_of(current(botapi, card)))


# --------------------------------------------------------------------------- bridge to MioGram


async def test_approved_card_sends_its_caption_to_a_saved_list(botapi, resont):
    """The Bridge: "Also send to a list…" on an approved card starts a mass send of the caption
    to a saved list through the usual picker, preview and confirmation."""
    from tests.fakes.miogram import FakeMioGram
    from tests.harness import MIOGRAM_SECRET

    mio = FakeMioGram(secret=MIOGRAM_SECRET)
    audience = ["+989121111111", "+989122222222"]
    group = draft(resont, "Winter sale starts now")
    async with bot_running_with(botapi, resont, mio) as app:
        app.bot_data.services.store.table("lists").put("vip", {"name": "VIP", "numbers": audience})
        card = await card_of(botapi, group["id"])
        await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        await botapi.wait_for(lambda: datas(current(botapi, card)) == [SendToList(group["id"]).encode()])
        await press(botapi, ADMIN, current(botapi, card), SendToList(group["id"]).encode())
        picker = await bot_text(botapi, r"Send this post to a saved list")
        [pick, _drop] = datas(picker)
        assert pick.endswith(":vip")
        await press(botapi, ADMIN, picker, pick)
        await botapi.wait_for(lambda: "preview" in text_of(current(botapi, picker)))
        preview = current(botapi, picker)
        assert "list “VIP”" in text_of(preview)
        confirm = next(d for d in datas(preview) if d.startswith("mass:go:"))
        await press(botapi, ADMIN, preview, confirm)
        await botapi.wait_for(lambda: len(mio.sent) == len(audience))
        assert sorted(n for _, n in mio.sent) == audience
        assert {c["Message"] for c in mio.calls if c["Func"] == "SendMessageMass"} == {"Winter sale starts now"}


def bot_running_with(backend, resont, mio):
    from tests.harness import bot_running

    return bot_running(backend.base_url, resont=resont, miogram=mio, telegram_token=backend.token, poll_seconds=0.2)

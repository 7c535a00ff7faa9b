"""/newpost end to end: media from Telegram to a Resont draft that enters the approval flow.

The flows run in the admin group: a private chat works the same, but the bot's rate limiter
allows only a few messages a second there, which would make these tests slow."""

from __future__ import annotations

import re
from typing import Any

import pytest

from handlers.posts.buttons import AccountsDone, Approve, Asap, KeepCaption, Submit, ToggleAccount, ToggleGroup
from tests.botapi import text_of
from tests.fakes.resont import FakeResont
from tests.handlers.posts.helpers import card_of, current, datas, press
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, AUTHOR, RESONT_TOKEN, STRANGER, bot_running

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + b"\x00\x00\x00\rIHDR"
    + (64).to_bytes(4, "big") * 2
    + b"\x08\x02\x00\x00\x00"
    + b"pixels" * 50
)


@pytest.fixture
def resont() -> FakeResont:
    fake = FakeResont(token=RESONT_TOKEN)
    ig = fake.add_account("Brand IG", "instagram")
    tg = fake.add_account("Brand TG", "telegram")
    fake.add_account("Brand LI", "linkedin")
    fake.add_account_group("Main", [ig["id"], tg["id"]])
    return fake


def running(backend: Any, resont: FakeResont, **overrides: Any):
    return bot_running(backend, resont=resont, **overrides)


async def said(backend: Any, chat: int, pattern: str, after: int = 0) -> dict[str, Any]:
    return await backend.wait_for_bot_message(chat, lambda m: re.search(pattern, text_of(m)), after=after)


async def test_newpost_with_a_photo_creates_a_draft_with_the_uploaded_media(botapi, resont):
    async with running(botapi, resont) as app:
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "/newpost")
        await said(botapi, ADMIN_CHAT, r"Let's propose a post")
        botapi.user_sends_photo(AUTHOR, ADMIN_CHAT, PNG, caption="Summer <sale> starts")
        got = await said(botapi, ADMIN_CHAT, r"with its caption")
        await press(botapi, AUTHOR, got, KeepCaption().encode())
        picker = await said(botapi, ADMIN_CHAT, r"Choose the accounts")
        assert ToggleGroup(101).encode() in datas(picker)
        await press(botapi, AUTHOR, picker, ToggleGroup(101).encode())  # the group: IG + TG
        await botapi.wait_for(lambda: "Selected: 2" in text_of(current_in(botapi, ADMIN_CHAT, picker)))
        await press(botapi, AUTHOR, current_in(botapi, ADMIN_CHAT, picker), AccountsDone().encode())
        ask_time = await said(botapi, ADMIN_CHAT, r"When should it be published")
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "not a time")
        await said(botapi, ADMIN_CHAT, r"could not read", after=ask_time["message_id"])
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "+1d")
        summary = await said(botapi, ADMIN_CHAT, r"Your proposal")
        assert "Summer <sale> starts" in text_of(summary) and "Brand IG (instagram), Brand TG (telegram)" in text_of(
            summary
        )
        assert resont.uploads == [] and not resont.requests_to(r"^POST post$")  # nothing before Submit
        await press(botapi, AUTHOR, summary, Submit().encode())
        await botapi.wait_for(lambda: "sent to the admins" in text_of(current_in(botapi, ADMIN_CHAT, summary)))

        [upload] = resont.uploads
        assert upload.content == PNG and upload.content_type == "image/jpeg"
        [group] = [g for g in resont.post_groups.values()]
        assert group["status"] == "draft" and group["type"] == "image"
        assert group["caption"] == "Summer <sale> starts" and sorted(group["account_ids"]) == [1, 2]
        assert [resont.files[m]["title"] for m in group["media_ids"]] == [upload.filename]
        card = await card_of(botapi, group["id"])
        assert "Author: User3" in text_of(card) and card.get("photo")
        await botapi.wait_for(lambda: proposed_in(app))  # the audit record follows the card
        [proposed] = proposed_in(app)
        assert proposed["actor"] == str(AUTHOR)
        wanted = proposed["schedule_ts"]
        assert group["schedule_date"].timestamp() == wanted  # the draft holds its proposed time

        # the draft is in the approval flow; it is scheduled for the time the author chose
        answer = await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        assert answer["text"].startswith("Approved: scheduled")
        assert group["status"] == "scheduled" and group["schedule_date"].timestamp() == wanted


def current_in(backend: Any, chat: int, message: dict[str, Any]) -> dict[str, Any]:
    return backend.message(chat, message["message_id"]) or {}


def proposed_in(app: Any) -> list[dict[str, Any]]:
    return [r for _, r in app.bot_data.services.store.table("audit").items() if r["action"] == "post.propose"]


async def test_video_draft_keeps_its_time_when_resont_drops_it(botapi, resont):
    """A Resont that ignores a draft's schedule_date: the card and the approval use the time
    the author chose, which the bot keeps itself."""
    resont.drafts_keep_schedule = False
    async with running(botapi, resont) as app:
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "/newpost")
        await said(botapi, ADMIN_CHAT, r"Let's propose a post")
        botapi.user_sends_video(AUTHOR, ADMIN_CHAT, MP4, caption="Clip of the day")
        got = await said(botapi, ADMIN_CHAT, r"with its caption")
        await press(botapi, AUTHOR, got, KeepCaption().encode())
        picker = await said(botapi, ADMIN_CHAT, r"Choose the accounts")
        await press(botapi, AUTHOR, picker, ToggleAccount(1).encode())
        await botapi.wait_for(lambda: "Selected: 1" in text_of(current(botapi, picker)))
        await press(botapi, AUTHOR, current(botapi, picker), AccountsDone().encode())
        await said(botapi, ADMIN_CHAT, r"When should it be published")
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "+1d")
        summary = await said(botapi, ADMIN_CHAT, r"Your proposal")
        assert "Video" in text_of(summary)
        await press(botapi, AUTHOR, summary, Submit().encode())
        await botapi.wait_for(lambda: resont.post_groups)
        [group] = resont.post_groups.values()
        [upload] = resont.uploads
        assert upload.content == MP4 and upload.content_type == "video/mp4" and upload.filename.endswith(".mp4")
        assert group["type"] == "video" and group["status"] == "draft" and group["schedule_date"] is None
        card = await card_of(botapi, group["id"])
        assert "🎬 Video" in text_of(card) and "photo" not in card and "Time: not set" not in text_of(card)
        await botapi.wait_for(lambda: proposed_in(app))  # the audit record follows the card
        [proposed] = proposed_in(app)
        answer = await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        assert answer["text"].startswith("Approved: scheduled")
        assert group["status"] == "scheduled" and group["schedule_date"].timestamp() == proposed["schedule_ts"]


async def test_album_becomes_one_album_draft(botapi, resont):
    async with running(botapi, resont):
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "/newpost")
        await said(botapi, ADMIN_CHAT, r"Let's propose a post")
        botapi.user_sends_album(
            AUTHOR,
            ADMIN_CHAT,
            [("photo", PNG + b"1"), ("video", MP4 + b"2"), ("photo", PNG + b"3")],
            caption="Three views",
        )
        got = await said(botapi, ADMIN_CHAT, r"with its caption")
        await press(botapi, AUTHOR, got, KeepCaption().encode())
        picker = await said(botapi, ADMIN_CHAT, r"Choose the accounts")
        assert len([m for m in botapi.bot_messages(ADMIN_CHAT) if "Got it" in text_of(m)]) == 1  # one answer per album
        await press(botapi, AUTHOR, picker, ToggleAccount(1).encode())
        await botapi.wait_for(lambda: "Selected: 1" in text_of(current(botapi, picker)))
        await press(botapi, AUTHOR, current(botapi, picker), AccountsDone().encode())
        ask = await said(botapi, ADMIN_CHAT, r"When should it be published")
        await press(botapi, AUTHOR, ask, Asap().encode())
        summary = await said(botapi, ADMIN_CHAT, r"Your proposal")
        assert "Album: 3 files" in text_of(summary)
        await press(botapi, AUTHOR, summary, Submit().encode())
        await botapi.wait_for(lambda: resont.post_groups)
        [group] = resont.post_groups.values()
        assert group["type"] == "album" and len(group["media_ids"]) == 3 and group["caption"] == "Three views"
        assert sorted(u.content[-1:] for u in resont.uploads) == [b"1", b"2", b"3"]
        assert [u.content_type for u in resont.uploads] == ["image/jpeg", "video/mp4", "image/jpeg"]
        card = await card_of(botapi, group["id"])
        assert "Album: 3 files" in text_of(card) and card.get("photo")


async def test_text_post_in_the_group_as_soon_as_approved(telegram, resont):
    async with running(telegram, resont):
        telegram.user_sends(ADMIN, ADMIN_CHAT, "/newpost")
        await said(telegram, ADMIN_CHAT, r"Let's propose a post")
        telegram.user_sends(ADMIN, ADMIN_CHAT, "Just words, no media")
        picker = await said(telegram, ADMIN_CHAT, r"Choose the accounts")
        answer = await press(telegram, ADMIN, picker, AccountsDone().encode())
        assert answer["text"] == "Choose at least one account."
        await press(telegram, ADMIN, picker, ToggleAccount(3).encode())
        await telegram.wait_for(lambda: "Selected: 1" in text_of(current(telegram, picker)))
        await press(telegram, ADMIN, current(telegram, picker), AccountsDone().encode())
        ask = await said(telegram, ADMIN_CHAT, r"When should it be published")
        await press(telegram, ADMIN, ask, Asap().encode())
        summary = await said(telegram, ADMIN_CHAT, r"Your proposal")
        assert "as soon as it is approved" in text_of(summary)
        await press(telegram, ADMIN, summary, Submit().encode())
        await telegram.wait_for(lambda: resont.post_groups)
        [group] = resont.post_groups.values()
        assert group["type"] == "text" and group["caption"] == "Just words, no media" and group["account_ids"] == [3]
        card = await card_of(telegram, group["id"])
        answer = await press(telegram, ADMIN, card, Approve(group["id"]).encode())
        assert "Publish now, or pick a time" in answer["text"]  # no time chosen: asked first


async def test_cancel_leaves_at_any_step_and_sends_nothing(telegram, resont):
    async with running(telegram, resont):
        telegram.user_sends(AUTHOR, ADMIN_CHAT, "/newpost")
        await said(telegram, ADMIN_CHAT, r"Let's propose a post")
        telegram.user_sends(AUTHOR, ADMIN_CHAT, "Some text")
        picker = await said(telegram, ADMIN_CHAT, r"Choose the accounts")
        telegram.user_sends(AUTHOR, ADMIN_CHAT, "/cancel")
        await said(telegram, ADMIN_CHAT, r"Cancelled. Nothing was sent to Resont")
        answer = await press(telegram, AUTHOR, picker, ToggleAccount(1).encode())
        assert "not part of an active proposal" in answer["text"]
        assert not resont.post_groups and not resont.requests_to(r"^POST ")


async def test_oversized_and_unsupported_files_are_refused_before_any_upload(botapi, resont):
    async with running(botapi, resont):
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "/newpost")
        await said(botapi, ADMIN_CHAT, r"Let's propose a post")
        botapi.user_sends_document(AUTHOR, ADMIN_CHAT, b"\0" * (21 * 1024 * 1024), "big.mp4", mime_type="video/mp4")
        refusal = await said(botapi, ADMIN_CHAT, r"This file is 21\.0 MB; Telegram lets bots download at most 20\.0 MB")
        botapi.user_sends_document(AUTHOR, ADMIN_CHAT, b"MZ\x90\x00", "setup.exe", mime_type="application/x-msdownload")
        await said(
            botapi,
            ADMIN_CHAT,
            r"“setup\.exe” \(application/x-msdownload\) is not a file type",
            after=refusal["message_id"],
        )
        botapi.user_sends_document(AUTHOR, ADMIN_CHAT, b"%PDF-1.4 brochure", "brochure.pdf")
        await said(botapi, ADMIN_CHAT, r"Got it \(1 file\(s\)\)")
        assert resont.uploads == []


async def test_newpost_is_for_authors_and_admins(telegram, resont):
    async with running(telegram, resont):
        for user in (AGENT, STRANGER):
            telegram.user_sends(user, ADMIN_CHAT, "/newpost")
        await said(telegram, ADMIN_CHAT, r"You may not use /newpost")
        await said(telegram, ADMIN_CHAT, r"only works for its team")
        assert not any("Let's propose" in text_of(m) for m in telegram.bot_messages(ADMIN_CHAT))

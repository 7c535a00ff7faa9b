"""Inbox bridge, end to end: comments and DMs from the Resont fake arrive as cards in the
Telegram emulator, and agents answer them there (reply, like, tag, delete, done, /inbox)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any

import pytest

from handlers.inbox import records
from handlers.inbox.buttons import (
    CommentDelete,
    CommentDeleteNo,
    CommentDeleteYes,
    CommentDone,
    CommentLike,
    CommentReply,
    CommentTag,
    CommentTags,
    CommentTagsBack,
    DmDone,
    DmLike,
    DmReply,
    DmTag,
    DmTags,
    DmTagsBack,
)
from tests.botapi import User, button_datas, text_of
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, AUTHOR, RESONT_TOKEN, STRANGER, bot_running

ADMIN_USER = User(ADMIN, "Ada", "ada")
AGENT_USER = User(AGENT, "Agnes", "agnes")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (4).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00" + bytes(32)


@pytest.fixture
def resont() -> FakeResont:
    fake = FakeResont(token=RESONT_TOKEN, page_size=20)
    fake.add_account("Brand Shop", "instagram")
    return fake


def account_id(fake: FakeResont) -> int:
    return next(iter(fake.accounts))


async def poll(app: Any) -> None:
    """Run both inbox polls now (what the RepeatingJobs do every poll_seconds)."""
    for name in ("inbox-comments", "inbox-dms"):
        for job in app.job_queue.get_jobs_by_name(name):
            await job.run(app)


@asynccontextmanager
async def running(backend: Any, fake: FakeResont, *, scheduled: bool = False, **overrides: Any):
    """The bot against ``backend`` and ``fake``. Unless ``scheduled``, the inbox polls do not
    run on their own: the test runs them with :func:`poll`, so it knows what happened when."""
    async with bot_running(backend.base_url, resont=fake, telegram_token=backend.token, **overrides) as app:
        if not scheduled:
            for name in ("inbox-comments", "inbox-dms"):
                for job in app.job_queue.get_jobs_by_name(name):
                    job.enabled = False
        yield app


def cards_with(backend: Any, needle: str) -> list[dict[str, Any]]:
    return [m for m in backend.bot_messages(ADMIN_CHAT) if needle in text_of(m)]


async def card(backend: Any, needle: str) -> dict[str, Any]:
    return await backend.wait_for(lambda: (cards_with(backend, needle) or [None])[-1])


def owner_replies(fake: FakeResont) -> list[dict[str, Any]]:
    return [c for c in fake.comments.values() if c["owner"]]


async def test_comment_card_and_text_reply(telegram, resont):
    """A new comment becomes a card (network, account, post, commenter, text, time); replying
    to the card in Telegram answers the comment in Resont and edits the card. Runs on both
    Bot API emulators."""
    acc = account_id(resont)
    async with running(telegram, resont) as app:
        await poll(app)  # first start: history is not forwarded
        comment = resont.add_comment(acc, "Is the <red> one in stock?", username="carol")
        cid = comment["id"]
        permalink = resont.account_posts[comment["account_post_id"]]["permalink"]
        await poll(app)
        shown = await card(telegram, "red> one in stock")
        text = text_of(shown)
        assert "Instagram" in text and "Brand Shop" in text
        assert "@carol" in text and "Our new collection" in text
        assert "🕒" in text
        assert {f"cmt:{a}:{cid}" for a in ("r", "l", "d", "t", "ok")} <= set(button_datas(shown))
        assert any(e.get("url") == permalink for e in shown.get("entities", []))

        telegram.user_sends(AGENT_USER, ADMIN_CHAT, "Yes, all sizes!", reply_to=shown["message_id"])
        await telegram.wait_for(lambda: [c for c in owner_replies(resont) if c["text"] == "Yes, all sizes!"])
        reply = owner_replies(resont)[0]
        assert reply["parent_id"] == str(cid)
        edited = await telegram.wait_for(
            lambda: "replied by Agnes: Yes, all sizes!" in text_of(telegram.message(ADMIN_CHAT, shown["message_id"]))
        )
        assert edited
        record = app.bot_data.services.store.table("inbox").get(f"c:{cid}")
        assert record["status"] == "replied" and record["by"] == "Agnes"
        # the account's own comments (our reply, one written in Resont's panel) never come back
        resont.list_owner_replies = True
        resont.add_comment(acc, "Answered in the panel", owner=True)
        before = len(telegram.bot_messages(ADMIN_CHAT))
        await poll(app)
        await asyncio.sleep(0.1)
        assert len(telegram.bot_messages(ADMIN_CHAT)) == before


async def test_first_start_forwards_no_history_unless_backfill(botapi, resont):
    acc = account_id(resont)
    for n in range(4):
        resont.add_comment(acc, f"old comment {n}")
    conv = resont.add_conversation(acc, "erin")
    resont.add_message(conv["id"], "old dm")
    async with running(botapi, resont) as app:
        await poll(app)
        await poll(app)
        await asyncio.sleep(0.1)
        assert cards_with(botapi, "old") == []
        resont.add_comment(acc, "fresh comment")
        await poll(app)
        await card(botapi, "fresh comment")
        assert cards_with(botapi, "old") == []

    other = FakeResont(token=RESONT_TOKEN)
    acc = other.add_account("Brand Shop", "instagram")["id"]
    for n in range(4):
        other.add_comment(acc, f"old comment {n}")
    async with running(botapi, other, backfill=2) as app:
        await poll(app)
        await card(botapi, "old comment 3")
        await card(botapi, "old comment 2")
        assert not cards_with(botapi, "old comment 1") and not cards_with(botapi, "old comment 0")


async def test_dm_burst_is_one_card_and_photo_reply_is_uploaded(botapi, resont):
    acc = account_id(resont)
    conv = resont.add_conversation(acc, "dave")
    async with running(botapi, resont, dm_group_seconds=60.0) as app:
        await poll(app)
        resont.add_message(conv["id"], "Hi there")
        resont.add_message(conv["id"], "Do you ship abroad?")
        await poll(app)
        shown = await card(botapi, "Do you ship abroad?")
        assert "Hi there" in text_of(shown) and "@dave" in text_of(shown) and "Direct message" in text_of(shown)
        # a third message in the window: the same card is edited, no new card
        third = resont.add_message(conv["id"], "To Germany")
        await poll(app)
        await botapi.wait_for(lambda: "To Germany" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"])))
        assert len(cards_with(botapi, "Hi there")) == 1
        assert DmLike(conv["id"], third["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, shown["message_id"]))

        # the agent answers with a photo: uploaded to Resont as the DM attachment
        botapi.user_sends_photo(AGENT_USER, ADMIN_CHAT, PNG, caption="Here is the label", reply_to=shown["message_id"])
        await botapi.wait_for(lambda: resont.uploads)
        assert resont.uploads[0].content == PNG
        sent = [m for m in resont.messages.values() if m["is_owner"]]
        assert sent and sent[0]["text"] == "Here is the label" and sent[0]["attachment"]
        await botapi.wait_for(
            lambda: "replied by Agnes: Here is the label" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"]))
        )
        # our own reply moved the conversation: the poll must not forward it back
        before = len(botapi.bot_messages(ADMIN_CHAT))
        await poll(app)
        await asyncio.sleep(0.1)
        assert len(botapi.bot_messages(ADMIN_CHAT)) == before
        # a new message after a reply starts a new card
        resont.add_message(conv["id"], "Thanks, got it")
        await poll(app)
        await card(botapi, "Thanks, got it")
        assert len(cards_with(botapi, "Hi there")) == 1


@pytest.mark.parametrize("order", ["oldest", "shuffled", "newest"])
async def test_three_dms_in_an_existing_conversation_land_on_one_card(botapi, resont, order):
    """A conversation's messages are an unordered array in the document: follow-ups are found
    whatever order Resont lists them in, and a burst from one person shares one card."""
    resont.messages_order = order
    acc = account_id(resont)
    conv = resont.add_conversation(acc, "gina")
    history = [resont.add_message(conv["id"], f"earlier {n}") for n in range(6)]
    resont.add_message(conv["id"], "our earlier answer", inbound=False)
    async with running(botapi, resont, dm_group_seconds=60.0) as app:
        await poll(app)  # first start: the conversation's history is seen, not forwarded
        texts = ["First question", "Second question", "Third question"]
        for text in texts:
            resont.add_message(conv["id"], text)
            await poll(app)
        shown = await card(botapi, "First question")
        await botapi.wait_for(lambda: "Third question" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"])))
        final = text_of(botapi.message(ADMIN_CHAT, shown["message_id"]))
        assert all(t in final for t in texts) and "@gina" in final
        assert [len(cards_with(botapi, t)) for t in texts] == [1, 1, 1]
        assert not any(cards_with(botapi, m["text"]) for m in history)
        await poll(app)  # nothing comes twice
        await asyncio.sleep(0.1)
        assert [len(cards_with(botapi, t)) for t in texts] == [1, 1, 1]


async def test_reply_button_prompt_answers_dm_with_text_and_document(botapi, resont):
    acc = account_id(resont)
    conv = resont.add_conversation(acc, "frank")
    async with running(botapi, resont) as app:
        await poll(app)
        message = resont.add_message(conv["id"], "What are your hours?")
        await poll(app)
        shown = await card(botapi, "What are your hours?")
        cq = botapi.user_presses(
            ADMIN_USER, ADMIN_CHAT, shown["message_id"], DmReply(conv["id"], message["id"]).encode()
        )
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        prompt = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "write your message to @frank" in text_of(m))
        asked = [r for r in botapi.requests_of("sendMessage") if "write your message" in str(r.params.get("text"))]
        assert asked[-1].params["reply_markup"].get("force_reply") is True
        botapi.user_sends(ADMIN_USER, ADMIN_CHAT, "9 to 5", reply_to=prompt["message_id"])
        await botapi.wait_for(lambda: [m for m in resont.messages.values() if m["is_owner"] and m["text"] == "9 to 5"])
        await botapi.wait_for(
            lambda: "replied by Ada: 9 to 5" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"]))
        )
        # a document reply to the card itself
        botapi.user_sends_document(AGENT_USER, ADMIN_CHAT, b"%PDF-1.4 menu", "menu.pdf", reply_to=shown["message_id"])
        await botapi.wait_for(lambda: [u for u in resont.uploads if u.filename == "menu.pdf"])
        assert resont.uploads[-1].content == b"%PDF-1.4 menu"


async def test_like_tag_delete_and_done_buttons(botapi, resont):
    acc = account_id(resont)
    vip = resont.add_comment_tag("VIP")
    resont.add_comment_tag("Complaint")
    async with running(botapi, resont) as app:
        await poll(app)
        first = resont.add_comment(acc, "Great job", username="gina")
        second = resont.add_comment(acc, "Spam spam", username="spammer")
        await poll(app)
        great = await card(botapi, "Great job")
        spam = await card(botapi, "Spam spam")
        mid = great["message_id"]

        # like
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, mid, CommentLike(first["id"]).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert resont.comments[first["id"]]["like"] == 1
        await botapi.wait_for(lambda: "liked by Agnes" in text_of(botapi.message(ADMIN_CHAT, mid)))
        assert CommentLike(first["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, mid))

        # tag: the keyboard lists the account's comment tags; a press toggles one
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, mid, CommentTags(first["id"]).encode())
        await botapi.wait_for(
            lambda: CommentTag(first["id"], vip["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, mid))
        )
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, mid, CommentTag(first["id"], vip["id"]).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert resont.comments[first["id"]]["tag_ids"] == [vip["id"]]
        await botapi.wait_for(lambda: "🏷 VIP" in text_of(botapi.message(ADMIN_CHAT, mid)))
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, mid, CommentTagsBack(first["id"]).encode())
        await botapi.wait_for(
            lambda: CommentDone(first["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, mid))
        )

        # delete asks first; "keep" changes nothing, "yes" deletes in Resont
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, spam["message_id"], CommentDelete(second["id"]).encode())
        await botapi.wait_for(
            lambda: (
                CommentDeleteYes(second["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, spam["message_id"]))
            )
        )
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, spam["message_id"], CommentDeleteNo(second["id"]).encode())
        await botapi.wait_for(
            lambda: CommentDelete(second["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, spam["message_id"]))
        )
        assert second["id"] in resont.comments
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, spam["message_id"], CommentDelete(second["id"]).encode())
        await botapi.wait_for(
            lambda: (
                CommentDeleteYes(second["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, spam["message_id"]))
            )
        )
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, spam["message_id"], CommentDeleteYes(second["id"]).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert second["id"] not in resont.comments
        # the press is answered before the card is edited: wait for the edit
        await botapi.wait_for(lambda: "deleted by" in text_of(botapi.message(ADMIN_CHAT, spam["message_id"])))
        deleted = botapi.message(ADMIN_CHAT, spam["message_id"])
        assert "deleted by Agnes" in text_of(deleted) and button_datas(deleted) == []

        # /inbox lists the open one; Done drops it out
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "/inbox")
        listing = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Open inbox" in text_of(m))
        assert "Brand Shop" in text_of(listing) and "@gina" in text_of(listing) and "spammer" not in text_of(listing)
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, mid, CommentDone(first["id"]).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        await botapi.wait_for(lambda: "done by" in text_of(botapi.message(ADMIN_CHAT, mid)))
        done = botapi.message(ADMIN_CHAT, mid)
        assert "done by Agnes" in text_of(done) and button_datas(done) == []
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "/inbox")
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Nothing open" in text_of(m))
        record = app.bot_data.services.store.table("inbox").get(f"c:{first['id']}")
        assert record["status"] == "done" and record["by"] == "Agnes"
        assert [e["a"] for e in record["log"]] == ["liked", "tagged", "done"]


async def test_dm_like_tag_done(botapi, resont):
    acc = account_id(resont)
    tag = resont.add_conversation_tag("Order")
    conv = resont.add_conversation(acc, "hana")
    async with running(botapi, resont) as app:
        await poll(app)
        message = resont.add_message(conv["id"], "Where is my order?")
        await poll(app)
        shown = await card(botapi, "Where is my order?")
        ids = (conv["id"], message["id"])
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], DmLike(*ids).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert resont.messages[message["id"]]["reactions"]
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], DmTags(*ids).encode())
        await botapi.wait_for(
            lambda: DmTag(*ids, tag["id"]).encode() in button_datas(botapi.message(ADMIN_CHAT, shown["message_id"]))
        )
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], DmTag(*ids, tag["id"]).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert resont.conversations[conv["id"]]["tag_ids"] == [tag["id"]]
        await botapi.wait_for(lambda: "🏷 Order" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"])))
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], DmTagsBack(*ids).encode())
        await botapi.wait_for(
            lambda: DmDone(*ids).encode() in button_datas(botapi.message(ADMIN_CHAT, shown["message_id"]))
        )
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], DmDone(*ids).encode())
        await botapi.wait_for(lambda: "done by Agnes" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"])))
        assert button_datas(botapi.message(ADMIN_CHAT, shown["message_id"])) == []


async def test_reply_to_vanished_or_refused_item_explains_with_trace_id(botapi, resont):
    acc = account_id(resont)
    async with running(botapi, resont) as app:
        await poll(app)
        gone = resont.add_comment(acc, "Soon deleted")
        locked = resont.add_comment(acc, "Replies closed", can_reply=False)
        await poll(app)
        gone_card = await card(botapi, "Soon deleted")
        locked_card = await card(botapi, "Replies closed")
        del resont.comments[gone["id"]]
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "Thanks!", reply_to=gone_card["message_id"])
        answer = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "no longer exists" in text_of(m))
        assert "trace id trace-" in text_of(answer)
        assert answer["reply_to_message"]["text"] == "Thanks!"
        # the card has no Reply button (can_reply 0); a reply anyway is refused by Resont
        assert CommentReply(locked["id"]).encode() not in button_datas(locked_card)
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "Hello", reply_to=locked_card["message_id"])
        refused = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Resont refused" in text_of(m))
        assert "cannot be replied to" in text_of(refused) and "trace id trace-" in text_of(refused)
        # a photo is no answer to a comment
        botapi.user_sends_photo(AGENT_USER, ADMIN_CHAT, PNG, reply_to=locked_card["message_id"])
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "only be answered with text" in text_of(m))
        assert owner_replies(resont) == []
        record = app.bot_data.services.store.table("inbox").get(f"c:{gone['id']}")
        assert record["status"] == "open"


async def test_roles_agents_answer_but_do_not_approve(botapi, resont):
    acc = account_id(resont)
    async with running(botapi, resont) as app:
        await poll(app)
        comment = resont.add_comment(acc, "Question for the team")
        await poll(app)
        shown = await card(botapi, "Question for the team")
        # an agent may not approve posts: the guard refuses the button
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], "post:approve:1", force=True)
        answer = await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert answer["show_alert"] and "not for your role" in answer["text"]
        # an author may not work the inbox (buttons or replies)
        cq = botapi.user_presses(AUTHOR, ADMIN_CHAT, shown["message_id"], CommentDone(comment["id"]).encode())
        answer = await botapi.wait_for(lambda: botapi.callback_answer(cq))
        assert "not for your role" in answer["text"]
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "I answer too", reply_to=shown["message_id"])
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "cannot answer this card" in text_of(m))
        # a stranger is ignored altogether
        botapi.user_sends(STRANGER, ADMIN_CHAT, "me too", reply_to=shown["message_id"])
        # while the agent can
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "We will check", reply_to=shown["message_id"])
        await botapi.wait_for(lambda: [c for c in owner_replies(resont) if c["text"] == "We will check"])
        assert [c["text"] for c in owner_replies(resont)] == ["We will check"]
        assert app.bot_data.services.store.table("inbox").get(f"c:{comment['id']}")["status"] == "replied"


async def test_forum_topics_route_comments_and_dms(botapi, resont):
    acc = account_id(resont)
    comments_topic = botapi.create_topic(ADMIN_CHAT, "Comments")
    dms_topic = botapi.create_topic(ADMIN_CHAT, "DMs")
    conv = resont.add_conversation(acc, "ivan")
    async with running(botapi, resont, topic_comments=comments_topic, topic_dms=dms_topic) as app:
        await poll(app)
        resont.add_comment(acc, "Topic comment")
        resont.add_message(conv["id"], "Topic DM")
        await poll(app)
        comment_card = await card(botapi, "Topic comment")
        dm_card = await card(botapi, "Topic DM")
        assert comment_card["message_thread_id"] == comments_topic
        assert dm_card["message_thread_id"] == dms_topic
        # the Reply prompt lands in the card's topic
        message_id = next(iter(m for m in resont.messages.values() if m["text"] == "Topic DM"))["id"]
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, dm_card["message_id"], DmReply(conv["id"], message_id).encode())
        prompt = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "write your message" in text_of(m))
        assert prompt["message_thread_id"] == dms_topic


async def test_persian_cards(botapi, resont):
    acc = account_id(resont)
    async with running(botapi, resont, language="fa") as app:
        await poll(app)
        resont.add_comment(acc, "سلام، قیمت؟", username="sara")
        await poll(app)
        shown = await card(botapi, "قیمت")
        assert "نظر" in text_of(shown) and "@sara" in text_of(shown)
        labels = [b["text"] for row in shown["reply_markup"]["inline_keyboard"] for b in row]
        assert "↩ پاسخ" in labels


async def test_huge_texts_still_make_valid_cards(botapi, resont):
    acc = account_id(resont)
    conv = resont.add_conversation(acc, "x" * 200)
    async with running(botapi, resont, dm_group_seconds=600.0) as app:
        await poll(app)
        resont.add_comment(acc, "<&>" * 2000 + " END", username="y" * 100)
        for n in range(10):
            resont.add_message(conv["id"], f"msg{n} " + "&" * 1000)
        await poll(app)
        comment = await card(botapi, "<&><&>")
        dm = await card(botapi, "msg9")
        assert len(text_of(comment)) <= 4096 and len(text_of(dm)) <= 4096
        assert "msg0" not in text_of(dm)  # older messages of a long burst are summarised
        assert botapi.requests_of("sendMessage") and all(r.ok for r in botapi.requests_of("sendMessage"))


async def test_polls_run_on_their_own(botapi, resont):
    acc = account_id(resont)
    conv = resont.add_conversation(acc, "jo")
    async with running(botapi, resont, scheduled=True, poll_seconds=0.2) as app:
        await botapi.wait_for(lambda: app.bot_data.services.store.table("cursors").get(records.DMS_CURSOR))
        await botapi.wait_for(lambda: app.bot_data.services.store.table("cursors").get(records.COMMENTS_CURSOR))
        resont.add_comment(acc, "found by the job")
        resont.add_message(conv["id"], "dm found by the job")
        await card(botapi, "found by the job")
        await card(botapi, "dm found by the job")


def test_callback_data_fits_in_64_bytes():
    """The longest ids Resont could send still give valid callback data."""
    from functools import partial
    from types import SimpleNamespace

    from bot.runtime.i18n import Catalogue
    from handlers.inbox import actions as inbox_actions
    from handlers.inbox import cards as inbox_cards
    from handlers.inbox.buttons import DmTag, DmTagsBack
    from tests.harness import test_config

    services = SimpleNamespace(config=test_config("http://x"), i18n=Catalogue.load())
    big = 10**15
    record = {"type": "dm", "status": "open", "item": {"conversation": {"id": big}, "messages": [{"id": big}]}}
    markup = inbox_cards.dm_keyboard(services, record)
    datas = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert all(len(d.encode()) <= 64 for d in datas)
    tags = [SimpleNamespace(id=big, name="x" * 80)]
    toggle = partial(DmTag, big, big)
    markup = inbox_actions.tag_keyboard(services, toggle, DmTagsBack(big, big), tags, [])
    assert all(len(b.callback_data.encode()) <= 64 for row in markup.inline_keyboard for b in row)
    keys = [records.dm_key(big, big)]
    markup = inbox_cards.digest_keyboard(services, keys, "a" * 10)
    assert all(len(b.callback_data.encode()) <= 64 for row in markup.inline_keyboard for b in row)

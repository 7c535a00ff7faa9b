"""Inbox records written by older versions still read: a document lacking keys the current code
writes gets the defaults the code always assumed, is drawn as a card, and its buttons work."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from bot.runtime.i18n import Catalogue
from bot.store.state import Store
from handlers.inbox import cards
from handlers.inbox.buttons import CommentDone
from handlers.inbox.docs import digest_record, item_record, message_record, pointer_record
from tests import harness
from tests.botapi import button_datas, text_of
from tests.fakes.resont import FakeResont
from tests.handlers.inbox.test_inbox import AGENT_USER, card, poll, running
from tests.harness import ADMIN_CHAT, RESONT_TOKEN

#: A comment record as the fewest keys the code ever needed: no claim order, attempts, log,
#: enrichment flag or account, and an item without flags, tags, post or date.
OLD_COMMENT = {
    "type": "comment",
    "status": "pending",
    "at": 1.0,
    "item": {"id": 7001, "text": "an old comment", "username": "olga"},
}
OLD_DM = {
    "type": "dm",
    "status": "open",
    "at": 2.0,
    "item": {"conversation": {"id": 88, "name": "Dmitri"}, "messages": [{"id": 9001, "text": "an old dm"}]},
}


@pytest.fixture
def resont() -> FakeResont:
    fake = FakeResont(token=RESONT_TOKEN, page_size=20)
    fake.add_account("Brand Shop", "instagram")
    return fake


def services() -> Any:
    """What the pure card renderers read of the services."""
    return SimpleNamespace(config=harness.test_config("http://x"), i18n=Catalogue.load(), tz=None)


def test_an_older_comment_record_reads_with_defaults():
    record = item_record(OLD_COMMENT)
    assert record is not None and record["type"] == "comment"
    assert (record["seq"], record["attempts"], record["log"], record["source"]) == (0, 0, [], None)
    assert (record["enriched"], record["account_id"], record["updated"]) == (False, None, 1.0)
    item = record["item"]
    assert item["can_reply"] and item["can_like"] and item["can_delete"] and not item["liked"]
    assert (item["tags"], item["post_excerpt"], item["date"], item["network"]) == ([], None, None, None)
    assert OLD_COMMENT["item"] == {"id": 7001, "text": "an old comment", "username": "olga"}  # not changed
    text, markup = cards.render_card(services(), record)
    assert "an old comment" in text and "@olga" in text
    assert markup is not None and len([b for row in markup.inline_keyboard for b in row]) == 5


def test_an_older_dm_record_reads_with_defaults():
    record = item_record(OLD_DM)
    assert record is not None and record["type"] == "dm"
    assert record["last_at"] == 0.0 and record["log"] == []
    conversation = record["item"]["conversation"]
    assert (conversation["tags"], conversation["username"], conversation["account_id"]) == ([], None, None)
    message = record["item"]["messages"][0]
    assert (message["attachment"], message["date"], message["type"]) == (None, None, None)
    text, _ = cards.render_card(services(), record)
    assert "an old dm" in text and "Dmitri" in text
    assert cards.digest_line(services(), 1, record)


def test_other_older_documents_read_with_defaults():
    message = message_record({"type": "msg", "status": "pending", "at": 3.0, "message": {"id": 5}})
    assert message is not None
    assert (message["conversation"], message["outbound"], message["check_direction"]) == (None, None, False)
    assert message["message"]["text"] == "" and message["log"] == []
    digest = digest_record({"type": "digest", "chat": -100, "message_id": 4})
    assert (digest["kind"], digest["items"], digest["part"], digest["parts"]) == ("comment", [], 1, 1)
    assert pointer_record({"type": "conv", "record": "d:1:2"}) == {"type": "conv", "record": "d:1:2", "updated": 0.0}
    assert pointer_record({"type": "conv"}) is None
    assert item_record({"type": "own", "status": "own", "at": 1.0}) is None
    assert message_record(OLD_COMMENT) is None


async def test_older_records_in_the_store_are_delivered_listed_and_closed(botapi, resont):
    """A bot restarted on a state holding older records: the pending comment gets its card
    (every button), /inbox lists both items, and Done closes the comment."""
    store = Store.memory()
    recent = time.time()  # (older than the retention, they would be pruned)
    store.table("inbox").put("c:7001", {**OLD_COMMENT, "at": recent})
    store.table("inbox").put("d:88:9001", {**OLD_DM, "at": recent})
    async with running(botapi, resont, store=store) as app:
        await poll(app)  # the delivery pass forwards what is pending
        shown = await card(botapi, "an old comment")
        assert {f"cmt:{a}:7001" for a in ("r", "l", "d", "t", "ok")} <= set(button_datas(shown))
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "/inbox")
        listing = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Open inbox" in text_of(m))
        assert "@olga" in text_of(listing) and "Dmitri" in text_of(listing) and "an old dm" in text_of(listing)
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], CommentDone(7001).encode())
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        await botapi.wait_for(lambda: "done by Agnes" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"])))
        record = app.bot_data.services.store.table("inbox").get("c:7001")
        assert record["status"] == "done" and [e["a"] for e in record["log"]] == ["done"]

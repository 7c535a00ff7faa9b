"""The typed documents of the ``approvals`` table (handlers.posts.docs): documents written by
older versions still read, and cards and failure alerts share the table without mixing."""

from __future__ import annotations

from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bot.runtime.i18n import Catalogue
from bot.store.state import Store
from handlers.posts.buttons import Approve
from handlers.posts.cards import card_keyboard, card_text
from handlers.posts.docs import PENDING, SENDING, ApprovalTable, approval_from_doc, new_approval
from handlers.posts.postview import PostView
from tests.botapi import text_of
from tests.handlers.posts.helpers import card_of, current, draft, poll_ran, press, running
from tests.harness import ADMIN, test_config

#: An approval document as an earlier version of the bot stored it: no ``asking``, ``error``,
#: ``override_ts`` or ``created`` yet, a view without ``custom_captions``, ``author``,
#: ``photo_url`` or ``first_media``, and the ``required`` count it kept then.
OLDER = {
    "pg": 41,
    "state": "pending",
    "view": {
        "id": 41,
        "kind": "draft",
        "type": "text",
        "caption": "Older & <wiser>",
        "accounts": [[1, "Brand IG", "instagram"]],
        "media_ids": [],
        "schedule_ts": 1893456000.0,
    },
    "fp": "0123456789abcdef",
    "approvals": [{"id": 7, "name": "Sara", "at": 1893400000.0}],
    "required": 2,
    "chat_id": -1001234567890,
    "message_id": 55,
    "card": "text",
}


def services() -> SimpleNamespace:
    config = test_config("http://telegram.test", approvals_required=1)
    return SimpleNamespace(config=config, i18n=Catalogue.load(), tz=ZoneInfo(config.timezone), miogram=None)


def test_an_older_document_reads_with_defaults_and_draws_its_card():
    doc = approval_from_doc(OLDER)
    assert (doc["asking"], doc["error"], doc["override_ts"]) == (False, None, None)
    assert doc["approvals"] == OLDER["approvals"] and doc["required"] == 2
    view = PostView.from_doc(doc["view"])
    assert (view.custom_captions, view.author, view.photo_url, view.first_media) == ({}, "", "", "")
    assert view.account_ids == [1] and view.schedule_ts == 1893456000.0
    svc = services()
    text = card_text(svc, doc)
    assert "Older &amp; &lt;wiser&gt;" in text and "1 of 2 — Sara" in text
    keyboard = card_keyboard(svc, doc)
    assert keyboard is not None and Approve(41).encode() in str(keyboard)
    assert "asking" not in OLDER  # the stored mapping itself is not changed by reading it


def test_cards_and_failure_alerts_share_the_table_without_mixing():
    store = Store.memory()
    raw = store.table("approvals")
    raw.put("41", dict(OLDER))
    raw.put("retry:41", {"state": "open", "text": "Post #41 failed", "at": 1.0})
    raw.put("42", {"pg": 42, "state": SENDING, "at": 2.0})  # a poll's claim, from an older version
    table = ApprovalTable(raw)
    assert [doc["pg"] for doc in table.find(lambda doc: True)] == [41, 42]
    assert table.retry(41) == {"state": "open", "text": "Post #41 failed", "at": 1.0}
    assert table.retry(42) is None
    assert not table.claim(new_approval(41, SENDING))  # carded already
    assert table.prune(SENDING) == 1
    assert table.get(42) is None and table.retry(41) is not None
    doc = table.get(41)
    assert doc is not None and doc["state"] == PENDING
    doc["asking"] = True
    table.put(doc)
    assert raw.get("41") == {**OLDER, "asking": True, "error": None, "override_ts": None}


async def test_a_card_stored_by_an_older_version_still_takes_decisions(botapi, resont, tmp_path):
    group = draft(resont, "Written before the upgrade")
    path = tmp_path / "state.json"
    async with running(botapi, resont, store=Store.open(path)) as app:
        card = await card_of(botapi, group["id"])
        await poll_ran(app)
    store = Store.open(path)
    table = store.table("approvals")
    stored = table.get(str(group["id"]))
    assert stored is not None
    for key in ("asking", "error", "override_ts", "created"):
        stored.pop(key, None)
    for key in ("custom_captions", "photo_url", "first_media"):
        stored["view"].pop(key, None)
    table.put(str(group["id"]), stored)
    store.close()
    async with running(botapi, resont, store=Store.open(path)) as app:
        await poll_ran(app)
        answer = await press(botapi, ADMIN, card, Approve(group["id"]).encode())
        assert answer["text"].startswith("Approved")
        await botapi.wait_for(lambda: "Approved" in text_of(current(botapi, card)))

"""Inbox delivery guarantees: restarts lose and duplicate nothing, a webhook push and a poll of
the same item forward it once, a large backlog becomes digests without a single 429, an upstream
outage is one alert, old records are pruned."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.store.state import Store
from handlers.inbox import delivery, records
from handlers.inbox import poll as inbox_poll
from handlers.inbox.buttons import CommentDone
from tests.botapi import ApiError, User, button_datas, text_of
from tests.fakes.resont import FakeResont
from tests.handlers.inbox.test_inbox import AGENT_USER, account_id, card, cards_with, poll, running
from tests.harness import ADMIN_CHAT, RESONT_TOKEN

SECRET = "hook-s3cret"


@pytest.fixture(params=["file", "postgres"])
def open_state(request: pytest.FixtureRequest, tmp_path: Any) -> Callable[[], Store]:
    """Opens the state of a bot that restarts: the file, or a PostgreSQL database."""
    if request.param == "file":
        return lambda: Store.open(tmp_path / "state.json")
    url = request.getfixturevalue("database_url")
    return lambda: Store.postgres(url, wait=10)


@pytest.fixture
def resont() -> FakeResont:
    fake = FakeResont(token=RESONT_TOKEN, page_size=50)
    fake.add_account("Brand Shop", "instagram")
    return fake


def fail_sends(botapi: Any, *, on_call: int, times: int = 10**6) -> dict[str, int]:
    """The emulator answers 500 to the ``on_call``-th sendMessage and the next ``times - 1``
    (Telegram down from then on); ``restore_sends`` ends it."""
    seen = {"calls": 0, "failed": 0}

    def flaky(params: dict[str, Any], files: Any, handle: Callable[[dict[str, Any], Any], Any]) -> Any:
        seen["calls"] += 1
        if on_call <= seen["calls"] < on_call + times:
            seen["failed"] += 1
            raise ApiError(500, "Internal Server Error: injected")
        return handle(params, files)

    botapi.intercept("sendMessage", flaky)
    return seen


def restore_sends(botapi: Any) -> None:
    botapi.intercept("sendMessage", None)


def texts(botapi: Any) -> list[str]:
    return [text_of(m) for m in botapi.bot_messages(ADMIN_CHAT)]


async def test_restart_mid_poll_neither_loses_nor_duplicates(botapi, resont, open_state):
    acc = account_id(resont)
    async with running(botapi, resont, store=open_state()) as app:
        await poll(app)  # first start: remembers where history ends
        for n in range(5):
            resont.add_comment(acc, f"burst comment {n}")
        seen = fail_sends(botapi, on_call=3)  # Telegram fails while forwarding the third
        await poll(app)
        assert seen["failed"] >= 1
        assert len(cards_with(botapi, "burst comment")) == 2
        # one more item is fetched and claimed, then the process stops before forwarding it
        resont.add_comment(acc, "burst comment 5")
        await inbox_poll.fetch_comments(app.bot_data.services)
    restore_sends(botapi)
    async with running(botapi, resont, store=open_state()) as app:
        await poll(app)
        await botapi.wait_for(lambda: len(cards_with(botapi, "burst comment")) == 6)
        await poll(app)
        await asyncio.sleep(0.1)
    for n in range(6):
        assert len(cards_with(botapi, f"burst comment {n}")) == 1, n
    async with running(botapi, resont, store=open_state()) as app:  # a clean restart: nothing again
        await poll(app)
        await asyncio.sleep(0.1)
    assert len(cards_with(botapi, "burst comment")) == 6


async def test_restart_mid_dm_poll(botapi, resont, open_state):
    acc = account_id(resont)
    convs = [resont.add_conversation(acc, f"user{n}") for n in range(3)]
    async with running(botapi, resont, store=open_state()) as app:
        await poll(app)
        for n, conv in enumerate(convs):
            resont.add_message(conv["id"], f"dm number {n}")
        seen = fail_sends(botapi, on_call=2)
        await poll(app)
        assert seen["failed"] >= 1 and len(cards_with(botapi, "dm number")) == 1
    restore_sends(botapi)
    async with running(botapi, resont, store=open_state()) as app:
        await poll(app)
        await botapi.wait_for(lambda: len(cards_with(botapi, "dm number")) == 3)
        await poll(app)
        await asyncio.sleep(0.1)
    for n in range(3):
        assert len(cards_with(botapi, f"dm number {n}")) == 1


async def test_webhook_and_poll_forward_an_item_once(botapi, resont):
    acc = account_id(resont)
    conv = resont.add_conversation(acc, "kim")
    async with running(botapi, resont, port=0, webhook_secret=SECRET) as app:
        await poll(app)
        server = app.bot_data.web
        url = f"http://127.0.0.1:{server.port}/resont/{SECRET}"
        comment = resont.add_comment(acc, "pushed comment", username="lee")
        message = resont.add_message(conv["id"], "pushed dm")
        async with httpx.AsyncClient() as http:
            answer = await http.post(url, json=resont.webhook_payload("comment_created", comment["id"]))
            assert answer.status_code == 200
            answer = await http.post(
                url, json=resont.webhook_payload("message_created", message["id"], user_id_as_string=True)
            )
            assert answer.status_code == 200
            pushed = await card(botapi, "pushed comment")
            assert "@lee" in text_of(pushed) and "Our new collection" in text_of(pushed)
            dm = await card(botapi, "pushed dm")
            assert "@kim" in text_of(dm)
            # the same items again, by push and by poll: nothing new
            await http.post(url, json=resont.webhook_payload("comment_created", comment["id"]))
            await poll(app)
            await asyncio.sleep(0.2)
            assert len(cards_with(botapi, "pushed comment")) == 1
            assert len(cards_with(botapi, "pushed dm")) == 1
            # polled first, pushed later: still once
            later = resont.add_comment(acc, "polled first")
            await poll(app)
            await card(botapi, "polled first")
            await http.post(url, json=resont.webhook_payload("comment_created", later["id"]))
            await asyncio.sleep(0.2)
            assert len(cards_with(botapi, "polled first")) == 1
            # an outbound message pushed (our own reply) is not forwarded
            ours = resont.add_message(conv["id"], "our own answer", inbound=False)
            assert (await http.post(url, json=resont.webhook_payload("message_created", ours["id"]))).status_code == 200
            # wrong secret, bad JSON, unknown event types
            assert (await http.post(url.replace(SECRET, "wrong"), json={})).status_code == 404
            assert (await http.post(url, content=b"{not json")).status_code == 400
            assert (await http.post(url, json={"payload": {}})).status_code == 400
            ignored = await http.post(url, json={"type": "leed_created", "user_id": "77", "payload": {"id": 1}})
            assert ignored.status_code == 200 and ignored.json()["ignored"] is True
            await asyncio.sleep(0.2)
            assert cards_with(botapi, "our own answer") == []
    # stopped with the bot
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.post(url, json={})


async def test_webhook_port_in_use_is_an_alert_not_a_crash(botapi, resont):
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with running(botapi, resont, port=port, webhook_secret=SECRET) as app:
            await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: f"cannot listen on port {port}" in text_of(m))
            assert app.bot_data.web is None
            await poll(app)
            resont.add_comment(account_id(resont), "polling still works")
            await poll(app)
            await card(botapi, "polling still works")


async def test_backlog_of_300_comments_becomes_digests_without_429(botapi, resont):
    """Telegram's real group limit (20 messages in any minute) on both sides: 300 new comments
    go out as digests, well under the limit, and not one request gets a 429."""
    botapi.set_limits(group=20, group_window=60.0)
    acc = account_id(resont)
    async with running(botapi, resont, group_messages_per_minute=20) as app:
        await poll(app)
        for n in range(300):
            resont.add_comment(acc, f"backlog comment {n:03d}", username=f"fan{n}")
        await poll(app)
        await botapi.wait_for(lambda: sum(t.count("backlog comment") for t in texts(botapi)) == 300, timeout=20)
        digests = botapi.bot_messages(ADMIN_CHAT)
        assert 1 < len(digests) <= 15
        assert botapi.too_many_requests == 0
        for n in range(300):
            assert sum(t.count(f"backlog comment {n:03d}") for t in texts(botapi)) == 1
        first = digests[0]
        assert "new comments" in text_of(first)
        # one line per item, a button to open each as a card
        key = button_datas(first)[0]
        assert key.startswith("inbox:x:c:")
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, first["message_id"], key)
        await botapi.wait_for(lambda: botapi.callback_answer(cq))
        opened = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "💬 Comment" in text_of(m))
        assert "backlog comment 000" in text_of(opened)
        # the opened card is a normal card: answer it by replying
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "Thank you!", reply_to=opened["message_id"])
        await botapi.wait_for(lambda: [c for c in resont.comments.values() if c["owner"]])
        # mark the whole digest done
        done_button = button_datas(first)[-1]
        assert done_button.startswith("inbox:da:")
        cq = botapi.user_presses(AGENT_USER, ADMIN_CHAT, first["message_id"], done_button)
        await botapi.wait_for(
            lambda: "all marked done by Agnes" in text_of(botapi.message(ADMIN_CHAT, first["message_id"]))
        )
        records = app.bot_data.services.store.table("inbox")
        done = [d for _, d in records.items() if d.get("type") == "comment" and d.get("status") == "done"]
        assert len(done) == delivery.DIGEST_SIZE
        assert botapi.too_many_requests == 0


async def test_digests_wait_for_the_rolling_window(botapi):
    """More digests than the group takes in one window: they queue in the rate limiter and still
    get no 429 (window scaled down to 2 s on both sides)."""
    fake = FakeResont(token=RESONT_TOKEN, page_size=100)
    acc = fake.add_account("Brand Shop", "instagram")["id"]
    botapi.set_limits(group=20, group_window=2.0)
    async with running(botapi, fake, group_messages_per_minute=20) as app:
        app.bot.rate_limiter.group_window = 2.0
        await poll(app)
        for n in range(600):
            fake.add_comment(acc, f"c{n}")
        await poll(app)
        await botapi.wait_for(lambda: len(botapi.bot_messages(ADMIN_CHAT)) == 24, timeout=20)
        assert botapi.too_many_requests == 0
        sends = sorted(r.time for r in botapi.requests_of("sendMessage") if r.ok)
        assert sends[-1] - sends[0] >= 2.0  # the 21st waited for the window


async def test_small_batches_are_cards_not_digests(botapi, resont):
    acc = account_id(resont)
    async with running(botapi, resont, digest_threshold=3) as app:
        await poll(app)
        for n in range(3):
            resont.add_comment(acc, f"few {n}")
        await poll(app)
        await botapi.wait_for(lambda: len(cards_with(botapi, "💬 Comment")) == 3)
        for n in range(4):
            resont.add_comment(acc, f"many {n}")
        await poll(app)
        digest = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "4 new comments" in text_of(m))
        assert all(f"many {n}" in text_of(digest) for n in range(4))


async def test_a_digest_is_marked_delivered_in_one_write(botapi, resont, tmp_path):
    """Telegram accepted a digest: its record and every item it lists are written down as one
    journal record. The state is copied the instant that first record about the sent digest is
    on disk (what a SIGKILL right then would leave): every item is already delivered there, so a
    bot restarted on the copy forwards nothing again. Marked one item per write, the copy would
    hold one item delivered and the rest pending, and they would come again in a new digest."""
    path = tmp_path / "state.json"
    killed = tmp_path / "killed"
    killed.mkdir()
    acc = account_id(resont)
    store = Store.open(path)
    storage = store.storage
    real_commit = storage.commit
    marking: list[dict[str, Any]] = []  # the records that said an item was delivered

    def commit(table: str, changes: dict[str, Any], cleared: bool = False) -> None:
        real_commit(table, changes, cleared)
        delivered = {
            doc_id: doc
            for doc_id, doc in changes.items()
            if table == "inbox" and doc and doc.get("delivered_at") is not None
        }
        if delivered:
            marking.append(changes)
            if len(marking) == 1:  # "killed" right after the first such record reached the disk
                for name in (path.name, path.name + ".journal"):
                    shutil.copy(path.with_name(name), killed / name)

    storage.commit = commit  # type: ignore[method-assign]
    async with running(botapi, resont, store=store, digest_threshold=3) as app:
        await poll(app)
        for n in range(6):
            resont.add_comment(acc, f"folded {n}")
        await poll(app)
        digest = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "6 new comments" in text_of(m))
        assert all(f"folded {n}" in text_of(digest) for n in range(6))
    assert len(marking) == 1, "the digest's items were marked delivered in several writes"
    docs = list(marking[0].values())
    assert sorted(d["_key"] for d in docs if d.get("type") == "comment") == sorted(
        f"c:{c['id']}" for c in resont.comments.values() if "folded" in c["text"]
    )
    assert any(d.get("type") == "digest" and len(d["items"]) == 6 for d in docs)  # the digest record too
    # the state a kill at that instant leaves: all six delivered, one digest
    state = Store.open(killed / "state.json")
    folded = [d for _, d in state.table("inbox").items() if d.get("type") == "comment"]
    assert len(folded) == 6 and {d["status"] for d in folded} == {"open"}
    assert len({d["digest"] for d in folded}) == 1
    async with running(botapi, resont, store=state, digest_threshold=3) as app:
        await poll(app)
        await asyncio.sleep(0.2)
    for n in range(6):
        assert sum(text_of(m).count(f"folded {n}") for m in botapi.bot_messages(ADMIN_CHAT)) == 1, n


async def test_resont_outage_is_one_alert_and_a_recovery_notice(botapi, resont):
    acc = account_id(resont)
    async with running(botapi, resont) as app:
        await poll(app)
        resont.faults.add("status", status=403, times=10, match=r"^GET (comment|conversation)$")
        await poll(app)
        await poll(app)
        await poll(app)
        alerts = [t for t in texts(botapi) if "cannot be polled" in t]
        assert len(alerts) == 2  # one for comments, one for DMs: not one per poll
        resont.faults.clear()
        resont.add_comment(acc, "after the outage")
        await poll(app)
        await card(botapi, "after the outage")
        assert len([t for t in texts(botapi) if "works again" in t]) == 2
        health = app.bot_data.services.health.jobs
        assert health["inbox-comments"].ok and health["inbox-dms"].ok


async def test_old_records_are_pruned(botapi, resont):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    acc = account_id(resont)
    async with running(botapi, resont, clock=lambda: now[0], retention_days=30) as app:
        await poll(app)
        comment = resont.add_comment(acc, "closing soon")
        await poll(app)
        shown = await card(botapi, "closing soon")
        botapi.user_presses(AGENT_USER, ADMIN_CHAT, shown["message_id"], CommentDone(comment["id"]).encode())
        await botapi.wait_for(lambda: "done by" in text_of(botapi.message(ADMIN_CHAT, shown["message_id"])))
        store = app.bot_data.services.store
        assert store.table("inbox").get(f"c:{comment['id']}") is not None
        assert records.prune(app.bot_data.services) == 0
        now[0] += timedelta(days=31)
        assert records.prune(app.bot_data.services) >= 1
        assert store.table("inbox").get(f"c:{comment['id']}") is None
        assert not [k for k, d in store.table("cards").items() if d.get("item") == f"c:{comment['id']}"]
        # a reply to the pruned card is told plainly
        botapi.user_sends(AGENT_USER, ADMIN_CHAT, "late answer", reply_to=shown["message_id"])
        await asyncio.sleep(0.3)
        assert not [c for c in resont.comments.values() if c["owner"]]


async def test_status_shows_inbox_line(botapi, resont):
    acc = account_id(resont)
    async with running(botapi, resont) as app:
        await poll(app)
        resont.add_comment(acc, "status check")
        await poll(app)
        await card(botapi, "status check")
        botapi.user_sends(User(1, "Ada"), ADMIN_CHAT, "/status")
        status = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Inbox:" in text_of(m))
        assert "1 open item(s), 0 waiting" in text_of(status)


def test_webhook_payload_parsing_rejects_garbage():
    from bot.clients.resont.errors import ResontMalformed
    from bot.clients.resont.inbox_models import parse_webhook

    assert parse_webhook(json.dumps({"type": "autoform_completed", "payload": {}})) is None
    with pytest.raises(ResontMalformed):
        parse_webhook(b"[1, 2]")
    event = parse_webhook({"type": "comment_created", "user_id": "77", "payload": {"id": "5", "text": "hi"}})
    assert event is not None and event.comment is not None and event.comment.id == 5 and event.user_id == 77

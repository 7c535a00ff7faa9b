"""Walking Resont's page and cursor pagination: stop conditions, kept filters, re-added token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.clients.resont.client import ResontClient
from bot.clients.resont.inbox_models import Comment
from tests.clients.resont.support import BASE, TOKEN, recording_retry
from tests.fakes.resont import FakeResont, query_pairs

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def seed_comments(fake: FakeResont, account_id: int, count: int, offset: int = 0, text: str = "comment") -> list[dict]:
    return [
        fake.add_comment(account_id, f"{text} {offset + i}", created=START + timedelta(minutes=offset + i))
        for i in range(count)
    ]


def comment_requests(fake: FakeResont) -> list:
    return fake.requests_to(r"^GET comment$")


async def test_cursor_walk_stops_at_the_last_seen_comment(client: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    old = seed_comments(fake, account["id"], 12)
    first_poll = [c async for c in client.comments.walk(search="comment", with_="socialUser")]
    assert [c.id for c in first_poll] == [c["id"] for c in reversed(old)]  # all 12, newest first
    assert len(comment_requests(fake)) == 3  # pages of 5, 5, 2
    newest_seen = first_poll[0].id

    new = seed_comments(fake, account["id"], 7, offset=100)
    before = len(comment_requests(fake))
    second_poll = [c async for c in client.comments.walk(search="comment", with_="socialUser", stop_at_id=newest_seen)]
    assert [c.id for c in second_poll] == [c["id"] for c in reversed(new)]
    requests = comment_requests(fake)[before:]
    assert len(requests) == 2  # the seen comment was on the second page: no third request
    follow = requests[1]
    # The second page came from the first page's `after` link: its cursor and the filters are
    # kept, and the token is there exactly once (the link itself does not carry it).
    assert follow.query["after"] and follow.query["search"] == ["comment"] and follow.query["with"] == ["socialUser"]
    assert follow.query["token"] == [TOKEN]
    assert all(c.social_user is not None for c in second_poll)


async def test_walk_stops_at_any_seen_id_when_ids_are_not_monotonic(client: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    # Ids grow while dates go back in time: Resont sorts by date, so ids are not monotonic.
    seeded = [fake.add_comment(account["id"], f"c{i}", created=START - timedelta(minutes=i)) for i in range(8)]
    seen = {seeded[3]["id"], seeded[6]["id"]}
    found = [c.id async for c in client.comments.walk(seen_ids=seen)]
    assert found == [seeded[0]["id"], seeded[1]["id"], seeded[2]["id"]]


async def test_walk_stops_before_a_date(client: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    seed_comments(fake, account["id"], 10)
    cutoff = START + timedelta(minutes=6)
    found = [c async for c in client.comments.walk(stop_before=cutoff)]
    assert [c.text for c in found] == ["comment 9", "comment 8", "comment 7", "comment 6"]
    assert all(c.date is not None and c.date >= cutoff for c in found)
    with pytest.raises(ValueError):
        [c async for c in client.comments.walk(stop_before=datetime(2024, 1, 1))]


async def test_limit_stops_early_without_fetching_more_pages(client: ResontClient, fake: FakeResont) -> None:
    seed_comments(fake, fake.add_account()["id"], 12)
    found = [c async for c in client.comments.walk(limit=3)]
    assert len(found) == 3 and len(comment_requests(fake)) == 1
    assert [c async for c in client.comments.walk(limit=0)] == []


async def test_bare_cursor_values_are_sent_back_with_the_filters(client: ResontClient, fake: FakeResont) -> None:
    fake.cursor_style = "value"
    seed_comments(fake, fake.add_account()["id"], 7)
    found = [c async for c in client.comments.walk(status=0)]
    assert len(found) == 7
    second = comment_requests(fake)[1]
    assert second.query["after"][0].startswith("c") and second.query["status"] == ["0"]


async def test_links_that_echo_the_token_do_not_duplicate_it(client: ResontClient, fake: FakeResont) -> None:
    fake.echo_token = True  # the fake answers 400 when a token is given twice
    fake.page_size = 2
    for i in range(5):
        fake.add_file(f"f{i}.jpg")
    found = [f async for f in client.files.walk(type="image")]
    assert len(found) == 5
    for request in fake.requests_to(r"^GET file$"):
        assert request.query["token"] == [TOKEN] and request.query["type"] == ["image"]


async def test_page_links_keep_filters(client: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 2
    for i in range(5):
        fake.add_file(f"f{i}.jpg")
    fake.add_file("doc.pdf", content_type="application/pdf")
    found = [f async for f in client.files.walk(type="image", search="f")]
    assert [f.title for f in found] == ["f4.jpg", "f3.jpg", "f2.jpg", "f1.jpg", "f0.jpg"]
    pages = [
        (r.query["page"] if "page" in r.query else ["1"], r.query["type"], r.query["search"])
        for r in fake.requests_to(r"^GET file$")
    ]
    assert pages == [(["1"], ["image"], ["f"]), (["2"], ["image"], ["f"]), (["3"], ["image"], ["f"])]


async def test_a_link_without_the_filters_keeps_ours(client: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 1
    fake.add_file("a.jpg")
    fake.add_file("b.jpg")
    await client.users.me()
    first = {
        "data": [{"id": 1, "title": "x.jpg"}],
        "paging": {"page": 1, "totalPage": 2, "next": f"{BASE}/file?page=2"},
    }
    fake.faults.add("status", status=200, body=first, match=r"^GET file$")
    found = [f.title async for f in client.files.walk(type="image")]
    assert found == ["x.jpg", "a.jpg"]
    second = fake.requests_to(r"^GET file$")[1]
    assert second.query["page"] == ["2"] and second.query["type"] == ["image"]


async def test_a_link_to_another_host_is_rebased_on_ours(client: ResontClient, fake: FakeResont) -> None:
    fake.page_size = 1
    fake.add_file("a.jpg")
    fake.add_file("b.jpg")
    await client.users.me()
    evil = "https://elsewhere.example/token/v1/file?page=2&type=image&token=stolen"
    fake.faults.add(
        "status", status=200, body={"data": [{"id": 9, "title": "x"}], "paging": {"next": evil}}, match=r"^GET file$"
    )
    titles = [f.title async for f in client.files.walk(type="image")]
    assert titles == ["x", "a.jpg"]
    second = fake.requests_to(r"^GET file$")[1]
    assert second.headers["host"] == "resont.test" and second.query["token"] == [TOKEN]


async def test_page_numbers_without_links(client: ResontClient, fake: FakeResont) -> None:
    await client.users.me()
    fake.faults.add(
        "status", status=200, body={"data": [{"id": 1}], "paging": {"page": 1, "totalPage": 2}}, match=r"^GET ticket$"
    )
    fake.page_size = 1
    fake.add_ticket("older", "x")
    fake.add_ticket("newer", "x")
    found = [t.title async for t in client.tickets.walk()]
    assert found == [None, "older"] and fake.requests_to(r"^GET ticket$")[1].query["page"] == ["2"]


async def test_a_server_that_repeats_a_link_does_not_loop(client: ResontClient, fake: FakeResont) -> None:
    await client.users.me()
    page = {"data": [{"id": 1}], "paging": {"after": f"{BASE}/comment?after=c1_1"}}
    fake.faults.add("status", status=200, body=page, times=10, match=r"^GET comment$")
    found = [c.id async for c in client.comments.walk()]
    assert found == [1, 1]  # the first page, then the linked page once; the repeated link is not followed
    assert len(comment_requests(fake)) == 2


async def test_before_cursor_returns_newer_items_beyond_a_page(client: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    seed_comments(fake, account["id"], 6)
    first = await client.page("comment.list", Comment.from_raw)
    assert len(first.items) == 5 and first.before and first.after
    new = seed_comments(fake, account["id"], 7, offset=100)
    newer = [c async for c in client.comments.walk(before=first.before, stop_at_id=first.items[0].id)]
    assert [c.id for c in newer] == [c["id"] for c in reversed(new)]  # 7 > page size, one answer
    assert comment_requests(fake)[1].query["before"] == [dict(query_pairs(first.before))["before"]]
    assert len(comment_requests(fake)) == 3  # the page, the newer items, one look past them


@pytest.mark.parametrize("order", ["oldest", "newest", "shuffled"])
async def test_conversation_messages_are_read_whole_and_ordered(
    client: ResontClient, fake: FakeResont, order: str
) -> None:
    # "An array of Message": no order, no paging. Seen ids are skipped, never taken for the end.
    fake.messages_order = order
    conversation = fake.add_conversation(fake.add_account()["id"])
    messages = [fake.add_message(conversation["id"], f"m{i}") for i in range(8)]
    seen = [messages[0]["id"], messages[1]["id"], messages[5]["id"]]
    found = await client.conversations.messages(conversation["id"], skip_ids=seen)
    assert [m.text for m in found] == ["m2", "m3", "m4", "m6", "m7"]
    assert len(fake.requests_to(r"^GET conversation/\d+/messages$")) == 1


async def test_conversations_stop_before_an_update_time(client: ResontClient, fake: FakeResont) -> None:
    account = fake.add_account()
    a = fake.add_conversation(account["id"], "ann", created=START)
    b = fake.add_conversation(account["id"], "ben", created=START + timedelta(minutes=1))
    fake.add_message(a["id"], "new question", created=START + timedelta(minutes=10))
    found = [c.id async for c in client.conversations.walk(stop_before=START + timedelta(minutes=5))]
    assert found == [a["id"]] and b["id"] not in found


async def test_walk_over_a_loopback_server(fake: FakeResont) -> None:
    account = fake.add_account()
    seed_comments(fake, account["id"], 11)
    with fake.serve() as server:
        async with httpx.AsyncClient() as http:
            client = ResontClient(http, f"{server.url}/token/v1", token=TOKEN, retry=recording_retry([]))
            found = [c async for c in client.comments.walk(search="comment")]
            upload = await client.files.upload(b"\x00\x01binary", "clip.mp4", "video/mp4")
    assert len(found) == 11 and len(comment_requests(fake)) == 3
    links = [r.query.get("after") for r in comment_requests(fake)]
    assert links[0] is None and all(links[1:])
    assert fake.uploads[-1].content == b"\x00\x01binary" and upload.file_type == "video"


async def test_a_date_cursor_as_in_the_document(client: ResontClient, fake: FakeResont) -> None:
    # "to receive comments before 01-01-2022, send after=01-01-2022": after walks back in time.
    account = fake.add_account()
    seed_comments(fake, account["id"], 3)
    fake.add_comment(account["id"], "older", created=START - timedelta(days=2))
    assert [c.text async for c in client.comments.walk(after="2024-05-01")] == ["older"]
    assert comment_requests(fake)[0].query["after"] == ["2024-05-01"]


async def test_drafts_are_read_whole(client: ResontClient, fake: FakeResont) -> None:
    # The document states no order for drafts: every page is read, whatever is already known.
    fake.page_size = 2
    account = fake.add_account()
    for i in range(5):
        fake.add_post_group(f"draft {i}", [account["id"]], status="draft")
    found = [g.caption async for g in client.posts.drafts()]
    assert sorted(found) == [f"draft {i}" for i in range(5)]
    assert len(fake.requests_to(r"^GET post/draft$")) == 3


def test_query_pairs_helper() -> None:
    assert query_pairs("http://x/y?a=1&b[]=2&b[]=3") == [("a", "1"), ("b[]", "2"), ("b[]", "3")]

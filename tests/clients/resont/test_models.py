"""Typed models, defensive date parsing, form encoding and webhook parsing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jdatetime
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.clients.resont.client import ResontClient
from bot.clients.resont.dates import DateParser, render_php, to_timezone
from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.forms import encode_fields
from bot.clients.resont.inbox_models import Comment, Conversation, Message, parse_webhook
from bot.clients.resont.models import Account, Tag
from bot.clients.resont.paging import unwrap
from bot.clients.resont.post_models import PostGroup
from bot.clients.resont.values import as_items
from tests.fakes.resont import FakeResont, php_to_strftime

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30, tzinfo=TEHRAN)),
        ("2024-03-05 14:30:15", datetime(2024, 3, 5, 14, 30, 15, tzinfo=TEHRAN)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=TEHRAN)),
        ("05/03/2024 14:30", datetime(2024, 3, 5, 14, 30, tzinfo=TEHRAN)),
        ("2024-03-05T11:00:00Z", datetime(2024, 3, 5, 11, 0, tzinfo=UTC)),
        ("2024-03-05T14:30:00+03:30", datetime(2024, 3, 5, 11, 0, tzinfo=UTC)),
        ("1403/01/15 10:00", datetime(2024, 4, 3, 10, 0, tzinfo=TEHRAN)),  # Jalali
        ("۱۴۰۳-۰۱-۱۵ ۱۰:۰۰", datetime(2024, 4, 3, 10, 0, tzinfo=TEHRAN)),  # Persian digits
        ("1403-02-31 08:00", datetime(2024, 5, 20, 8, 0, tzinfo=TEHRAN)),  # a day Gregorian lacks
        (1709634600, datetime(2024, 3, 5, 10, 30, tzinfo=UTC)),
        ("1709634600", datetime(2024, 3, 5, 10, 30, tzinfo=UTC)),
        (1709634600000, datetime(2024, 3, 5, 10, 30, tzinfo=UTC)),  # milliseconds
        ("Mar 5, 2024", datetime(2024, 3, 5, tzinfo=TEHRAN)),
        ("2024-03-05 2:30 PM", datetime(2024, 3, 5, 14, 30, tzinfo=TEHRAN)),
    ],
)
def test_dates_are_read_defensively(value: object, expected: datetime) -> None:
    parser = DateParser(tz=TEHRAN, dateformat="Y-m-d", timeformat="H:i")
    assert parser.parse(value) == expected


@pytest.mark.parametrize("value", [None, "", "garbage", "2024-02-31 10:00", "99/99/9999", 0, -5, True, [], {}, "  "])
def test_unreadable_dates_are_none(value: object) -> None:
    assert DateParser(tz=TEHRAN).parse(value) is None


def test_the_users_own_layout_decides_ambiguous_dates() -> None:
    us = DateParser(tz=ZoneInfo("America/New_York"), dateformat="m/d/Y", timeformat="h:i A")
    assert us.parse("03/05/2024 02:30 PM") == datetime(2024, 3, 5, 14, 30, tzinfo=ZoneInfo("America/New_York"))
    european = DateParser(tz=TEHRAN, dateformat="d/m/Y", timeformat="H:i")
    assert european.parse("03/05/2024 14:30") == datetime(2024, 5, 3, 14, 30, tzinfo=TEHRAN)


def test_settings_from_a_me_answer() -> None:
    parser = DateParser.from_settings({"dateformat": "d.m.Y", "timeformat": "H:i", "timezone": "Europe/Berlin"})
    assert parser.parse("05.03.2024 14:30") == datetime(2024, 3, 5, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    fallback = DateParser.from_settings({"timezone": "Mars/Base"}, "Asia/Tehran")
    assert fallback.tz == TEHRAN and fallback.dateformat == "Y-m-d"
    assert to_timezone("+03:30").utcoffset(None) == timedelta(hours=3, minutes=30)
    assert to_timezone("UTC") is UTC


def test_dates_render_in_the_users_layout() -> None:
    assert render_php(date(2024, 3, 5), "d/m/Y") == "05/03/2024"
    parser = DateParser(tz=TEHRAN, dateformat="Y-m-d")
    assert parser.format_date(datetime(2024, 3, 4, 22, 0, tzinfo=UTC)) == "2024-03-05"  # Tehran's day


LAYOUTS = [("Y-m-d", "H:i"), ("d/m/Y", "H:i"), ("Y/m/d", "H:i:s"), ("d.m.Y", "h:i A"), ("m/d/Y", "g:i a")]


@settings(max_examples=150, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)),
    layout=st.sampled_from(LAYOUTS),
    zone=st.sampled_from(["Asia/Tehran", "UTC", "America/Los_Angeles", "Asia/Kolkata"]),
    jalali=st.booleans(),
)
def test_fake_rendering_round_trips_through_the_parser(
    moment: datetime, layout: tuple[str, str], zone: str, jalali: bool
) -> None:
    moment = moment.replace(microsecond=0) if layout[1].endswith(":s") else moment.replace(second=0, microsecond=0)
    local = moment.astimezone(ZoneInfo(zone))
    assume(not local.fold)  # the second pass through a repeated DST hour is ambiguous by nature
    fmt = php_to_strftime(f"{layout[0]} {layout[1]}")
    text = jdatetime.datetime.fromgregorian(datetime=local).strftime(fmt) if jalali else local.strftime(fmt)
    parser = DateParser(tz=ZoneInfo(zone), dateformat=layout[0], timeformat=layout[1])
    parsed = parser.parse(text)
    # Compared as instants: Python never finds an ambiguous local time (the first pass through a
    # repeated DST hour, fold=0) equal to a time in another zone (PEP 495).
    assert parsed is not None and parsed.timestamp() == moment.timestamp()


def test_models_tolerate_missing_and_extra_fields() -> None:
    comment = Comment.from_raw(
        {"id": "12", "unexpected": {"x": 1}, "tags": {"0": {"id": 3, "name": "vip"}}, "like": "1"}
    )
    assert (comment.id, comment.text, comment.date, comment.liked) == (12, None, None, True)
    assert [t.name for t in comment.tags] == ["vip"] and comment.raw["unexpected"] == {"x": 1}
    empty = Conversation.from_raw({})
    assert empty.participants == [] and empty.update_date is None and empty.account is None
    account = Account.from_raw({"id": 1.0, "login_required": "0", "meta": "not a dict"})
    assert account.id == 1 and not account.login_required and account.meta == {}


def test_webhook_style_payloads_decode() -> None:
    # Third-party receivers see string ids and `content` instead of `text`.
    message = Message.from_raw({"id": "55", "content": "hi", "socialUser": {"id": 3}, "is_owner": 0})
    assert (message.id, message.text, message.outbound) == (55, "hi", False)
    assert Message.from_raw({"direction": "out"}).outbound is True
    assert Message.from_raw({}).outbound is None


def test_a_group_reads_media_accounts_and_location_from_its_posts() -> None:
    # The documented PostGroup has no media of its own: they live on each Post.
    raw = {
        "id": 5001,
        "type": "album",
        "status": "draft",
        "media_ids": [99],  # not the documented place: ignored
        "posts": [
            {"id": 6001, "account_id": 1, "media_ids": [7, 8], "location": "501", "status": "draft"},
            {"id": 6002, "account_id": 2, "media_ids": "8,9", "status": "draft"},
        ],
    }
    group = PostGroup.from_raw(raw)
    assert (group.id, group.media_ids, group.account_ids, group.location) == (5001, [7, 8, 9], [1, 2], "501")
    assert group.is_draft  # no is_draft flag: the status says so
    assert not PostGroup.from_raw({**raw, "status": "scheduled"}).is_draft
    assert PostGroup.from_raw({**raw, "status": None}).is_draft  # every post is a draft


@pytest.mark.parametrize("raw", [[1, 2], "text", None, 12])
def test_a_non_object_is_malformed(raw: object) -> None:
    with pytest.raises(ResontMalformed) as caught:
        Comment.from_raw(raw)
    assert "a comment" in str(caught.value)


def test_lists_and_envelopes() -> None:
    assert as_items({"1": "b", "0": "a"}, "x") == ["a", "b"]
    with pytest.raises(ResontMalformed):
        as_items({"a": 1}, "tags")
    assert unwrap({"data": [1], "paging": {}}) == [1]
    assert unwrap({"data": {"insight": 1}, "insights": []}) == {"data": {"insight": 1}, "insights": []}
    assert Tag.from_raw(unwrap({"data": {"id": 4, "name": "x"}})).id == 4


def test_form_encoding_uses_php_brackets() -> None:
    fields = {
        "ids": [1, 2],
        "flag": True,
        "off": False,
        "skip": None,
        "empty": [],
        "captions": {"instagram": "a"},
        "tags": {7: [{"x": 0.5, "id": 9}]},
        "name": "n",
    }
    assert encode_fields(fields) == [
        ("ids[]", "1"),
        ("ids[]", "2"),
        ("flag", "1"),
        ("off", "0"),
        ("empty", ""),
        ("captions[instagram]", "a"),
        ("tags[7][0][x]", "0.5"),
        ("tags[7][0][id]", "9"),
        ("name", "n"),
    ]


def test_webhook_events() -> None:
    comment = parse_webhook(
        {"type": "comment_created", "user_id": "77", "payload": {"id": 5, "text": "hey", "date": "2024-03-05 10:00"}}
    )
    assert comment is not None and comment.user_id == 77 and comment.comment and comment.comment.text == "hey"
    assert comment.message is None
    message = parse_webhook(
        json.dumps({"type": "message_created", "user_id": 77, "payload": {"id": 9, "text": "yo"}}).encode()
    )
    assert message is not None and message.user_id == 77 and message.message and message.message.id == 9
    as_string = parse_webhook({"type": "message_created", "user_id": None, "payload": json.dumps({"id": 1})})
    assert as_string is not None and as_string.user_id is None and as_string.message and as_string.message.id == 1
    for ignored in ("autoform_completed", "leed_created", "something_new"):
        assert parse_webhook({"type": ignored, "user_id": 1, "payload": {"id": 1}}) is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1,2]", {"user_id": 1, "payload": {}}, {"type": "comment_created", "payload": [1]}, '{"type": 3'],
)
def test_malformed_webhooks(body: object) -> None:
    with pytest.raises(ResontMalformed):
        parse_webhook(body)  # type: ignore[arg-type]


async def test_client_reads_webhook_dates_with_the_users_settings(client: ResontClient, fake: FakeResont) -> None:
    fake.user.update(dateformat="d/m/Y", timeformat="H:i", timezone="Asia/Tehran")
    stored = fake.add_comment(fake.add_account()["id"], "pushed", created=datetime(2024, 3, 5, 7, 0, tzinfo=UTC))
    await client.users.me()
    event = client.parse_webhook(fake.webhook_payload("comment_created", stored["id"], user_id_as_string=True))
    assert event is not None and event.user_id == fake.user_id
    assert event.comment is not None and event.comment.date == stored["date"]
    assert event.comment.social_user is not None

"""MioGram's send report as its server writes it (the fake writes records like the server code),
read into typed rows, and what it can and cannot prove about one request."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.errors import MioGramOutcomeUnknown
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import Outcome
from bot.clients.miogram.report import (
    FIELDS,
    Report,
    ReportRow,
    SentContent,
    Verdict,
    find_request,
    parse_report,
)
from tests.fakes.miogram import SERVER_WINDOW, FakeMioGram

URL = "http://miogram.test/dojob.php"
A, B, C = "+989121234567", "+989351112222", "+989121110000"
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


@pytest.fixture
async def client(fake: FakeMioGram):
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        yield MioGramClient(http, url=URL, secret=fake.secret)


# --- the fake writes the log as the server does


async def test_a_mass_send_is_one_record_with_its_numbers_and_those_delivered(client, fake) -> None:
    fake.not_delivered.update({B, C})
    await client.mass.send_message_mass([A, B, C], "Hello team")
    assert fake.report_log == [
        {
            "Username": fake.username,
            "DATE": fake.report_log[0]["DATE"],
            "TIME": fake.report_log[0]["TIME"],
            "IP": fake.client_ip,
            "DATA": "Hello team",
            "Number": f"{A},{B},{C}",
            "Delivered": A,
        }
    ]
    report = await client.account.report(999)
    assert report.rows == (
        ReportRow(
            fake.username,
            *(fake.report_log[0][k] for k in ("DATE", "TIME")),
            fake.client_ip,
            "Hello team",
            (A, B, C),
            (A,),
        ),
    )
    assert (report.delivered_count, report.not_delivered_count) == (1, 2)
    assert fake.credit("Message") == 999  # charged per true result


async def test_a_mass_with_nothing_delivered_is_logged_with_delivered_empty(client, fake) -> None:
    fake.not_delivered.update({A, B})
    await client.mass.send_message_mass([A, B], "hi")
    assert fake.report_log[0]["Delivered"] == ""
    row = (await client.account.report(1)).rows[0]
    assert row.delivered == () and row.not_delivered == (A, B)


async def test_a_single_send_is_logged_only_when_delivered(client, fake) -> None:
    fake.not_delivered.add(B)
    assert await client.sends.send_message(A, "one") is Outcome.SENT
    assert await client.sends.send_message(B, "two") is Outcome.NOT_DELIVERED
    rows = (await client.account.report(999)).rows
    assert [(r.numbers, r.delivered, r.data) for r in rows] == [((A,), (A,), "one")]


async def test_a_file_send_logs_the_base64_of_the_file(client, fake) -> None:
    await client.mass.send_photo_mass([A, B], Media(PHOTO, "png"))
    row = (await client.account.report(5)).rows[0]
    assert row.data == base64.b64encode(PHOTO).decode() and row.file_size == len(PHOTO)


async def test_a_999_writes_no_record_and_charges_nothing(client, fake) -> None:
    fake.mass_999_over = 1
    with pytest.raises(MioGramOutcomeUnknown):
        await client.mass.send_message_mass([A, B], "hi")
    assert fake.sent_numbers() == [A, B]  # the gateway went on sending
    assert fake.report_log == [] and fake.credit("Message") == 1000
    assert (await client.account.report(999)).rows == ()  # 111 No DATA: an empty report


async def test_the_server_reads_only_the_first_1000_records_of_the_log(client, fake) -> None:
    fake.add_old_records(SERVER_WINDOW)
    await client.mass.send_message_mass([A, B], "news")
    assert len(fake.report_log) == SERVER_WINDOW + 1
    report = await client.account.report(999)
    assert len(report.rows) == 999 and report.filled
    assert all(row.data != "news" for row in report.rows)  # the newest send never shows
    assert report.rows[0].data == f"old news {SERVER_WINDOW - 1}"  # newest of the window first


async def test_records_newest_first_and_at_most_misc(client, fake) -> None:
    for index in range(5):
        await client.sends.send_message(A, f"m{index}")
    rows = (await client.account.report(3)).rows
    assert [r.data for r in rows] == ["m4", "m3", "m2"]


# --- reading records


def test_records_that_are_not_records_are_counted_not_guessed() -> None:
    good = dict.fromkeys(FIELDS, "") | {"Number": f"{A},{B}", "Delivered": B, "DATA": "x"}
    report = parse_report([good, "garbage", {"Number": ""}, dict(good, Delivered=None)], asked=10)
    assert report.unreadable == 2 and not report.filled
    assert [r.delivered for r in report.rows] == [(B,), ()]


def test_a_text_is_not_taken_for_a_file() -> None:
    text = ReportRow("u", "", "", "", "Hello dear customers, our shop opens at nine tomorrow morning!!", (A,), (A,))
    assert text.file_size is None
    word = ReportRow("u", "", "", "", "A" * 64, (A,), (A,))
    assert word.file_size == 48


# --- what the report proves about one request


async def test_a_logged_mass_proves_who_got_it_and_who_did_not(client, fake) -> None:
    fake.not_delivered.add(B)
    fake.faults.add("drop", match="SendMessageMass")  # the answer is lost after the server logged it
    with pytest.raises(MioGramOutcomeUnknown):
        await client.mass.send_message_mass([A, B, C], "Hello team")
    check = await client.account.find_request([A, B, C], text="Hello team")
    assert check.verdict is Verdict.FOUND and check.proven
    assert (check.delivered, check.not_delivered) == ((A, C), (B,))
    assert check.row is not None and check.row.when


async def test_numbers_written_without_plus_are_matched(client, fake) -> None:
    fake.mass_keys_without_plus = True
    await client.mass.send_message_mass([A, B], "hi")
    assert fake.report_log[0]["Delivered"] == f"{A[1:]},{B[1:]}"
    check = await client.account.find_request([B, A], text="hi")
    assert check.proven and check.delivered == (B, A)


async def test_the_content_must_match_too(client, fake) -> None:
    await client.mass.send_message_mass([A, B], "first text")
    assert (await client.account.find_request([A, B], text="another text")).verdict is Verdict.NOT_FOUND
    assert (await client.account.find_request([A], text="first text")).verdict is Verdict.NOT_FOUND  # other numbers


async def test_a_file_is_matched_by_its_content(client, fake) -> None:
    await client.mass.send_photo_mass([A, B], Media(PHOTO, "png"))
    assert (await client.account.find_request([A, B], media=Media(PHOTO, "png"))).proven
    other = PHOTO[:-1] + b"!"
    assert (await client.account.find_request([A, B], media=Media(other, "png"))).verdict is Verdict.NOT_FOUND


async def test_a_999_cannot_be_told(client, fake) -> None:
    fake.mass_999_over = 0
    with pytest.raises(MioGramOutcomeUnknown):
        await client.mass.send_message_mass([A, B], "hi")
    check = await client.account.find_request([A, B], text="hi")
    assert check.verdict is Verdict.NOT_FOUND and not check.proven
    assert check.delivered == () and check.not_delivered == ()


async def test_a_busy_account_cannot_tell(client, fake) -> None:
    fake.add_old_records(SERVER_WINDOW)
    fake.faults.add("drop", match="SendMessageMass")
    with pytest.raises(MioGramOutcomeUnknown):
        await client.mass.send_message_mass([A, B], "hi")
    check = await client.account.find_request([A, B], text="hi")
    assert check.verdict is Verdict.NOT_FOUND and check.report_filled


async def test_two_identical_requests_cannot_be_told_apart(client, fake) -> None:
    fake.not_delivered.add(B)
    await client.mass.send_message_mass([A, B], "hi")
    fake.not_delivered.clear()
    await client.mass.send_message_mass([B, A], "hi")
    check = await client.account.find_request([A, B], text="hi")
    assert check.verdict is Verdict.AMBIGUOUS and check.matches == 2 and check.delivered == ()


def test_the_logged_text_may_carry_the_ad_footer() -> None:
    row = ReportRow("u", "d", "t", "ip", "Hi\r\nthere\nAds by MioGram", (A,), ())
    report = Report((row,), asked=999)
    with_footer = SentContent.of_text("Hi\nthere", "Ads by MioGram")
    assert find_request(report, [A], with_footer, "IR").not_delivered == (A,)
    assert not find_request(report, [A], SentContent.of_text("Hi\nthere"), "IR").proven


def test_a_file_of_another_size_is_not_decoded() -> None:
    row = ReportRow("u", "d", "t", "ip", base64.b64encode(PHOTO).decode(), (A,), (A,))
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert SentContent.of_file(digest, len(PHOTO)).matches(row.data)
    assert not SentContent.of_file(digest, len(PHOTO) + 3).matches(row.data)

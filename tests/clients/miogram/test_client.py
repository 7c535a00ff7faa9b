"""MioGramClient against the in-repo fake: every Func's request fields and typed result, the
account functions' real answer shapes, the limits cache, retries and secret hygiene."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.errors import (
    MioGramError,
    MioGramInvalidSecret,
    MioGramMalformed,
    MioGramNoResponse,
    MioGramOutcomeUnknown,
    MioGramTransportError,
)
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import FUNCTIONS, BatchResult, Credits, Limits, Outcome, Secret
from bot.clients.miogram.phones import InvalidPhone
from bot.clients.miogram.transport import RetryPolicy
from tests.fakes.miogram import MIB, FakeMioGram

URL = "http://miogram.test/dojob.php"
A = "+989121234567"
B = "+989351112222"
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(200)) * 5


@dataclass
class Sleeps:
    """An injected sleep that only records the waits asked for."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(fake: FakeMioGram, http: httpx.AsyncClient, sleeps: Sleeps) -> MioGramClient:
    return MioGramClient(http, url=URL, secret=fake.secret, robot="Miogram", sleep=sleeps)


def only_call(fake: FakeMioGram, func: str) -> dict[str, str]:
    calls = fake.calls_of(func)
    assert len(calls) == 1, f"{func}: {len(calls)} requests"
    return calls[0]


# --- every function: its request fields and its typed result


@dataclass
class Case:
    func: str
    call: Callable[[MioGramClient], Awaitable[Any]]
    fields: dict[str, str]
    check: Callable[[Any, FakeMioGram], bool]
    setup: Callable[[FakeMioGram], None] = lambda fake: None
    data: bytes | None = None


def _chat(fake: FakeMioGram) -> None:
    fake.chats["team"] = [A]


def _log_one(fake: FakeMioGram) -> None:
    fake.log_request({"Func": "SendMessage", "Message": "hi", "Data": ""}, A, A)


def _one_row(report: Any, fake: FakeMioGram) -> bool:
    row = report.rows[0]
    return (len(report.rows), row.numbers, row.delivered, row.data, row.username) == (
        1,
        (A,),
        (A,),
        "hi",
        fake.username,
    )


def _sent(result: Any, fake: FakeMioGram) -> bool:
    return result is Outcome.SENT


def _all_sent(result: Any, fake: FakeMioGram) -> bool:
    return isinstance(result, BatchResult) and result.outcomes == {A: Outcome.SENT, B: Outcome.SENT}


CASES = [
    Case(
        "SetStatusOnline",
        lambda c: c.chats.set_status_online(True),
        {"Misc": "Online"},
        lambda r, f: r is True and f.online,
    ),
    Case("SendTyping", lambda c: c.chats.send_typing("09121234567"), {"Phone": A}, lambda r, f: r is True),
    Case(
        "SendMessage",
        lambda c: c.sends.send_message("۰۹۱۲۱۲۳۴۵۶۷", "سلام\nworld & more"),
        {"Phone": A, "Message": "سلام\nworld & more"},
        _sent,
    ),
    Case(
        "SendMessageMass",
        lambda c: c.mass.send_message_mass([A, B], "hi all"),
        {"Phone": f"{A},{B}", "Message": "hi all"},
        _all_sent,
    ),
    Case("SendMessageWhatsApp", lambda c: c.sends.send_message_whatsapp(A, "hi"), {"Phone": A, "Message": "hi"}, _sent),
    Case(
        "SendMessageWhatsAppMass",
        lambda c: c.mass.send_message_whatsapp_mass([A, B], "hi"),
        {"Phone": f"{A},{B}", "Message": "hi"},
        _all_sent,
    ),
    Case(
        "CreateGroupChat",
        lambda c: c.chats.create_group_chat("team", [A, "09351112222"]),
        {"Misc": "team", "Phone": f"{A},{B}"},
        lambda r, f: r is True and f.chats == {"team": [A, B]},
    ),
    Case(
        "ChatInfo",
        lambda c: c.chats.chat_info("team"),
        {"Misc": "team"},
        lambda r, f: r == {"Name": "team", "Members": [A]},
        _chat,
    ),
    Case(
        "RenameChat",
        lambda c: c.chats.rename_chat("team", "crew"),
        {"Misc": "team,crew"},
        lambda r, f: r is True and "crew" in f.chats,
        _chat,
    ),
    Case(
        "ChatAddUser",
        lambda c: c.chats.chat_add_user("team", B, forward_count=5),
        {"Misc": "team,5", "Phone": B},
        lambda r, f: r is True and f.chats["team"] == [A, B],
        _chat,
    ),
    Case(
        "ChatDeleteUser",
        lambda c: c.chats.chat_delete_user("team", A),
        {"Misc": "team", "Phone": A},
        lambda r, f: r is True and f.chats["team"] == [],
        _chat,
    ),
    Case(
        "SetProfileName",
        lambda c: c.chats.set_profile_name("Mio", "Bot"),
        {"Misc": "Mio,Bot"},
        lambda r, f: r is True and f.profile == {"first": "Mio", "last": "Bot"},
    ),
    Case("BlockUser", lambda c: c.chats.block_user(A), {"Phone": A}, lambda r, f: r is True and A in f.blocked),
    Case(
        "UnBlockUser",
        lambda c: c.chats.unblock_user(A),
        {"Phone": A},
        lambda r, f: r is True and not f.blocked,
        lambda f: f.blocked.add(A),
    ),
    Case("MarkRead", lambda c: c.chats.mark_read(A), {"Phone": A}, lambda r, f: r is True),
    Case("GetUserInfo", lambda c: c.chats.get_user_info(A), {"Phone": A}, lambda r, f: r["Phone"] == A),
    Case("GetDialogList", lambda c: c.chats.get_dialog_list(), {}, lambda r, f: r == []),
    # The server reads GetHistory's Misc as limit,offset (the document says offset,limit).
    Case(
        "GetHistory",
        lambda c: c.chats.get_history(A, limit=10, offset=2),
        {"Misc": "10,2", "Phone": A},
        lambda r, f: r == [],
    ),
    Case(
        "SetUsername",
        lambda c: c.chats.set_username("mio_bot"),
        {"Misc": "mio_bot"},
        lambda r, f: r is True and f.profile["username"] == "mio_bot",
    ),
    Case(
        "SetProfilePhoto",
        lambda c: c.chats.set_profile_photo(Media(PHOTO, "png")),
        {},
        lambda r, f: r is True,
        data=PHOTO,
    ),
    Case(
        "SendPhoto",
        lambda c: c.sends.send_photo(A, Media(PHOTO, "png")),
        {"Phone": A, "Misc": "png"},
        _sent,
        data=PHOTO,
    ),
    Case(
        "SendVideo", lambda c: c.sends.send_video(A, Media(CLIP, "mp4")), {"Phone": A, "Misc": "mp4"}, _sent, data=CLIP
    ),
    Case(
        "SendAudio", lambda c: c.sends.send_audio(A, Media(CLIP, "ogg")), {"Phone": A, "Misc": "ogg"}, _sent, data=CLIP
    ),
    Case(
        "SendText",
        lambda c: c.sends.send_text(A, Media("متن\n".encode(), "txt")),
        {"Phone": A, "Misc": "txt"},
        _sent,
        data="متن\n".encode(),
    ),
    Case("SendFile", lambda c: c.sends.send_file(A, Media(CLIP, "zip")), {"Phone": A, "Misc": "zip"}, _sent, data=CLIP),
    Case(
        "SendDocument",
        lambda c: c.sends.send_document(A, Media(CLIP, ".PDF")),
        {"Phone": A, "Misc": "pdf"},
        _sent,
        data=CLIP,
    ),
    Case(
        "SendPhotoMass",
        lambda c: c.mass.send_photo_mass([A, B], Media(PHOTO, "jpg")),
        {"Phone": f"{A},{B}", "Misc": "jpg"},
        _all_sent,
        data=PHOTO,
    ),
    Case(
        "SendVideoMass",
        lambda c: c.mass.send_video_mass([A, B], Media(CLIP, "mp4")),
        {"Phone": f"{A},{B}", "Misc": "mp4"},
        _all_sent,
        data=CLIP,
    ),
    Case(
        "SendFileMass",
        lambda c: c.mass.send_file_mass([A, B], Media(CLIP, "pdf")),
        {"Phone": f"{A},{B}", "Misc": "pdf"},
        _all_sent,
        data=CLIP,
    ),
    Case(
        "SendLocation",
        lambda c: c.sends.send_location(A, 35.6892, 51.389),
        {"Phone": A, "Misc": "35.689200,51.389000"},
        _sent,
    ),
    Case(
        "SendContact", lambda c: c.sends.send_contact(A, "Ali", "09351112222"), {"Phone": A, "Misc": f"Ali,{B}"}, _sent
    ),
    Case(
        "APIGetLimits",
        lambda c: c.account.api_get_limits(),
        {},
        lambda r, f: r == Limits(4096, 5 * MIB, 50 * MIB, 20 * MIB, can_get=True, is_super=True),
    ),
    Case("APIGetCredits", lambda c: c.account.credits(), {}, lambda r, f: r == Credits(1000, 100, 100, 100, 100)),
    Case("APIGetIP", lambda c: c.account.api_get_ip(), {}, lambda r, f: r == ["127.0.0.1"]),
    Case(
        "APISetIP",
        lambda c: c.account.api_set_ip(["1.2.3.4", "5.6.7.8"]),
        {"Misc": "1.2.3.4,5.6.7.8"},
        lambda r, f: r == ["1.2.3.4", "5.6.7.8", f.server_ip],
    ),
    Case(
        "APIChangeSecret",
        lambda c: c.account.api_change_secret(),
        {},
        lambda r, f: isinstance(r, Secret) and r.reveal() == f.secret,
    ),
    Case("APIGetRobot", lambda c: c.account.api_get_robot(), {}, lambda r, f: r == ["Miogram"]),
    Case("APIGetActive", lambda c: c.account.api_get_active(), {}, lambda r, f: r is True),
    Case("APIGetUsername", lambda c: c.account.api_get_username(), {}, lambda r, f: r == "team-account"),
    Case("APIisSuper", lambda c: c.account.api_is_super(), {}, lambda r, f: r is True),
    Case("APIcanGet", lambda c: c.account.api_can_get(), {}, lambda r, f: r is True),
    Case("APIGetAds", lambda c: c.account.api_get_ads(), {}, lambda r, f: r is False),
    Case(
        "APIGetReport",
        lambda c: c.account.report(5),
        {"Misc": "5"},
        _one_row,
        _log_one,
    ),
]


def test_the_cases_cover_all_43_functions() -> None:
    assert len(FUNCTIONS) == 43
    assert sorted(case.func for case in CASES) == sorted(FUNCTIONS)


@pytest.mark.parametrize("case", CASES, ids=[case.func for case in CASES])
async def test_request_fields_and_typed_result(case: Case, client: MioGramClient, fake: FakeMioGram) -> None:
    secret = fake.secret
    case.setup(fake)
    result = await case.call(client)
    call = only_call(fake, case.func)
    expected = {
        "Secret": secret,
        "Func": case.func,
        "Robot": "Miogram",
        "Misc": "",
        "Message": "",
        "Phone": "",
        "Data": call["Data"] if case.data else "",
        **case.fields,
    }
    assert call == expected
    if case.data is not None:
        assert base64.b64decode(call["Data"], validate=True) == case.data
    assert case.check(result, fake), result


async def test_every_request_is_a_form_post_with_utf8(client: MioGramClient, fake: FakeMioGram) -> None:
    await client.sends.send_message(A, "hi")
    for request in fake.requests:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.headers["accept-charset"] == "UTF-8"
        assert set(request.form) == {"Secret", "Func", "Misc", "Message", "Phone", "Data", "Robot"}


async def test_changed_secret_is_used_from_then_on(client: MioGramClient, fake: FakeMioGram) -> None:
    old = fake.secret
    new = await client.account.api_change_secret()
    assert await client.account.api_get_username() == "team-account"
    assert fake.calls[-1]["Secret"] == new.reveal() != old


async def test_invalid_numbers_are_refused_before_any_request(client: MioGramClient, fake: FakeMioGram) -> None:
    with pytest.raises(InvalidPhone):
        await client.sends.send_message("12345", "hi")
    with pytest.raises(InvalidPhone):
        await client.chats.block_user("not a number")
    assert not fake.calls_of("SendMessage") and not fake.calls_of("BlockUser")


async def test_misc_parts_cannot_smuggle_a_comma(client: MioGramClient, fake: FakeMioGram) -> None:
    with pytest.raises(ValueError):
        await client.chats.rename_chat("a,b", "c")
    with pytest.raises(ValueError):
        await client.sends.send_contact(A, "Doe, John", B)
    assert fake.requests == []


# --- the account functions' real shapes


async def test_limits_in_megabytes_as_documented_are_converted(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add(
        "status",
        status=200,
        match="APIGetLimits",
        body={
            "Result": {"Message": "1000", "Photo": "5", "Video": 50, "File": "20", "canGet": "0", "isSuper": 1},
            "Status": "checking",
        },
    )
    limits = await client.checks.limits()
    assert limits == Limits(1000, 5 * MIB, 50 * MIB, 20 * MIB, can_get=False, is_super=True)


async def test_credits_as_strings_and_exhausted_values(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.credits = {"Message": "-1", "Photo": "0", "Video": "12", "File": "7.0", "Other": "3"}
    assert await client.account.credits() == Credits(message=-1, photo=0, video=12, file=7, other=3)


async def test_non_numeric_credit_is_malformed(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.credits["Message"] = "lots"
    with pytest.raises(MioGramMalformed):
        await client.account.credits()


async def test_report_without_data_is_empty(client: MioGramClient, fake: FakeMioGram) -> None:
    report = await client.account.report(10)
    assert report.rows == () and not report.filled
    assert fake.calls[-1]["Misc"] == "10"


async def test_report_count_is_checked(client: MioGramClient) -> None:
    for count in (0, 1000):
        with pytest.raises(ValueError):
            await client.account.report(count)


async def test_unknown_chat_is_none(client: MioGramClient) -> None:
    assert await client.chats.chat_info("nobody") is None


# --- the limits cache


async def test_limits_are_cached_for_the_ttl_of_the_injected_clock(fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    now = [1000.0]
    client = MioGramClient(http, url=URL, secret=fake.secret, limits_ttl=60, clock=lambda: now[0])
    await client.sends.send_message(A, "one")
    await client.sends.send_message(A, "two")
    assert len(fake.calls_of("APIGetLimits")) == 1
    fake.limits["Message"] = 3  # the account's limit changes; the cache still holds the old one
    now[0] += 59
    assert (await client.checks.limits()).message_bytes == 4096
    now[0] += 2
    assert (await client.checks.limits()).message_bytes == 3
    assert len(fake.calls_of("APIGetLimits")) == 2


async def test_request_count_counts_every_http_request(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add(
        "status",
        status=200,
        match="APIGetCredits",
        body={"Message": "No Response From Server", "Status": "error", "Code": "999"},
    )
    await client.account.credits()
    await client.sends.send_message(A, "x")
    assert client.request_count == len(fake.requests) == 4


# --- retries: reads only


async def test_reads_retry_999_with_backoff(client: MioGramClient, fake: FakeMioGram, sleeps: Sleeps) -> None:
    fake.faults.add(
        "status",
        status=200,
        times=2,
        match="APIGetCredits",
        body={"Message": "No Response From Server", "Status": "error", "Code": "999"},
    )
    assert (await client.account.credits()).message == 1000
    assert len(fake.calls_of("APIGetCredits")) == 3
    assert len(sleeps.delays) == 2 and all(d > 0 for d in sleeps.delays)


@pytest.mark.parametrize("kind", ["drop", "timeout"])
async def test_reads_retry_transport_errors(kind: str, client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add(kind, match="APIGetLimits")
    assert (await client.checks.limits()).message_bytes == 4096
    assert len(fake.calls_of("APIGetLimits")) == 2


async def test_reads_give_up_after_the_attempts(fake: FakeMioGram, http: httpx.AsyncClient, sleeps: Sleeps) -> None:
    client = MioGramClient(http, url=URL, secret=fake.secret, sleep=sleeps, retry=RetryPolicy(attempts=4))
    fake.faults.add(
        "status",
        status=200,
        times=10,
        match="APIGetUsername",
        body={"Message": "No Response From Server", "Status": "error", "Code": "999"},
    )
    with pytest.raises(MioGramNoResponse):
        await client.account.api_get_username()
    assert len(fake.calls_of("APIGetUsername")) == 4
    assert len(sleeps.delays) == 3


async def test_a_proxy_4xx_is_not_retried(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add("status", status=404, match="APIGetRobot", body="<html>Not Found</html>")
    with pytest.raises(MioGramTransportError) as caught:
        await client.account.api_get_robot()
    assert caught.value.status == 404
    assert len(fake.calls_of("APIGetRobot")) == 1


@pytest.mark.parametrize("kind", ["drop", "timeout"])
async def test_writes_are_never_repeated(kind: str, client: MioGramClient, fake: FakeMioGram) -> None:
    old = fake.secret
    fake.faults.add(kind, match="APIChangeSecret")
    with pytest.raises(MioGramTransportError):
        await client.account.api_change_secret()
    assert len(fake.calls_of("APIChangeSecret")) == 1
    assert fake.secret != old  # it did change: repeating would have changed it again, unseen


@pytest.mark.parametrize("kind", ["drop", "timeout"])
async def test_a_lost_single_send_is_unknown_not_repeated(kind: str, client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add(kind, match="SendMessage$")
    with pytest.raises(MioGramOutcomeUnknown) as caught:
        await client.sends.send_message(A, "hi")
    assert caught.value.numbers == (A,)
    assert len(fake.calls_of("SendMessage")) == 1
    assert fake.sent == [("SendMessage", A)]  # it went out although the answer was lost


# --- the secret stays secret


async def test_secret_never_in_logs_reprs_or_errors(
    fake: FakeMioGram, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = fake.secret
    client = MioGramClient(http, url=URL, secret=secret, sleep=Sleeps())
    caplog.set_level(logging.DEBUG)
    errors: list[MioGramError] = []
    # A server that echoes the secret back must not get it into our messages either.
    fake.faults.add(
        "status", status=200, match="APIGetRobot", body={"Status": "error", "Message": f"Invalid Secret {secret}"}
    )
    fake.faults.add("status", status=200, match="APIGetIP", body=f"<b>Warning</b>: bad key {secret}")
    fake.faults.add("drop", match="SendMessage$")
    fake.faults.add("timeout", times=5, match="APIGetUsername")
    for call in (
        client.account.api_get_robot,
        client.account.api_get_ip,
        lambda: client.sends.send_message(A, "x"),
        client.account.api_get_username,
    ):
        with pytest.raises(MioGramError) as caught:
            await call()
        errors.append(caught.value)
    fake.secret = "another"
    with pytest.raises(MioGramInvalidSecret) as caught:
        await client.account.credits()
    errors.append(caught.value)
    texts = [caplog.text, repr(client), str(client)]
    for exc in errors:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    assert all(secret not in text for text in texts)
    assert "***" in repr(client)

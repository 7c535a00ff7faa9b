"""Mass sends: per-number outcomes for every input number, batching, filtering before any
request, credit errors, and "unknown" instead of a silent repeat."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.errors import (
    MioGramInvalidSecret,
    MioGramLowCredit,
    MioGramMessageTooLong,
    MioGramNoCredit,
    MioGramNumberWrong,
    MioGramOutcomeUnknown,
)
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import BatchResult, Outcome
from tests.fakes.miogram import FakeMioGram

URL = "http://miogram.test/dojob.php"
A = "+989121234567"
B = "+989351112222"
C = "+989191234567"


def numbers(count: int, start: int = 0) -> list[str]:
    """``count`` distinct valid Iranian mobile numbers in E.164."""
    return [f"+98912{1000000 + start + i:07d}" for i in range(count)]


@pytest.fixture
def fake() -> FakeMioGram:
    fake = FakeMioGram()
    fake.set_credit("Message", 10_000)
    return fake


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def client(fake: FakeMioGram, http: httpx.AsyncClient) -> MioGramClient:
    return MioGramClient(http, url=URL, secret=fake.secret, robot="Miogram", sleep=_no_sleep)


def phones_of(fake: FakeMioGram, func: str = "SendMessageMass") -> list[list[str]]:
    return [call["Phone"].split(",") for call in fake.calls_of(func)]


# --- one batch


async def test_every_input_number_gets_an_outcome(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.not_delivered.add(B)
    fake.wrong_numbers.add(C)
    batch = await client.mass.send_mass_batch([A, B, C, "0912-bad"], text="hi")
    assert batch.outcomes == {
        A: Outcome.SENT,
        B: Outcome.NOT_DELIVERED,
        C: Outcome.NOT_DELIVERED,
        "0912-bad": Outcome.INVALID,
    }
    assert batch.reasons == {"0912-bad": "not a number"}
    assert batch.sent == [A] and batch.not_delivered == [B, C] and batch.invalid == ["0912-bad"]
    assert phones_of(fake) == [[A, B, C]]
    assert fake.credit("Message") == 10_000 - 1  # charged per true only


async def test_numbers_keyed_without_plus_are_matched_back(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.mass_keys_without_plus = True
    fake.not_delivered.add(B)
    batch = await client.mass.send_mass_batch([A, B], text="hi")
    assert batch.outcomes == {A: Outcome.SENT, B: Outcome.NOT_DELIVERED}


async def test_national_keys_and_missing_keys(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add(
        "status",
        status=200,
        match="SendMessageMass",
        body={"Result": {"09121234567": True, "989351112222": "0"}, "Status": "checking"},
    )
    batch = await client.mass.send_mass_batch([A, B, C], text="hi")
    assert batch.outcomes == {A: Outcome.SENT, B: Outcome.NOT_DELIVERED, C: Outcome.UNKNOWN}


async def test_numbers_given_in_other_forms_keep_their_input_keys(client: MioGramClient, fake: FakeMioGram) -> None:
    batch = await client.mass.send_mass_batch(["09121234567", "۰۹۳۵۱۱۱۲۲۲۲"], text="hi")
    assert batch.outcomes == {"09121234567": Outcome.SENT, "۰۹۳۵۱۱۱۲۲۲۲": Outcome.SENT}
    assert phones_of(fake) == [[A, B]]


async def test_repeats_in_a_batch_are_sent_once(client: MioGramClient, fake: FakeMioGram) -> None:
    batch = await client.mass.send_mass_batch([A, "09121234567", A], text="hi")
    assert batch.outcomes == {A: Outcome.SENT, "09121234567": Outcome.SENT}
    assert fake.sent_numbers() == [A]


async def test_result_false_means_nothing_delivered(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add("status", status=200, match="SendMessageMass", body={"Result": False, "Status": "checking"})
    batch = await client.mass.send_mass_batch([A, B], text="hi")
    assert batch.outcomes == {A: Outcome.NOT_DELIVERED, B: Outcome.NOT_DELIVERED}


async def test_whatsapp_mass_answers_sent_for_all(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.not_delivered.add(B)  # WhatsApp has no delivery report: everything is "true"
    batch = await client.mass.send_mass_batch([A, B], text="hi", whatsapp=True)
    assert batch.func == "SendMessageWhatsAppMass" and batch.status == "sent"
    assert batch.outcomes == {A: Outcome.SENT, B: Outcome.SENT}


@pytest.mark.parametrize(
    ("extension", "func"),
    [("jpg", "SendPhotoMass"), ("mp4", "SendVideoMass"), ("pdf", "SendFileMass"), ("mp3", "SendFileMass")],
)
async def test_media_mass_picks_the_func_by_kind(
    extension: str, func: str, client: MioGramClient, fake: FakeMioGram
) -> None:
    batch = await client.mass.send_mass_batch([A, B], media=Media(b"content-bytes", extension))
    assert batch.func == func and batch.sent == [A, B]
    assert fake.calls_of(func)[0]["Misc"] == extension


async def test_text_and_media_together_are_refused(client: MioGramClient, fake: FakeMioGram) -> None:
    with pytest.raises(ValueError):
        await client.mass.send_mass_batch([A], text="hi", media=Media(b"x", "jpg"))
    with pytest.raises(ValueError):
        await client.mass.send_mass_batch([A])
    assert fake.requests == []


async def test_more_than_100_numbers_in_one_request_is_refused(client: MioGramClient, fake: FakeMioGram) -> None:
    with pytest.raises(ValueError):
        await client.mass.send_mass_batch(numbers(101), text="hi")
    assert fake.requests == []


async def test_a_single_wrong_number_answered_307_is_invalid(client: MioGramClient, fake: FakeMioGram) -> None:
    body = {"Result": False, "Message": "Number Not Exist or Wrong", "Status": "error"}
    fake.faults.add("status", status=200, match="SendMessageMass", body=body)
    batch = await client.mass.send_mass_batch([A, "0912 123 4567"], text="hi")
    assert batch.outcomes == {A: Outcome.INVALID, "0912 123 4567": Outcome.INVALID}
    assert set(batch.reasons) == {A, "0912 123 4567"}
    fake.faults.add("status", status=200, match="SendMessageMass", body=body)
    with pytest.raises(MioGramNumberWrong) as caught:  # which of several? the service does not say
        await client.mass.send_mass_batch([A, B], text="hi")
    assert caught.value.numbers == (A, B)


async def test_no_credit_for_the_whole_request_sends_nothing(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.set_credit("Message", 5)
    with pytest.raises(MioGramNoCredit) as caught:
        await client.mass.send_mass_batch(numbers(6), text="hi")
    assert caught.value.numbers == tuple(numbers(6))
    assert fake.sent == [] and fake.credit("Message") == 5


async def test_low_credit_is_a_credit_error(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.faults.add(
        "status", status=200, match="SendMessageMass", body={"Message": "Low Credit", "Status": "error", "Code": "306"}
    )
    with pytest.raises(MioGramLowCredit):
        await client.mass.send_mass_batch([A], text="hi")


@pytest.mark.parametrize("kind", ["drop", "timeout"])
async def test_a_lost_mass_answer_is_unknown_and_never_repeated(
    kind: str, client: MioGramClient, fake: FakeMioGram
) -> None:
    fake.faults.add(kind, match="SendMessageMass")
    with pytest.raises(MioGramOutcomeUnknown) as caught:
        await client.mass.send_mass_batch([A, B], text="hi")
    assert caught.value.numbers == (A, B)
    assert len(fake.calls_of("SendMessageMass")) == 1
    assert fake.sent_numbers() == [A, B]


async def test_message_over_the_limit_is_refused_before_sending(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.limits["Message"] = 20
    fake.ad_footer = "Sent by MioGram"
    client.checks.ad_footer = "Sent by MioGram"
    text = "سلام"  # 4 characters, 8 UTF-8 bytes: with "\n" + 15-byte footer = 24 > 20
    with pytest.raises(MioGramMessageTooLong) as caught:
        await client.mass.send_mass_batch([A], text=text)
    assert (caught.value.limit, caught.value.actual, caught.value.footer) == (20, 24, 16)
    assert "24 UTF-8 bytes" in str(caught.value) and "20" in str(caught.value)
    assert not fake.calls_of("SendMessageMass")
    client.checks.ad_footer = fake.ad_footer = ""
    assert (await client.mass.send_mass_batch([A], text=text)).sent == [A]  # 8 bytes fit


async def test_check_message_counts_bytes_exactly_at_the_limit(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.limits["Message"] = 8
    await client.checks.check_message("سلام")  # exactly 8 bytes: allowed
    with pytest.raises(MioGramMessageTooLong):
        await client.checks.check_message("سلام!")


# --- whole sends in batches


async def test_250_numbers_go_as_100_100_50(client: MioGramClient, fake: FakeMioGram) -> None:
    seen: list[BatchResult] = []
    result = await client.mass.send_mass(numbers(250), text="hi", on_batch=seen.append)
    assert [len(p) for p in phones_of(fake)] == [100, 100, 50]
    assert [len(b.numbers) for b in seen] == [100, 100, 50]
    assert result.counts()[Outcome.SENT] == 250 and result.error is None
    assert sorted(fake.sent_numbers()) == sorted(numbers(250))


async def test_batch_size_is_configurable_lower(fake: FakeMioGram, http: httpx.AsyncClient) -> None:
    client = MioGramClient(http, url=URL, secret=fake.secret, robot="Miogram", batch_size=40)
    await client.mass.send_mass(numbers(90), text="hi")
    await client.mass.send_mass(numbers(25, start=500), text="hi", batch_size=10)
    assert [len(p) for p in phones_of(fake)] == [40, 40, 10, 10, 10, 5]
    with pytest.raises(ValueError):
        await client.mass.send_mass(numbers(5), text="hi", batch_size=101)


async def test_invalid_and_duplicate_numbers_are_filtered_before_any_request(
    client: MioGramClient, fake: FakeMioGram
) -> None:
    pasted = f"{A}, 09121234567\n12345; hello, {B} +98 912 123 4567, 0935 111 2222, {C}"
    result = await client.mass.send_mass(pasted, text="hi")
    sent_phone_fields = [number for batch in phones_of(fake) for number in batch]
    assert sent_phone_fields == [A, B, C]
    assert result.outcomes == {
        "12345": Outcome.INVALID,
        "hello": Outcome.INVALID,
        A: Outcome.SENT,
        B: Outcome.SENT,
        C: Outcome.SENT,
    }
    assert result.reasons == {"12345": "too short", "hello": "not a number"}
    assert result.duplicates == [A, A, B]


async def test_nothing_valid_means_no_send_request(client: MioGramClient, fake: FakeMioGram) -> None:
    result = await client.mass.send_mass("123, abc", text="hi")
    assert result.counts()[Outcome.INVALID] == 2
    assert not fake.calls_of("SendMessageMass")


async def test_too_long_message_stops_before_the_first_batch(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.limits["Message"] = 10
    with pytest.raises(MioGramMessageTooLong):
        await client.mass.send_mass(numbers(150), text="x" * 11)
    assert fake.sent == []


async def test_no_credit_half_way_skips_the_rest(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.set_credit("Message", 150)  # enough for the first 100, not for the next 100
    fake.not_delivered.add(numbers(1)[0])
    result = await client.mass.send_mass(numbers(250), text="hi")
    assert isinstance(result.error, MioGramNoCredit)
    counts = result.counts()
    assert counts[Outcome.SENT] == 99 and counts[Outcome.NOT_DELIVERED] == 1 and counts[Outcome.SKIPPED] == 150
    assert len(result.batches) == 1 and len(fake.sent) == 100


async def test_999_on_a_large_mass_is_unknown_while_it_was_sent(client: MioGramClient, fake: FakeMioGram) -> None:
    fake.mass_999_over = 60
    result = await client.mass.send_mass(numbers(150), text="hi")
    assert isinstance(result.error, MioGramOutcomeUnknown) and result.error.code == 999
    assert [result.outcomes[n] for n in numbers(100)] == [Outcome.UNKNOWN] * 100
    assert [result.outcomes[n] for n in numbers(150)[100:]] == [Outcome.SKIPPED] * 50
    assert len(fake.calls_of("SendMessageMass")) == 1  # never repeated
    assert fake.sent_numbers() == numbers(100)  # the service did send them


async def test_no_number_is_ever_sent_twice(client: MioGramClient, fake: FakeMioGram) -> None:
    targets = numbers(230)
    fake.faults.add("drop", match="SendMessageMass")  # the first batch's answer is lost
    first = await client.mass.send_mass(targets + targets[:10], text="hi")
    assert first.counts()[Outcome.UNKNOWN] == 100
    # Sending only what is known not to have gone out:
    remaining = [n for n, o in first.outcomes.items() if o is Outcome.SKIPPED]
    second = await client.mass.send_mass(remaining, text="hi")
    assert second.counts()[Outcome.SENT] == 130
    assert all(count == 1 for count in Counter(fake.sent_numbers()).values())
    assert len(fake.sent) == 230


async def test_other_errors_stop_the_send_with_the_batch_skipped(client: MioGramClient, fake: FakeMioGram) -> None:
    await client.checks.limits()
    fake.secret = "rotated"
    result = await client.mass.send_mass(numbers(120), text="hi")
    assert isinstance(result.error, MioGramInvalidSecret)
    assert result.counts()[Outcome.SKIPPED] == 120 and fake.sent == []


async def test_async_on_batch_callback_is_awaited(client: MioGramClient) -> None:
    calls: list[int] = []

    async def record(batch: BatchResult) -> None:
        calls.append(len(batch.numbers))

    await client.mass.send_mass(numbers(30), text="hi", batch_size=20, on_batch=record)
    assert calls == [20, 10]


async def test_whole_mass_through_the_loopback_server() -> None:
    fake = FakeMioGram()
    fake.set_credit("Message", 1000)
    fake.not_delivered.add(numbers(1, start=7)[0])
    with fake.serve() as server:
        async with httpx.AsyncClient() as http:
            client = MioGramClient(http, url=f"{server.url}/dojob.php", secret=fake.secret, robot="Miogram")
            result = await client.mass.send_mass(numbers(250), text="سلام دنیا", batch_size=100)
    assert [len(p) for p in phones_of(fake)] == [100, 100, 50]
    assert result.counts()[Outcome.SENT] == 249 and result.counts()[Outcome.NOT_DELIVERED] == 1
    assert fake.calls_of("SendMessageMass")[0]["Message"] == "سلام دنیا"


class HeldBack(Exception):
    """The caller's own reason not to send (a mass send's write that did not reach the disk)."""


async def test_before_send_runs_once_the_request_is_built_and_before_it_leaves(
    client: MioGramClient, fake: FakeMioGram
) -> None:
    seen_by_the_fake: list[int] = []

    async def before_send() -> None:
        seen_by_the_fake.append(len(fake.calls_of("SendMessageMass")))

    result = await client.mass.send_mass_batch([A, B], text="hi", before_send=before_send)
    assert seen_by_the_fake == [0] and len(fake.calls_of("SendMessageMass")) == 1
    assert result.outcomes == {A: Outcome.SENT, B: Outcome.SENT}


@pytest.mark.parametrize("with_file", [False, True])
async def test_what_before_send_raises_reaches_the_caller_and_nothing_is_sent(
    client: MioGramClient, fake: FakeMioGram, with_file: bool
) -> None:
    async def before_send() -> None:
        raise HeldBack("not on disk")

    media = Media.from_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "png") if with_file else None
    with pytest.raises(HeldBack):  # not MioGramOutcomeUnknown: nothing left
        if media is not None:
            await client.mass.send_mass_batch([A, B], media=media, before_send=before_send)
        else:
            await client.mass.send_mass_batch([A, B], text="hi", before_send=before_send)
    assert [c["Func"] for c in fake.calls if c["Func"] and "Mass" in c["Func"]] == []

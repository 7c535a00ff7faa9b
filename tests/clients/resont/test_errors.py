"""The Resont client's error tree and retry policy, driven by the fake's fault plan."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from bot.clients.resont.client import ResontClient
from bot.clients.resont.errors import (
    ResontAuthError,
    ResontError,
    ResontForbidden,
    ResontMalformed,
    ResontNotFound,
    ResontRateLimited,
    ResontServerError,
    ResontTransportError,
    ResontValidationError,
    parse_retry_after,
)
from tests.clients.resont.support import BASE, TOKEN, recording_retry
from tests.fakes.resont import FakeResont


def error_body(message: str = "Something is wrong", type_: str = "HttpException", trace: str = "abc-123") -> dict:
    return {"error": {"message": message, "type": type_, "trace_id": trace}}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ResontValidationError),
        (401, ResontAuthError),
        (403, ResontForbidden),
        (404, ResontNotFound),
        (429, ResontRateLimited),
        (500, ResontServerError),
        (503, ResontServerError),
    ],
)
async def test_each_status_has_its_exception(
    status: int, cls: type[ResontError], client: ResontClient, fake: FakeResont
) -> None:
    await client.users.me()
    fake.faults.add(
        "status",
        status=status,
        body=error_body("Nope", "ValidationException" if status == 400 else "HttpException"),
        times=10,
        match=r"^GET account$",
    )
    with pytest.raises(cls) as caught:
        await client.accounts.all()
    exc = caught.value
    assert type(exc) is cls and isinstance(exc, ResontError)
    assert (exc.message, exc.trace_id, exc.status) == ("Nope", "abc-123", status)
    assert exc.type == ("ValidationException" if status == 400 else "HttpException")
    assert str(exc) == "Nope (trace id abc-123)"
    assert TOKEN not in str(exc) and TOKEN not in repr(exc)


async def test_an_error_body_is_an_error_even_with_status_200(client: ResontClient, fake: FakeResont) -> None:
    fake.faults.add(
        "status",
        status=200,
        body=error_body("The caption field is required.", "ValidationException", "t-9"),
        match=r"^POST post$",
    )
    with pytest.raises(ResontValidationError) as caught:
        from bot.clients.resont.forms import PostInput

        await client.posts.create(PostInput(caption="x", type="text", account_ids=[1]))
    assert caught.value.status == 200 and caught.value.trace_id == "t-9"
    assert len(fake.requests_to(r"^POST post$")) == 1


async def test_a_bare_string_error_is_still_an_error(client: ResontClient, fake: FakeResont) -> None:
    fake.faults.add("status", status=200, body={"error": "quota exceeded"}, match=r"^GET account$")
    with pytest.raises(ResontError) as caught:
        await client.accounts.all()
    assert caught.value.message == "quota exceeded" and caught.value.trace_id is None
    assert str(caught.value) == "quota exceeded"


async def test_wrong_token_is_an_auth_error_without_the_token(http: httpx.AsyncClient, fake: FakeResont) -> None:
    client = ResontClient(http, BASE, token="wrong-token-value", retry=recording_retry([]))
    with pytest.raises(ResontAuthError) as caught:
        await client.accounts.all()
    assert caught.value.status == 401 and caught.value.trace_id
    assert "wrong-token-value" not in str(caught.value) and "wrong-token-value" not in repr(client)
    assert len(fake.requests) == 1  # token mode cannot refresh: no retry


async def test_non_json_server_error_page(client: ResontClient, fake: FakeResont, sleeps: list[float]) -> None:
    await client.users.me()
    fake.faults.add("non_json", times=10, match=r"^GET account$")
    with pytest.raises(ResontServerError) as caught:
        await client.accounts.all()
    assert caught.value.status == 502 and "502" in str(caught.value)
    assert len(fake.requests_to(r"^GET account$")) == 4 and len(sleeps) == 3


async def test_truncated_json_is_malformed(client: ResontClient, fake: FakeResont) -> None:
    await client.users.me()
    fake.add_account()
    fake.faults.add("truncated", match=r"^GET account$")
    with pytest.raises(ResontMalformed) as caught:
        await client.accounts.all()
    assert "not complete JSON" in str(caught.value)


@pytest.mark.parametrize(
    ("signature", "body", "call"),
    [
        (r"^GET comment/\d+$", [1, 2, 3], lambda c: c.comments.get(1001)),
        (r"^GET comment$", {"items": []}, lambda c: _first(c.comments.walk())),
        (r"^GET comment$", {"data": "nope"}, lambda c: _first(c.comments.walk())),
        (r"^GET account$", {"data": {"id": 1}}, lambda c: c.accounts.all()),
        (r"^POST comment/\d+/like$", {"ok": 1}, lambda c: c.comments.like(1001)),
        (r"^GET me$", "a string", lambda c: c.users.me()),
    ],
)
async def test_unexpected_shapes_are_malformed(signature, body, call, client: ResontClient, fake: FakeResont) -> None:
    fake.add_comment(fake.add_account()["id"])
    if signature != r"^GET me$":
        await client.users.me()
    fake.faults.add("status", status=200, body=body, match=signature)
    with pytest.raises(ResontMalformed):
        await call(client)


async def _first(iterator):
    async for item in iterator:
        return item
    return None


async def test_429_is_retried_after_retry_after(client: ResontClient, fake: FakeResont, sleeps: list[float]) -> None:
    account = fake.add_account()
    fake.add_comment(account["id"], "hello")
    await client.users.me()
    fake.faults.add("status", status=429, retry_after=2, body=error_body("Too many requests"), match=r"^GET comment$")
    comments = [c async for c in client.comments.walk()]
    assert [c.text for c in comments] == ["hello"]
    assert sleeps == [2.0]
    assert len(fake.requests_to(r"^GET comment$")) == 2


async def test_429_on_a_post_is_retried_because_resont_refused_it(
    client: ResontClient, fake: FakeResont, sleeps: list[float]
) -> None:
    stored = fake.add_comment(fake.add_account()["id"])
    await client.users.me()
    fake.faults.add("status", status=429, retry_after=1, match=r"/reply$")
    reply = await client.comments.reply(stored["id"], "thanks")
    assert reply.text == "thanks" and sleeps == [1.0]
    assert len([c for c in fake.comments.values() if c["text"] == "thanks"]) == 1


async def test_a_long_retry_after_is_not_waited_for(
    client: ResontClient, fake: FakeResont, sleeps: list[float]
) -> None:
    await client.users.me()
    fake.faults.add("status", status=429, retry_after=3600, times=5, match=r"^GET account$")
    with pytest.raises(ResontRateLimited) as caught:
        await client.accounts.all()
    assert caught.value.retry_after == 3600 and sleeps == []
    assert len(fake.requests_to(r"^GET account$")) == 1


async def test_server_errors_on_get_are_retried_with_backoff(
    client: ResontClient, fake: FakeResont, sleeps: list[float]
) -> None:
    fake.add_account("Shop")
    await client.users.me()
    fake.faults.add("status", status=500, times=2, match=r"^GET account$")
    assert [a.name for a in await client.accounts.all()] == ["Shop"]
    assert len(sleeps) == 2 and all(0 < s <= 0.06 for s in sleeps)


async def test_retries_stop_after_the_configured_attempts(http: httpx.AsyncClient, fake: FakeResont) -> None:
    sleeps: list[float] = []
    client = ResontClient(http, BASE, token=TOKEN, retry=recording_retry(sleeps, attempts=3))
    await client.users.me()
    fake.faults.add("status", status=503, times=10, match=r"^GET account$")
    with pytest.raises(ResontServerError):
        await client.accounts.all()
    assert len(fake.requests_to(r"^GET account$")) == 3 and len(sleeps) == 2


async def test_server_error_on_a_post_is_not_repeated(
    client: ResontClient, fake: FakeResont, sleeps: list[float]
) -> None:
    conversation = fake.add_conversation(fake.add_account()["id"])
    await client.users.me()
    fake.faults.add("status", status=500, times=5, match=r"/reply$")
    with pytest.raises(ResontServerError):
        await client.conversations.reply(conversation["id"], "hi")
    assert len(fake.requests_to(r"/reply$")) == 1 and sleeps == []


async def test_timeout_on_get_is_retried(client: ResontClient, fake: FakeResont, sleeps: list[float]) -> None:
    fake.add_account("Shop")
    await client.users.me()
    fake.faults.add("timeout", match=r"^GET account$")
    assert [a.name for a in await client.accounts.all()] == ["Shop"]
    assert len(fake.requests_to(r"^GET account$")) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("kind", ["timeout", "drop"])
async def test_a_post_that_may_have_reached_resont_is_not_repeated(
    kind: str, client: ResontClient, fake: FakeResont
) -> None:
    stored = fake.add_comment(fake.add_account()["id"])
    await client.users.me()
    fake.faults.add(kind, match=r"/reply$")
    with pytest.raises(ResontTransportError) as caught:
        await client.comments.reply(stored["id"], "thanks")
    assert caught.value.sent is True and caught.value.status is None
    assert len(fake.requests_to(r"/reply$")) == 1
    assert TOKEN not in str(caught.value) and "http" not in str(caught.value)


async def test_deletes_are_idempotent_and_retried(client: ResontClient, fake: FakeResont) -> None:
    stored = fake.add_file()
    await client.users.me()
    fake.faults.add("status", status=502, match=r"^DELETE file/")
    assert await client.files.delete(stored["id"])
    assert len(fake.requests_to(r"^DELETE file/")) == 2


class RefuseConnections(httpx.AsyncBaseTransport):
    """Refuses the first ``failures`` connections, then hands requests to the fake."""

    def __init__(self, inner: httpx.AsyncBaseTransport, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_post_that_never_left_is_retried(fake: FakeResont) -> None:
    stored = fake.add_comment(fake.add_account()["id"])
    sleeps: list[float] = []
    transport = RefuseConnections(fake.transport(), failures=0)
    async with httpx.AsyncClient(transport=transport) as http:
        client = ResontClient(http, BASE, token=TOKEN, retry=recording_retry(sleeps))
        await client.users.me()
        transport.failures = 2
        reply = await client.comments.reply(stored["id"], "thanks")
    assert reply.text == "thanks" and len(sleeps) == 2
    assert len(fake.requests_to(r"/reply$")) == 1  # the refused attempts never reached it


async def test_unreachable_resont_is_a_transport_error(fake: FakeResont) -> None:
    transport = RefuseConnections(fake.transport(), failures=100)
    async with httpx.AsyncClient(transport=transport) as http:
        client = ResontClient(http, BASE, token=TOKEN, retry=recording_retry([], attempts=2))
        with pytest.raises(ResontTransportError) as caught:
            await client.users.me()
    assert caught.value.sent is False and "could not be reached" in str(caught.value)
    assert client.request_count == 2


async def test_tokens_never_reach_the_logs(
    client: ResontClient, fake: FakeResont, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_account()
    await client.accounts.all()
    fake.faults.add("status", status=500, match=r"^GET account$")
    await client.accounts.all()  # one retry, logged
    httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert httpx_lines and all("token=***" in line for line in httpx_lines)
    assert TOKEN not in caplog.text
    assert any("retry" in r.getMessage() for r in caplog.records if r.name == "bot.clients.resont.sender")


def test_retry_after_parsing() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    later = datetime(2024, 1, 1, 12, 0, 30, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(format_datetime(later, usegmt=True), now=now.timestamp()) == 30.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_request_count_counts_every_attempt(client: ResontClient, fake: FakeResont) -> None:
    await client.users.me()
    fake.faults.add("status", status=500, match=r"^GET account$")
    await client.accounts.all()
    assert client.request_count == len(fake.requests) == 3

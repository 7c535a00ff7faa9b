"""Helpers of the Resont client tests: the fake's credentials, a recording retry policy, request checks."""

from __future__ import annotations

from bot.clients.resont.endpoints import ENDPOINTS
from bot.clients.resont.sender import RetryPolicy
from tests.fakes.base import FakeRequest
from tests.fakes.resont import FakeResont

TOKEN = "test-token"
BASE = "http://resont.test/token/v1"


def recording_retry(sleeps: list[float], attempts: int = 4) -> RetryPolicy:
    """A retry policy that records the waits instead of sleeping."""

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(attempts=attempts, initial=0.01, max_wait=0.05, jitter=0.01, sleep=sleep)


def expect(fake: FakeResont, name: str, **path_args: object) -> FakeRequest:
    """The last request, checked against the endpoint table: method, path and token."""
    endpoint = ENDPOINTS[name]
    request = fake.requests[-1]
    assert (request.method, request.path) == (endpoint.method, endpoint.path.format(**path_args))
    assert request.query.get("token") == [TOKEN]
    return request


def form_of(request: FakeRequest) -> dict[str, list[str]]:
    """The request's form fields (urlencoded or multipart)."""
    return dict(request.form)

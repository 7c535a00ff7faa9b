"""Fixtures of the Resont client tests: a strict fake, an httpx client on it, the client under test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.clients.resont.client import ResontClient
from tests.clients.resont.support import BASE, TOKEN, recording_retry
from tests.fakes.resont import FakeResont


@pytest.fixture
def fake() -> FakeResont:
    return FakeResont(TOKEN)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def http(fake: FakeResont) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient, sleeps: list[float]) -> ResontClient:
    return ResontClient(http, BASE, token=TOKEN, retry=recording_retry(sleeps), default_tz="UTC")

"""Fixtures of the MioGram client tests: a strict fake and an httpx client on it (each module
builds the client under test with the sleep it needs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.miogram import FakeMioGram


@pytest.fixture
def fake() -> FakeMioGram:
    return FakeMioGram()


@pytest.fixture
async def http(fake: FakeMioGram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        yield client

"""The composition root (:mod:`bot.app`): the clients it builds from the configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import miogram_client
from bot.clients.miogram.models import Outcome
from bot.config import Config
from tests.fakes.miogram import FakeMioGram


@pytest.fixture
def fake() -> FakeMioGram:
    return FakeMioGram()


@pytest.fixture
async def http(fake: FakeMioGram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        yield client


async def test_the_miogram_client_uses_the_configured_url_and_account(
    fake: FakeMioGram, http: httpx.AsyncClient
) -> None:
    fake.secret, fake.robots = "s3cr3t-value", ["Agent7"]
    fake.ad_footer = "Ads by MioGram"
    config = Config(
        telegram_token="t",
        admin_chat_id=1,
        admin_ids=(1,),
        miogram_secret="s3cr3t-value",
        miogram_url="http://mio.example:8080/x/dojob.php",
        miogram_robot="Agent7",
        miogram_ad_footer="Ads by MioGram",
        phone_region="DE",
        mass_batch_size=40,
    )
    client = miogram_client(config, http)
    assert (client.transport.robot, client.checks.region, client.mass.batch_size, client.request_count) == (
        "Agent7",
        "DE",
        40,
        0,
    )
    assert client.checks.message_bytes("hallo") == (5 + 15, 15)  # "\n" + the footer counts
    assert "s3cr3t-value" not in repr(client)
    assert await client.sends.send_message("0151 23456789", "hallo") is Outcome.SENT  # region DE
    request = fake.requests[-1]
    assert (request.headers["host"], request.path) == ("mio.example:8080", "x/dojob.php")
    assert (request.arg("Secret"), request.arg("Robot"), request.arg("Phone")) == (
        "s3cr3t-value",
        "Agent7",
        "+4915123456789",
    )

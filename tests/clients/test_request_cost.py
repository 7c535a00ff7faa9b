"""What every HTTP request costs the bot besides the network: nothing that grows with the
machine's module path. httpcore asks ``sniffio`` which event loop runs on every request; when
that package is missing, each request pays a failed import (a search of every ``sys.path``
entry), about half a millisecond of event-loop time per request, so it is a declared dependency."""

from __future__ import annotations

import importlib.machinery
from typing import Any

import httpx
import pytest

from bot.clients.miogram.client import MioGramClient
from tests.fakes.miogram import FakeMioGram
from tests.harness import MIOGRAM_SECRET


async def test_requests_over_the_network_import_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMioGram(secret=MIOGRAM_SECRET)
    fake.set_credit("Message", 1000)
    numbers = [f"+98912{1000000 + i}" for i in range(30)]
    with fake.serve() as server:
        async with httpx.AsyncClient() as http:
            client = MioGramClient(http, url=f"{server.url}/dojob.php", secret=MIOGRAM_SECRET)
            client.mass.remember_valid(numbers)
            await client.checks.limits()  # the first request may import what it needs once
            searches: list[Any] = []
            find_spec = importlib.machinery.PathFinder.find_spec

            def counting(*args: Any, **kwargs: Any) -> Any:
                searches.append(args[0] if args else kwargs.get("fullname"))
                return find_spec(*args, **kwargs)

            monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", counting)
            for start in range(0, 30, 10):
                await client.mass.send_mass_batch(numbers[start : start + 10], text="hello")
    assert len(fake.calls_of("SendMessageMass")) == 3
    assert searches == []

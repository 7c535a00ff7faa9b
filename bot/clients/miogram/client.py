"""Async client of the MioGram web service (v1.2), composed of one part per group of Funcs.

:class:`MioGramClient` owns one :class:`~bot.clients.miogram.transport.Transport` (the form POST,
the parsed answer, what is repeated and what never is) and one
:class:`~bot.clients.miogram.checks.SendChecks` (numbers, lengths, sizes against the account's
limits), and hands them to its parts:

- ``sends``: the ``Send*`` functions to one number (:mod:`bot.clients.miogram.sends`);
- ``mass``: the ``*Mass`` functions and whole mass sends (:mod:`bot.clients.miogram.mass`);
- ``chats``: chat and profile functions (:mod:`bot.clients.miogram.chats`);
- ``account``: the ``API*`` functions and the send report (:mod:`bot.clients.miogram.account`).

Nothing here reads the bot's configuration: the composition root (:mod:`bot.app`) builds the
client from it. Which reading of the document each function follows is in
``docs/miogram-client.md``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from bot.clients.miogram.account import AccountFunctions
from bot.clients.miogram.chats import ChatFunctions
from bot.clients.miogram.checks import SendChecks
from bot.clients.miogram.mass import MassSends
from bot.clients.miogram.models import MAX_MASS
from bot.clients.miogram.sends import SingleSends
from bot.clients.miogram.transport import RetryPolicy, Sleep, Timeouts, Transport


class MioGramClient:
    """The MioGram web service for one account over an injected :class:`httpx.AsyncClient`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        secret: str,
        robot: str = "",
        region: str = "IR",
        batch_size: int = MAX_MASS,
        ad_footer: str = "",
        limits_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.transport = Transport(
            http, url=url, secret=secret, robot=robot, sleep=sleep, retry=retry, timeouts=timeouts
        )
        self.checks = SendChecks(self.transport, region=region, ad_footer=ad_footer, limits_ttl=limits_ttl, clock=clock)
        self.sends = SingleSends(self.transport, self.checks)
        self.mass = MassSends(self.transport, self.checks, batch_size=batch_size)
        self.chats = ChatFunctions(self.transport, self.checks)
        self.account = AccountFunctions(self.transport, self.checks)

    def __repr__(self) -> str:
        return f"MioGramClient(url={self.transport.url!r}, robot={self.transport.robot!r}, secret=***)"

    @property
    def request_count(self) -> int:
        """Every HTTP request made so far (retries included)."""
        return self.transport.request_count

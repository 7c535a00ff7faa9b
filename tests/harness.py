"""Run the real bot (``build_application`` + ``running``) against a Telegram emulator and the
in-repo Resont/MioGram fakes, inside the test's event loop.

Usage in an async test::

    async with bot_running(botapi.url, resont=fake_resont, miogram=fake_mio) as app:
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        reply = await botapi.wait_for(lambda m: "Status" in m.get("text", ""))

The Telegram side goes through python-telegram-bot's real request machinery over HTTP; the
fakes are reached through their in-process httpx transports (``loopback=True`` serves them on
127.0.0.1 instead, for tests that need real sockets).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

from telegram.ext import Application

from bot.app import build_application, running
from bot.config import Config
from bot.store.state import Store
from tests.botapi import DEFAULT_TOKEN

TOKEN = DEFAULT_TOKEN  # what the emulators accept
ADMIN_CHAT = -1001
ADMIN = 1
ADMIN_2 = 4
AGENT = 2
AUTHOR = 3
STRANGER = 99
RESONT_TOKEN = "resont-secret-token"
MIOGRAM_SECRET = "mio-secret-key"


def test_config(telegram_base_url: Any, /, **overrides: Any) -> Config:
    """A Config for tests: fixed ids and secrets, no polling unless asked, generous group rate.

    ``telegram_base_url`` is a URL, or a Bot API emulator (the ``botapi``/``tta``/``telegram``
    fixture value), whose ``base_url`` and ``token`` are then used. ``state_path`` is a
    placeholder unless given (:func:`bot_running` runs the bot on an in-memory store).
    """
    url, token = (
        (telegram_base_url, TOKEN)
        if isinstance(telegram_base_url, str)
        else (telegram_base_url.base_url, telegram_base_url.token)
    )
    values: dict[str, Any] = {
        "telegram_token": token,
        "telegram_base_url": url.rstrip("/"),
        "admin_chat_id": ADMIN_CHAT,
        "admin_ids": (ADMIN, ADMIN_2),
        "agent_ids": (AGENT,),
        "author_ids": (AUTHOR,),
        "resont_token": RESONT_TOKEN,
        "resont_base_url": "http://resont.test/token/v1",
        "miogram_secret": MIOGRAM_SECRET,
        "miogram_url": "http://miogram.test/dojob.php",
        "state_path": "unused-in-memory.json",
        "poll_seconds": 3600.0,
        "group_messages_per_minute": 60,
    }
    values.update(overrides)
    values["state_path"] = str(values["state_path"])
    return Config(**values)


test_config.__test__ = False  # not a pytest test despite the name


@asynccontextmanager
async def bot_running(
    telegram_base_url: Any,
    *,
    resont: Any = None,
    miogram: Any = None,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
    loopback: bool = False,
    **overrides: Any,
) -> AsyncIterator[Application]:
    """Start the bot against the given Bot API root (a URL, or an emulator fixture whose
    ``base_url`` and ``token`` are used) and fakes; stop it on exit."""
    async with AsyncExitStack() as stack:
        transports: dict[str, Any] = {}
        if resont is not None:
            if loopback:
                server = stack.enter_context(resont.serve())
                overrides.setdefault("resont_base_url", f"{server.url}{resont.base_path}")
            else:
                transports["resont_transport"] = resont.transport()
        if miogram is not None:
            if loopback:
                server = stack.enter_context(miogram.serve())
                overrides.setdefault("miogram_url", f"{server.url}/dojob.php")
            else:
                transports["miogram_transport"] = miogram.transport()
        config = test_config(telegram_base_url, **overrides)
        app = build_application(config, store=store or Store.memory(), clock=clock, **transports)
        yield await stack.enter_async_context(running(app))

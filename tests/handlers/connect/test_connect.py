"""/connect without web mode (the pasted redirect address), /disconnect, the /status lines and
the callback page, through the bot's real Telegram stack against the emulator and the Resont fake
(in process; the end-to-end run as a process is ``test_process.py``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from telegram.ext import Application

from bot.app import StoredTokens
from bot.clients.resont.auth import SCOPE, OAuthTokens
from bot.runtime.context import Context
from bot.store.state import Store
from handlers.connect.commands import redirect_params
from handlers.connect.status import watch_refresh_token
from tests.botapi import text_of
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, bot_running

REDIRECT = "https://bot.example/oauth/callback"


@pytest.fixture
def fake() -> FakeResont:
    return FakeResont(redirect_uri=REDIRECT, client_id="bot-client", client_secret="oauth-s3cret")


def oauth_settings(fake: FakeResont, **more: Any) -> dict[str, Any]:
    return {
        "resont_token": "",
        "resont_client_id": fake.client_id,
        "resont_client_secret": fake.client_secret,
        "resont_redirect_uri": REDIRECT,
        "resont_oauth_url": "http://resont.test",
        **more,
    }


@asynccontextmanager
async def oauth_bot(botapi: Any, fake: FakeResont, store: Store, **more: Any) -> AsyncIterator[Application]:
    async with bot_running(botapi, resont=fake, store=store, **oauth_settings(fake, **more)) as app:
        yield app


async def ask(botapi: Any, text: str, phrase: str, *, user: int = ADMIN, reply_to: int | None = None) -> dict:
    sent = botapi.user_sends(user, ADMIN_CHAT, text, reply_to=reply_to)
    return await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: phrase in text_of(m), after=sent["message_id"])


async def browse(fake: FakeResont, message: dict, botapi: Any) -> str:
    """Open the /connect button's link; the address Resont redirects the browser to."""
    [[button]] = botapi.buttons(ADMIN_CHAT, message["message_id"])
    async with httpx.AsyncClient(transport=fake.transport()) as browser:
        answer = await browser.get(button["url"])
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def test_without_web_mode_the_redirect_address_is_pasted_as_a_reply(botapi, fake):
    store = Store.memory()
    async with oauth_bot(botapi, fake, store):
        shown = await ask(botapi, "/connect", "needs web mode")
        assert "reply to this message" in text_of(shown) and SCOPE in text_of(shown)
        redirect = await browse(fake, shown, botapi)
        # not an address: said so, and the /connect message still takes the real one
        await ask(botapi, "I approved it", "not the address Resont sent", reply_to=shown["message_id"])
        answer = await ask(botapi, f"here: {redirect}", "Resont connected by", reply_to=shown["message_id"])
        assert "Brand Team" in text_of(answer) and SCOPE in text_of(answer)
        stored = StoredTokens(store).load()
        assert stored is not None and stored.access_token in fake.access_tokens
        # the same address again: the state is spent
        await ask(botapi, redirect, "already used", reply_to=shown["message_id"])
        # a denial pasted: nothing changes
        fake.authorize_answer = "deny"
        shown = await ask(botapi, "/connect", "replaces the stored tokens")
        await ask(botapi, await browse(fake, shown, botapi), "Access was denied", reply_to=shown["message_id"])
        assert StoredTokens(store).load() == stored
        # only admins: an agent's /connect is refused by the guard
        await ask(botapi, "/connect", "may not use /connect", user=AGENT)


async def test_disconnect_asks_then_forgets_and_says_what_stops(botapi, fake):
    store = Store.memory()
    access, refresh = fake.issue_tokens(SCOPE)
    StoredTokens(store).save(OAuthTokens(access, refresh, time.time() + 86400, time.time() + 300 * 86400, SCOPE))
    async with oauth_bot(botapi, fake, store):
        asked = await ask(botapi, "/disconnect", "Disconnect Resont?")
        assert "webhook" in text_of(asked) and "every Resont call" in text_of(asked)
        botapi.press_button(ADMIN, ADMIN_CHAT, asked["message_id"], "Keep connected")
        await botapi.wait_for(lambda: "Nothing changed" in text_of(botapi.message(ADMIN_CHAT, asked["message_id"])))
        assert StoredTokens(store).load() is not None
        asked = await ask(botapi, "/disconnect", "Disconnect Resont?")
        botapi.press_button(ADMIN, ADMIN_CHAT, asked["message_id"], "Disconnect")
        await botapi.wait_for(lambda: "Disconnected by" in text_of(botapi.message(ADMIN_CHAT, asked["message_id"])))
        assert StoredTokens(store).load() is None
        status = await ask(botapi, "/status", "Status")
        assert "not connected" in text_of(status) and "Resont: not reachable" in text_of(status)
        await ask(botapi, "/disconnect", "nothing to forget")


async def test_status_warns_two_weeks_before_the_refresh_token_ends(botapi, fake):
    store = Store.memory()
    access, refresh = fake.issue_tokens(SCOPE)
    now = time.time()
    StoredTokens(store).save(OAuthTokens(access, refresh, now + 20 * 86400, now + 13 * 86400, SCOPE))
    async with oauth_bot(botapi, fake, store) as app:
        status = text_of(await ask(botapi, "/status", "Status"))
        assert "⚠️ refresh token expires" in status and "run /connect before then" in status
        assert "access token expires" in status and "Webhook: off (web mode needs PORT)" in status
        StoredTokens(store).save(OAuthTokens(access, refresh, now + 20 * 86400, now + 15 * 86400, SCOPE))
        status = text_of(await ask(botapi, "/status", "Status"))
        assert "refresh token expires" in status and "⚠️ refresh token" not in status
        StoredTokens(store).save(OAuthTokens(access, "", now + 20 * 86400, None, "basic account"))
        status = text_of(await ask(botapi, "/status", "Status"))
        assert "no refresh token (offline_access not granted)" in status
        assert app.bot_data.web is None


async def test_the_admins_are_told_once_two_weeks_before_the_refresh_token_ends(botapi, fake):
    store = Store.memory()
    access, refresh = fake.issue_tokens(SCOPE)
    now = time.time()
    StoredTokens(store).save(OAuthTokens(access, refresh, now + 20 * 86400, now + 13 * 86400, SCOPE))
    async with oauth_bot(botapi, fake, store) as app:
        alert = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "refresh token ends" in text_of(m), timeout=20)
        assert "Run /connect before then" in text_of(alert)
        await watch_refresh_token(Context(app))  # the next run: still one alert
        # a new connection moves the end a year away: the next run says so, once
        StoredTokens(store).save(OAuthTokens(access, refresh, now + 20 * 86400, now + 300 * 86400, SCOPE))
        await watch_refresh_token(Context(app))
        await watch_refresh_token(Context(app))
        await botapi.wait_for_bot_message(
            ADMIN_CHAT, lambda m: "connected again" in text_of(m), after=alert["message_id"]
        )
        texts = [text_of(m) for m in botapi.bot_messages(ADMIN_CHAT)]
        assert sum("refresh token ends" in t for t in texts) == 1 and sum("connected again" in t for t in texts) == 1


async def test_token_mode_has_nothing_to_connect(botapi, fake):
    async with bot_running(botapi, resont=fake):
        shown = await ask(botapi, "/connect", "token mode")
        assert "RESONT_CLIENT_ID" in text_of(shown) and not botapi.buttons(ADMIN_CHAT, shown["message_id"])
        status = text_of(await ask(botapi, "/status", "Status"))
        assert "Resont auth: token (RESONT_TOKEN)" in status


async def test_a_redirect_uri_is_needed(botapi, fake):
    async with oauth_bot(botapi, fake, Store.memory(), resont_redirect_uri=""):
        await ask(botapi, "/connect", "RESONT_REDIRECT_URI is not set")


async def test_the_callback_page_speaks_the_configured_language(botapi, fake):
    store = Store.memory()
    settings = {"port": 0, "webhook_secret": "w" * 16, "language": "fa"}
    async with oauth_bot(botapi, fake, store, **settings) as app:
        assert app.bot_data.web is not None
        async with httpx.AsyncClient() as browser:
            page = await browser.get(f"http://127.0.0.1:{app.bot_data.web.port}/oauth/callback?state=nope&code=x")
        assert page.status_code == 400 and 'dir="rtl"' in page.text and "رزونت متصل نشد" in page.text
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "رزونت متصل نشد" in text_of(m))


def test_redirect_params_reads_an_address_bar() -> None:
    url = f"{REDIRECT}?code=abc&state=s1"
    assert redirect_params(url, REDIRECT) == {"code": "abc", "state": "s1"}
    assert redirect_params(f"copied: <{url}>", REDIRECT) == {"code": "abc", "state": "s1"}
    assert redirect_params("bot.example/oauth/callback?error=access_denied&state=s", REDIRECT) == {
        "error": "access_denied",
        "state": "s",
    }
    assert redirect_params("I approved", REDIRECT) is None
    assert redirect_params("https://elsewhere.example/page", REDIRECT) is None
    assert parse_qs(urlsplit(url).query)["code"] == ["abc"]

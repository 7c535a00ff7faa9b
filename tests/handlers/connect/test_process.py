"""Connecting Resont by OAuth, end to end: the real ``python -m bot`` in web mode (configured by
environment variables only), the Resont fake on loopback serving the authorize redirect and the
token endpoint as documented, and a plain httpx client playing the browser.

One bot, one story: first every bad input (each answers a clear page and a chat note, and the
bot stays unconnected), then /connect → authorize → callback → tokens → calls with the access
token → refresh → restart → still connected, then the inputs that can only be bad afterwards
(the same callback again, an already exchanged code) and a state that went stale while the bot
was down. Nothing here asserts on wall-clock times: the fake's clock is shifted instead.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from bot.store.state import Store
from tests.botapi import text_of
from tests.drills.killdrill import BotProcess, bot_env
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT

pytestmark = pytest.mark.timeout(180)

CLIENT_SECRET = "oauth-client-s3cret"
HOOK_SECRET = "story-hook-secret"
SCOPES = "basic account post publish insights comment inbox offline_access"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Story:
    """The bot process, the fake, the emulator and the browser, with the steps the test takes."""

    def __init__(self, botapi: Any, fake: FakeResont, bot: BotProcess, browser: httpx.AsyncClient, root: str) -> None:
        self.botapi, self.fake, self.bot, self.browser, self.root = botapi, fake, bot, browser, root
        self.last_note = 0

    async def started(self) -> None:
        """Start the bot and wait until its web side answers (a wrong webhook secret: 404)."""
        self.bot.start()

        async def listening() -> bool:
            try:
                return (await self.browser.post(f"{self.root}/resont/wrong", json={})).status_code == 404
            except httpx.TransportError:
                return False

        await poll_until(listening, self.bot.tail)

    async def connect_link(self) -> str:
        """/connect in the admin chat → the URL of the button under the answer."""
        sent = self.botapi.user_sends(ADMIN, ADMIN_CHAT, "/connect")
        answer = await self.botapi.wait_for_bot_message(
            ADMIN_CHAT, lambda m: "Connect Resont" in text_of(m), after=sent["message_id"], timeout=20
        )
        [[button]] = self.botapi.buttons(ADMIN_CHAT, answer["message_id"])
        return str(button["url"])

    async def authorize(self, link: str) -> str:
        """The browser opens the authorize page; Resont redirects: the address it sends it to."""
        answer = await self.browser.get(link)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def note(self, phrase: str) -> str:
        """The next admin-chat message containing ``phrase`` (after the last one awaited)."""
        found = await self.botapi.wait_for_bot_message(
            ADMIN_CHAT, lambda m: phrase in text_of(m), after=self.last_note, timeout=20
        )
        self.last_note = found["message_id"]
        return text_of(found)

    async def status(self) -> str:
        sent = self.botapi.user_sends(ADMIN, ADMIN_CHAT, "/status")
        answer = await self.botapi.wait_for_bot_message(
            ADMIN_CHAT, lambda m: "Status" in text_of(m), after=sent["message_id"], timeout=30
        )
        self.last_note = max(self.last_note, answer["message_id"])
        return text_of(answer)

    async def bad(self, url: str, status: int, page_phrase: str, note_phrase: str) -> None:
        """A callback that must fail: its page and its chat note."""
        page = await self.browser.get(url)
        assert page.status_code == status, page.text
        assert "Resont was not connected" in page.text and page_phrase in page.text, page.text
        assert "Nothing was stored" in page.text
        note = await self.note("Resont was not connected")
        assert note_phrase in note, note


async def poll_until(check: Callable[[], Awaitable[bool]], tail: Callable[[], str], timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s\n{tail()}")
        await asyncio.sleep(0.1)


def with_params(url: str, **params: str) -> str:
    """``url`` with its query replaced by ``params``."""
    return urlsplit(url)._replace(query=urlencode(params)).geturl()


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


async def test_connect_resont_by_oauth_end_to_end(botapi, tmp_path):
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    callback = f"{root}/oauth/callback"
    shift = [0.0]  # seconds the fake's clock runs ahead (codes live 30 s)
    fake = FakeResont(token="unused-token", redirect_uri=callback, client_id="bot-client", client_secret=CLIENT_SECRET)
    fake.clock = lambda: datetime.now(UTC) + timedelta(seconds=shift[0])
    state_path = tmp_path / "state.json"
    with fake.serve() as server:
        env = bot_env(
            telegram_token=botapi.token, telegram_base_url=botapi.base_url, admin_chat_id=ADMIN_CHAT, admin_ids=ADMIN,
            resont_client_id=fake.client_id, resont_client_secret=CLIENT_SECRET, resont_redirect_uri=callback,
            resont_oauth_url=server.url, resont_base_url=f"{server.url}{fake.base_path}", port=port,
            webhook_secret=HOOK_SECRET, state_path=state_path, poll_seconds=3600, log_level="info",
            group_messages_per_minute=60,
        )  # fmt: skip
        bot = BotProcess(env, tmp_path)
        async with httpx.AsyncClient(timeout=20) as browser:
            story = Story(botapi, fake, bot, browser, root)
            try:
                await story.started()
                await bad_inputs_before_connecting(story, callback, shift)
                code = await connect_and_use(story)
                await bad_inputs_once_connected(story, callback, code, state_path)
            finally:
                bot.stop()
    log = bot.log_text()
    leaked = [s for s in (CLIENT_SECRET, HOOK_SECRET, code, *fake.access_tokens, *fake.refresh_tokens) if s in log]
    assert not leaked, "a secret reached the log"


async def bad_inputs_before_connecting(story: Story, callback: str, shift: list[float]) -> None:
    fake = story.fake
    # a state this bot never made; no state at all
    await story.bad(with_params(callback, code="x", state="forged"), 400, "unknown state", "unknown state")
    await story.bad(with_params(callback, code="x"), 400, "has no state", "has no state")
    # the user denies access on Resont's page
    fake.authorize_answer = "deny"
    link = await story.connect_link()
    assert parse_qs(urlsplit(link).query) == {
        "client_id": ["bot-client"], "response_type": ["code"], "scope": [SCOPES],
        "state": [state_of(link)], "redirect_uri": [callback],
    }  # fmt: skip
    await story.bad(await story.authorize(link), 400, "Access was denied", "Access was denied")
    fake.authorize_answer = "approve"
    # a known state without a code
    link = await story.connect_link()
    await story.bad(with_params(callback, state=state_of(link)), 400, "no authorisation code", "no authorisation code")
    # the code expires before the bot exchanges it (Resont's clock runs 31 s ahead)
    redirect = await story.authorize(await story.connect_link())
    shift[0] += 31
    await story.bad(redirect, 400, "refused the authorisation code", "refused the authorisation code")
    # the token endpoint fails, then answers garbage
    fake.faults.add("status", status=500, match=r"^POST web/oauth/token$")
    await story.bad(await story.authorize(await story.connect_link()), 502, "did not answer properly", "did not answer")
    fake.faults.add("truncated", match=r"^POST web/oauth/token$")
    await story.bad(await story.authorize(await story.connect_link()), 502, "not a token", "not a token")
    fake.faults.add("status", status=200, body={"token": "no access token here"}, match=r"^POST web/oauth/token$")
    await story.bad(await story.authorize(await story.connect_link()), 502, "not a token", "not a token")
    # nothing was stored: still not connected, and Resont never saw an authorised call
    status = await story.status()
    assert "not connected" in status and "/connect" in status, status
    assert not [
        r for r in fake.requests if r.api == "oauth" and r.query.get("access_token", [""])[0] in fake.access_tokens
    ]


async def connect_and_use(story: Story) -> str:
    """The happy path; returns the code that was exchanged."""
    fake = story.fake
    redirect = await story.authorize(await story.connect_link())
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    page = await story.browser.get(redirect)
    assert page.status_code == 200 and "Resont is connected" in page.text and "Brand Team" in page.text
    assert page.headers["cache-control"] == "no-store"
    note = await story.note("Resont connected by")
    assert "Brand Team" in note and SCOPES in note
    # from now on every Resont call carries the access token
    status = await story.status()
    assert "Resont: reachable (Brand Team)" in status and "OAuth, access granted" in status, status
    # the auth lines (a poll that failed before the connection may still be listed above them)
    auth = status.split("Resont auth:", 1)[1].split("Webhook")[0]
    assert "refresh token expires" in status and "⚠️" not in auth
    first_access = only_access_token(fake)
    # a webhook push shows in /status
    push = {"type": "leed_created", "user_id": fake.user_id, "payload": {"id": 1}}
    assert (await story.browser.post(f"{story.root}/resont/{HOOK_SECRET}", json=push)).status_code == 200
    assert "last push leed_created" in await story.status()
    # Resont expires the access token: the next call refreshes it once and carries on
    fake.expire_access_tokens()
    assert "Resont: reachable (Brand Team)" in await story.status()
    assert fake.refresh_count == 1
    refreshed = last_access_token(fake)
    assert refreshed != first_access and refreshed in fake.access_tokens
    # a restart keeps the connection: no new authorisation, the refreshed token is used
    story.bot.stop()
    exchanges = len(fake.requests_to(r"^POST web/oauth/token$"))
    await story.started()
    status = await story.status()
    assert "Resont: reachable (Brand Team)" in status and "OAuth, access granted" in status, status
    assert "last push leed_created" in status and "1 in all" in status  # remembered across the restart
    assert last_access_token(fake) == refreshed and len(fake.requests_to(r"^POST web/oauth/token$")) == exchanges
    return code


async def bad_inputs_once_connected(story: Story, callback: str, code: str, state_path: Any) -> None:
    fake = story.fake
    before = last_access_token(fake)
    # the browser reloads an old callback page: the state is spent
    redirect = await story.authorize(await story.connect_link())
    assert (await story.browser.get(redirect)).status_code == 200
    await story.note("Resont connected by")
    await story.bad(redirect, 400, "already used", "already used")
    # an already exchanged code with a fresh state: Resont refuses it, the tokens stay as they were
    link = await story.connect_link()
    await story.bad(with_params(callback, code=code, state=state_of(link)), 400, "refused", "refused")
    current = last_access_token(fake)
    await story.status()
    assert last_access_token(fake) == current != before  # the reconnect above replaced them; the refusal did not
    # a state that went stale while the bot was down (made 2 hours ago)
    stale_link = await story.connect_link()
    story.bot.stop()
    store = Store.open(state_path)
    key = f"state:{state_of(stale_link)}"
    created = store.table("oauth").get(key)["created"]
    store.table("oauth").update(key, created=created - 7200)
    store.close()
    await story.started()
    await story.bad(await story.authorize(stale_link), 400, "has expired", "has expired")
    assert "OAuth, access granted" in await story.status()


def oauth_calls(fake: FakeResont) -> list[Any]:
    return [r for r in fake.requests if r.api == "oauth"]


def only_access_token(fake: FakeResont) -> str:
    tokens = {r.query["access_token"][0] for r in oauth_calls(fake)}
    assert len(tokens) == 1 and all("token" not in r.query for r in oauth_calls(fake))
    return tokens.pop()


def last_access_token(fake: FakeResont) -> str:
    return str(oauth_calls(fake)[-1].query["access_token"][0])

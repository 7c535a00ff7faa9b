"""Token mode and OAuth2 mode: the composition root's client and token store, refresh ahead of expiry and on 401
(once, under concurrency), the authorize/code flow, and secrets kept out of logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.app import StoredTokens, resont_client
from bot.clients.resont.auth import SCOPE, SCOPES, MemoryTokenStore, OAuthSettings, OAuthTokens
from bot.clients.resont.client import ResontClient, oauth_base_url
from bot.clients.resont.endpoints import ENDPOINTS
from bot.clients.resont.errors import ResontAuthError, ResontServerError
from bot.config import Config
from bot.store.state import Store
from tests.clients.resont.support import BASE, TOKEN, recording_retry
from tests.fakes.resont import FakeResont

ROOT = "http://resont.test"


def make_config(**overrides: object) -> Config:
    values: dict[str, object] = {
        "telegram_token": "123:abc",
        "admin_chat_id": -100,
        "admin_ids": (1,),
        "resont_base_url": BASE,
        "resont_oauth_url": ROOT,
        "timezone": "Asia/Tehran",
    }
    values.update(overrides)
    return Config(**values)  # type: ignore[arg-type]


def oauth_config(fake: FakeResont, refresh_token: str = "") -> Config:
    return make_config(
        resont_client_id=fake.client_id,
        resont_client_secret=fake.client_secret,
        resont_redirect_uri=fake.redirect_uri,
        resont_refresh_token=refresh_token,
    )


@pytest.fixture
def fake() -> FakeResont:
    return FakeResont(TOKEN)


@pytest.fixture
async def http(fake: FakeResont) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        yield client


@pytest.fixture
def store() -> Store:
    return Store.memory()


def settings(fake: FakeResont) -> OAuthSettings:
    return OAuthSettings(fake.client_id, fake.client_secret, fake.redirect_uri, ROOT)


def held(access: str = "", refresh: str = "", expires_at: float | None = None) -> MemoryTokenStore:
    """A token store holding the given tokens (a refresh token alone: connected, not yet used)."""
    return MemoryTokenStore(OAuthTokens(access, refresh, expires_at=expires_at))


def api_requests(fake: FakeResont) -> list:
    return [r for r in fake.requests if r.api != "web"]


async def test_token_mode_from_the_configuration(http: httpx.AsyncClient, fake: FakeResont, store: Store) -> None:
    client = resont_client(make_config(resont_token=TOKEN), http, store)
    fake.add_account("Shop")
    assert [a.name for a in await client.accounts.all()] == ["Shop"]
    assert client.oauth is None
    assert all(r.api == "token" and r.query["token"] == [TOKEN] for r in fake.requests)
    with pytest.raises(ResontAuthError):
        client.authorize_url("some-state")


async def test_oauth_mode_refreshes_the_configured_refresh_token(
    http: httpx.AsyncClient, fake: FakeResont, store: Store
) -> None:
    _, refresh = fake.issue_tokens()
    client = resont_client(oauth_config(fake, refresh), http, store)
    fake.add_account("Shop")
    assert [a.name for a in await client.accounts.all()] == ["Shop"]
    [token_call] = fake.requests_to(r"^POST web/oauth/token$")
    assert token_call.path == ENDPOINTS["oauth.token"].path
    assert token_call.form == {
        "grant_type": ["refresh_token"],
        "client_id": [fake.client_id],
        "client_secret": [fake.client_secret],
        "refresh_token": [refresh],
    }
    stored = StoredTokens(store).load()
    assert stored is not None and stored.access_token in fake.access_tokens and stored.refresh_token == refresh
    for request in api_requests(fake):  # OAuth requests go to /v1 with access_token, never token
        assert request.api == "oauth" and request.query["access_token"] == [stored.access_token]
        assert "token" not in request.query
    assert client.request_count == len(fake.requests) == 3  # refresh, me, account


async def test_stored_tokens_win_over_the_configured_refresh_token(
    http: httpx.AsyncClient, fake: FakeResont, store: Store
) -> None:
    access, refresh = fake.issue_tokens()
    StoredTokens(store).save(OAuthTokens(access, refresh, expires_at=None))
    client = resont_client(oauth_config(fake, "rt-from-config"), http, store)
    await client.users.me()
    assert fake.token_requests == 0
    stored = StoredTokens(store).load()
    assert stored is not None and stored.refresh_token == refresh


async def test_forgotten_tokens_stay_forgotten_though_a_refresh_token_is_configured(
    http: httpx.AsyncClient, fake: FakeResont, store: Store
) -> None:
    _, refresh = fake.issue_tokens()
    client = resont_client(oauth_config(fake, refresh), http, store)
    await client.users.me()
    assert client.oauth is not None and client.oauth.connected
    client.oauth.forget()
    restarted = resont_client(oauth_config(fake, refresh), http, store)  # same state, same setting
    assert restarted.oauth is not None and not restarted.oauth.connected
    with pytest.raises(ResontAuthError) as caught:
        await restarted.users.me()
    assert "/connect" in str(caught.value)
    assert refresh not in str(store.table("oauth").get(StoredTokens.SEED_KEY))  # a digest, never the token
    _, another = fake.issue_tokens()  # the operator configures a new one: it is used
    assert (await resont_client(oauth_config(fake, another), http, store).users.me()).name == "Brand Team"


def test_oauth_base_url() -> None:
    assert oauth_base_url("https://api.resont.com/token/v1") == "https://api.resont.com/v1"
    assert oauth_base_url("http://127.0.0.1:8080/token/v2/") == "http://127.0.0.1:8080/v2"
    assert oauth_base_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"


async def test_access_token_is_refreshed_shortly_before_it_expires(http: httpx.AsyncClient, fake: FakeResont) -> None:
    now = [1_000_000.0]
    access, refresh = fake.issue_tokens()
    tokens = held(access, refresh, expires_at=now[0] + 3600)
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens, clock=lambda: now[0])
    await client.users.me()
    assert fake.refresh_count == 0
    now[0] += 3600 - 60  # inside the refresh margin: refresh before using it
    await client.users.me()
    assert fake.refresh_count == 1
    last = api_requests(fake)[-1]
    assert last.query["access_token"] != [access] and client.oauth is not None
    assert client.oauth.tokens().expires_at == now[0] + fake.access_token_ttl


async def test_401_refreshes_once_for_concurrent_requests(http: httpx.AsyncClient, fake: FakeResont) -> None:
    access, refresh = fake.issue_tokens()
    tokens = held(access, refresh)
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens, retry=recording_retry([]))
    fake.add_account("Shop")
    await client.users.me()
    fake.expire_access_tokens()  # Resont revokes it; the client still believes it valid
    fake.latency = 0.01  # let all five requests meet the 401 before the refresh lands
    results = await asyncio.gather(*(client.accounts.all() for _ in range(5)))
    assert [[a.name for a in r] for r in results] == [["Shop"]] * 5
    assert fake.refresh_count == 1
    rejected = [r for r in api_requests(fake) if r.path == "account" and r.query["access_token"] == [access]]
    assert len(rejected) == 5  # every request met the 401 once, then used the single new token
    new_token = (tokens.load() or OAuthTokens()).access_token
    accepted = [r for r in api_requests(fake) if r.path == "account" and r.query["access_token"] == [new_token]]
    assert len(accepted) == 5


async def test_a_refused_refresh_token_is_a_clear_auth_error(http: httpx.AsyncClient, fake: FakeResont) -> None:
    tokens = held(refresh="rt-revoked")
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens, retry=recording_retry([]))
    with pytest.raises(ResontAuthError) as caught:
        await client.accounts.all()
    assert "refresh token" in str(caught.value) and "/connect" in str(caught.value)
    assert "rt-revoked" not in str(caught.value)
    assert fake.token_requests == 1 and api_requests(fake) == []


async def test_without_any_token_oauth_asks_for_authorisation(http: httpx.AsyncClient, fake: FakeResont) -> None:
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake))
    assert client.oauth is not None and not client.oauth.connected
    with pytest.raises(ResontAuthError) as caught:
        await client.users.me()
    assert "not authorised" in str(caught.value) and fake.requests == []


async def test_authorize_link_asks_for_the_bots_scopes_and_the_exchange_sends_the_redirect_uri(
    http: httpx.AsyncClient, fake: FakeResont
) -> None:
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake))
    url = client.authorize_url("state-1")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{ROOT}/web/oauth/authorize?")
    assert query == {
        "client_id": [fake.client_id],
        "response_type": ["code"],
        "scope": ["basic account post publish insights comment inbox offline_access"],
        "state": ["state-1"],
        "redirect_uri": [fake.redirect_uri],
    }
    assert SCOPE.split(" ") == list(SCOPES)
    # The user approves: the fake's authorize page redirects back with a code and the state.
    answer = await http.get(url)
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == ["state-1"]
    tokens = await client.exchange_code(back["code"][0])
    assert tokens.access_token in fake.access_tokens and tokens.refresh_token in fake.refresh_tokens
    assert tokens.scope == SCOPE and repr(tokens).count(tokens.access_token) == 0
    assert tokens.refresh_expires_at is not None and tokens.expires_at is not None
    exchange = fake.requests_to(r"^POST web/oauth/token$")[-1]
    assert exchange.form == {
        "grant_type": ["authorization_code"],
        "client_id": [fake.client_id],
        "client_secret": [fake.client_secret],
        "code": back["code"],
        "redirect_uri": [fake.redirect_uri],
    }
    assert (await client.users.me()).name == "Brand Team"
    with pytest.raises(ResontAuthError) as caught:  # a code is good for one exchange only
        await client.exchange_code(back["code"][0])
    assert "authorisation code" in str(caught.value)
    assert (client.oauth.tokens() if client.oauth else None) == tokens  # the refusal stored nothing


async def test_a_bad_code_stores_nothing(http: httpx.AsyncClient, fake: FakeResont) -> None:
    tokens = MemoryTokenStore()
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens)
    with pytest.raises(ResontAuthError) as caught:
        await client.exchange_code("not-a-code")
    assert "authorisation code" in str(caught.value) and tokens.load() is None


async def test_rotating_refresh_tokens_are_stored(http: httpx.AsyncClient, fake: FakeResont) -> None:
    fake.rotate_refresh_tokens = True
    _, refresh = fake.issue_tokens()
    tokens = held(refresh=refresh)
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens)
    await client.users.me()
    await client.refresh_tokens()
    stored = tokens.load() or OAuthTokens()
    assert stored.refresh_token != refresh and stored.refresh_token in fake.refresh_tokens
    assert refresh not in fake.refresh_tokens and fake.refresh_count == 2


async def test_a_token_endpoint_failure_is_not_repeated(http: httpx.AsyncClient, fake: FakeResont) -> None:
    _, refresh = fake.issue_tokens()
    tokens = held(refresh=refresh)
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens, retry=recording_retry([]))
    fake.faults.add("status", status=500, times=5, match=r"^POST web/oauth/token$")
    with pytest.raises(ResontServerError):
        await client.users.me()
    assert len(fake.requests_to(r"web/oauth/token")) == 1  # a refresh may rotate tokens: never blindly


async def test_oauth_secrets_never_reach_the_logs(
    http: httpx.AsyncClient, fake: FakeResont, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, refresh = fake.issue_tokens()
    tokens = held(refresh=refresh)
    client = ResontClient(http, f"{ROOT}/v1", oauth=settings(fake), tokens=tokens, retry=recording_retry([]))
    await client.users.me()
    fake.expire_access_tokens()
    await client.users.me()
    secrets = [refresh, fake.client_secret, *fake.access_tokens]
    assert not [s for s in secrets if s in caplog.text]
    assert "access_token=***" in caplog.text
    assert not [s for s in secrets if s in repr(client) or s in repr(client.oauth)]

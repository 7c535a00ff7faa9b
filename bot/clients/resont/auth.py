"""How the Resont client proves who it is: a fixed token, or OAuth2 tokens kept in the store.

Token mode sends ``?token=``. OAuth2 mode sends ``?access_token=`` and keeps the access and
refresh tokens in the store's ``oauth`` table, refreshing the access token shortly before it
expires and again when Resont answers 401. One refresh runs at a time: concurrent requests that
all hit an expired token wait for the single refresh and then use its result.
"""

from __future__ import annotations

import asyncio
import secrets as secrets_module
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.clients.resont.dates import DateParser
from bot.clients.resont.errors import ResontAuthError, ResontMalformed, ResontValidationError
from bot.clients.resont.models import to_float, to_str
from bot.store.state import Store

#: Key of the token document in the store's ``oauth`` table.
TOKENS_KEY = "resont"
#: Prefix of pending authorisation states in the same table.
STATE_PREFIX = "state:"
#: How long an authorize link stays usable (the user has to log in on Resont first).
STATE_TTL = 3600.0

TokenPoster = Callable[[Mapping[str, str]], Awaitable[Any]]


class TokenAuth:
    """Token mode: the same token on every request; a 401 cannot be repaired."""

    param = "token"

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    async def recover(self, rejected: str) -> bool:
        """Token mode cannot get another token: the 401 stands."""
        return False

    def secrets(self) -> list[str]:
        return [self._token]

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


@dataclass(frozen=True)
class OAuthSettings:
    """The OAuth2 client registration (from the configuration)."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str = ""
    oauth_url: str = "https://api.resont.com"
    initial_refresh_token: str = field(default="", repr=False)

    @property
    def token_url(self) -> str:
        return f"{self.oauth_url.rstrip('/')}/web/oauth/token"

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.oauth_url.rstrip('/')}/web/oauth/authorize"


@dataclass(frozen=True)
class OAuthTokens:
    """The tokens as stored; times are unix seconds (None: unknown)."""

    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    scope: str = ""
    token_type: str = ""

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> OAuthTokens:
        doc = doc or {}
        return cls(
            access_token=to_str(doc.get("access_token")) or "",
            refresh_token=to_str(doc.get("refresh_token")) or "",
            expires_at=to_float(doc.get("expires_at")),
            refresh_expires_at=to_float(doc.get("refresh_expires_at")),
            scope=to_str(doc.get("scope")) or "",
            token_type=to_str(doc.get("token_type")) or "",
        )


@dataclass(frozen=True)
class AuthorizeRequest:
    """Where to send the user, and the anti-CSRF ``state`` that must come back with the code."""

    url: str = field(repr=False)
    state: str


class OAuth2Auth:
    """OAuth2 mode: access token in the store, refreshed ahead of expiry and on 401."""

    param = "access_token"

    def __init__(
        self,
        settings: OAuthSettings,
        store: Store,
        post_token: TokenPoster,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 300.0,
    ) -> None:
        self.settings = settings
        self._table = store.table("oauth")
        self._post_token = post_token
        self._clock = clock
        self._margin = refresh_margin
        self._lock = asyncio.Lock()
        self.refresh_count = 0
        self._seed()

    def __repr__(self) -> str:
        return f"OAuth2Auth(client_id={self.settings.client_id!r})"

    def _seed(self) -> None:
        """Start from the configured refresh token when the store has none yet."""
        if self.tokens().refresh_token or not self.settings.initial_refresh_token:
            return
        self._save(OAuthTokens(refresh_token=self.settings.initial_refresh_token))

    def tokens(self) -> OAuthTokens:
        return OAuthTokens.from_doc(self._table.get(TOKENS_KEY))

    def _save(self, tokens: OAuthTokens) -> None:
        self._table.put(TOKENS_KEY, tokens.to_doc())

    def secrets(self) -> list[str]:
        tokens = self.tokens()
        return [s for s in (tokens.access_token, tokens.refresh_token, self.settings.client_secret) if s]

    def _fresh(self, tokens: OAuthTokens) -> bool:
        if not tokens.access_token:
            return False
        return tokens.expires_at is None or tokens.expires_at - self._margin > self._clock()

    async def token(self) -> str:
        """A usable access token, refreshing first when it is missing or about to expire."""
        tokens = self.tokens()
        if self._fresh(tokens):
            return tokens.access_token
        async with self._lock:
            tokens = self.tokens()  # another task may have refreshed while we waited
            if self._fresh(tokens):
                return tokens.access_token
            return (await self._refresh(tokens)).access_token

    async def recover(self, rejected: str) -> bool:
        """After a 401 with ``rejected``: refresh unless someone already did. True when a
        different token is now available and the request is worth repeating once."""
        async with self._lock:
            tokens = self.tokens()
            if tokens.access_token and tokens.access_token != rejected:
                return True
            await self._refresh(tokens)
            return True

    async def refresh(self) -> OAuthTokens:
        """Refresh now (e.g. from an admin command)."""
        async with self._lock:
            return await self._refresh(self.tokens())

    async def _refresh(self, tokens: OAuthTokens) -> OAuthTokens:
        if not tokens.refresh_token:
            raise ResontAuthError(
                "Resont OAuth is not authorised: no refresh token is stored; authorise the bot again",
                status=401,
            )
        form = {
            "grant_type": "refresh_token",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "refresh_token": tokens.refresh_token,
        }
        answer = await self._token_call(form, "Resont refused the refresh token; authorise the bot again")
        self.refresh_count += 1
        fresh = self._from_answer(answer, keep=tokens)
        self._save(fresh)
        return fresh

    async def _token_call(self, form: Mapping[str, str], refused: str) -> Mapping[str, Any]:
        try:
            answer = await self._post_token(form)
        except (ResontValidationError, ResontAuthError) as exc:
            # invalid_grant / invalid_client: only a new authorisation helps.
            raise ResontAuthError(f"{refused} ({exc.message})", trace_id=exc.trace_id, status=exc.status) from None
        if not isinstance(answer, Mapping) or not to_str(answer.get("access_token")):
            raise ResontMalformed("Resont's token endpoint answered without an access token")
        return answer

    def _from_answer(self, answer: Mapping[str, Any], keep: OAuthTokens) -> OAuthTokens:
        now = self._clock()
        expires_in = to_float(answer.get("expires_in"))
        return OAuthTokens(
            access_token=to_str(answer.get("access_token")) or "",
            refresh_token=to_str(answer.get("refresh_token")) or keep.refresh_token,
            expires_at=now + expires_in if expires_in is not None else None,
            refresh_expires_at=_refresh_expiry(answer.get("refresh_token_expires"), now) or keep.refresh_expires_at,
            scope=to_str(answer.get("scope")) or keep.scope,
            token_type=to_str(answer.get("token_type")) or keep.token_type,
        )

    def authorize_url(
        self, scope: str = "offline_access", *, state: str | None = None, response_type: str = "code"
    ) -> AuthorizeRequest:
        """The authorize link for an admin to open, with a fresh ``state`` remembered in the
        store (checked by :meth:`exchange_code`)."""
        state = state or secrets_module.token_urlsafe(24)
        self._prune_states()
        self._table.put(f"{STATE_PREFIX}{state}", {"created": self._clock()})
        query = {
            "client_id": self.settings.client_id,
            "response_type": response_type,
            "scope": scope,
            "state": state,
        }
        if self.settings.redirect_uri:
            query["redirect_uri"] = self.settings.redirect_uri
        return AuthorizeRequest(f"{self.settings.authorize_endpoint}?{urlencode(query)}", state)

    def _prune_states(self) -> None:
        horizon = self._clock() - STATE_TTL
        for key, doc in list(self._table.items()):
            if key.startswith(STATE_PREFIX) and (to_float(doc.get("created")) or 0) < horizon:
                self._table.delete(key)

    async def exchange_code(self, code: str, state: str | None = None) -> OAuthTokens:
        """Trade the authorisation code from the redirect for tokens, and store them.

        When ``state`` is given it must be one issued by :meth:`authorize_url` (and not stale).
        """
        if state is not None:
            self._claim_state(state)
        form = {
            "grant_type": "authorization_code",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "code": code,
            "redirect_uri": self.settings.redirect_uri,
        }
        async with self._lock:
            answer = await self._token_call(form, "Resont refused the authorisation code")
            tokens = self._from_answer(answer, keep=OAuthTokens())
            self._save(tokens)
        return tokens

    def _claim_state(self, state: str) -> None:
        doc = self._table.get(f"{STATE_PREFIX}{state}")
        if doc is None or (to_float(doc.get("created")) or 0) < self._clock() - STATE_TTL:
            raise ResontAuthError("the OAuth state is unknown or expired: start the authorisation again")
        self._table.delete(f"{STATE_PREFIX}{state}")


def _refresh_expiry(value: Any, now: float) -> float | None:
    """``refresh_token_expires`` as unix time: seconds from now, a timestamp, or a date."""
    number = to_float(value)
    if number is not None:
        return number if number > 1e9 else now + number
    if isinstance(value, str) and value.strip():
        parsed = DateParser().parse(value)
        return parsed.timestamp() if parsed else None
    return None

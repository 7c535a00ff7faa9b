"""How the Resont client proves who it is: a fixed token, or OAuth2 tokens.

Token mode sends ``?token=``. OAuth2 mode sends ``?access_token=`` and keeps the access and
refresh tokens in a :class:`TokenStore` (the composition root persists them in the bot's store;
tests use :class:`MemoryTokenStore`), refreshing the access token shortly before it expires and
again when Resont answers 401. One refresh runs at a time: concurrent requests that all hit an
expired token wait for the single refresh and then use its result.

The authorize link asks for :data:`SCOPES` (what the bot uses); the anti-CSRF ``state`` is the
caller's to make and check (the bot keeps it with who asked): this module only builds the link and
trades a code for tokens, sending the ``redirect_uri`` the document requires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from bot.clients.resont.dates import DateParser
from bot.clients.resont.errors import ResontAuthError, ResontMalformed, ResontValidationError
from bot.clients.resont.values import to_float, to_str

#: The scopes the bot uses (the document's list, minus ``mobile`` and ``implicit_approve``):
#: reading the user and accounts, posts and publishing, insights, comments, the inbox, and
#: ``offline_access`` for a refresh token (webhook pushes need it).
SCOPES = ("basic", "account", "post", "publish", "insights", "comment", "inbox", "offline_access")
#: The ``scope`` parameter: the document separates scopes with a space.
SCOPE = " ".join(SCOPES)
#: The documented life of a refresh token ("currently 1 year"), used when Resont's answer does
#: not say when the one it hands out expires.
REFRESH_TOKEN_LIFE = 365 * 86400.0

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


class TokenStore(Protocol):
    """Where OAuth tokens persist between runs (implemented over the bot's store by the
    composition root, :class:`MemoryTokenStore` in tests)."""

    def load(self) -> OAuthTokens | None:
        """The stored tokens, or None when the bot is not connected."""

    def save(self, tokens: OAuthTokens) -> None:
        """Keep ``tokens``; returns only once they are durable."""

    def forget(self) -> None:
        """Drop the tokens (disconnect)."""


class MemoryTokenStore:
    """A :class:`TokenStore` in memory, optionally starting from ``initial`` tokens."""

    def __init__(self, initial: OAuthTokens | None = None) -> None:
        self._tokens = initial

    def load(self) -> OAuthTokens | None:
        return self._tokens

    def save(self, tokens: OAuthTokens) -> None:
        self._tokens = tokens

    def forget(self) -> None:
        self._tokens = None


class OAuth2Auth:
    """OAuth2 mode: access token from the token store, refreshed ahead of expiry and on 401."""

    param = "access_token"

    def __init__(
        self,
        settings: OAuthSettings,
        store: TokenStore,
        post_token: TokenPoster,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 300.0,
    ) -> None:
        self.settings = settings
        self._store = store
        self._post_token = post_token
        self._clock = clock
        self._margin = refresh_margin
        self._lock = asyncio.Lock()
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"OAuth2Auth(client_id={self.settings.client_id!r})"

    def tokens(self) -> OAuthTokens:
        """The current tokens (empty ones when not connected)."""
        return self._store.load() or OAuthTokens()

    @property
    def connected(self) -> bool:
        """True when a refresh or access token is stored (calls can be authorised)."""
        tokens = self.tokens()
        return bool(tokens.refresh_token or tokens.access_token)

    def forget(self) -> None:
        """Drop the stored tokens: calls fail as "not authorised" until the next connection."""
        self._store.forget()

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
                "Resont OAuth is not authorised: no refresh token is stored; connect the bot with /connect",
                status=401,
            )
        form = {
            "grant_type": "refresh_token",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "refresh_token": tokens.refresh_token,
        }
        answer = await self._token_call(form, "Resont refused the refresh token; connect the bot again with /connect")
        self.refresh_count += 1
        fresh = self._from_answer(answer, keep=tokens)
        self._store.save(fresh)
        return fresh

    async def _token_call(self, form: Mapping[str, str], refused: str) -> Mapping[str, Any]:
        try:
            answer = await self._post_token(form)
        except (ResontValidationError, ResontAuthError) as exc:
            # invalid_grant / invalid_client: only a new authorisation helps.
            raise ResontAuthError(
                f"{refused} ({exc.message})", trace_id=exc.trace_id, status=exc.status, details={"reason": exc.message}
            ) from None
        if not isinstance(answer, Mapping) or not to_str(answer.get("access_token")):
            raise ResontMalformed("Resont's token endpoint answered without an access token")
        return answer

    def _from_answer(self, answer: Mapping[str, Any], keep: OAuthTokens) -> OAuthTokens:
        now = self._clock()
        expires_in = to_float(answer.get("expires_in"))
        new_refresh = to_str(answer.get("refresh_token"))
        refresh_expiry = _refresh_expiry(answer.get("refresh_token_expires"), now)
        if new_refresh and refresh_expiry is None:
            refresh_expiry = now + REFRESH_TOKEN_LIFE  # the documented life of a new refresh token
        return OAuthTokens(
            access_token=to_str(answer.get("access_token")) or "",
            refresh_token=new_refresh or keep.refresh_token,
            expires_at=now + expires_in if expires_in is not None else None,
            refresh_expires_at=refresh_expiry or keep.refresh_expires_at,
            scope=to_str(answer.get("scope")) or keep.scope,
            token_type=to_str(answer.get("token_type")) or keep.token_type,
        )

    def authorize_url(self, state: str, scope: str = SCOPE, *, response_type: str = "code") -> str:
        """The authorize link for an admin to open. ``state`` is the caller's single-use
        anti-CSRF value; ``redirect_uri`` is sent whenever one is configured."""
        query = {
            "client_id": self.settings.client_id,
            "response_type": response_type,
            "scope": scope,
            "state": state,
        }
        if self.settings.redirect_uri:
            query["redirect_uri"] = self.settings.redirect_uri
        return f"{self.settings.authorize_endpoint}?{urlencode(query)}"

    async def exchange_code(self, code: str) -> OAuthTokens:
        """Trade the authorisation code from the redirect for tokens, and store them (only when
        Resont answered with an access token). The caller has checked the ``state``."""
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
            self._store.save(tokens)
        return tokens


def _refresh_expiry(value: Any, now: float) -> float | None:
    """``refresh_token_expires`` as unix time: seconds from now, a timestamp, or a date."""
    number = to_float(value)
    if number is not None:
        return number if number > 1e9 else now + number
    if isinstance(value, str) and value.strip():
        parsed = DateParser().parse(value)
        return parsed.timestamp() if parsed else None
    return None

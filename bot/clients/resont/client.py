"""Async client for the Resont REST API: every documented service, typed, paged, retried.

:class:`ResontClient` composes one object per service group (``accounts``, ``comments``,
``conversations``, ``files``, ``insights``, ``posts``, ``search``, ``tickets``, ``users``) over a
shared core (:mod:`.api`: named calls, dates, decoding, paging) and a sender (:mod:`.sender`:
credentials, retries, errors). Paths live in :mod:`.endpoints`, request forms in :mod:`.forms`,
list handling in :mod:`.paging`, results in :mod:`.models`, failures in :mod:`.errors`, token and
OAuth2 authentication in :mod:`.auth`. The client runs over an injected
:class:`httpx.AsyncClient` and never closes it; the composition root (``bot/app.py``) builds it
from the configuration. ``docs/resont-client.md`` lists every service.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, tzinfo
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from bot.clients.resont.accounts import Accounts
from bot.clients.resont.api import Api, Parse
from bot.clients.resont.auth import (
    SCOPE,
    MemoryTokenStore,
    OAuth2Auth,
    OAuthSettings,
    OAuthTokens,
    TokenAuth,
    TokenPoster,
    TokenStore,
)
from bot.clients.resont.comments import Comments
from bot.clients.resont.conversations import Conversations
from bot.clients.resont.dates import DateParser, to_timezone
from bot.clients.resont.errors import ResontAuthError
from bot.clients.resont.files import Files
from bot.clients.resont.inbox_models import WebhookEvent, parse_webhook
from bot.clients.resont.insights import Insights
from bot.clients.resont.paging import Page
from bot.clients.resont.posts import Posts
from bot.clients.resont.search import Search
from bot.clients.resont.sender import Auth, RetryPolicy, Sender
from bot.clients.resont.tags import Tags
from bot.clients.resont.tickets import Tickets
from bot.clients.resont.users import Users
from bot.text.redact import RedactingFilter

T = TypeVar("T")


class ResontClient:
    """The Resont API over ``http``: token mode (``token``) or OAuth2 (``oauth`` settings, tokens
    kept in ``tokens``). Each service group is an attribute (``client.posts.create(…)``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        token: str | None = None,
        oauth: OAuthSettings | None = None,
        tokens: TokenStore | None = None,
        default_tz: tzinfo | str = UTC,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if bool(token) == bool(oauth):
            raise ValueError("give exactly one of a token or OAuth settings")

        def make_auth(post_token: TokenPoster) -> Auth:
            if token:
                return TokenAuth(token)
            assert oauth is not None
            return OAuth2Auth(oauth, tokens or MemoryTokenStore(), post_token, clock=clock)

        self.sender = Sender(http, base_url, make_auth, retry=retry, timeout=timeout, clock=clock)
        self._api = api = Api(self.sender, to_timezone(default_tz))
        self.accounts = Accounts(api)
        self.comments = Comments(api)
        self.conversations = Conversations(api)
        self.comment_tags = Tags(api, "comment_tag", "comment tags")
        self.conversation_tags = Tags(api, "conversation_tag", "conversation tags")
        self.files = Files(api)
        self.insights = Insights(api)
        self.posts = Posts(api)
        self.search = Search(api)
        self.tickets = Tickets(api)
        self.users = Users(api)
        install_log_redaction()

    def __repr__(self) -> str:
        return f"ResontClient(base={self.sender.base!r}, auth={self.sender.auth!r})"

    def secrets(self) -> list[str]:
        """The credentials in use now (token, or OAuth tokens and client secret), for redaction."""
        return self.sender.auth.secrets()

    @property
    def request_count(self) -> int:
        """Total HTTP requests sent (retries and token refreshes included)."""
        return self.sender.request_count

    @property
    def oauth(self) -> OAuth2Auth | None:
        """The OAuth2 state (None in token mode)."""
        auth = self.sender.auth
        return auth if isinstance(auth, OAuth2Auth) else None

    async def page(
        self, name: str, parse: Parse[T], params: Mapping[str, Any] | None = None, **path_args: Any
    ) -> Page[T]:
        """One page of the list service ``name`` (for callers that keep cursors themselves)."""
        return await self._api.page(name, parse, params, **path_args)

    def authorize_url(self, state: str, scope: str = SCOPE) -> str:
        """The link an admin opens to authorise the bot (OAuth mode only)."""
        return self._require_oauth().authorize_url(state, scope)

    async def exchange_code(self, code: str) -> OAuthTokens:
        """Store the tokens for the authorisation code the redirect brought back (the caller
        has checked its ``state``)."""
        tokens = await self._require_oauth().exchange_code(code)
        self._api.forget_user()  # the account (and its date settings) may differ
        return tokens

    async def refresh_tokens(self) -> OAuthTokens:
        """A new access token from the refresh token (OAuth mode only)."""
        return await self._require_oauth().refresh()

    def _require_oauth(self) -> OAuth2Auth:
        auth = self.oauth
        if auth is None:
            raise ResontAuthError("Resont is configured with a token, not OAuth2")
        return auth

    def parse_webhook(self, payload: Mapping[str, Any] | bytes | str) -> WebhookEvent | None:
        """:func:`parse_webhook` with this user's date settings (when already known)."""
        return parse_webhook(payload, self._api.date_parser or DateParser(tz=self._api.default_tz))


def install_log_redaction() -> None:
    """httpx logs each request URL at INFO and the token is in the query: mask it at the source,
    whatever handlers are attached (idempotent)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


def oauth_base_url(base_url: str) -> str:
    """The OAuth API base for a configured base URL: ``…/token/v1`` becomes ``…/v1``."""
    parts = urlsplit(base_url.rstrip("/"))
    path = re.sub(r"/token(/v\d+)$", r"\1", parts.path)
    return parts._replace(path=path).geturl()

"""One Resont request, sent: credentials added, retried when that is safe, the answer decoded.

:class:`Sender` runs over an injected :class:`httpx.AsyncClient` (never closed here). A request
is a :class:`Call`; the answer is the decoded JSON body or a :class:`ResontError`. Retries
(tenacity) follow :class:`RetryPolicy`: 429 on any request (waiting Retry-After), 5xx and
transport failures on idempotent requests; a POST is repeated only when Resont surely did not
act on it. In OAuth mode a 401 is answered by one refresh and one more attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot.clients.resont.auth import OAuth2Auth, TokenAuth, TokenPoster
from bot.clients.resont.endpoints import ENDPOINTS, IDEMPOTENT
from bot.clients.resont.errors import (
    ResontAuthError,
    ResontError,
    ResontMalformed,
    ResontRateLimited,
    ResontServerError,
    ResontTransportError,
    error_for_status,
    error_from_body,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How the client authenticates: a fixed token, or OAuth2 tokens.
Auth = TokenAuth | OAuth2Auth


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for 429 (honouring Retry-After), 5xx and timeouts.

    ``sleep`` is injectable so tests wait for nothing; a Retry-After above ``max_retry_after``
    is not waited for: the 429 is raised for the caller to reschedule.
    """

    attempts: int = 4
    initial: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass(frozen=True)
class Call:
    """One request, ready to be sent (and re-sent by the retry policy)."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    data: Mapping[str, list[str]] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    url: str | None = None  # absolute URL outside the API base (OAuth token endpoint)
    auth: bool = True


class TokenFailure(Exception):
    """Carries an auth failure through the retry loop, which must not repeat it."""

    def __init__(self, error: ResontError) -> None:
        super().__init__(str(error))
        self.error = error


class Sender:
    """Sends :class:`Call` s to the API at ``base_url``; ``make_auth`` builds the credentials
    (given the token endpoint's poster, for OAuth2)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        make_auth: Callable[[TokenPoster], Auth],
        *,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout: float | httpx.Timeout | Any = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
        self.clock = clock
        self.backoff = wait_exponential(multiplier=self.retry.initial, max=self.retry.max_wait) + wait_random(
            0, self.retry.jitter
        )
        self.auth = make_auth(self.post_token)
        #: Total HTTP requests sent (retries and token refreshes included).
        self.request_count = 0

    async def send(self, call: Call) -> Any:
        """The decoded answer to ``call``, retried as the policy allows."""
        policy = self.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, policy.attempts)),
            wait=self.wait,
            retry=retry_if_exception(lambda exc: self.retryable(exc, call.method)),
            sleep=policy.sleep,
            before_sleep=lambda state: log_retry(call, state),
            reraise=True,
        )
        try:
            return await retrying(self.authorised, call)
        except TokenFailure as failure:
            raise failure.error from None

    def retryable(self, exc: BaseException, method: str) -> bool:
        """Whether repeating is safe and useful. A POST is repeated only when Resont surely did
        not act on it: a 429 refusal, or a connection that was never established."""
        if isinstance(exc, ResontRateLimited):
            return exc.retry_after is None or exc.retry_after <= self.retry.max_retry_after
        if isinstance(exc, ResontTransportError):
            return not exc.sent or method in IDEMPOTENT
        if isinstance(exc, ResontServerError):
            return method in IDEMPOTENT
        return False

    def wait(self, state: RetryCallState) -> float:
        """Retry-After when Resont gave one, else exponential backoff with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ResontRateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return float(self.backoff(state))

    async def authorised(self, call: Call) -> Any:
        """One attempt; after a 401 in OAuth mode, one more with a refreshed token."""
        if not call.auth:
            return await self.exchange(call, None)
        token = await token_step(self.auth.token())
        try:
            return await self.exchange(call, token)
        except ResontAuthError:
            if not await token_step(self.auth.recover(token)):
                raise
            return await self.exchange(call, await token_step(self.auth.token()))

    async def exchange(self, call: Call, token: str | None) -> Any:
        """One HTTP exchange (``token`` added to the query)."""
        params: list[tuple[str, str | int | float | bool | None]] = list(call.params)
        if token is not None:
            params.append((self.auth.param, token))
        url = call.url or f"{self.base}/{call.path}"
        self.request_count += 1
        try:
            response = await self.http.request(
                call.method, url, params=params, data=call.data, files=call.files, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, call) from None
        log.debug("Resont %s %s -> %s", call.method, call.path, response.status_code)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        """The JSON body, or the matching :class:`ResontError` (an ``error`` key is an error
        whatever the status)."""
        status = response.status_code
        body = json_body(response.content)
        if isinstance(body, Mapping) and body.get("error"):
            raise error_from_body(
                status, body["error"], headers=response.headers, secrets=self.auth.secrets(), now=self.clock()
            )
        if status >= 400:
            raise error_for_status(status, response.headers, now=self.clock())
        if body is NOT_JSON:
            raise ResontMalformed(f"Resont answered HTTP {status} with a body that is not complete JSON", status=status)
        return body

    async def post_token(self, form: Mapping[str, str]) -> Any:
        """POST to the OAuth token endpoint (outside the API base, without a token)."""
        if not isinstance(self.auth, OAuth2Auth):
            raise ResontAuthError("Resont is configured with a token, not OAuth2")
        endpoint = ENDPOINTS["oauth.token"]
        call = Call(
            endpoint.method,
            endpoint.path,
            data=grouped_pairs(form.items()),
            url=self.auth.settings.token_url,
            auth=False,
        )
        return await self.send(call)


async def token_step(pending: Awaitable[T]) -> T:
    """Await an auth step; its failure is final for this request (the token endpoint has its own
    retry rules, and repeating a refused refresh cannot help)."""
    try:
        return await pending
    except ResontError as exc:
        raise TokenFailure(exc) from None


def grouped_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Pairs as httpx's form ``data`` (repeated keys become lists, order kept)."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


#: What :func:`json_body` answers for a body that is not complete JSON.
NOT_JSON = object()


def json_body(content: bytes) -> Any:
    """The decoded JSON (None for an empty body, :data:`NOT_JSON` for anything else)."""
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def transport_error(exc: httpx.HTTPError, call: Call) -> ResontTransportError:
    """A transport failure without the URL (it carries the token)."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(exc, httpx.TimeoutException):
        reason = "did not answer in time"
    elif never_sent:
        reason = "could not be reached"
    else:
        reason = f"broke the connection ({type(exc).__name__})"
    return ResontTransportError(f"Resont {reason} ({call.method} {call.path})", sent=not never_sent)


def log_retry(call: Call, state: RetryCallState) -> None:
    """One INFO line per retry (method and path only: the query holds the token)."""
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("Resont %s %s failed (%s); retry %d in %.1fs", call.method, call.path, exc, state.attempt_number, wait)

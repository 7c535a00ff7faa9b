"""One request to the MioGram web service: the form body, the POST, the parsed answer, and the
repeat policy of each kind of Func.

Every call is one form-urlencoded POST to the configured URL with the seven fields ``Secret``,
``Func``, ``Misc``, ``Message``, ``Phone``, ``Data`` and ``Robot`` (all of them, empty when
unused). Reads are repeated on 999 and transport errors; sends and other writes never are: a
send whose answer was lost raises :class:`MioGramOutcomeUnknown` carrying its numbers. The
secret never reaches a log line, a ``repr`` or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bot.clients.miogram.errors import (
    MioGramMalformed,
    MioGramNoResponse,
    MioGramOutcomeUnknown,
    MioGramServiceError,
    MioGramTransportError,
)
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import FUNCTIONS, FuncSpec, Secret
from bot.clients.miogram.replies import Reply, parse_reply

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]
#: awaited once a send's request is built and before any of it goes out: the caller's last
#: chance to hold it (a mass send's in-flight mark reaching the disk meanwhile); if it raises,
#: nothing is sent and the exception is the caller's own
BeforeSend = Callable[[], Awaitable[None]]
_HEADERS: Mapping[str, str] = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Charset": "UTF-8"}


@dataclass(frozen=True)
class RetryPolicy:
    """How reads are retried on 999 and transport errors (attempts include the first)."""

    attempts: int = 3
    initial: float = 0.5
    maximum: float = 8.0
    jitter: float = 0.5


@dataclass(frozen=True)
class Timeouts:
    """Per-request timeouts: the gateway sends about one number a second, so a Mass needs time."""

    connect: float = 10.0
    read: float = 30.0
    send: float = 90.0
    per_number: float = 1.5
    upload: float = 300.0

    def for_request(self, kind: str, numbers: int, has_media: bool) -> httpx.Timeout:
        """The timeout of one request of ``kind`` (send/write/read) to ``numbers`` numbers."""
        read = self.send + self.per_number * numbers if kind == "send" else self.read
        write = self.upload if has_media else self.read
        return httpx.Timeout(connect=self.connect, read=read, write=write, pool=self.connect)


class Transport:
    """Requests over an injected :class:`httpx.AsyncClient`. ``request_count`` counts every HTTP
    request made (retries included); ``robot`` is the sending agent of every request that names
    none (a ``Robot`` field, as a mass send's lanes give, goes first)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        secret: str,
        robot: str = "",
        sleep: Sleep = asyncio.sleep,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self._http = http
        self.url = url
        self.secret = Secret(secret)
        self.robot = robot
        self.sleep = sleep  # between read retries; tests and drills shorten it
        self._retry = retry or RetryPolicy()
        self._timeouts = timeouts or Timeouts()
        self.request_count = 0

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r}, robot={self.robot!r}, secret=***)"

    def redact(self, text: str) -> str:
        """``text`` with the secret replaced by ``***``."""
        secret = self.secret.reveal()
        return text.replace(secret, "***") if secret else text

    async def read(self, func: str, **fields: str) -> Reply:
        """A read: retried with backoff on 999 and transport errors (a repeat changes nothing)."""
        spec, policy = FUNCTIONS[func], self._retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential_jitter(multiplier=policy.initial, max=policy.maximum, jitter=policy.jitter),
            retry=retry_if_exception(_retryable),
            sleep=self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post(spec, fields)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def write(self, func: str, **fields: str) -> Reply:
        """A state change that is not a send: never repeated (a repeat may apply it twice)."""
        return await self._post(FUNCTIONS[func], fields)

    async def write_file(self, func: str, media: Media, **fields: str) -> Reply:
        """A state change carrying a file (a profile photo): never repeated either."""
        return await self._post(FUNCTIONS[func], fields, media)

    async def send(
        self,
        func: str,
        numbers: Sequence[str],
        media: Media | None = None,
        fields: Mapping[str, str] | None = None,
        before_send: BeforeSend | None = None,
    ) -> Reply:
        """A send: never repeated; a lost or garbled answer becomes :class:`MioGramOutcomeUnknown`."""
        spec = FUNCTIONS[func]
        try:
            return await self._post(
                spec, {**(fields or {}), "Phone": ",".join(numbers)}, media, len(numbers), before_send
            )
        except (MioGramNoResponse, MioGramTransportError, MioGramMalformed) as exc:
            log.warning("MioGram %s to %d numbers: outcome unknown (%s)", func, len(numbers), exc)
            raise MioGramOutcomeUnknown(cause=exc, func=func, numbers=numbers) from exc
        except MioGramServiceError as exc:
            exc.numbers = tuple(numbers)
            raise

    async def _post(
        self,
        spec: FuncSpec,
        fields: Mapping[str, str],
        media: Media | None = None,
        numbers: int = 0,
        before_send: BeforeSend | None = None,
    ) -> Reply:
        """One request and its parsed answer (no retry, no interpretation of sends)."""
        content, headers = await self._body(spec.name, fields, media)
        timeout = self._timeouts.for_request(spec.kind, numbers, media is not None)
        request = self._http.build_request("POST", self.url, content=content, headers=headers, timeout=timeout)
        if before_send is not None:
            await before_send()
        self.request_count += 1
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException as exc:
            raise MioGramTransportError("timed out", timeout=True, func=spec.name) from exc
        except httpx.HTTPError as exc:
            raise MioGramTransportError(type(exc).__name__, func=spec.name) from exc
        if response.status_code != 200:
            raise MioGramTransportError(f"HTTP {response.status_code}", status=response.status_code, func=spec.name)
        reply = parse_reply(response.content, spec.name, redact=self.redact)
        log.debug("MioGram %s answered %s", spec.name, reply.status or "ok")
        return reply

    async def _body(
        self, func: str, fields: Mapping[str, str], media: Media | None
    ) -> tuple[bytes | AsyncIterator[bytes], dict[str, str]]:
        """The request body (bytes, or a stream when a file is attached) and its headers."""
        pairs = [("Secret", self.secret.reveal()), ("Func", func), ("Robot", fields.get("Robot") or self.robot)]
        pairs += [(name, fields.get(name, "")) for name in ("Misc", "Phone", "Message")]
        headers = dict(_HEADERS)
        if media is None:
            return urlencode([*pairs, ("Data", "")]).encode("ascii"), headers
        prefix = (urlencode(pairs) + "&Data=").encode("ascii")
        headers["Content-Length"] = str(len(prefix) + await media.form_length())
        return _stream(prefix, media), headers


def _stream(prefix: bytes, media: Media) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        yield prefix
        async for chunk in media.form_chunks():
            yield chunk

    return body()


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, MioGramTransportError):
        return exc.retryable
    return isinstance(exc, MioGramNoResponse)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.info("MioGram read failed (%s), attempt %d; retrying", exc, state.attempt_number)


def misc_part(value: str, *, empty: bool = False) -> str:
    """One comma-separated piece of ``Misc``: a comma inside would shift every later piece."""
    text = (value or "").strip()
    if "," in text:
        raise ValueError(f"{value!r} cannot contain a comma")
    if not text and not empty:
        raise ValueError("a name is needed")
    return text

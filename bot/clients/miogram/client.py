"""Async client of the MioGram web service (v1.2): one method per Func, typed results and errors.

Every call is one form-urlencoded POST to the configured URL with the seven fields ``Secret``,
``Func``, ``Misc``, ``Message``, ``Phone``, ``Data`` and ``Robot``. The service always answers
HTTP 200 and reports errors three ways (a ``Code`` field, ``"Error 302 : …"`` inside ``Message``,
or a plain-text body); :func:`parse_reply` turns all of them into the exception tree of
:mod:`bot.clients.miogram.models`.

Safety rules built in:
- phone numbers go through :mod:`bot.clients.miogram.phones` first; invalid ones are never sent;
- message length and file size are checked against ``APIGetLimits`` (cached) before a send;
- reads are retried on 999 and transport errors; sends and other writes never are: a send whose
  answer was lost raises :class:`MioGramOutcomeUnknown` carrying its numbers;
- the secret never reaches a log line, a ``repr`` or an exception message.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bot.clients.miogram import phones
from bot.clients.miogram.models import (  # re-exported: callers import everything from bot.clients.miogram.client
    CODES_BY_TEXT,
    ERRORS_BY_CODE,
    FUNCTIONS,
    MAX_MASS,
    MIB,
    BatchResult,
    Credits,
    FuncSpec,
    Limits,
    MassResult,
    Media,
    MediaKind,
    MioGramAccessError,
    MioGramAccountNotActivated,
    MioGramBadFunc,
    MioGramBadRequest,
    MioGramCreditError,
    MioGramEmptySecret,
    MioGramError,
    MioGramFileTooBig,
    MioGramGatewayError,
    MioGramGatewayIP,
    MioGramGatewayToken,
    MioGramInvalidFile,
    MioGramInvalidIP,
    MioGramInvalidSecret,
    MioGramIPSet,
    MioGramLimitError,
    MioGramLowCredit,
    MioGramMalformed,
    MioGramMessageTooLong,
    MioGramNoCredit,
    MioGramNoData,
    MioGramNoInput,
    MioGramNoResponse,
    MioGramNoRobot,
    MioGramNoUserId,
    MioGramNumberWrong,
    MioGramOutcomeUnknown,
    MioGramPermissionDenied,
    MioGramRequestError,
    MioGramSecretChanged,
    MioGramServiceError,
    MioGramSessionBlocked,
    MioGramTransportError,
    MioGramWhatsAppNotSupported,
    Outcome,
    Secret,
    error_for,
)
from bot.clients.miogram.phones import InvalidPhone
from bot.clients.miogram.report import MAX_RECORDS, Report, RequestCheck, SentContent, find_request, parse_report
from bot.config import Config

#: how many validated numbers a client remembers (a mass job re-sends the same ones)
CHECKED_CACHE_SIZE = 200_000

log = logging.getLogger(__name__)

_ERROR_IN_TEXT = re.compile(r"^\s*Error\s*(\d{2,4})\s*:\s*(.*)$", re.S | re.I)
_PHP_NOISE = re.compile(
    r"<b>\s*(warning|notice|fatal error|deprecated|parse error)|^(warning|notice|fatal error|"
    r"deprecated|parse error)\s*:",
    re.I | re.M,
)
_TAGS = re.compile(r"<[^>]*>")
# "fail" is a success shape too (the call worked, the message was not delivered), unless a code
# or an error text comes with it.
_OK_STATUSES = frozenset({"success", "checking", "sent"})
_INFORMATIONAL = frozenset({407, 409})  # the "error" codes that are the success answer of a write
_TRUE = frozenset({"1", "true", "yes", "ok", "success", "sent"})
_FALSE = frozenset({"0", "false", "no", "", "fail", "null"})

Sleep = Callable[[float], Awaitable[Any]]
JSONValue = Any


# --- answers


@dataclass(frozen=True)
class Reply:
    """A successful answer: its ``Result``, ``Status``, ``Message`` and ``Code`` (if any)."""

    result: Any
    status: str | None = None
    message: str | None = None
    code: int | None = None


def _identity(text: str) -> str:
    return text


def parse_reply(body: bytes | str, func: str, *, redact: Callable[[str], str] = _identity) -> Reply:
    """The :class:`Reply` in ``body``, or the typed exception for any of the three error shapes,
    or :class:`MioGramMalformed` for an empty, non-JSON, ``null`` or PHP-warning body."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise MioGramMalformed("empty body", func=func)
    try:
        payload = json.loads(text)
    except ValueError:
        raise _text_error(text, func, redact) from None
    if payload is None:
        raise MioGramMalformed("the body is null", func=func)
    if isinstance(payload, str):
        raise _text_error(payload, func, redact)
    if isinstance(payload, list):  # APIGetReport answers a bare list of records
        return Reply(payload)
    if not isinstance(payload, dict):
        raise MioGramMalformed(f"unexpected JSON {type(payload).__name__}", func=func)
    return _dict_reply(payload, func, redact)


def _text_error(text: str, func: str, redact: Callable[[str], str]) -> MioGramError:
    """The error for a plain-text body: ``Error NNN : …``, a known error text, or malformed."""
    match = _ERROR_IN_TEXT.match(text)
    if match:
        return error_for(int(match.group(1)), redact(match.group(2)), func=func)
    code = CODES_BY_TEXT.get(text.strip().rstrip(".").lower())
    if code is not None and code not in _INFORMATIONAL:
        return error_for(code, func=func)
    what = "a PHP warning" if _PHP_NOISE.search(text) else "not JSON"
    excerpt = " ".join(_TAGS.sub(" ", text).split())[:80]
    return MioGramMalformed(f"{what}: {redact(excerpt)}", func=func)


def _dict_reply(payload: Mapping[str, Any], func: str, redact: Callable[[str], str]) -> Reply:
    status_raw = payload.get("Status")
    status = status_raw.strip().lower() if isinstance(status_raw, str) else None
    message = payload.get("Message")
    message = str(message) if message is not None and not isinstance(message, (dict, list)) else None
    code = _as_code(payload.get("Code"))
    detail = message or ""
    in_text = _ERROR_IN_TEXT.match(message) if message else None
    if code is None and in_text:
        code, detail = int(in_text.group(1)), in_text.group(2)
    if code is None and message and status not in _OK_STATUSES:
        code = CODES_BY_TEXT.get(message.strip().rstrip(".").lower())
    if code in _INFORMATIONAL:
        return Reply(payload.get("Result"), status, message, code)
    failed = status == "error" or (status not in _OK_STATUSES and code is not None)
    if failed:
        raise error_for(code, redact(detail), func=func)
    return Reply(payload.get("Result"), status, message, code)


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _truth(value: Any) -> bool | None:
    """True/False for the service's booleans (``true``, ``1``, ``"1"``…), None when unclear."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def _as_int(value: Any, what: str, func: str) -> int:
    """An integer from a number or numeric string (credits and limits come as strings)."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(float(value)) if isinstance(value, str) and "." in value else int(value)
    except (TypeError, ValueError):
        raise MioGramMalformed(f"{what} is not a number", func=func) from None


def _size_bytes(value: Any, what: str, func: str) -> int:
    number = _as_int(value, what, func)
    # The document says MB, the server answers bytes (MB x 1,048,576): a figure under 1 KiB can
    # only be megabytes.
    return number * MIB if 0 < number <= 1024 else number


# --- configuration of the client


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
        read = self.send + self.per_number * numbers if kind == "send" else self.read
        write = self.upload if has_media else self.read
        return httpx.Timeout(connect=self.connect, read=read, write=write, pool=self.connect)


@dataclass
class _BatchPlan:
    """A batch's input numbers normalised: which E.164 to send and which inputs are invalid."""

    to_send: list[str]
    inputs_by_number: dict[str, list[str]]
    invalid: dict[str, str]


class MioGramClient:
    """The MioGram web service over an injected :class:`httpx.AsyncClient`.

    ``request_count`` counts every HTTP request made (retries included).
    """

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
        if not 1 <= batch_size <= MAX_MASS:
            raise ValueError(f"batch_size must be between 1 and {MAX_MASS}")
        self._http = http
        self._url = url
        self._secret = Secret(secret)
        self.robot = robot
        self.region = phones.check_region(region)
        self.batch_size = batch_size
        self.ad_footer = ad_footer
        self.limits_ttl = limits_ttl
        self._clock = clock
        self._sleep = sleep
        self._retry = retry or RetryPolicy()
        self._timeouts = timeouts or Timeouts()
        self.request_count = 0
        self._checked: dict[str, str] = {}  # raw number → E.164, already validated
        self._limits: Limits | None = None
        self._limits_at = 0.0
        self._limits_lock = asyncio.Lock()

    @classmethod
    def from_config(cls, config: Config, http: httpx.AsyncClient, **options: Any) -> MioGramClient:
        """A client for the configured account; ``options`` override constructor defaults
        (clock, sleep, retry, timeouts, limits_ttl, ad_footer). The ad footer comes from a
        ``miogram_ad_footer`` setting when the configuration has one."""
        options.setdefault("ad_footer", _ad_footer(config))
        return cls(
            http,
            url=config.miogram_url,
            secret=config.miogram_secret,
            robot=config.miogram_robot,
            region=config.phone_region,
            batch_size=config.mass_batch_size,
            **options,
        )

    def __repr__(self) -> str:
        return f"MioGramClient(url={self._url!r}, robot={self.robot!r}, secret=***)"

    # --- transport

    def _redact(self, text: str) -> str:
        secret = self._secret.reveal()
        return text.replace(secret, "***") if secret else text

    async def _body(self, func: str, fields: Mapping[str, str], media: Media | None) -> tuple[Any, dict[str, str]]:
        """The request body (bytes, or a stream when a file is attached) and its headers."""
        pairs = [("Secret", self._secret.reveal()), ("Func", func), ("Robot", fields.get("Robot", self.robot))]
        pairs += [(name, fields.get(name, "")) for name in ("Misc", "Phone", "Message")]
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Charset": "UTF-8"}
        if media is None:
            return (urlencode(pairs + [("Data", "")]).encode("ascii"), headers)
        prefix = (urlencode(pairs) + "&Data=").encode("ascii")
        headers["Content-Length"] = str(len(prefix) + await media.form_length())
        return _stream(prefix, media), headers

    async def _post(
        self, spec: FuncSpec, fields: Mapping[str, str], media: Media | None = None, numbers: int = 0
    ) -> Reply:
        """One request and its parsed answer (no retry, no interpretation of sends)."""
        content, headers = await self._body(spec.name, fields, media)
        timeout = self._timeouts.for_request(spec.kind, numbers, media is not None)
        self.request_count += 1
        try:
            response = await self._http.post(self._url, content=content, headers=headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise MioGramTransportError("timed out", timeout=True, func=spec.name) from exc
        except httpx.HTTPError as exc:
            raise MioGramTransportError(type(exc).__name__, func=spec.name) from exc
        if response.status_code != 200:
            raise MioGramTransportError(f"HTTP {response.status_code}", status=response.status_code, func=spec.name)
        reply = parse_reply(response.content, spec.name, redact=self._redact)
        log.debug("MioGram %s answered %s", spec.name, reply.status or "ok")
        return reply

    async def _read(self, func: str, **fields: str) -> Reply:
        """A read: retried with backoff on 999 and transport errors (a repeat changes nothing)."""
        spec, policy = FUNCTIONS[func], self._retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential_jitter(multiplier=policy.initial, max=policy.maximum, jitter=policy.jitter),
            retry=retry_if_exception(_retryable),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post(spec, fields)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _write(self, func: str, media: Media | None = None, **fields: str) -> Reply:
        """A state change that is not a send: never repeated (a repeat may apply it twice)."""
        return await self._post(FUNCTIONS[func], fields, media)

    async def _send(self, func: str, numbers: Sequence[str], media: Media | None = None, **fields: str) -> Reply:
        """A send: never repeated; a lost or garbled answer becomes :class:`MioGramOutcomeUnknown`."""
        spec = FUNCTIONS[func]
        try:
            return await self._post(spec, {**fields, "Phone": ",".join(numbers)}, media, len(numbers))
        except (MioGramNoResponse, MioGramTransportError, MioGramMalformed) as exc:
            log.warning("MioGram %s to %d numbers: outcome unknown (%s)", func, len(numbers), exc)
            raise MioGramOutcomeUnknown(cause=exc, func=func, numbers=numbers) from exc
        except MioGramServiceError as exc:
            exc.numbers = tuple(numbers)
            raise

    # --- checks before sending

    async def limits(self, *, refresh: bool = False) -> Limits:
        """The account's limits, cached for ``limits_ttl`` seconds of the injected clock."""
        cached = None if refresh else self._fresh_limits()
        if cached is not None:
            return cached
        async with self._limits_lock:
            cached = None if refresh else self._fresh_limits()
            return cached if cached is not None else await self.api_get_limits()

    def _fresh_limits(self) -> Limits | None:
        if self._limits is not None and self._clock() - self._limits_at < self.limits_ttl:
            return self._limits
        return None

    def message_bytes(self, text: str) -> tuple[int, int]:
        """(bytes counted against the limit, of which the ad footer): the service appends
        ``"\\n" + footer`` before it checks, and counts UTF-8 bytes, not characters."""
        footer = len(("\n" + self.ad_footer).encode("utf-8")) if self.ad_footer else 0
        return len(text.encode("utf-8")) + footer, footer

    async def check_message(self, text: str) -> None:
        """Raise :class:`MioGramMessageTooLong` (with the figures) when ``text`` is over the limit."""
        if not text or not text.strip():
            raise ValueError("the message is empty")
        limit = (await self.limits()).message_bytes
        actual, footer = self.message_bytes(text)
        if actual > limit:
            raise MioGramMessageTooLong(limit=limit, actual=actual, footer=footer)

    async def check_media(self, media: Media, kind: str | MediaKind | None = None) -> None:
        """Raise :class:`MioGramFileTooBig` (with the figures) when ``media`` is over the limit of
        ``kind`` (``photo``, ``video`` or ``file``; by default the media's own kind)."""
        limit_kind = MediaKind(kind or media.kind).limit_kind
        limit = (await self.limits()).for_kind(limit_kind)
        if media.size > limit:
            raise MioGramFileTooBig(
                f"{limit_kind}: {media.size:,} bytes against a limit of {limit:,}", limit=limit, actual=media.size
            )

    def _one(self, phone: str) -> str:
        """``phone`` as E.164, or :class:`~bot.clients.miogram.phones.InvalidPhone` (it is then never sent)."""
        # Mass jobs pass the same already-normalised numbers batch after batch; parsing each with
        # phonenumbers again costs ~0.2 ms a number, so remember the ones already checked.
        known = self._checked.get(phone)
        if known is not None:
            return known
        number = phones.normalize(phone, self.region)
        if len(self._checked) >= CHECKED_CACHE_SIZE:
            self._checked.clear()
        self._checked[phone] = number
        return number

    def remember_valid(self, numbers: Iterable[str]) -> None:
        """Record ``numbers`` as already valid E.164 numbers, so a send does not parse them again.

        Only for numbers that came out of :func:`bot.clients.miogram.phones.normalize` with this client's region
        (a mass job's audience, validated at its preview): each is remembered as itself. A number
        not starting with ``+`` is ignored (it is parsed as usual when sent)."""
        if len(self._checked) >= CHECKED_CACHE_SIZE:
            self._checked.clear()
        for number in numbers:
            if number.startswith("+"):
                self._checked.setdefault(number, number)

    # --- sends to one number

    async def _send_one(self, func: str, phone: str, media: Media | None = None, **fields: str) -> Outcome:
        number = self._one(phone)
        try:
            reply = await self._send(func, [number], media, **fields)
        except MioGramNumberWrong:
            return Outcome.INVALID
        truth = _truth(reply.result)
        if truth is None:
            return Outcome.UNKNOWN
        return Outcome.SENT if truth else Outcome.NOT_DELIVERED

    async def send_message(self, phone: str, text: str) -> Outcome:
        """SendMessage: ``text`` to one number."""
        await self.check_message(text)
        return await self._send_one("SendMessage", phone, Message=text)

    async def send_message_whatsapp(self, phone: str, text: str) -> Outcome:
        """SendMessageWhatsApp (beta): always reported SENT, there is no delivery report."""
        await self.check_message(text)
        return await self._send_one("SendMessageWhatsApp", phone, Message=text)

    async def _send_media_one(self, func: str, phone: str, media: Media, limit_kind: str) -> Outcome:
        await self.check_media(media, limit_kind)
        return await self._send_one(func, phone, media, Misc=media.extension)

    async def send_photo(self, phone: str, media: Media) -> Outcome:
        """SendPhoto: an image (checked against the Photo limit)."""
        return await self._send_media_one("SendPhoto", phone, media, "photo")

    async def send_video(self, phone: str, media: Media) -> Outcome:
        """SendVideo: a video (checked against the Video limit)."""
        return await self._send_media_one("SendVideo", phone, media, "video")

    async def send_audio(self, phone: str, media: Media) -> Outcome:
        """SendAudio: an audio file (checked against the File limit)."""
        return await self._send_media_one("SendAudio", phone, media, "file")

    async def send_text(self, phone: str, media: Media) -> Outcome:
        """SendText: a text file (checked against the File limit)."""
        return await self._send_media_one("SendText", phone, media, "file")

    async def send_file(self, phone: str, media: Media) -> Outcome:
        """SendFile: any file (checked against the File limit)."""
        return await self._send_media_one("SendFile", phone, media, "file")

    async def send_document(self, phone: str, media: Media) -> Outcome:
        """SendDocument: a document (checked against the File limit)."""
        return await self._send_media_one("SendDocument", phone, media, "file")

    async def send_location(self, phone: str, latitude: float, longitude: float) -> Outcome:
        """SendLocation: a map point (``Misc`` = ``latitude,longitude``)."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must be within ±90 and longitude within ±180")
        return await self._send_one("SendLocation", phone, Misc=f"{latitude:.6f},{longitude:.6f}")

    async def send_contact(self, phone: str, name: str, contact_phone: str) -> Outcome:
        """SendContact: a contact card (``Misc`` = ``name,phone``). The provider's server is known
        to send the recipient's own number as the contact."""
        return await self._send_one("SendContact", phone, Misc=f"{_misc_part(name)},{self._one(contact_phone)}")

    # --- mass sends

    async def send_message_mass(self, numbers: Sequence[str], text: str) -> BatchResult:
        """SendMessageMass: one request of at most 100 numbers."""
        return await self.send_mass_batch(list(numbers), text=text)

    async def send_message_whatsapp_mass(self, numbers: Sequence[str], text: str) -> BatchResult:
        """SendMessageWhatsAppMass (beta): every number is reported SENT."""
        return await self.send_mass_batch(list(numbers), text=text, whatsapp=True)

    async def send_photo_mass(self, numbers: Sequence[str], media: Media) -> BatchResult:
        """SendPhotoMass: one image to at most 100 numbers."""
        return await self._media_mass("SendPhotoMass", list(numbers), media, "photo")

    async def send_video_mass(self, numbers: Sequence[str], media: Media) -> BatchResult:
        """SendVideoMass: one video to at most 100 numbers."""
        return await self._media_mass("SendVideoMass", list(numbers), media, "video")

    async def send_file_mass(self, numbers: Sequence[str], media: Media) -> BatchResult:
        """SendFileMass: one file to at most 100 numbers."""
        return await self._media_mass("SendFileMass", list(numbers), media, "file")

    async def send_mass_batch(
        self,
        numbers: list[str],
        *,
        text: str | None = None,
        media: Media | None = None,
        whatsapp: bool = False,
        robot: str | None = None,
    ) -> BatchResult:
        """ONE *Mass request of at most 100 numbers, with an :class:`Outcome` for every input number.

        ``robot`` sends through that agent instead of the configured one (a mass send's lanes).
        Invalid numbers are reported INVALID and not sent, repeats are sent once. Raises
        :class:`MioGramOutcomeUnknown` (never retried) when the answer is lost, and
        :class:`MioGramNoCredit` / :class:`MioGramLowCredit` when nothing went out for credit.
        """
        if media is not None:
            if text is not None or whatsapp:
                raise ValueError("a Mass carries either a text or a file, and WhatsApp only text")
            func, limit_kind = _media_mass_func(media)
            return await self._media_mass(func, numbers, media, limit_kind, robot)
        if text is None:
            raise ValueError("a text or a file is needed")
        plan = self._plan_batch(numbers)
        await self.check_message(text)
        func = "SendMessageWhatsAppMass" if whatsapp else "SendMessageMass"
        return await self._run_batch(func, numbers, plan, Message=text, Robot=robot or self.robot)

    async def _media_mass(
        self, func: str, numbers: list[str], media: Media, limit_kind: str, robot: str | None = None
    ) -> BatchResult:
        plan = self._plan_batch(numbers)
        await self.check_media(media, limit_kind)
        return await self._run_batch(func, numbers, plan, media, Misc=media.extension, Robot=robot or self.robot)

    def _plan_batch(self, numbers: Sequence[str]) -> _BatchPlan:
        if isinstance(numbers, str):
            raise TypeError("numbers must be a list of numbers, not one string")
        to_send: list[str] = []
        by_number: dict[str, list[str]] = {}
        invalid: dict[str, str] = {}
        for raw in numbers:
            try:
                number = self._one(raw)
            except InvalidPhone as exc:
                invalid[raw] = exc.reason
                continue
            if number not in by_number:
                to_send.append(number)
            by_number.setdefault(number, []).append(raw)
        if len(to_send) > MAX_MASS:
            raise ValueError(f"one Mass request takes at most {MAX_MASS} numbers (got {len(to_send)})")
        return _BatchPlan(to_send, by_number, invalid)

    async def _run_batch(
        self, func: str, numbers: Sequence[str], plan: _BatchPlan, media: Media | None = None, **fields: str
    ) -> BatchResult:
        outcomes: dict[str, Outcome] = {raw: Outcome.INVALID for raw in plan.invalid}
        status = None
        if plan.to_send:
            try:
                reply = await self._send(func, plan.to_send, media, **fields)
                by_number, status = _mass_outcomes(reply, plan.to_send, self.region), reply.status
            except MioGramNumberWrong:
                if len(plan.to_send) > 1:
                    raise  # the service did not say which number: nothing to attribute
                by_number = {plan.to_send[0]: Outcome.INVALID}
                for raw in plan.inputs_by_number[plan.to_send[0]]:
                    plan.invalid[raw] = "number does not exist or is wrong"
            for number, outcome in by_number.items():
                for raw in plan.inputs_by_number[number]:
                    outcomes[raw] = outcome
        ordered = {raw: outcomes[raw] for raw in numbers}
        reasons = {raw: plan.invalid[raw] for raw in numbers if raw in plan.invalid}
        return BatchResult(func, tuple(numbers), ordered, reasons, status)

    async def send_mass(
        self,
        numbers: str | Iterable[str],
        *,
        text: str | None = None,
        media: Media | None = None,
        whatsapp: bool = False,
        batch_size: int | None = None,
        on_batch: Callable[[BatchResult], Any] | None = None,
    ) -> MassResult:
        """A whole mass send for callers that keep no state: numbers parsed (invalid reported,
        duplicates dropped), content checked once, then batches of ``batch_size`` (default the
        configured one, at most 100) one after the other. ``on_batch`` (sync or async) sees each
        :class:`BatchResult`. The first error stops the send: that batch is UNKNOWN if the answer
        was lost (SKIPPED otherwise) and every later number SKIPPED; ``result.error`` says why."""
        size = self._batch_size(batch_size)
        parsed = phones.parse_numbers(numbers, self.region)
        result = MassResult(duplicates=list(parsed.duplicates))
        for raw, reason in parsed.invalid:
            result.outcomes[raw], result.reasons[raw] = Outcome.INVALID, reason
        await self._check_content(text, media, whatsapp)
        batches = [parsed.valid[i : i + size] for i in range(0, len(parsed.valid), size)]
        for index, batch in enumerate(batches):
            try:
                outcome = await self.send_mass_batch(batch, text=text, media=media, whatsapp=whatsapp)
            except MioGramError as exc:
                _stop(result, exc, batch, batches[index + 1 :])
                break
            result.batches.append(outcome)
            result.outcomes.update(outcome.outcomes)
            await _notify(on_batch, outcome)
        return result

    def _batch_size(self, batch_size: int | None) -> int:
        size = self.batch_size if batch_size is None else batch_size
        if not 1 <= size <= MAX_MASS:
            raise ValueError(f"batch_size must be between 1 and {MAX_MASS}")
        return size

    async def _check_content(self, text: str | None, media: Media | None, whatsapp: bool) -> None:
        if media is not None:
            if text is not None or whatsapp:
                raise ValueError("a Mass carries either a text or a file, and WhatsApp only text")
            await self.check_media(media, _media_mass_func(media)[1])
        elif text is not None:
            await self.check_message(text)
        else:
            raise ValueError("a text or a file is needed")

    # --- chat and profile functions

    async def set_status_online(self, online: bool = True) -> bool:
        """SetStatusOnline (isSuper): show the agent online or offline."""
        return _bool(await self._write("SetStatusOnline", Misc="Online" if online else "Offline"))

    async def send_typing(self, phone: str) -> bool:
        """SendTyping (isSuper): show "typing…" to one number."""
        return _bool(await self._write("SendTyping", Phone=self._one(phone)))

    async def create_group_chat(self, name: str, numbers: Iterable[str]) -> bool:
        """CreateGroupChat (isSuper): a group named ``name`` with ``numbers``."""
        parsed = phones.parse_numbers(list(numbers), self.region)
        if parsed.invalid:
            raise InvalidPhone(*parsed.invalid[0])
        if not parsed.valid:
            raise ValueError("a group needs at least one number")
        return _bool(await self._write("CreateGroupChat", Misc=_misc_part(name), Phone=",".join(parsed.valid)))

    async def chat_info(self, name: str) -> JSONValue | None:
        """ChatInfo (canGet): the chat's data as the service gives it, None when it is unknown."""
        return _object(await self._read("ChatInfo", Misc=_misc_part(name)))

    async def rename_chat(self, old: str, new: str) -> bool:
        """RenameChat (isSuper)."""
        return _bool(await self._write("RenameChat", Misc=f"{_misc_part(old)},{_misc_part(new)}"))

    async def chat_add_user(self, chat: str, phone: str, forward_count: int = 0) -> bool:
        """ChatAddUser (isSuper): add a number, forwarding it the last ``forward_count`` messages."""
        if forward_count < 0:
            raise ValueError("forward_count cannot be negative")
        return _bool(
            await self._write("ChatAddUser", Misc=f"{_misc_part(chat)},{int(forward_count)}", Phone=self._one(phone))
        )

    async def chat_delete_user(self, chat: str, phone: str) -> bool:
        """ChatDeleteUser (isSuper)."""
        return _bool(await self._write("ChatDeleteUser", Misc=_misc_part(chat), Phone=self._one(phone)))

    async def set_profile_name(self, first: str, last: str = "") -> bool:
        """SetProfileName (isSuper): the agent's first and last name."""
        return _bool(await self._write("SetProfileName", Misc=f"{_misc_part(first)},{_misc_part(last, empty=True)}"))

    async def block_user(self, phone: str) -> bool:
        """BlockUser (isSuper)."""
        return _bool(await self._write("BlockUser", Phone=self._one(phone)))

    async def unblock_user(self, phone: str) -> bool:
        """UnBlockUser (isSuper)."""
        return _bool(await self._write("UnBlockUser", Phone=self._one(phone)))

    async def mark_read(self, phone: str) -> bool:
        """MarkRead (isSuper): mark the number's messages read."""
        return _bool(await self._write("MarkRead", Phone=self._one(phone)))

    async def get_user_info(self, phone: str) -> JSONValue | None:
        """GetUserInfo (canGet): the user's data, None when the service has none."""
        return _object(await self._read("GetUserInfo", Phone=self._one(phone)))

    async def get_dialog_list(self) -> JSONValue | None:
        """GetDialogList (canGet): the agent's conversations."""
        return _object(await self._read("GetDialogList"))

    async def get_history(self, phone: str, *, limit: int = 20, offset: int = 0) -> JSONValue | None:
        """GetHistory (canGet): messages with one number. The server reads ``Misc`` as
        ``limit,offset`` (the document says offset,limit), so that is what is sent."""
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        return _object(await self._read("GetHistory", Misc=f"{int(limit)},{int(offset)}", Phone=self._one(phone)))

    async def set_username(self, username: str) -> bool:
        """SetUsername (isSuper)."""
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", username or ""):
            raise ValueError("a username is letters, digits and underscores, without spaces")
        return _bool(await self._write("SetUsername", Misc=username))

    async def set_profile_photo(self, media: Media) -> bool:
        """SetProfilePhoto (isSuper): checked against the Photo limit."""
        await self.check_media(media, "photo")
        return _bool(await self._write("SetProfilePhoto", media))

    # --- account functions (API*)

    async def api_get_limits(self) -> Limits:
        """APIGetLimits, always fetched (and the cache of :meth:`limits` refreshed)."""
        reply = await self._read("APIGetLimits")
        data = _mapping(reply, "APIGetLimits")
        limits = Limits(
            message_bytes=_as_int(data.get("Message"), "Message", "APIGetLimits"),
            photo_bytes=_size_bytes(data.get("Photo"), "Photo", "APIGetLimits"),
            video_bytes=_size_bytes(data.get("Video"), "Video", "APIGetLimits"),
            file_bytes=_size_bytes(data.get("File"), "File", "APIGetLimits"),
            can_get=bool(_truth(data.get("canGet"))),
            is_super=bool(_truth(data.get("isSuper"))),
        )
        self._limits, self._limits_at = limits, self._clock()
        return limits

    async def credits(self) -> Credits:
        """APIGetCredits: the credit left per kind (the service sends numbers as strings)."""
        data = _mapping(await self._read("APIGetCredits"), "APIGetCredits")
        values = {
            kind: _as_int(data.get(key, 0), key, "APIGetCredits")
            for kind, key in (
                ("message", "Message"),
                ("photo", "Photo"),
                ("video", "Video"),
                ("file", "File"),
                ("other", "Other"),
            )
        }
        return Credits(**values)

    api_get_credits = credits

    async def api_get_ip(self) -> list[str]:
        """APIGetIP: the addresses the service reports (the server answers the caller's own)."""
        return _csv(await self._read("APIGetIP"))

    async def api_set_ip(self, addresses: Sequence[str] | str) -> list[str]:
        """APISetIP: allow ``addresses`` (or ``"*"`` for every address); answers the allowed list
        (the server adds its own address unless ``*``)."""
        items = [addresses] if isinstance(addresses, str) else list(addresses)
        misc = "*" if items == ["*"] else ",".join(_ip(item) for item in items)
        if not misc:
            raise ValueError("at least one address (or '*') is needed")
        return _csv(await self._write("APISetIP", Misc=misc))

    async def api_change_secret(self) -> Secret:
        """APIChangeSecret: a new secret, used by this client from now on. The old one is dead at
        once: the caller must store the new one (``reveal()``) in the configuration."""
        reply = await self._write("APIChangeSecret")
        if not isinstance(reply.result, str) or not reply.result.strip():
            raise MioGramMalformed("no new secret in the answer", func="APIChangeSecret")
        self._secret = Secret(reply.result.strip())
        return self._secret

    async def api_get_robot(self) -> list[str]:
        """APIGetRobot: the names of the active agents."""
        return _csv(await self._read("APIGetRobot"))

    async def api_get_active(self) -> bool:
        """APIGetActive: whether the account is active."""
        return _bool(await self._read("APIGetActive"))

    async def api_get_username(self) -> str:
        """APIGetUsername: the account's username."""
        result = (await self._read("APIGetUsername")).result
        return "" if result in (None, False) else str(result)

    async def api_is_super(self) -> bool:
        """APIisSuper: whether the account has the control permission."""
        return _bool(await self._read("APIisSuper"))

    async def api_can_get(self) -> bool:
        """APIcanGet: whether the account has the read-data permission."""
        return _bool(await self._read("APIcanGet"))

    async def api_get_ads(self) -> bool:
        """APIGetAds: whether an ad footer is appended to messages."""
        return _bool(await self._read("APIGetAds"))

    async def report(self, count: int = 100) -> Report:
        """APIGetReport: the newest ``count`` (1–999, as the document allows) send-report records
        as :class:`~bot.clients.miogram.report.Report` (empty when the service has none, 111).
        The server reads only the first 1,000 records of an account's log: a send missing from
        the report may still have gone out."""
        if not 1 <= count <= MAX_RECORDS:
            raise ValueError(f"count must be between 1 and {MAX_RECORDS}")
        try:
            reply = await self._read("APIGetReport", Misc=str(int(count)))
        except MioGramNoData:
            return Report((), 0, count)
        if not isinstance(reply.result, list):
            raise MioGramMalformed("the report is not a list", func="APIGetReport")
        return parse_report(reply.result, count)

    async def find_request(
        self, numbers: Sequence[str], *, text: str | None = None, media: Media | None = None
    ) -> RequestCheck:
        """Look one send request (its ``numbers`` and its ``text`` or ``media``) up in the newest
        999 records of the send report: see :func:`bot.clients.miogram.report.find_request`."""
        if (text is None) == (media is None):
            raise ValueError("a request carried either a text or a file")
        if media is not None:
            content = SentContent.of_file(await media.sha256(), media.size)
        else:
            content = SentContent.of_text(text or "", self.ad_footer)
        report = await self.report(MAX_RECORDS)
        return find_request(report, [self._one(number) for number in numbers], content, self.region)

    api_get_report = report


# --- helpers of the client


def _ad_footer(config: Config) -> str:
    # Optional: an explicit setting, or an unknown key kept from the config file.
    value = getattr(config, "miogram_ad_footer", None)
    if value is None:
        value = (getattr(config, "extra", None) or {}).get("miogram_ad_footer")
    return str(value or "")


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


async def _notify(callback: Callable[[BatchResult], Any] | None, batch: BatchResult) -> None:
    if callback is None:
        return
    result = callback(batch)
    if inspect.isawaitable(result):
        await result


def _stop(result: MassResult, exc: MioGramError, batch: list[str], later: list[list[str]]) -> None:
    """Record the error that stopped a mass send: the batch in flight and everything after."""
    result.error = exc
    in_flight = Outcome.UNKNOWN if isinstance(exc, MioGramOutcomeUnknown) else Outcome.SKIPPED
    for number in batch:
        result.outcomes[number] = in_flight
    for numbers in later:
        for number in numbers:
            result.outcomes[number] = Outcome.SKIPPED


def _media_mass_func(media: Media) -> tuple[str, str]:
    if media.kind is MediaKind.PHOTO:
        return "SendPhotoMass", "photo"
    if media.kind is MediaKind.VIDEO:
        return "SendVideoMass", "video"
    return "SendFileMass", "file"


def _mass_outcomes(reply: Reply, numbers: Sequence[str], region: str) -> dict[str, Outcome]:
    """Each sent number's outcome from a Mass answer: an object keyed by the numbers (as sent, or
    without '+', or even national), or ``true`` (WhatsApp "sent"), or ``false``."""
    result = reply.result
    if isinstance(result, dict):
        by_key = _keys_to_numbers(result, region, numbers)
        return {n: by_key.get(n, Outcome.UNKNOWN) for n in numbers}
    truth = _truth(result) if not isinstance(result, list) and result is not None else None
    if truth is None:
        return dict.fromkeys(numbers, Outcome.UNKNOWN)
    return dict.fromkeys(numbers, Outcome.SENT if truth else Outcome.NOT_DELIVERED)


def _keys_to_numbers(result: Mapping[str, Any], region: str, sent: Sequence[str] = ()) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    sent_set = set(sent)
    for key, value in result.items():
        key_text = str(key).strip()
        direct = key_text if key_text in sent_set else f"+{key_text}"
        if direct in sent_set:  # keyed as sent, or without '+': no parsing needed
            truth = _truth(value)
            out[direct] = Outcome.UNKNOWN if truth is None else (Outcome.SENT if truth else Outcome.NOT_DELIVERED)
            continue
        candidates = [key_text] if key_text.startswith("+") else [f"+{key_text}", key_text]
        for candidate in candidates:
            try:
                number = phones.normalize(candidate, region)
            except InvalidPhone:
                continue
            truth = _truth(value)
            out[number] = Outcome.UNKNOWN if truth is None else (Outcome.SENT if truth else Outcome.NOT_DELIVERED)
            break
    return out


def _bool(reply: Reply) -> bool:
    if reply.result is None:  # no Result at all: nothing says it worked
        return False
    truth = _truth(reply.result)
    if truth is None:
        raise MioGramMalformed("the result is not true or false")
    return truth


def _object(reply: Reply) -> JSONValue | None:
    if reply.result is False or reply.result is None:
        return None
    return reply.result


def _mapping(reply: Reply, func: str) -> Mapping[str, Any]:
    if not isinstance(reply.result, dict):
        raise MioGramMalformed("the result is not an object", func=func)
    return reply.result


def _csv(reply: Reply) -> list[str]:
    if reply.result in (None, False, ""):
        return []
    return [part.strip() for part in str(reply.result).split(",") if part.strip()]


def _ip(text: str) -> str:
    value = text.strip()
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
    return value


def _misc_part(value: str, *, empty: bool = False) -> str:
    """One comma-separated piece of ``Misc``: a comma inside would shift every later piece."""
    text = (value or "").strip()
    if "," in text:
        raise ValueError(f"{value!r} cannot contain a comma")
    if not text and not empty:
        raise ValueError("a name is needed")
    return text


__all__ = [
    "BatchResult",
    "Credits",
    "ERRORS_BY_CODE",
    "FUNCTIONS",
    "Limits",
    "MAX_MASS",
    "MassResult",
    "Media",
    "MediaKind",
    "MioGramAccessError",
    "MioGramAccountNotActivated",
    "MioGramBadFunc",
    "MioGramBadRequest",
    "MioGramClient",
    "MioGramCreditError",
    "MioGramEmptySecret",
    "MioGramError",
    "MioGramFileTooBig",
    "MioGramGatewayError",
    "MioGramGatewayIP",
    "MioGramGatewayToken",
    "MioGramIPSet",
    "MioGramInvalidFile",
    "MioGramInvalidIP",
    "MioGramInvalidSecret",
    "MioGramLimitError",
    "MioGramLowCredit",
    "MioGramMalformed",
    "MioGramMessageTooLong",
    "MioGramNoCredit",
    "MioGramNoData",
    "MioGramNoInput",
    "MioGramNoResponse",
    "MioGramNoRobot",
    "MioGramNoUserId",
    "MioGramNumberWrong",
    "MioGramOutcomeUnknown",
    "MioGramPermissionDenied",
    "MioGramRequestError",
    "MioGramSecretChanged",
    "MioGramServiceError",
    "MioGramSessionBlocked",
    "MioGramTransportError",
    "MioGramWhatsAppNotSupported",
    "Outcome",
    "Reply",
    "RetryPolicy",
    "Secret",
    "Timeouts",
    "error_for",
    "parse_reply",
]

"""Async client for the Resont REST API: every documented service, typed, paged, retried.

One method per service (see ``docs/resont-client.md`` for the coverage table). Results are the
dataclasses of :mod:`bot.clients.resont.models`; failures are the :class:`ResontError` tree of
:mod:`bot.clients.resont.errors`; authentication (token or OAuth2) lives in :mod:`bot.clients.resont.auth`.

The client runs over an injected :class:`httpx.AsyncClient` and never closes it. Paths live in
:data:`ENDPOINTS` so that a wrong inferred path is a one-line fix. Lists that Resont pages come
back as async iterators that follow ``paging.next`` / ``paging.after`` and can stop at a known
id or date, so a poll fetches only what is new.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot.clients.resont.auth import (
    SCOPE,
    MemoryTokenStore,
    OAuth2Auth,
    OAuthSettings,
    OAuthTokens,
    TokenAuth,
    TokenStore,
)
from bot.clients.resont.dates import DateParser, to_timezone
from bot.clients.resont.errors import (
    ResontAuthError,
    ResontError,
    ResontForbidden,
    ResontMalformed,
    ResontNotFound,
    ResontRateLimited,
    ResontServerError,
    ResontTransportError,
    ResontValidationError,
    error_for_status,
    error_from_body,
)
from bot.clients.resont.forms import PostEdit
from bot.clients.resont.models import (
    Account,
    AccountGroup,
    AccountPost,
    Comment,
    CommentTag,
    Conversation,
    ConversationTag,
    Department,
    File,
    GeneratedImage,
    InsightsResponse,
    Message,
    Post,
    PostGroup,
    RedirectResponse,
    SearchLocation,
    SearchPeople,
    SocialUser,
    StorageInfo,
    Tag,
    Ticket,
    TicketMeta,
    User,
    WebhookEvent,
    as_items,
    as_object,
    describe,
    parse_webhook,
    to_bool,
    to_int,
    to_str,
)
from bot.text.redact import RedactingFilter

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "Page",
    "PostInput",
    "ResontAuthError",
    "ResontClient",
    "ResontError",
    "ResontForbidden",
    "ResontMalformed",
    "ResontNotFound",
    "ResontRateLimited",
    "ResontServerError",
    "ResontTransportError",
    "ResontValidationError",
    "RetryPolicy",
    "Upload",
    "WebhookEvent",
    "parse_webhook",
]


@dataclass(frozen=True)
class Endpoint:
    """One documented service: HTTP method, path template, and where the path comes from."""

    method: str
    path: str
    source: str = "inferred"


#: Every service the client calls. Paths are relative to the base URL; ``{name}`` is a path
#: parameter. ``source`` says whether public NovinHub code confirms the path.
ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {
        "account.list": Endpoint("GET", "account", "confirmed"),
        "account.create": Endpoint("POST", "account"),
        "account.detail": Endpoint("GET", "account/{account_id}"),
        "account.edit": Endpoint("PUT", "account/{account_id}"),
        "account.delete": Endpoint("DELETE", "account/{account_id}"),
        "account_group.list": Endpoint("GET", "account-group"),
        "account_group.create": Endpoint("POST", "account-group"),
        "account_group.detail": Endpoint("GET", "account-group/{group_id}"),
        "account_group.edit": Endpoint("PUT", "account-group/{group_id}"),
        "account_group.delete": Endpoint("DELETE", "account-group/{group_id}"),
        "comment.list": Endpoint("GET", "comment", "inferred (third-party clients)"),
        "comment.detail": Endpoint("GET", "comment/{comment_id}"),
        "comment.replies": Endpoint("GET", "comment/{comment_id}/replies"),
        "comment.reply": Endpoint("POST", "comment/{comment_id}/reply"),
        "comment.like": Endpoint("POST", "comment/{comment_id}/like"),
        "comment.tag": Endpoint("POST", "comment/{comment_id}/tag"),
        "comment.delete": Endpoint("DELETE", "comment/{comment_id}"),
        "comment.subscribe": Endpoint("POST", "comment/subscribe"),
        "comment.social_user": Endpoint("GET", "comment/social-user/{social_user_id}"),
        "comment.post": Endpoint("GET", "comment/{comment_id}/post"),
        "comment_tag.list": Endpoint("GET", "comment-tag"),
        "comment_tag.create": Endpoint("POST", "comment-tag"),
        "comment_tag.detail": Endpoint("GET", "comment-tag/{tag_id}"),
        "comment_tag.edit": Endpoint("PUT", "comment-tag/{tag_id}"),
        "comment_tag.delete": Endpoint("DELETE", "comment-tag/{tag_id}"),
        "conversation.list": Endpoint("GET", "conversation", "inferred (third-party clients)"),
        "conversation.detail": Endpoint("GET", "conversation/{conversation_id}"),
        "conversation.messages": Endpoint(
            "GET", "conversation/{conversation_id}/messages", "inferred (third-party clients)"
        ),
        "conversation.message": Endpoint("GET", "conversation/message/{message_id}"),
        "conversation.reply": Endpoint(
            "POST", "conversation/{conversation_id}/reply", "inferred (third-party clients agree)"
        ),
        "conversation.reaction": Endpoint("POST", "conversation/message/{message_id}/reaction"),
        "conversation.tag": Endpoint("POST", "conversation/{conversation_id}/tag"),
        "conversation.subscribe": Endpoint("POST", "conversation/subscribe"),
        "conversation_tag.list": Endpoint("GET", "conversation-tag"),
        "conversation_tag.create": Endpoint("POST", "conversation-tag"),
        "conversation_tag.detail": Endpoint("GET", "conversation-tag/{tag_id}"),
        "conversation_tag.edit": Endpoint("PUT", "conversation-tag/{tag_id}"),
        "conversation_tag.delete": Endpoint("DELETE", "conversation-tag/{tag_id}"),
        "file.list": Endpoint("GET", "file"),
        "file.upload": Endpoint("POST", "file", "confirmed"),
        "file.detail": Endpoint("GET", "file/{file_id}"),
        "file.delete": Endpoint("DELETE", "file/{file_id}"),
        "file.sticker_image": Endpoint("POST", "file/{file_id}/generateImage"),
        "insights.account": Endpoint("GET", "insights/account/{account_id}"),
        "insights.post": Endpoint("GET", "insights/post/{post_group_id}"),
        "user.me": Endpoint("GET", "me"),
        "user.storage": Endpoint("GET", "me/files", "document names me/files"),
        "post.list": Endpoint("GET", "post"),
        "post.create": Endpoint("POST", "post", "confirmed"),
        "post.group": Endpoint("GET", "post/group/{post_group_id}", "inferred (third-party client)"),
        "post.detail": Endpoint("GET", "post/{post_id}"),
        "post.edit": Endpoint("PUT", "post/{post_group_id}"),
        "post.edit_published": Endpoint("POST", "post/{post_group_id}/edit"),
        "post.retry": Endpoint("POST", "post/{post_group_id}/retry"),
        "post.cancel": Endpoint("POST", "post/{post_group_id}/cancel"),
        "post.delete": Endpoint("DELETE", "post/{post_group_id}"),
        "post.drafts": Endpoint("GET", "post/draft"),
        "search.location": Endpoint("GET", "search/location"),
        "search.people": Endpoint("GET", "search/people"),
        "search.hashtag": Endpoint("GET", "search/hashtag"),
        "ticket.list": Endpoint("GET", "ticket"),
        "ticket.departments": Endpoint("GET", "ticket/department"),
        "ticket.create": Endpoint("POST", "ticket"),
        "ticket.detail": Endpoint("GET", "ticket/{ticket_id}"),
        "ticket.messages": Endpoint("GET", "ticket/{ticket_id}/meta"),
        "ticket.reply": Endpoint("POST", "ticket/{ticket_id}/meta"),
        "ticket.close": Endpoint("POST", "ticket/{ticket_id}/close"),
        "oauth.token": Endpoint("POST", "web/oauth/token", "inferred (under the OAuth root)"),
    }
)

#: Query parameters that carry credentials: never kept from a ``next`` link, never logged.
AUTH_PARAMS = frozenset({"token", "access_token"})
#: Query parameters that position a page; dropped from the original query when following a link.
CURSOR_PARAMS = frozenset({"page", "after", "before"})
#: Methods that can be repeated without changing the outcome.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Envelope keys that may sit beside ``data`` in a wrapped answer.
_ENVELOPE_KEYS = frozenset({"data", "paging", "success", "status", "message", "meta", "links"})
_VERSIONED_PATH = re.compile(r"^(?:/token)?/v\d+/(?P<rest>.*)$")


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
    sleep: Callable[[float], Any] = asyncio.sleep


@dataclass(frozen=True)
class Upload:
    """A file to send as multipart/form-data (media upload, DM or ticket attachment)."""

    content: bytes = field(repr=False)
    filename: str
    content_type: str = "application/octet-stream"

    def as_httpx(self) -> tuple[str, bytes, str]:
        return (self.filename, self.content, self.content_type)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and the paging Resont sent (page or cursor style)."""

    items: list[T]
    total: int | None = None
    page: int | None = None
    total_pages: int | None = None
    next: str | None = None
    prev: str | None = None
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True)
class PostInput:
    """Every documented field of "Create post" (edits send a :class:`PostEdit`).

    The fields the document does not mark optional are always sent (``caption``, ``type``,
    ``account_ids``, ``media_ids``, ``is_scheduled``, ``schedule_date``, ``is_draft``): an
    empty caption or list as ``key=``, no time as ``schedule_date=``, the flags as 0 when not
    given; ``location`` only when there is one. Other None fields are not sent.
    ``schedule_date`` is an aware datetime or unix seconds (sent as UTC seconds; setting it
    implies ``is_scheduled`` unless that is given). ``photo_tags`` maps a file id to a list of
    ``{"locationX", "locationY", "text", "id"}``; ``thumbnail_second`` a file id to a second;
    ``telegram_buttons`` are ``"title:link"`` strings or ``(title, link)`` pairs. ``extra`` is
    sent as is, for fields Resont adds later.
    """

    caption: str | None = None
    type: str | None = None
    account_ids: Sequence[int] | None = None
    media_ids: Sequence[int] | None = None
    custom_captions: Mapping[str, str] | None = None
    is_scheduled: bool | None = None
    schedule_date: datetime | int | None = None
    is_draft: bool | None = None
    location: str | None = None
    hashtags: Sequence[str] | None = None
    photo_tags: Mapping[Any, Any] | None = None
    thumbnail_second: Mapping[Any, float] | None = None
    reels: bool | None = None
    reels_sharetofeed: bool | None = None
    linkedin_title: str | None = None
    pinterest_url: str | None = None
    telegram_buttons: Sequence[str | tuple[str, str]] | None = None
    tweets: Sequence[str] | None = None
    youtube_category: str | None = None
    youtube_title: str | None = None
    youtube_privacy: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_form(self) -> dict[str, Any]:
        """The wire fields (before bracket encoding)."""
        is_scheduled = self.is_scheduled
        if is_scheduled is None and self.schedule_date is not None:
            is_scheduled = True
        seconds = _unix_seconds(self.schedule_date)
        fields: dict[str, Any] = {
            "caption": self.caption or "",
            "type": self.type,
            "account_ids": list(self.account_ids or ()),
            "media_ids": list(self.media_ids or ()),
            "custom_captions": self.custom_captions,
            "is_scheduled": bool(is_scheduled),
            "schedule_date": "" if seconds is None else seconds,
            "is_draft": bool(self.is_draft),
            "location": self.location,
            "hashtag": self.hashtags,
            "photo_tags": self.photo_tags,
            "thumbnail_second": self.thumbnail_second,
            "reels": self.reels,
            "reels_sharetofeed": self.reels_sharetofeed,
            "linkedin_title": self.linkedin_title,
            "pinterest_url": self.pinterest_url,
            "telegram_buttons": _buttons(self.telegram_buttons),
            "tweets": self.tweets,
            "youtube_category": self.youtube_category,
            "youtube_title": self.youtube_title,
            "youtube_privacy": self.youtube_privacy,
        }
        fields.update(self.extra)
        return {k: v for k, v in fields.items() if v is not None}


def _unix_seconds(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise ValueError("schedule_date must be timezone-aware (Resont expects UTC seconds)")
    return int(value.timestamp())


def _buttons(buttons: Sequence[str | tuple[str, str]] | None) -> list[str] | None:
    if buttons is None:
        return None
    return [b if isinstance(b, str) else f"{b[0]}:{b[1]}" for b in buttons]


def encode_fields(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """PHP/Laravel form encoding: lists as ``key[]``, objects as ``key[sub]``, bools as 1/0.

    An empty list is sent as ``key=`` (an explicit "none"); None values are left out.
    """
    out: list[tuple[str, str]] = []
    for key, value in fields.items():
        _flatten(str(key), value, out)
    return out


def _flatten(key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append((key, "1" if value else "0"))
    elif isinstance(value, Mapping):
        for sub, item in value.items():
            _flatten(f"{key}[{sub}]", item, out)
    elif isinstance(value, (list, tuple, set, frozenset)):
        _flatten_list(key, list(value), out)
    else:
        out.append((key, str(value)))


def _flatten_list(key: str, items: list[Any], out: list[tuple[str, str]]) -> None:
    if not items:
        out.append((key, ""))
        return
    for index, item in enumerate(items):
        nested = isinstance(item, (Mapping, list, tuple))
        _flatten(f"{key}[{index}]" if nested else f"{key}[]", item, out)


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Pairs as httpx's form ``data`` (repeated keys become lists, order kept)."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _with(expand: str | Sequence[str] | None) -> str | None:
    if expand is None or isinstance(expand, str):
        return expand or None
    return ",".join(expand) or None


def unwrap(body: Any) -> Any:
    """The object inside a ``{data: ...}`` envelope; the body itself when it is bare."""
    if isinstance(body, Mapping) and "data" in body and set(body) <= _ENVELOPE_KEYS:
        return body["data"]
    return body


def _page_of(body: Any, parse: Callable[[Any, DateParser], T], dates: DateParser) -> Page[T]:
    if isinstance(body, list):
        return Page([parse(item, dates) for item in body])
    obj = as_object(body, "a page of items")
    if "data" not in obj:
        raise ResontMalformed("Resont sent a page without its data")
    items = [parse(item, dates) for item in as_items(obj["data"], "items")]
    paging = obj.get("paging") if isinstance(obj.get("paging"), Mapping) else {}
    return Page(
        items,
        total=to_int(paging.get("total")),
        page=to_int(paging.get("page") or paging.get("current_page")),
        total_pages=to_int(paging.get("totalPage") or paging.get("total_page") or paging.get("last_page")),
        next=to_str(paging.get("next")) or None,
        prev=to_str(paging.get("prev")) or None,
        after=to_str(paging.get("after")) or None,
        before=to_str(paging.get("before")) or None,
    )


@dataclass(frozen=True)
class _StopRule:
    """Where a walk over a newest-first list ends: a known id, or items older than a date."""

    ids: frozenset[str]
    before: datetime | None
    date_of: Callable[[Any], datetime | None]

    def hit(self, item: Any) -> bool:
        item_id = getattr(item, "id", None)
        if self.ids and item_id is not None and str(item_id) in self.ids:
            return True
        if self.before is None:
            return False
        when = self.date_of(item)
        return when is not None and when < self.before


def _stop_rule(
    stop_at_id: int | str | None,
    seen_ids: Collection[int | str] | None,
    stop_before: datetime | None,
    date_of: Callable[[Any], datetime | None],
) -> _StopRule | None:
    ids = {str(i) for i in (seen_ids or ())}
    if stop_at_id is not None:
        ids.add(str(stop_at_id))
    if stop_before is not None and stop_before.tzinfo is None:
        raise ValueError("stop_before must be timezone-aware")
    if not ids and stop_before is None:
        return None
    return _StopRule(frozenset(ids), stop_before, date_of)


@dataclass(frozen=True)
class _Call:
    """One request, ready to be sent (and re-sent by the retry policy)."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    data: Mapping[str, list[str]] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    url: str | None = None  # absolute URL outside the API base (OAuth token endpoint)
    auth: bool = True


class _TokenFailure(Exception):
    """Carries an auth failure through the retry loop, which must not repeat it."""

    def __init__(self, error: ResontError) -> None:
        super().__init__(str(error))
        self.error = error


def _install_log_redaction() -> None:
    """httpx logs each request URL at INFO and the token is in the query: mask it at the source,
    whatever handlers are attached (idempotent)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


class ResontClient:
    """The Resont API over ``http``: token mode (``token``) or OAuth2 (``oauth`` settings, tokens
    kept in ``tokens``); the composition root builds it from the configuration."""

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
        self._http = http
        self._base = base_url.rstrip("/")
        self._base_path = urlsplit(self._base).path.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._backoff = wait_exponential(multiplier=self._retry.initial, max=self._retry.max_wait) + wait_random(
            0, self._retry.jitter
        )
        self._timeout = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
        self._clock = clock
        self._default_tz = to_timezone(default_tz)
        self._auth: TokenAuth | OAuth2Auth
        if token:
            self._auth = TokenAuth(token)
        else:
            assert oauth is not None
            self._auth = OAuth2Auth(oauth, tokens or MemoryTokenStore(), self._post_token, clock=clock)
        self._user: User | None = None
        self._dates_cache: DateParser | None = None
        self._me_lock = asyncio.Lock()
        #: Total HTTP requests sent (retries and token refreshes included).
        self.request_count = 0
        _install_log_redaction()

    def __repr__(self) -> str:
        return f"ResontClient(base={self._base!r}, auth={self._auth!r})"

    def secrets(self) -> list[str]:
        """The credentials in use now (token, or OAuth tokens and client secret), for redaction."""
        return self._auth.secrets()

    @property
    def oauth(self) -> OAuth2Auth | None:
        """The OAuth2 state (None in token mode)."""
        return self._auth if isinstance(self._auth, OAuth2Auth) else None

    # ------------------------------------------------------------------ transport

    async def _call(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Upload] | None = None,
        **path_args: Any,
    ) -> Any:
        """Send the service ``name`` and return the decoded JSON body."""
        endpoint = ENDPOINTS[name]
        path = endpoint.path.format(**{k: quote(str(v), safe="") for k, v in path_args.items()})
        if name != "user.me":
            await self._dates()  # learn the user's date format before the first answer needs it
        call = _Call(
            endpoint.method,
            path,
            params=tuple(encode_fields(params or {})),
            data=_grouped(encode_fields(data)) if data else None,
            files={k: v.as_httpx() for k, v in files.items()} if files else None,
        )
        return await self._send(call)

    async def _send(self, call: _Call) -> Any:
        policy = self._retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, policy.attempts)),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._retryable(exc, call.method)),
            sleep=policy.sleep,
            before_sleep=lambda state: _log_retry(call, state),
            reraise=True,
        )
        try:
            return await retrying(self._authorised, call)
        except _TokenFailure as failure:
            raise failure.error from None

    def _retryable(self, exc: BaseException, method: str) -> bool:
        """Whether repeating is safe and useful. A POST is repeated only when Resont surely did
        not act on it: a 429 refusal, or a connection that was never established."""
        if isinstance(exc, ResontRateLimited):
            return exc.retry_after is None or exc.retry_after <= self._retry.max_retry_after
        if isinstance(exc, ResontTransportError):
            return not exc.sent or method in IDEMPOTENT
        if isinstance(exc, ResontServerError):
            return method in IDEMPOTENT
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ResontRateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)

    async def _authorised(self, call: _Call) -> Any:
        """One attempt; after a 401 in OAuth mode, one more with a refreshed token."""
        if not call.auth:
            return await self._exchange(call, None)
        token = await self._token()
        try:
            return await self._exchange(call, token)
        except ResontAuthError:
            if not await self._token_call(self._auth.recover(token)):
                raise
            return await self._exchange(call, await self._token())

    async def _token(self) -> str:
        return await self._token_call(self._auth.token())

    @staticmethod
    async def _token_call(pending: Awaitable[T]) -> T:
        """Await an auth step; its failure is final for this request (the token endpoint has
        its own retry rules, and repeating a refused refresh cannot help)."""
        try:
            return await pending
        except ResontError as exc:
            raise _TokenFailure(exc) from None

    async def _exchange(self, call: _Call, token: str | None) -> Any:
        params = list(call.params)
        if token is not None:
            params.append((self._auth.param, token))
        url = call.url or f"{self._base}/{call.path}"
        self.request_count += 1
        try:
            response = await self._http.request(
                call.method, url, params=params, data=call.data, files=call.files, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, call) from None
        log.debug("Resont %s %s -> %s", call.method, call.path, response.status_code)
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> Any:
        """The JSON body, or the matching :class:`ResontError` (an ``error`` key is an error
        whatever the status)."""
        status = response.status_code
        body = _json_body(response.content)
        if isinstance(body, Mapping) and body.get("error"):
            raise error_from_body(
                status, body["error"], headers=response.headers, secrets=self._auth.secrets(), now=self._clock()
            )
        if status >= 400:
            raise error_for_status(status, response.headers, now=self._clock())
        if body is _NOT_JSON:
            raise ResontMalformed(f"Resont answered HTTP {status} with a body that is not complete JSON", status=status)
        return body

    async def _post_token(self, form: Mapping[str, str]) -> Any:
        """POST to the OAuth token endpoint (outside the API base, without a token)."""
        assert isinstance(self._auth, OAuth2Auth)
        call = _Call(
            ENDPOINTS["oauth.token"].method,
            ENDPOINTS["oauth.token"].path,
            data=_grouped(form.items()),
            url=self._auth.settings.token_url,
            auth=False,
        )
        return await self._send(call)

    # ------------------------------------------------------------------ decoding helpers

    async def _dates(self) -> DateParser:
        """The parser for the user's date settings, fetching ``me`` once per client."""
        if self._dates_cache is None:
            async with self._me_lock:
                if self._dates_cache is None:
                    try:
                        await self.me()
                    except (ResontForbidden, ResontNotFound, ResontMalformed) as exc:
                        # Dates still parse through the fallbacks; the call itself goes on.
                        log.warning("Resont user settings unavailable (%s); using defaults", exc)
                        self._dates_cache = DateParser(tz=self._default_tz)
        assert self._dates_cache is not None
        return self._dates_cache

    async def _one(self, parse: Callable[[Any, DateParser], T], body: Any) -> T:
        return parse(unwrap(body), await self._dates())

    async def _many(self, parse: Callable[[Any, DateParser], T], body: Any, what: str) -> list[T]:
        dates = await self._dates()
        return [parse(item, dates) for item in as_items(unwrap(body), what)]

    @staticmethod
    def _ok(body: Any) -> bool:
        """A BooleanResponse (an empty 2xx answer counts as success)."""
        body = unwrap(body)
        if body is None or body is True:
            return True
        if isinstance(body, Mapping) and "success" in body:
            return bool(to_bool(body["success"]))
        raise ResontMalformed(f"Resont sent {describe(body)} where a success flag was expected")

    async def _date_param(self, value: str | date | datetime | None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return (await self._dates()).format_date(value)

    # ------------------------------------------------------------------ paging

    async def _walk(
        self,
        name: str,
        parse: Callable[[Any, DateParser], T],
        params: Mapping[str, Any] | None = None,
        *,
        stop: _StopRule | None = None,
        limit: int | None = None,
        **path_args: Any,
    ) -> AsyncIterator[T]:
        """Every item of a (page- or cursor-) paged list, newest first, until a stop rule,
        ``limit`` or the end."""
        if limit is not None and limit <= 0:
            return
        endpoint = ENDPOINTS[name]
        path = endpoint.path.format(**{k: quote(str(v), safe="") for k, v in path_args.items()})
        request: tuple[str, tuple[tuple[str, str], ...]] | None = self._first_request(path, params or {})
        visited: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        count = 0
        await self._dates()
        while request is not None and request not in visited:
            visited.add(request)
            body = await self._send(_Call("GET", request[0], params=request[1]))
            page = _page_of(body, parse, await self._dates())
            for item in page.items:
                if stop is not None and stop.hit(item):
                    return
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            request = self._next_request(request, page) if page.items else None

    def _first_request(self, path: str, params: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The first page's request; a starting ``after``/``before`` given as a paging link (as
        Resont sends them) is followed like one."""
        pairs = tuple(encode_fields(params))
        for cursor in ("after", "before"):
            link = params.get(cursor)
            if isinstance(link, str) and _is_link(link):
                rest = tuple((k, v) for k, v in pairs if k != cursor)
                return self._follow(link, path, rest, cursor=cursor)
        return (path, pairs)

    async def page(
        self,
        name: str,
        parse: Callable[[Any, DateParser], T],
        params: Mapping[str, Any] | None = None,
        **path_args: Any,
    ) -> Page[T]:
        """One page of the list service ``name`` (for callers that keep cursors themselves)."""
        body = await self._call(name, params=params, **path_args)
        return _page_of(body, parse, await self._dates())

    def _next_request(
        self, current: tuple[str, tuple[tuple[str, str], ...]], page: Page[Any]
    ) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        path, params = current
        if page.after:
            return self._follow(page.after, path, params, cursor="after")
        if page.next:
            return self._follow(page.next, path, params, cursor="page")
        if page.page and page.total_pages and page.page < page.total_pages:
            kept = tuple((k, v) for k, v in params if k != "page")
            return (path, kept + (("page", str(page.page + 1)),))
        return None

    def _follow(
        self, link: str, path: str, params: tuple[tuple[str, str], ...], cursor: str
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The request for a ``next``/``after`` link: its own query (minus any credentials: the
        current token is added when sending) on top of the original filters. A link to another
        host is never followed there: only its path and query are used, on our base URL."""
        if not _is_link(link):
            kept = tuple((k, v) for k, v in params if k not in CURSOR_PARAMS)
            return (path, kept + ((cursor, link),))
        parts = urlsplit(link)
        own = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in AUTH_PARAMS]
        own_keys = {k for k, _ in own}
        kept = [(k, v) for k, v in params if k not in own_keys and k not in CURSOR_PARAMS]
        return (self._relative(parts.path) or path, tuple(kept + own))

    def _relative(self, link_path: str) -> str | None:
        if self._base_path and link_path.startswith(self._base_path + "/"):
            return link_path[len(self._base_path) + 1 :].strip("/") or None
        match = _VERSIONED_PATH.match(link_path)
        if match is None:
            return None
        return match.group("rest").strip("/") or None

    # ------------------------------------------------------------------ accounts

    async def accounts(self, *, with_: str | Sequence[str] | None = None) -> list[Account]:
        """Every connected account (``with_="meta"`` adds network-specific settings)."""
        body = await self._call("account.list", params={"with": _with(with_)})
        return await self._many(Account.from_raw, body, "accounts")

    async def create_account(
        self, type: str, *, redirect: str | None = None, **network_fields: Any
    ) -> Account | RedirectResponse:
        """Connect an account; networks needing a login answer with a :class:`RedirectResponse`."""
        body = await self._call("account.create", data={"type": type, "redirect": redirect, **network_fields})
        return await self._account_or_redirect(body)

    async def account(self, account_id: int, *, with_: str | Sequence[str] | None = None) -> Account:
        body = await self._call("account.detail", params={"with": _with(with_)}, account_id=account_id)
        return await self._one(Account.from_raw, body)

    async def edit_account(
        self,
        account_id: int,
        *,
        type: str | None = None,
        redirect: str | None = None,
        **network_fields: Any,
    ) -> Account | RedirectResponse:
        data = {"type": type, "redirect": redirect, **network_fields}
        body = await self._call("account.edit", data=data, account_id=account_id)
        return await self._account_or_redirect(body)

    async def delete_account(self, account_id: int) -> bool:
        return self._ok(await self._call("account.delete", account_id=account_id))

    async def _account_or_redirect(self, body: Any) -> Account | RedirectResponse:
        obj = unwrap(body)
        if isinstance(obj, Mapping) and "redirect" in obj and "id" not in obj:
            return RedirectResponse.from_raw(obj)
        return await self._one(Account.from_raw, obj)

    # ------------------------------------------------------------------ account groups

    async def account_groups(self) -> list[AccountGroup]:
        return await self._many(AccountGroup.from_raw, await self._call("account_group.list"), "account groups")

    async def create_account_group(self, name: str, account_ids: Sequence[int]) -> AccountGroup:
        body = await self._call("account_group.create", data={"name": name, "account_ids": list(account_ids)})
        return await self._one(AccountGroup.from_raw, body)

    async def account_group(self, group_id: int) -> AccountGroup:
        return await self._one(AccountGroup.from_raw, await self._call("account_group.detail", group_id=group_id))

    async def edit_account_group(
        self, group_id: int, *, name: str | None = None, account_ids: Sequence[int] | None = None
    ) -> AccountGroup:
        data = {"name": name, "account_ids": list(account_ids) if account_ids is not None else None}
        body = await self._call("account_group.edit", data=data, group_id=group_id)
        return await self._one(AccountGroup.from_raw, body)

    async def delete_account_group(self, group_id: int) -> bool:
        return self._ok(await self._call("account_group.delete", group_id=group_id))

    # ------------------------------------------------------------------ comments

    async def comments(
        self,
        *,
        tag: Sequence[int] | None = None,
        status: str | int | None = None,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        search: str | None = None,
        with_: str | Sequence[str] | None = None,
        after: str | None = None,
        before: str | None = None,
        stop_at_id: int | str | None = None,
        seen_ids: Collection[int | str] | None = None,
        stop_before: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Comment]:
        """Comments, newest first, across cursor pages; stops before ``stop_at_id``, any id in
        ``seen_ids``, or the first comment older than ``stop_before``."""
        params = {
            "tag": tag,
            "status": status,
            "search": search,
            "with": _with(with_),
            "after": after,
            "before": before,
            "date_from": await self._date_param(date_from),
            "date_to": await self._date_param(date_to),
        }
        stop = _stop_rule(stop_at_id, seen_ids, stop_before, lambda c: c.date)
        async for item in self._walk("comment.list", Comment.from_raw, params, stop=stop, limit=limit):
            yield item

    async def comment(self, comment_id: int, *, with_: str | Sequence[str] | None = None) -> Comment:
        body = await self._call("comment.detail", params={"with": _with(with_)}, comment_id=comment_id)
        return await self._one(Comment.from_raw, body)

    async def comment_replies(
        self, comment_id: int, *, with_: str | Sequence[str] | None = None
    ) -> AsyncIterator[Comment]:
        """Every reply to a comment, across pages (the document states no order: read them all)."""
        params = {"with": _with(with_)}
        async for item in self._walk("comment.replies", Comment.from_raw, params, comment_id=comment_id):
            yield item

    async def reply_comment(self, comment_id: int, text: str, *, username: str | None = None) -> Comment:
        """Answer a comment publicly; ``username`` is the original commenter's (mentioned)."""
        body = await self._call("comment.reply", data={"comment": text, "username": username}, comment_id=comment_id)
        return await self._one(Comment.from_raw, body)

    async def like_comment(self, comment_id: int) -> bool:
        """Toggle the account's like on a comment (Resont adds or removes it)."""
        return self._ok(await self._call("comment.like", comment_id=comment_id))

    async def tag_comment(self, comment_id: int, tag_ids: Sequence[int]) -> Comment:
        """Replace the comment's tags (an empty list clears them)."""
        body = await self._call("comment.tag", data={"tag": list(tag_ids)}, comment_id=comment_id)
        return await self._one(Comment.from_raw, body)

    async def delete_comment(self, comment_id: int) -> bool:
        return self._ok(await self._call("comment.delete", comment_id=comment_id))

    async def subscribe_comments(self, account_ids: Sequence[int]) -> bool:
        """Turn on comment collection for these accounts."""
        return self._ok(await self._call("comment.subscribe", data={"account_ids": list(account_ids)}))

    async def social_user(self, social_user_id: int | str) -> SocialUser:
        body = await self._call("comment.social_user", social_user_id=social_user_id)
        return await self._one(SocialUser.from_raw, body)

    async def comment_post(self, comment_id: int) -> AccountPost:
        """The published post a comment was left on."""
        return await self._one(AccountPost.from_raw, await self._call("comment.post", comment_id=comment_id))

    # ------------------------------------------------------------------ comment tags

    async def comment_tags(self) -> list[CommentTag]:
        return await self._many(Tag.from_raw, await self._call("comment_tag.list"), "comment tags")

    async def create_comment_tag(self, name: str, color: str | None = None) -> CommentTag:
        body = await self._call("comment_tag.create", data={"name": name, "color": color})
        return await self._one(Tag.from_raw, body)

    async def comment_tag(self, tag_id: int) -> CommentTag:
        return await self._one(Tag.from_raw, await self._call("comment_tag.detail", tag_id=tag_id))

    async def edit_comment_tag(self, tag_id: int, *, name: str | None = None, color: str | None = None) -> CommentTag:
        body = await self._call("comment_tag.edit", data={"name": name, "color": color}, tag_id=tag_id)
        return await self._one(Tag.from_raw, body)

    async def delete_comment_tag(self, tag_id: int) -> bool:
        return self._ok(await self._call("comment_tag.delete", tag_id=tag_id))

    # ------------------------------------------------------------------ conversations

    async def conversations(
        self,
        *,
        tag: Sequence[int] | None = None,
        status: str | int | None = None,
        search: str | None = None,
        with_: str | Sequence[str] | None = None,
        after: str | None = None,
        before: str | None = None,
        stop_at_id: int | str | None = None,
        seen_ids: Collection[int | str] | None = None,
        stop_before: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Conversation]:
        """Conversations, most recently updated first, across cursor pages. ``stop_before``
        compares ``update_date``; a conversation moves up whenever a message arrives (or the
        bot replies), so prefer it to ``seen_ids`` for polling."""
        params = {
            "tag": tag,
            "status": status,
            "search": search,
            "with": _with(with_),
            "after": after,
            "before": before,
        }
        stop = _stop_rule(stop_at_id, seen_ids, stop_before, lambda c: c.update_date)
        async for item in self._walk("conversation.list", Conversation.from_raw, params, stop=stop, limit=limit):
            yield item

    async def conversation(self, conversation_id: int, *, with_: str | Sequence[str] | None = None) -> Conversation:
        body = await self._call("conversation.detail", params={"with": _with(with_)}, conversation_id=conversation_id)
        return await self._one(Conversation.from_raw, body)

    async def conversation_messages(
        self,
        conversation_id: int,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        with_: str | Sequence[str] | None = None,
        skip_ids: Collection[int | str] = (),
    ) -> list[Message]:
        """Every message of a conversation, oldest first by (date, id), without ``skip_ids``.

        The document answers "an array of Message" with no order and no paging: the list is read
        whole (any paging Resont adds is followed to its end) and ordered here, and ids already
        seen are skipped rather than taken for the end of what is new."""
        params = {
            "with": _with(with_),
            "date_from": await self._date_param(date_from),
            "date_to": await self._date_param(date_to),
        }
        skip = {str(i) for i in skip_ids}
        walk = self._walk("conversation.messages", Message.from_raw, params, conversation_id=conversation_id)
        messages = [m async for m in walk if str(m.id) not in skip]
        return sorted(messages, key=_in_time_order)

    async def message(self, message_id: int) -> Message:
        return await self._one(Message.from_raw, await self._call("conversation.message", message_id=message_id))

    async def reply_conversation(
        self, conversation_id: int, content: str, *, attachment: Upload | None = None
    ) -> Message:
        """Send a direct message; with ``attachment`` the request is multipart."""
        files = {"attachment": attachment} if attachment is not None else None
        body = await self._call(
            "conversation.reply", data={"content": content}, files=files, conversation_id=conversation_id
        )
        return await self._one(Message.from_raw, body)

    async def react_message(self, message_id: int, type: str = "like") -> bool:
        """Toggle a reaction (only ``like`` exists) on a message."""
        return self._ok(await self._call("conversation.reaction", data={"type": type}, message_id=message_id))

    async def tag_conversation(self, conversation_id: int, tag_ids: Sequence[int]) -> Conversation:
        body = await self._call("conversation.tag", data={"tag": list(tag_ids)}, conversation_id=conversation_id)
        return await self._one(Conversation.from_raw, body)

    async def subscribe_conversations(self, account_ids: Sequence[int]) -> bool:
        return self._ok(await self._call("conversation.subscribe", data={"account_ids": list(account_ids)}))

    # ------------------------------------------------------------------ conversation tags

    async def conversation_tags(self) -> list[ConversationTag]:
        return await self._many(Tag.from_raw, await self._call("conversation_tag.list"), "conversation tags")

    async def create_conversation_tag(self, name: str, color: str | None = None) -> ConversationTag:
        body = await self._call("conversation_tag.create", data={"name": name, "color": color})
        return await self._one(Tag.from_raw, body)

    async def conversation_tag(self, tag_id: int) -> ConversationTag:
        return await self._one(Tag.from_raw, await self._call("conversation_tag.detail", tag_id=tag_id))

    async def edit_conversation_tag(
        self, tag_id: int, *, name: str | None = None, color: str | None = None
    ) -> ConversationTag:
        body = await self._call("conversation_tag.edit", data={"name": name, "color": color}, tag_id=tag_id)
        return await self._one(Tag.from_raw, body)

    async def delete_conversation_tag(self, tag_id: int) -> bool:
        return self._ok(await self._call("conversation_tag.delete", tag_id=tag_id))

    # ------------------------------------------------------------------ files

    async def files(
        self,
        *,
        type: str | None = None,
        search: str | None = None,
    ) -> AsyncIterator[File]:
        """Every uploaded file across pages, filtered by type (image, video, document) or name
        (the document states no order: read them all)."""
        async for item in self._walk("file.list", File.from_raw, {"type": type, "search": search}):
            yield item

    async def upload_file(self, content: bytes, filename: str, content_type: str = "application/octet-stream") -> File:
        """Upload media (multipart field ``file``); the result's id goes into ``media_ids``."""
        body = await self._call("file.upload", files={"file": Upload(content, filename, content_type)})
        return await self._one(File.from_raw, body)

    async def file(self, file_id: int) -> File:
        return await self._one(File.from_raw, await self._call("file.detail", file_id=file_id))

    async def delete_file(self, file_id: int) -> bool:
        return self._ok(await self._call("file.delete", file_id=file_id))

    async def sticker_image(self, file_id: int, stickers: Sequence[Mapping[str, Any]]) -> GeneratedImage:
        """Render story stickers onto an uploaded image (``sticker[i][field]=…``)."""
        body = await self._call("file.sticker_image", data={"sticker": list(stickers)}, file_id=file_id)
        return GeneratedImage.from_raw(unwrap(body))

    # ------------------------------------------------------------------ insights

    async def account_insights(
        self,
        account_id: int,
        metrics: Sequence[str],
        period: str,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
    ) -> InsightsResponse:
        """Account analytics; ``period`` is week, month, three months, lifetime or custom."""
        params = await self._insight_params(metrics, period, date_from, date_to)
        body = await self._call("insights.account", params=params, account_id=account_id)
        return await self._one(InsightsResponse.from_raw, body)

    async def post_insights(
        self,
        post_group_id: int,
        metrics: Sequence[str] = (),
        period: str | None = None,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
    ) -> InsightsResponse:
        params = await self._insight_params(metrics, period, date_from, date_to)
        body = await self._call("insights.post", params=params, post_group_id=post_group_id)
        return await self._one(InsightsResponse.from_raw, body)

    async def _insight_params(
        self, metrics: Sequence[str], period: str | None, date_from: Any, date_to: Any
    ) -> dict[str, Any]:
        return {
            "metric": list(metrics) or None,
            "period": period,
            "date_from": await self._date_param(date_from),
            "date_to": await self._date_param(date_to),
        }

    # ------------------------------------------------------------------ user

    async def me(self) -> User:
        """The user behind the token (always asked live; its date settings are cached for
        reading every other answer's dates)."""
        raw = unwrap(await self._call("user.me"))
        dates = DateParser.from_settings(as_object(raw, "the user"), self._default_tz)
        user = User.from_raw(raw, dates)
        self._user, self._dates_cache = user, dates
        return user

    @property
    def user(self) -> User | None:
        """The last ``me`` answer, if any."""
        return self._user

    async def storage(self) -> StorageInfo:
        """Storage used and left (``me/files``)."""
        return StorageInfo.from_raw(unwrap(await self._call("user.storage")))

    # ------------------------------------------------------------------ posts

    async def posts(
        self,
        *,
        account_ids: Sequence[int] | None = None,
        order: str | None = None,
        publish_from: str | date | None = None,
        publish_to: str | date | None = None,
        with_: str | Sequence[str] | None = None,
    ) -> AsyncIterator[PostGroup]:
        """Every post group across pages; ``order`` is ``id`` or ``schedule_date`` (the document
        names no direction: read them all and order them yourself; drafts are :meth:`drafts`)."""
        params = {
            "account_ids": list(account_ids) if account_ids else None,
            "order": order,
            "publish_from": await self._date_param(publish_from),
            "publish_to": await self._date_param(publish_to),
            "with": _with(with_),
        }
        async for item in self._walk("post.list", PostGroup.from_raw, params):
            yield item

    async def create_post(self, post: PostInput) -> PostGroup:
        """Create (publish, schedule or draft) a post group; the group as Resont then has it.

        The document answers a *Post*: its ``post_group_id`` names the group, which is read
        back. A PostGroup-shaped answer (``posts``, or group fields without ``account_id``) is
        taken for the group itself; a Post without a group id is looked for among the drafts
        and post groups (each read whole)."""
        answer = as_object(unwrap(await self._call("post.create", data=post.to_form())), "the created post")
        if _group_shaped(answer):
            group = await self._one(PostGroup.from_raw, answer)
            return group if group.posts or group.id is None else await self.post_group(group.id)
        made = await self._one(Post.from_raw, answer)
        if made.post_group_id is not None:
            return await self.post_group(made.post_group_id)
        return await self._group_of(made)

    async def _group_of(self, post: Post) -> PostGroup:
        """The post group holding ``post`` (a created post whose answer named no group)."""
        if post.id is not None:
            for listing in (self.drafts(), self.posts()):
                async for group in listing:
                    if any(p.id == post.id for p in group.posts):
                        return group
        raise ResontMalformed(f"Resont created post {post.id} but did not say which post group holds it")

    async def post_group(self, post_group_id: int, *, with_: str | Sequence[str] | None = None) -> PostGroup:
        """A post group with its posts (whose media, accounts and location an edit sends)."""
        body = await self._call("post.group", params={"with": _with(with_)}, post_group_id=post_group_id)
        return await self._one(PostGroup.from_raw, body)

    async def post(self, post_id: int) -> Post:
        """One account's post (a member of a post group)."""
        return await self._one(Post.from_raw, await self._call("post.detail", post_id=post_id))

    async def edit_post(self, post_group_id: int, edit: PostEdit) -> Post:
        """Edit a post group before it is published with the whole post (see :class:`PostEdit`);
        the document answers a Post."""
        body = await self._call("post.edit", data=edit.to_form(), post_group_id=post_group_id)
        return await self._one(Post.from_raw, body)

    async def edit_published_post(self, post_group_id: int, edit: PostEdit) -> Post:
        """Edit an already published post (Telegram and Instagram only), with the whole post."""
        body = await self._call("post.edit_published", data=edit.to_form(), post_group_id=post_group_id)
        return await self._one(Post.from_raw, body)

    async def retry_post(self, post_group_id: int) -> bool:
        """Queue a failed post group for another publishing attempt."""
        return self._ok(await self._call("post.retry", post_group_id=post_group_id))

    async def cancel_post(self, post_group_id: int) -> bool:
        return self._ok(await self._call("post.cancel", post_group_id=post_group_id))

    async def delete_post(self, post_group_id: int) -> bool:
        return self._ok(await self._call("post.delete", post_group_id=post_group_id))

    async def drafts(self) -> AsyncIterator[PostGroup]:
        """Every draft post group across pages (the document states no order: read them all)."""
        async for item in self._walk("post.drafts", PostGroup.from_raw):
            yield item

    # ------------------------------------------------------------------ search

    async def search_locations(self, query: str, account_ids: Sequence[int] | int) -> list[SearchLocation]:
        body = await self._call("search.location", params=_search_params(query, account_ids))
        return await self._many(SearchLocation.from_raw, body, "locations")

    async def search_people(self, query: str, account_ids: Sequence[int] | int) -> list[SearchPeople]:
        body = await self._call("search.people", params=_search_params(query, account_ids))
        return await self._many(SearchPeople.from_raw, body, "people")

    async def search_hashtags(self, query: str, account_ids: Sequence[int] | int) -> list[str]:
        body = await self._call("search.hashtag", params=_search_params(query, account_ids))
        items = as_items(unwrap(body), "hashtags")
        return [s for s in (to_str(i.get("name") if isinstance(i, Mapping) else i) for i in items) if s]

    # ------------------------------------------------------------------ tickets

    async def tickets(self) -> AsyncIterator[Ticket]:
        """Every support ticket across pages (the document states no order: read them all)."""
        async for item in self._walk("ticket.list", Ticket.from_raw):
            yield item

    async def ticket_departments(self) -> list[Department]:
        return await self._many(Department.from_raw, await self._call("ticket.departments"), "departments")

    async def create_ticket(
        self, title: str, department_id: int, content: str, *, attachment: Upload | None = None
    ) -> Ticket:
        data = {"title": title, "department_id": department_id, "content": content}
        files = {"attachment": attachment} if attachment is not None else None
        return await self._one(Ticket.from_raw, await self._call("ticket.create", data=data, files=files))

    async def ticket(self, ticket_id: int) -> Ticket:
        return await self._one(Ticket.from_raw, await self._call("ticket.detail", ticket_id=ticket_id))

    async def ticket_messages(self, ticket_id: int) -> list[TicketMeta]:
        body = await self._call("ticket.messages", ticket_id=ticket_id)
        return await self._many(TicketMeta.from_raw, body, "ticket messages")

    async def reply_ticket(self, ticket_id: int, content: str, *, attachment: Upload | None = None) -> Ticket:
        files = {"attachment": attachment} if attachment is not None else None
        body = await self._call("ticket.reply", data={"content": content}, files=files, ticket_id=ticket_id)
        return await self._one(Ticket.from_raw, body)

    async def close_ticket(self, ticket_id: int) -> bool:
        return self._ok(await self._call("ticket.close", ticket_id=ticket_id))

    # ------------------------------------------------------------------ OAuth2 and webhook

    def authorize_url(self, state: str, scope: str = SCOPE) -> str:
        """The link an admin opens to authorise the bot (OAuth mode only)."""
        return self._require_oauth().authorize_url(state, scope)

    async def exchange_code(self, code: str) -> OAuthTokens:
        """Store the tokens for the authorisation code the redirect brought back (the caller
        has checked its ``state``)."""
        tokens = await self._require_oauth().exchange_code(code)
        self._user = self._dates_cache = None  # the account (and its date settings) may differ
        return tokens

    async def refresh_tokens(self) -> OAuthTokens:
        return await self._require_oauth().refresh()

    def _require_oauth(self) -> OAuth2Auth:
        if not isinstance(self._auth, OAuth2Auth):
            raise ResontAuthError("Resont is configured with a token, not OAuth2")
        return self._auth

    def parse_webhook(self, payload: Mapping[str, Any] | bytes | str) -> WebhookEvent | None:
        """:func:`parse_webhook` with this user's date settings (when already known)."""
        return parse_webhook(payload, self._dates_cache or DateParser(tz=self._default_tz))


def _in_time_order(item: Message) -> tuple[bool, datetime, int]:
    """Oldest first by date, then id; undated items (unreadable dates) before the dated ones."""
    return (item.date is not None, item.date or datetime.min.replace(tzinfo=UTC), item.id or 0)


def _group_shaped(answer: Mapping[str, Any]) -> bool:
    """Whether a create answer is a PostGroup rather than the documented Post."""
    if isinstance(answer.get("posts"), list):
        return True
    return "account_id" not in answer and any(k in answer for k in ("create_date", "from_user", "is_scheduled"))


def _search_params(query: str, account_ids: Sequence[int] | int) -> dict[str, Any]:
    ids = [account_ids] if isinstance(account_ids, int) else list(account_ids)
    return {"query": query, "account_ids": ",".join(str(i) for i in ids)}


def oauth_base_url(base_url: str) -> str:
    """The OAuth API base for a configured base URL: ``…/token/v1`` becomes ``…/v1``."""
    parts = urlsplit(base_url.rstrip("/"))
    path = re.sub(r"/token(/v\d+)$", r"\1", parts.path)
    return parts._replace(path=path).geturl()


_NOT_JSON = object()


def _json_body(content: bytes) -> Any:
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _is_link(value: str) -> bool:
    return "://" in value or value.startswith(("/", "?"))


def _transport_error(exc: httpx.HTTPError, call: _Call) -> ResontTransportError:
    """A transport failure without the URL (it carries the token)."""
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    if isinstance(exc, httpx.TimeoutException):
        reason = "did not answer in time"
    elif never_sent:
        reason = "could not be reached"
    else:
        reason = f"broke the connection ({type(exc).__name__})"
    return ResontTransportError(f"Resont {reason} ({call.method} {call.path})", sent=not never_sent)


def _log_retry(call: _Call, state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("Resont %s %s failed (%s); retry %d in %.1fs", call.method, call.path, exc, state.attempt_number, wait)

"""A stateful fake of the Resont REST API, built from the document and the endpoint table.

Reach it in-process (``httpx.AsyncClient(transport=fake.transport())``) or over loopback
(``with fake.serve() as server: server.url``). Token mode lives under ``/token/v1`` (``?token=``),
OAuth mode under ``/v1`` (``?access_token=``), and the OAuth server under ``/web/oauth``.

What it does like the real service (as far as the document tells):

* checks the token on every call (401 with a documented error body and a ``trace_id``);
* renders every date in the user's ``me`` settings (``dateformat``/``timeformat`` in PHP
  notation, ``timezone``; optionally the Jalali calendar), so clients must parse them;
* pages lists with ``{data, paging: {total, page, totalPage, next, prev}}`` (absolute links that
  keep the filters but not the token) and cursor lists newest first with
  ``{data, paging: {total, after, before}}`` (``after`` = older items, ``before`` = newer ones,
  which may exceed a page and then carries both cursors);
* reads the document literally where it is strict: "Create post", "Edit post" and "Edit post
  after publish" refuse (400, ValidationException) a request that leaves out a field not marked
  "(Optional)" (``location`` too, for a post that has one); create and edit answer a *Post*; a
  post group carries no media, accounts or location of its own (its ``posts`` do);
* serves a conversation's messages as one unpaged array, oldest first by default
  (``messages_order``: ``oldest``, ``newest`` or ``shuffled``), as the document promises no order;
* changes state on actions: replies create comments, DM replies add outbound messages and bump
  the conversation, like/tag/delete/cancel/retry/edit change what later reads return, deleted
  items answer 404;
* records uploads, and issues/refreshes OAuth tokens, expiring access tokens on demand.

Seeding helpers (``add_account``, ``add_comment``, ``add_post_group`` …) return the stored record
(a dict; ``record["id"]`` is its id) and default their creation times one minute apart, in
order, so that the last one added is the newest.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import jdatetime

from tests.fakes.base import FakeRequest, FakeResponse, FakeService, UploadedFile

#: (method, path regex, handler name). Specific paths come before ``{id}`` catch-alls.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", r"account", "account_list"),
    ("POST", r"account", "account_create"),
    ("GET", r"account/(\d+)", "account_detail"),
    ("PUT", r"account/(\d+)", "account_edit"),
    ("DELETE", r"account/(\d+)", "account_delete"),
    ("GET", r"account-group", "group_list"),
    ("POST", r"account-group", "group_create"),
    ("GET", r"account-group/(\d+)", "group_detail"),
    ("PUT", r"account-group/(\d+)", "group_edit"),
    ("DELETE", r"account-group/(\d+)", "group_delete"),
    ("GET", r"comment", "comment_list"),
    ("POST", r"comment/subscribe", "comment_subscribe"),
    ("GET", r"comment/social-user/([^/]+)", "social_user"),
    ("GET", r"comment/(\d+)", "comment_detail"),
    ("DELETE", r"comment/(\d+)", "comment_delete"),
    ("GET", r"comment/(\d+)/replies", "comment_replies"),
    ("POST", r"comment/(\d+)/reply", "comment_reply"),
    ("POST", r"comment/(\d+)/like", "comment_like"),
    ("POST", r"comment/(\d+)/tag", "comment_tag"),
    ("GET", r"comment/(\d+)/post", "comment_post"),
    ("GET", r"comment-tag", "ctag_list"),
    ("POST", r"comment-tag", "ctag_create"),
    ("GET", r"comment-tag/(\d+)", "ctag_detail"),
    ("PUT", r"comment-tag/(\d+)", "ctag_edit"),
    ("DELETE", r"comment-tag/(\d+)", "ctag_delete"),
    ("GET", r"conversation", "conv_list"),
    ("POST", r"conversation/subscribe", "conv_subscribe"),
    ("GET", r"conversation/message/(\d+)", "message_detail"),
    ("POST", r"conversation/message/(\d+)/reaction", "message_reaction"),
    ("GET", r"conversation/(\d+)", "conv_detail"),
    ("GET", r"conversation/(\d+)/messages", "conv_messages"),
    ("POST", r"conversation/(\d+)/reply", "conv_reply"),
    ("POST", r"conversation/(\d+)/tag", "conv_tag"),
    ("GET", r"conversation-tag", "vtag_list"),
    ("POST", r"conversation-tag", "vtag_create"),
    ("GET", r"conversation-tag/(\d+)", "vtag_detail"),
    ("PUT", r"conversation-tag/(\d+)", "vtag_edit"),
    ("DELETE", r"conversation-tag/(\d+)", "vtag_delete"),
    ("GET", r"file", "file_list"),
    ("POST", r"file", "file_upload"),
    ("GET", r"file/(\d+)", "file_detail"),
    ("DELETE", r"file/(\d+)", "file_delete"),
    ("POST", r"file/(\d+)/generateImage", "file_sticker"),
    ("GET", r"insights/account/(\d+)", "insights_account"),
    ("GET", r"insights/post/(\d+)", "insights_post"),
    ("GET", r"me", "me"),
    ("GET", r"me/files", "me_files"),
    ("GET", r"post", "post_list"),
    ("POST", r"post", "post_create"),
    ("GET", r"post/draft", "post_drafts"),
    ("GET", r"post/group/(\d+)", "post_group"),
    ("GET", r"post/(\d+)", "post_detail"),
    ("PUT", r"post/(\d+)", "post_edit"),
    ("DELETE", r"post/(\d+)", "post_delete"),
    ("POST", r"post/(\d+)/edit", "post_edit_published"),
    ("POST", r"post/(\d+)/retry", "post_retry"),
    ("POST", r"post/(\d+)/cancel", "post_cancel"),
    ("GET", r"search/location", "search_location"),
    ("GET", r"search/people", "search_people"),
    ("GET", r"search/hashtag", "search_hashtag"),
    ("GET", r"ticket", "ticket_list"),
    ("POST", r"ticket", "ticket_create"),
    ("GET", r"ticket/department", "ticket_departments"),
    ("GET", r"ticket/(\d+)", "ticket_detail"),
    ("GET", r"ticket/(\d+)/meta", "ticket_meta"),
    ("POST", r"ticket/(\d+)/meta", "ticket_reply"),
    ("POST", r"ticket/(\d+)/close", "ticket_close"),
)

#: First id of each kind, so ids of different kinds never look alike in a test.
ID_BASES: tuple[tuple[str, int], ...] = (
    ("account", 1),
    ("group", 101),
    ("comment", 1001),
    ("conversation", 2001),
    ("message", 3001),
    ("file", 4001),
    ("post_group", 5001),
    ("post", 6001),
    ("ticket", 7001),
    ("ticket_meta", 7501),
    ("tag", 8001),
    ("social_user", 9001),
    ("account_post", 9501),
    ("department", 1),
)

#: The fields of "Create post" / "Edit post" the document does not mark "(Optional)"
#: (``location`` too, for a post that has one).
WHOLE_POST = ("caption", "type", "account_ids", "media_ids", "is_scheduled", "schedule_date", "is_draft")
POST_TYPES = ("text", "image", "album", "video", "document", "story")
#: The document's list of scopes.
OAUTH_SCOPES = (
    "basic",
    "mobile",
    "offline_access",
    "implicit_approve",
    "account",
    "post",
    "publish",
    "insights",
    "comment",
    "inbox",
)
REDIRECT_NETWORKS = ("instagramofficial", "linkedin", "youtube", "twitter", "pinterest", "facebook")
EDITABLE_AFTER_PUBLISH = ("telegram", "instagram", "instagramofficial")

_STRFTIME = MappingProxyType(
    {
        "d": "%d",
        "j": "%d",
        "m": "%m",
        "n": "%m",
        "Y": "%Y",
        "y": "%y",
        "H": "%H",
        "G": "%H",
        "i": "%M",
        "s": "%S",
        "M": "%b",
        "F": "%B",
        "D": "%a",
        "l": "%A",
        "A": "%p",
        "a": "%p",
        "h": "%I",
        "g": "%I",
    }
)


def php_to_strftime(layout: str) -> str:
    """The fake's own (deliberately simple) PHP date() → strftime translation."""
    out, escaped = [], False
    for char in layout:
        if escaped:
            out.append(char.replace("%", "%%"))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(_STRFTIME.get(char, char.replace("%", "%%")))
    return "".join(out)


@dataclass
class ResontRequest(FakeRequest):
    """A request plus which API it came through: ``token``, ``oauth`` or ``web`` (OAuth server)."""

    api: str = "token"


class FakeError(Exception):
    """Raised by a handler: answer with the documented error body."""

    def __init__(self, status: int, message: str, type_: str = "HttpException") -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type_


def _invalid(message: str) -> FakeError:
    return FakeError(400, message, "ValidationException")


def _missing(what: str) -> FakeError:
    return FakeError(404, f"{what} not found.")


class FakeResont(FakeService):
    """The fake Resont: state, seeding helpers, every documented endpoint, OAuth server."""

    base_path = "/token/v1"

    def __init__(
        self,
        token: str = "test-token",
        *,
        page_size: int = 5,
        dateformat: str = "Y-m-d",
        timeformat: str = "H:i",
        timezone_name: str = "Asia/Tehran",
        jalali: bool = False,
        client_id: str = "test-client",
        client_secret: str = "test-secret",
        redirect_uri: str = "https://bot.example/oauth/callback",
        cursor_style: str = "url",
        echo_token: bool = False,
        wrap_objects: bool = False,
        access_token_ttl: float = 30 * 86400,
        rotate_refresh_tokens: bool = False,
        clock: Callable[[], datetime] | None = None,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.page_size = page_size
        self.jalali = jalali
        self.client_id, self.client_secret, self.redirect_uri = client_id, client_secret, redirect_uri
        self.cursor_style = cursor_style  # "url" (absolute links) or "value" (bare cursors)
        self.echo_token = echo_token  # put the caller's token back into paging links
        self.wrap_objects = wrap_objects  # answer single objects as {"data": {...}}
        self.access_token_ttl = access_token_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.list_owner_replies = False  # the account's own replies in the comment list
        self.retry_outcome = "published"  # what a retried failed post becomes
        #: a draft stores the schedule_date it is created or edited with (False: ignore it, as a
        #: Resont that keeps no time on drafts would)
        self.drafts_keep_schedule = True
        #: what Create post answers: "post" (the documented Post, with its post_group_id),
        #: "bare_post" (a Post without any group id) or "group" (a PostGroup)
        self.create_answer = "post"
        #: the order of a conversation's messages (an unordered, unpaged array in the document):
        #: "oldest" first, "newest" first, or "shuffled"
        self.messages_order = "oldest"
        self._shuffle = random.Random(7)
        self.user: dict[str, Any] = {
            "email": "team@brand.example",
            "user_type": "legal",
            "company": "Brand Co",
            "name": "Brand Team",
            "mobile": "09120000000",
            "package_id": 3,
            "packageTitle": "Business",
            "timezone": timezone_name,
            "dateformat": dateformat,
            "timeformat": timeformat,
            "language": "en",
            "has_webservice": "1",
            "expire_date": datetime(2030, 1, 1, 12, 0, tzinfo=UTC),
        }
        self.user_id = 77
        self.accounts: dict[int, dict[str, Any]] = {}
        self.account_groups: dict[int, dict[str, Any]] = {}
        self.social_users: dict[int, dict[str, Any]] = {}
        self.account_posts: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.comment_tags: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.conversation_tags: dict[int, dict[str, Any]] = {}
        self.files: dict[int, dict[str, Any]] = {}
        self.post_groups: dict[int, dict[str, Any]] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.insights: dict[tuple[str, int], dict[str, Any]] = {}
        self.departments: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.ticket_metas: dict[int, dict[str, Any]] = {}
        self.uploads: list[UploadedFile] = []
        self.sticker_requests: list[dict[str, str]] = []
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, datetime] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.token_requests = 0
        self.refresh_count = 0
        self.authorize_answer = "approve"  # or "deny": what the user does on the authorize page
        self.withheld_scopes: set[str] = set()  # scopes the user does not grant
        self._ids = {kind: itertools.count(start) for kind, start in ID_BASES}
        self._trace = itertools.count(1)
        self._last_seed: datetime | None = None
        self._routes = [(m, re.compile(p), getattr(self, f"_h_{h}")) for m, p, h in ROUTES]
        self.add_department("Technical")
        self.add_department("Financial")

    # ------------------------------------------------------------------ request plumbing

    def build_request(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> ResontRequest:
        path = urlsplit(raw_path).path
        api = "web" if path.startswith("/web/") else "oauth" if re.match(r"^/v\d+(/|$)", path) else "token"
        if api == "oauth":
            raw_path = "/token" + raw_path  # one prefix for the base class to strip
        request = super().build_request(method, raw_path, headers, body)
        return ResontRequest(**vars(request), api=api)

    def route(self, request: FakeRequest) -> FakeResponse:
        assert isinstance(request, ResontRequest)
        try:
            if request.api == "web":
                return self._route_web(request)
            self._check_auth(request)
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(request.path)
                if match and method == request.method:
                    return handler(request, *match.groups())
            raise FakeError(404, "The requested page could not be found.")
        except FakeError as exc:
            return self.error(exc.status, exc.message, exc.type)

    def error(self, status: int, message: str, type_: str = "HttpException") -> FakeResponse:
        """A documented ErrorResponse body with a fresh trace id."""
        trace = f"trace-{next(self._trace):04d}"
        return FakeResponse(status, {"error": {"message": message, "type": type_, "trace_id": trace}})

    def _check_auth(self, request: ResontRequest) -> None:
        name = "access_token" if request.api == "oauth" else "token"
        values = request.query.get(name, [])
        if len(values) > 1:
            raise _invalid(f"The {name} parameter was given more than once.")
        if request.api == "token":
            if values != [self.token]:
                raise FakeError(401, "The token sent is not valid.")
            return
        expires = self.access_tokens.get(values[0]) if values else None
        if expires is None or expires <= self.clock():
            raise FakeError(401, "The access_token sent has expired.")

    def _ok(self, body: Any = None, status: int = 200) -> FakeResponse:
        if body is None:
            body = {"success": True}
        elif self.wrap_objects and isinstance(body, dict):
            body = {"data": body}
        return FakeResponse(status, body)

    def _list(self, items: list[Any]) -> FakeResponse:
        return FakeResponse(200, {"data": items})

    def requests_to(self, pattern: str) -> list[FakeRequest]:
        """Recorded requests whose ``"METHOD path"`` matches ``pattern`` (a regex)."""
        return [r for r in self.requests if re.search(pattern, f"{r.method} {r.path}")]

    # ------------------------------------------------------------------ dates

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.user["timezone"])

    def render_date(self, moment: datetime | None) -> str | None:
        """``moment`` as Resont shows it to this user: their layout, zone and calendar."""
        if moment is None:
            return None
        local = moment.astimezone(self.tz)
        layout = php_to_strftime(f"{self.user['dateformat']} {self.user['timeformat']}")
        if self.jalali:
            return jdatetime.datetime.fromgregorian(datetime=local).strftime(layout)
        return local.strftime(layout)

    def parse_date(self, text: str | None) -> datetime | None:
        """A date filter from a request: unix seconds, ISO, or the user's own layout."""
        if not text:
            return None
        text = text.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        layouts = (f"{self.user['dateformat']} {self.user['timeformat']}", self.user["dateformat"])
        for layout in layouts:
            try:
                naive = datetime.strptime(text, php_to_strftime(layout))
            except ValueError:
                continue
            if self.jalali:
                naive = jdatetime.datetime(naive.year, naive.month, naive.day, naive.hour, naive.minute).togregorian()
            return naive.replace(tzinfo=self.tz)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _invalid(f"The date {text!r} is not a valid date.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)

    def _tick(self, when: datetime | None = None) -> datetime:
        """A creation time: ``when``, else now, kept a minute after the previous seed."""
        if when is not None:
            return when
        now = self.clock().replace(second=0, microsecond=0)
        if self._last_seed is not None and now <= self._last_seed:
            now = self._last_seed + timedelta(minutes=1)
        self._last_seed = now
        return now

    # ------------------------------------------------------------------ paging

    def _link(self, request: ResontRequest, **changes: Any) -> str:
        """An absolute link to this list with the same query (filters), ``changes`` applied."""
        prefix = "/v1" if request.api == "oauth" else "/token/v1"
        drop = {"page", "after", "before"} | ({"token", "access_token"} if not self.echo_token else set())
        pairs = [(k, v) for k, values in request.query.items() if k not in drop for v in values]
        pairs += [(k, str(v)) for k, v in changes.items()]
        host = request.headers.get("host", "resont.test")
        return f"http://{host}{prefix}/{request.path}?{urlencode(pairs)}"

    def _paged(self, request: ResontRequest, items: list[dict[str, Any]]) -> FakeResponse:
        page = _int(request.arg("page"), 1)
        if page < 1:
            raise _invalid("The page must be at least 1.")
        size = self.page_size
        total_pages = max(1, -(-len(items) // size))
        chunk = items[(page - 1) * size : page * size]
        paging = {
            "total": len(items),
            "page": page,
            "totalPage": total_pages,
            "next": self._link(request, page=page + 1) if page < total_pages else None,
            "prev": self._link(request, page=page - 1) if page > 1 else None,
        }
        return FakeResponse(200, {"data": chunk, "paging": paging})

    def _cursored(
        self, request: ResontRequest, records: list[dict[str, Any]], when: str, render: Callable[[dict], dict]
    ) -> FakeResponse:
        """Newest first by ``record[when]``; ``after`` walks to older items, ``before`` to newer."""
        ordered = sorted(records, key=lambda r: (r[when], r["id"]), reverse=True)
        after, before = request.arg("after"), request.arg("before")
        if before:
            bound = self._cursor_key(before, newer=True)
            chunk = [r for r in ordered if (r[when], r["id"]) > bound]
            has_older = len(chunk) < len(ordered)
        else:
            bound = self._cursor_key(after, newer=False) if after else None
            pool = [r for r in ordered if bound is None or (r[when], r["id"]) < bound]
            chunk = pool[: self.page_size]
            has_older = len(pool) > len(chunk)
        paging = {
            "total": len(ordered),
            "after": self._cursor(request, "after", chunk[-1], when) if chunk and has_older else None,
            "before": self._cursor(request, "before", chunk[0], when) if chunk else None,
        }
        return FakeResponse(200, {"data": [render(r) for r in chunk], "paging": paging})

    def _cursor(self, request: ResontRequest, name: str, record: dict[str, Any], when: str) -> str:
        value = f"c{record[when].astimezone(UTC):%Y%m%d%H%M%S%f}_{record['id']}"
        return self._link(request, **{name: value}) if self.cursor_style == "url" else value

    def _cursor_key(self, cursor: str, newer: bool) -> tuple[datetime, float]:
        match = re.fullmatch(r"c(\d{20})_(\d+)", cursor)
        if match:
            moment = datetime.strptime(match.group(1), "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
            return (moment, int(match.group(2)))
        moment = self.parse_date(cursor)  # the document's own example: after=2022-01-01
        assert moment is not None
        return (moment, float("inf") if newer else float("-inf"))

    def _expansions(self, request: ResontRequest) -> dict[str, set[str]]:
        """``with=account(meta),socialUser`` → {"account": {"meta"}, "socialUser": set()}."""
        out: dict[str, set[str]] = {}
        for match in re.finditer(r"(\w+)(?:\(([^)]*)\))?", request.arg("with") or ""):
            out[match.group(1)] = {c.strip() for c in (match.group(2) or "").split(",") if c.strip()}
        return out

    # ------------------------------------------------------------------ seeding: accounts

    def _new_id(self, kind: str) -> int:
        return next(self._ids[kind])

    def add_account(
        self,
        name: str = "Brand",
        type: str = "instagram",
        *,
        identifier: str | None = None,
        login_required: bool = False,
        relogin_reason: str | None = None,
        comment_subscribe: bool = True,
        direct_subscribe: bool = True,
        meta: Mapping[str, Any] | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """A connected account (and the social user it posts and replies as)."""
        with self._lock:
            account_id = self._new_id("account")
            owner = self.add_social_user(identifier or name.lower().replace(" ", "_"), name=name, social=type)
            account = {
                "id": account_id,
                "identifier": owner["username"],
                "name": name,
                "type": type,
                "login_required": int(login_required),
                "relogin_reason": relogin_reason,
                "date": self._tick(created),
                "comment_subscribe": int(comment_subscribe),
                "direct_subscribe": int(direct_subscribe),
                "profile_url": f"https://social.example/{owner['username']}",
                "info": "",
                "insights_order": account_id,
                "meta": dict(meta or {}),
                "owner_id": owner["id"],
            }
            self.accounts[account_id] = account
            return account

    def add_account_group(
        self, name: str, account_ids: Iterable[int], created: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            group = {
                "id": self._new_id("group"),
                "name": name,
                "account_ids": list(account_ids),
                "date": self._tick(created),
            }
            self.account_groups[group["id"]] = group
            return group

    def add_social_user(
        self, username: str, *, name: str | None = None, social: str = "instagram", image: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            for user in self.social_users.values():
                if user["username"] == username and user["social"] == social:
                    return user
            user = {
                "id": self._new_id("social_user"),
                "username": username,
                "name": name or username.title(),
                "image": image or f"https://cdn.example/{username}.jpg",
                "social": social,
            }
            self.social_users[user["id"]] = user
            return user

    def add_account_post(
        self,
        account_id: int,
        content: str = "Our new collection",
        *,
        type: str = "image",
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """A post as published on the network (what comments hang on)."""
        with self._lock:
            account = self._get(self.accounts, account_id, "Account")
            post_id = self._new_id("account_post")
            post = {
                "id": post_id,
                "type": type,
                "post_id": f"{account_id}_{post_id}",
                "image": f"https://cdn.example/p{post_id}.jpg",
                "content": content,
                "date": self._tick(created),
                "like_count": 0,
                "comment_count": 0,
                "social_user_id": account["owner_id"],
                "user_id": self.user_id,
                "account_id": account_id,
                "permalink": f"https://social.example/p/{post_id}",
                "social": account["type"],
            }
            self.account_posts[post_id] = post
            return post

    # ------------------------------------------------------------------ seeding: inbox

    def add_comment_tag(self, name: str, color: str = "#ff0000") -> dict[str, Any]:
        with self._lock:
            tag = {"id": self._new_id("tag"), "name": name, "color": color, "user_id": self.user_id}
            self.comment_tags[tag["id"]] = tag
            return tag

    def add_conversation_tag(self, name: str, color: str = "#00aa00") -> dict[str, Any]:
        with self._lock:
            tag = {"id": self._new_id("tag"), "name": name, "color": color, "user_id": self.user_id}
            self.conversation_tags[tag["id"]] = tag
            return tag

    def add_comment(
        self,
        account_id: int,
        text: str = "Nice post!",
        *,
        post_id: int | None = None,
        username: str = "alice",
        created: datetime | None = None,
        parent_id: int | None = None,
        status: int = 0,
        tags: Iterable[int] = (),
        owner: bool = False,
        can_reply: bool = True,
    ) -> dict[str, Any]:
        """A comment on ``post_id`` (an account post; one is created when omitted). ``owner``
        makes it written by the account itself (as the bot's replies are)."""
        with self._lock:
            account = self._get(self.accounts, account_id, "Account")
            if post_id is None:
                post_id = self.add_account_post(account_id, created=created)["id"]
            post = self._get(self.account_posts, post_id, "Post")
            author = account["owner_id"] if owner else self.add_social_user(username, social=account["type"])["id"]
            comment_id = self._new_id("comment")
            parent = self.comments.get(parent_id) if parent_id else None
            comment = {
                "id": comment_id,
                "comment_id": f"17{comment_id:010d}",
                "text": text,
                "date": self._tick(created),
                "can_delete": 1,
                "can_reply": int(can_reply),
                "can_like": 1,
                "status": status,
                "like": 0,
                "post_id": post["post_id"],
                "account_post_id": post_id,
                "parent_id": str(parent_id) if parent_id else None,
                "social_user_id": author,
                "account_id": account_id,
                "user_id": self.user_id,
                "social": account["type"],
                "tag_ids": list(tags),
                "owner": owner,
                "parentName": self.social_users[parent["social_user_id"]]["username"] if parent else None,
            }
            self.comments[comment_id] = comment
            post["comment_count"] += 1
            return comment

    def add_conversation(
        self,
        account_id: int,
        username: str = "bob",
        *,
        created: datetime | None = None,
        status: int = 0,
        tags: Iterable[int] = (),
    ) -> dict[str, Any]:
        """A DM thread between the account and ``username`` (no messages yet)."""
        with self._lock:
            account = self._get(self.accounts, account_id, "Account")
            peer = self.add_social_user(username, social=account["type"])
            conversation_id = self._new_id("conversation")
            conversation = {
                "id": conversation_id,
                "conversation_id": f"t_{conversation_id}",
                "account_id": account_id,
                "participants": [peer["id"]],
                "update_date": self._tick(created),
                "last_message": None,
                "last_seen_message_id": None,
                "last_seen_time": None,
                "tag_ids": list(tags),
                "status": status,
            }
            self.conversations[conversation_id] = conversation
            return conversation

    def add_message(
        self,
        conversation_id: int,
        text: str = "Hello, is this available?",
        *,
        inbound: bool = True,
        created: datetime | None = None,
        type: str = "text",
        attachment: str | None = None,
    ) -> dict[str, Any]:
        """A message in a conversation; it moves the conversation's update time."""
        with self._lock:
            conversation = self._get(self.conversations, conversation_id, "Conversation")
            account = self.accounts[conversation["account_id"]]
            message_id = self._new_id("message")
            message = {
                "id": message_id,
                "message_id": f"m_{message_id}",
                "conversation_id": conversation_id,
                "type": type,
                "attachment": attachment,
                "text": text,
                "date": self._tick(created),
                "can_delete": 1,
                "can_reaction": 1,
                "social_user_id": conversation["participants"][0] if inbound else account["owner_id"],
                "reactions": [],
                "account_id": account["id"],
                "is_owner": not inbound,
            }
            self.messages[message_id] = message
            conversation["update_date"] = max(conversation["update_date"], message["date"])
            conversation["last_message"] = text
            return message

    # ------------------------------------------------------------------ seeding: media, posts

    def add_file(
        self,
        title: str = "photo.jpg",
        content: bytes = b"\x89PNG fake",
        *,
        content_type: str = "image/jpeg",
        created: datetime | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            file_id = self._new_id("file")
            major = content_type.split("/")[0]
            record = {
                "id": file_id,
                "title": title,
                "filesize": len(content),
                "date": self._tick(created),
                "url": f"https://cdn.example/files/{file_id}/{title}",
                "thumbnailUrl": f"https://cdn.example/thumbs/{file_id}.jpg",
                "fileType": major if major in ("image", "video") else "document",
                "ext": title.rsplit(".", 1)[-1].lower() if "." in title else "",
            }
            self.files[file_id] = record
            return record

    def add_post_group(
        self,
        caption: str = "New product launch",
        account_ids: Iterable[int] | None = None,
        *,
        status: str = "draft",
        schedule: datetime | None = None,
        media_ids: Iterable[int] = (),
        type: str = "text",
        custom_captions: Mapping[str, str] | None = None,
        from_user: str | None = "Author",
        log: str | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """A post group in ``status`` draft, scheduled, published, failed or canceled, with one
        post per account (failed posts carry ``log`` as their error text)."""
        with self._lock:
            ids = list(account_ids) if account_ids is not None else list(self.accounts)[:1]
            group = {
                "id": self._new_id("post_group"),
                "type": type,
                "caption": caption,
                "custom_captions": dict(custom_captions or {}),
                "account_ids": ids,
                "media_ids": list(media_ids),
                "schedule_date": schedule,
                "create_date": self._tick(created),
                "from_user": from_user,
                "status": status,
                "location": None,
                "form": {},
                "post_ids": [],
            }
            self.post_groups[group["id"]] = group
            self._make_posts(group, log=log)
            return group

    def _make_posts(self, group: dict[str, Any], log: str | None = None) -> None:
        for post_id in group["post_ids"]:
            self.posts.pop(post_id, None)
        group["post_ids"] = []
        for account_id in group["account_ids"]:
            post = {"id": self._new_id("post"), "post_group_id": group["id"], "account_id": account_id}
            self.posts[post["id"]] = post
            group["post_ids"].append(post["id"])
        self._set_status(group, group["status"], log)

    def _set_status(self, group: dict[str, Any], status: str, log: str | None = None) -> None:
        group["status"] = status
        published = self.clock() if status == "published" else None
        for post_id in group["post_ids"]:
            post = self.posts[post_id]
            post.update(
                status=status,
                log=log if status == "failed" else None,
                caption=group["caption"],
                media_ids=list(group["media_ids"]),
                location=group["location"],
                publish_date=published or (group["schedule_date"] if status == "scheduled" else None),
            )

    def fail_post_group(self, group_id: int, log: str = "The account needs to log in again.") -> dict[str, Any]:
        """Make a post group fail (as the publisher would), with ``log`` as its error text."""
        with self._lock:
            group = self._get(self.post_groups, group_id, "Post group")
            self._set_status(group, "failed", log)
            return group

    def edit_in_panel(self, group_id: int, **fields: Any) -> dict[str, Any]:
        """Change a post group as a person in Resont's panel would (``caption``, ``media_ids``,
        ``custom_captions``, ``type``, ``schedule_date`` …); its posts follow."""
        with self._lock:
            group = self._get(self.post_groups, group_id, "Post group")
            group.update(fields)
            self._set_status(group, group["status"])
            return group

    def publish_due(
        self, now: datetime | None = None, *, fail: bool = False, log: str = "Publishing failed."
    ) -> list[int]:
        """Publish (or fail) every scheduled group whose time has come; returns their ids."""
        with self._lock:
            now = now or self.clock()
            due = [
                g
                for g in self.post_groups.values()
                if g["status"] == "scheduled" and g["schedule_date"] and g["schedule_date"] <= now
            ]
            for group in due:
                self._set_status(group, "failed" if fail else "published", log)
            return [g["id"] for g in due]

    def set_insights(self, kind: str, item_id: int, metrics: Mapping[str, Any]) -> None:
        """Insights data for ``("account"|"post", id)``: metric name → data."""
        with self._lock:
            self.insights[(kind, item_id)] = dict(metrics)

    def add_department(self, name: str) -> dict[str, Any]:
        with self._lock:
            department = {"id": self._new_id("department"), "name": name}
            self.departments[department["id"]] = department
            return department

    def add_ticket(
        self, title: str, content: str, department_id: int = 1, created: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            ticket = {
                "id": self._new_id("ticket"),
                "title": title,
                "status": 1,
                "status_name": "Open",
                "date": self._tick(created),
                "department_id": department_id,
                "rate": None,
            }
            self.tickets[ticket["id"]] = ticket
            self._add_ticket_meta(ticket["id"], content, admin=False)
            return ticket

    def answer_ticket(self, ticket_id: int, content: str) -> dict[str, Any]:
        """Support answers a ticket."""
        with self._lock:
            self._get(self.tickets, ticket_id, "Ticket").update(status=2, status_name="Answered")
            return self._add_ticket_meta(ticket_id, content, admin=True)

    def _add_ticket_meta(
        self, ticket_id: int, content: str, admin: bool, attachment: str | None = None
    ) -> dict[str, Any]:
        meta = {
            "id": self._new_id("ticket_meta"),
            "content": content,
            "date": self._tick(),
            "ticket_id": ticket_id,
            "attachment": attachment,
            "report": None,
            "admin": admin,
        }
        self.ticket_metas[meta["id"]] = meta
        return meta

    # ------------------------------------------------------------------ seeding: OAuth

    def issue_code(self, scope: str = "offline_access", redirect_uri: str | None = None) -> str:
        """An authorisation code, as the authorize page would hand out (valid 30 seconds)."""
        with self._lock:
            code = secrets.token_urlsafe(12)
            self.codes[code] = {"scope": scope, "redirect_uri": redirect_uri or self.redirect_uri, "at": self.clock()}
            return code

    def issue_tokens(self, scope: str = "offline_access") -> tuple[str, str]:
        """A fresh (access token, refresh token) pair."""
        with self._lock:
            access = f"at-{secrets.token_urlsafe(12)}"
            refresh = f"rt-{secrets.token_urlsafe(12)}"
            self.access_tokens[access] = self.clock() + timedelta(seconds=self.access_token_ttl)
            self.refresh_tokens[refresh] = {"scope": scope, "expires": self.clock() + timedelta(days=365)}
            return access, refresh

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (Resont answers 401)."""
        with self._lock:
            past = self.clock() - timedelta(seconds=1)
            for token in self.access_tokens:
                self.access_tokens[token] = past

    def webhook_payload(self, kind: str, item_id: int, *, user_id_as_string: bool = False) -> dict[str, Any]:
        """A webhook body as Resont would push it for a stored comment or message."""
        with self._lock:
            if kind == "comment_created":
                comment = self._get(self.comments, item_id, "Comment")
                payload = self._render_comment(comment, {"socialUser": set(), "account": set()})
            else:
                payload = self._render_message(self._get(self.messages, item_id, "Message"))
            user_id: Any = str(self.user_id) if user_id_as_string else self.user_id
            return {"type": kind, "user_id": user_id, "payload": payload}

    # ------------------------------------------------------------------ rendering

    def _get(self, table: dict[int, dict[str, Any]], item_id: Any, what: str) -> dict[str, Any]:
        record = table.get(_int(item_id, -1))
        if record is None:
            raise _missing(what)
        return record

    def _render_account(self, account: dict[str, Any], children: set[str] | None = None) -> dict[str, Any]:
        out = {k: v for k, v in account.items() if k not in ("meta", "owner_id")}
        out["date"] = self.render_date(account["date"])
        if children is not None and "meta" in children:
            out["meta"] = dict(account["meta"])
        return out

    def _render_social_user(self, user_id: int | None) -> dict[str, Any] | None:
        user = self.social_users.get(user_id) if user_id is not None else None
        return dict(user) if user else None

    def _render_tags(self, table: dict[int, dict[str, Any]], ids: Iterable[int]) -> list[dict[str, Any]]:
        return [dict(table[i]) for i in ids if i in table]

    def _render_account_post(self, post: dict[str, Any]) -> dict[str, Any]:
        return {**post, "date": self.render_date(post["date"])}

    def _render_comment(self, comment: dict[str, Any], expand: Mapping[str, set[str]] | None = None) -> dict[str, Any]:
        hidden = ("tag_ids", "owner", "account_post_id")
        out = {k: v for k, v in comment.items() if k not in hidden}
        out.update(
            date=self.render_date(comment["date"]),
            tags=self._render_tags(self.comment_tags, comment["tag_ids"]),
            is_owner=int(comment["owner"]),  # undocumented, like the message flag
        )
        expand = expand or {}
        if "account" in expand:
            out["account"] = self._render_account(self.accounts[comment["account_id"]], expand["account"])
        if "socialUser" in expand:
            out["socialUser"] = self._render_social_user(comment["social_user_id"])
        if "accountPost" in expand and comment["account_post_id"] in self.account_posts:
            out["accountPost"] = self._render_account_post(self.account_posts[comment["account_post_id"]])
        return out

    def _render_conversation(
        self, conversation: dict[str, Any], expand: Mapping[str, set[str]] | None = None
    ) -> dict[str, Any]:
        out = {k: v for k, v in conversation.items() if k not in ("tag_ids",)}
        out.update(
            update_date=self.render_date(conversation["update_date"]),
            last_seen_time=self.render_date(conversation["last_seen_time"]),
            participants=[
                {"social_user_id": uid, "socialUser": self._render_social_user(uid)}
                for uid in conversation["participants"]
            ],
            tags=self._render_tags(self.conversation_tags, conversation["tag_ids"]),
        )
        if expand and "account" in expand:
            out["account"] = self._render_account(self.accounts[conversation["account_id"]], expand["account"])
        return out

    def _render_message(self, message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "date": self.render_date(message["date"]), "is_owner": int(message["is_owner"])}

    def _render_file(self, record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "date": self.render_date(record["date"])}

    def _render_post(self, post: dict[str, Any]) -> dict[str, Any]:
        return {**post, "publish_date": self.render_date(post.get("publish_date"))}

    def _render_group(self, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": group["id"],
            "type": group["type"],
            "caption": group["caption"],
            "is_scheduled": "1" if group["status"] == "scheduled" or group["schedule_date"] else "0",
            "is_draft": 1 if group["status"] == "draft" else 0,
            "create_date": self.render_date(group["create_date"]),
            "schedule_date": self.render_date(group["schedule_date"]),
            "from_user": group["from_user"],
            "status": group["status"],
            "custom_captions": group["custom_captions"],
            # media, accounts and location live on each Post (the documented PostGroup has none)
            "posts": [self._render_post(self.posts[p]) for p in group["post_ids"]],
        }

    def _render_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {**ticket, "date": self.render_date(ticket["date"])}

    def _render_ticket_meta(self, meta: dict[str, Any]) -> dict[str, Any]:
        user = (
            {"name": "Support", "firstname": "Resont", "lastname": "Support", "isAdmin": "1"}
            if meta["admin"]
            else {"name": self.user["name"], "firstname": "Brand", "lastname": "Team", "isAdmin": "0"}
        )
        out = {k: v for k, v in meta.items() if k != "admin"}
        return {**out, "date": self.render_date(meta["date"]), "user": user}

    # ------------------------------------------------------------------ handlers: accounts

    def _h_account_list(self, request: ResontRequest) -> FakeResponse:
        children = {"meta"} if "meta" in self._expansions(request) else None
        return self._list([self._render_account(a, children) for a in self.accounts.values()])

    def _h_account_create(self, request: ResontRequest) -> FakeResponse:
        kind = (request.arg("type") or "").lower()
        if not kind:
            raise _invalid("The type field is required.")
        if kind in REDIRECT_NETWORKS:
            target = request.arg("redirect") or "https://bot.example/done"
            return self._ok({"redirect": f"https://{kind}.example/oauth?return={target}"})
        username = request.arg("username")
        if not username:
            raise _invalid("The username field is required.")
        meta = {k: request.arg(k) for k in ("botusername", "botapikey") if request.arg(k)}
        account = self.add_account(username, kind, identifier=username, meta=meta)
        return self._ok(self._render_account(account))

    def _h_account_detail(self, request: ResontRequest, account_id: str) -> FakeResponse:
        account = self._get(self.accounts, account_id, "Account")
        return self._ok(self._render_account(account, {"meta"} if "meta" in self._expansions(request) else None))

    def _h_account_edit(self, request: ResontRequest, account_id: str) -> FakeResponse:
        account = self._get(self.accounts, account_id, "Account")
        kind = (request.arg("type") or account["type"]).lower()
        if kind in REDIRECT_NETWORKS and request.arg("redirect"):
            return self._ok({"redirect": f"https://{kind}.example/oauth?return={request.arg('redirect')}"})
        if request.arg("username"):
            account.update(name=request.arg("username"), login_required=0, relogin_reason=None)
        account["meta"].update({k: request.arg(k) for k in ("botusername", "botapikey") if request.arg(k)})
        return self._ok(self._render_account(account))

    def _h_account_delete(self, request: ResontRequest, account_id: str) -> FakeResponse:
        self._get(self.accounts, account_id, "Account")
        del self.accounts[int(account_id)]
        return self._ok()

    def _account_ids(self, request: ResontRequest, required: bool = True) -> list[int]:
        ids = [_int(v, -1) for v in request.args("account_ids") if v != ""]
        if required and not ids:
            raise _invalid("The account ids field is required.")
        unknown = [i for i in ids if i not in self.accounts]
        if unknown:
            raise _invalid(f"The selected account ids are invalid: {unknown}.")
        return ids

    def _h_group_list(self, request: ResontRequest) -> FakeResponse:
        return self._list([{**g, "date": self.render_date(g["date"])} for g in self.account_groups.values()])

    def _h_group_create(self, request: ResontRequest) -> FakeResponse:
        if not request.arg("name"):
            raise _invalid("The name field is required.")
        group = self.add_account_group(request.arg("name") or "", self._account_ids(request))
        return self._ok({**group, "date": self.render_date(group["date"])})

    def _h_group_detail(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.account_groups, group_id, "Account group")
        return self._ok({**group, "date": self.render_date(group["date"])})

    def _h_group_edit(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.account_groups, group_id, "Account group")
        if request.arg("name"):
            group["name"] = request.arg("name")
        if request.args("account_ids"):
            group["account_ids"] = self._account_ids(request)
        return self._ok({**group, "date": self.render_date(group["date"])})

    def _h_group_delete(self, request: ResontRequest, group_id: str) -> FakeResponse:
        self._get(self.account_groups, group_id, "Account group")
        del self.account_groups[int(group_id)]
        return self._ok()

    # ------------------------------------------------------------------ handlers: comments

    def _h_comment_list(self, request: ResontRequest) -> FakeResponse:
        tags = {_int(t, -1) for t in request.args("tag") if t != ""}
        status, search = request.arg("status"), (request.arg("search") or "").lower()
        date_from, date_to = self.parse_date(request.arg("date_from")), self.parse_date(request.arg("date_to"))
        items = [
            c
            for c in self.comments.values()
            if (self.list_owner_replies or not c["owner"])
            and (not tags or tags & set(c["tag_ids"]))
            and (status is None or str(c["status"]) == status)
            and (not search or search in c["text"].lower())
            and (date_from is None or c["date"] >= date_from)
            and (date_to is None or c["date"] <= date_to)
        ]
        expand = self._expansions(request)
        return self._cursored(request, items, "date", lambda c: self._render_comment(c, expand))

    def _h_comment_detail(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        comment = self._get(self.comments, comment_id, "Comment")
        return self._ok(self._render_comment(comment, self._expansions(request)))

    def _h_comment_delete(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        self._get(self.comments, comment_id, "Comment")
        doomed = {int(comment_id)} | {c["id"] for c in self.comments.values() if c["parent_id"] == comment_id}
        for key in doomed:
            del self.comments[key]
        return self._ok()

    def _h_comment_replies(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        self._get(self.comments, comment_id, "Comment")
        replies = sorted(
            (c for c in self.comments.values() if c["parent_id"] == comment_id),
            key=lambda c: (c["date"], c["id"]),
            reverse=True,
        )
        expand = self._expansions(request)
        return self._paged(request, [self._render_comment(c, expand) for c in replies])

    def _h_comment_reply(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        original = self._get(self.comments, comment_id, "Comment")
        text = request.arg("comment")
        if not text:
            raise _invalid("The comment field is required.")
        if not original["can_reply"]:
            raise FakeError(403, "This comment cannot be replied to.")
        reply = self.add_comment(
            original["account_id"],
            text,
            post_id=original["account_post_id"],
            parent_id=original["id"],
            owner=True,
            created=self._tick(),
        )
        return self._ok(self._render_comment(reply))

    def _h_comment_like(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        comment = self._get(self.comments, comment_id, "Comment")
        comment["like"] = 0 if comment["like"] else 1
        return self._ok()

    def _h_comment_tag(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        comment = self._get(self.comments, comment_id, "Comment")
        comment["tag_ids"] = self._tag_ids(request, self.comment_tags)
        return self._ok(self._render_comment(comment))

    def _tag_ids(self, request: ResontRequest, table: dict[int, dict[str, Any]]) -> list[int]:
        ids = [_int(t, -1) for t in request.args("tag") if t != ""]
        unknown = [i for i in ids if i not in table]
        if unknown:
            raise _invalid(f"The selected tag is invalid: {unknown}.")
        return ids

    def _h_comment_subscribe(self, request: ResontRequest) -> FakeResponse:
        for account_id in self._account_ids(request):
            self.accounts[account_id]["comment_subscribe"] = 1
        return self._ok()

    def _h_social_user(self, request: ResontRequest, user_id: str) -> FakeResponse:
        return self._ok(dict(self._get(self.social_users, user_id, "User")))

    def _h_comment_post(self, request: ResontRequest, comment_id: str) -> FakeResponse:
        comment = self._get(self.comments, comment_id, "Comment")
        return self._ok(self._render_account_post(self._get(self.account_posts, comment["account_post_id"], "Post")))

    # ------------------------------------------------------------------ handlers: tags (both kinds)

    def _tag_create(self, request: ResontRequest, table: dict[int, dict[str, Any]]) -> FakeResponse:
        if not request.arg("name"):
            raise _invalid("The name field is required.")
        tag = {
            "id": self._new_id("tag"),
            "name": request.arg("name"),
            "color": request.arg("color") or "#888888",
            "user_id": self.user_id,
        }
        table[tag["id"]] = tag
        return self._ok(dict(tag))

    def _tag_edit(self, request: ResontRequest, table: dict[int, dict[str, Any]], tag_id: str) -> FakeResponse:
        tag = self._get(table, tag_id, "Tag")
        tag.update({k: request.arg(k) for k in ("name", "color") if request.arg(k)})
        return self._ok(dict(tag))

    def _tag_delete(self, table: dict[int, dict[str, Any]], tag_id: str) -> FakeResponse:
        self._get(table, tag_id, "Tag")
        del table[int(tag_id)]
        return self._ok()

    def _h_ctag_list(self, request: ResontRequest) -> FakeResponse:
        return self._list([dict(t) for t in self.comment_tags.values()])

    def _h_ctag_create(self, request: ResontRequest) -> FakeResponse:
        return self._tag_create(request, self.comment_tags)

    def _h_ctag_detail(self, request: ResontRequest, tag_id: str) -> FakeResponse:
        return self._ok(dict(self._get(self.comment_tags, tag_id, "Tag")))

    def _h_ctag_edit(self, request: ResontRequest, tag_id: str) -> FakeResponse:
        return self._tag_edit(request, self.comment_tags, tag_id)

    def _h_ctag_delete(self, request: ResontRequest, tag_id: str) -> FakeResponse:
        return self._tag_delete(self.comment_tags, tag_id)

    def _h_vtag_list(self, request: ResontRequest) -> FakeResponse:
        return self._list([dict(t) for t in self.conversation_tags.values()])

    def _h_vtag_create(self, request: ResontRequest) -> FakeResponse:
        return self._tag_create(request, self.conversation_tags)

    def _h_vtag_detail(self, request: ResontRequest, tag_id: str) -> FakeResponse:
        return self._ok(dict(self._get(self.conversation_tags, tag_id, "Tag")))

    def _h_vtag_edit(self, request: ResontRequest, tag_id: str) -> FakeResponse:
        return self._tag_edit(request, self.conversation_tags, tag_id)

    def _h_vtag_delete(self, request: ResontRequest, tag_id: str) -> FakeResponse:
        return self._tag_delete(self.conversation_tags, tag_id)

    # ------------------------------------------------------------------ handlers: conversations

    def _h_conv_list(self, request: ResontRequest) -> FakeResponse:
        tags = {_int(t, -1) for t in request.args("tag") if t != ""}
        status, search = request.arg("status"), (request.arg("search") or "").lower()
        items = [
            c
            for c in self.conversations.values()
            if (not tags or tags & set(c["tag_ids"]))
            and (status is None or str(c["status"]) == status)
            and (not search or search in (c["last_message"] or "").lower())
        ]
        expand = self._expansions(request)
        return self._cursored(request, items, "update_date", lambda c: self._render_conversation(c, expand))

    def _h_conv_detail(self, request: ResontRequest, conversation_id: str) -> FakeResponse:
        conversation = self._get(self.conversations, conversation_id, "Conversation")
        return self._ok(self._render_conversation(conversation, self._expansions(request)))

    def _h_conv_messages(self, request: ResontRequest, conversation_id: str) -> FakeResponse:
        self._get(self.conversations, conversation_id, "Conversation")
        date_from, date_to = self.parse_date(request.arg("date_from")), self.parse_date(request.arg("date_to"))
        items = [
            m
            for m in self.messages.values()
            if m["conversation_id"] == int(conversation_id)
            and (date_from is None or m["date"] >= date_from)
            and (date_to is None or m["date"] <= date_to)
        ]
        items.sort(key=lambda m: (m["date"], m["id"]), reverse=self.messages_order == "newest")
        if self.messages_order == "shuffled":
            self._shuffle.shuffle(items)
        return self._list([self._render_message(m) for m in items])

    def _h_message_detail(self, request: ResontRequest, message_id: str) -> FakeResponse:
        return self._ok(self._render_message(self._get(self.messages, message_id, "Message")))

    def _h_conv_reply(self, request: ResontRequest, conversation_id: str) -> FakeResponse:
        self._get(self.conversations, conversation_id, "Conversation")
        content = request.arg("content") or ""
        attachments = request.files.get("attachment", [])
        if not content and not attachments:
            raise _invalid("The content field is required.")
        url = None
        if attachments:
            self.uploads.extend(attachments)
            url = f"https://cdn.example/dm/{len(self.uploads)}/{attachments[0].filename}"
        message = self.add_message(
            int(conversation_id),
            content,
            inbound=False,
            created=self._tick(),
            type="media" if url else "text",
            attachment=url,
        )
        return self._ok(self._render_message(message))

    def _h_message_reaction(self, request: ResontRequest, message_id: str) -> FakeResponse:
        message = self._get(self.messages, message_id, "Message")
        if request.arg("type") != "like":
            raise _invalid("The selected type is invalid.")
        owner = self.accounts[message["account_id"]]["owner_id"]
        mine = [r for r in message["reactions"] if r["social_user_id"] == owner]
        if mine:
            message["reactions"] = [r for r in message["reactions"] if r["social_user_id"] != owner]
        else:
            reaction = {"social_user_id": owner, "is_owner": True, "socialUser": self._render_social_user(owner)}
            message["reactions"].append(reaction)
        return self._ok()

    def _h_conv_tag(self, request: ResontRequest, conversation_id: str) -> FakeResponse:
        conversation = self._get(self.conversations, conversation_id, "Conversation")
        conversation["tag_ids"] = self._tag_ids(request, self.conversation_tags)
        return self._ok(self._render_conversation(conversation))

    def _h_conv_subscribe(self, request: ResontRequest) -> FakeResponse:
        for account_id in self._account_ids(request):
            self.accounts[account_id]["direct_subscribe"] = 1
        return self._ok()

    # ------------------------------------------------------------------ handlers: files

    def _h_file_list(self, request: ResontRequest) -> FakeResponse:
        kind, search = request.arg("type"), (request.arg("search") or "").lower()
        items = sorted(
            (
                f
                for f in self.files.values()
                if (not kind or f["fileType"] == kind) and (not search or search in f["title"].lower())
            ),
            key=lambda f: f["id"],
            reverse=True,
        )
        return self._paged(request, [self._render_file(f) for f in items])

    def _h_file_upload(self, request: ResontRequest) -> FakeResponse:
        uploaded = request.files.get("file", [])
        if not uploaded:
            raise _invalid("The file field is required.")
        self.uploads.extend(uploaded)
        first = uploaded[0]
        record = self.add_file(first.filename, first.content, content_type=first.content_type, created=self._tick())
        return self._ok(self._render_file(record))

    def _h_file_detail(self, request: ResontRequest, file_id: str) -> FakeResponse:
        return self._ok(self._render_file(self._get(self.files, file_id, "File")))

    def _h_file_delete(self, request: ResontRequest, file_id: str) -> FakeResponse:
        self._get(self.files, file_id, "File")
        del self.files[int(file_id)]
        return self._ok()

    def _h_file_sticker(self, request: ResontRequest, file_id: str) -> FakeResponse:
        self._get(self.files, file_id, "File")
        stickers = {k: v[0] for k, v in request.form.items() if k.startswith("sticker[")}
        if not stickers:
            raise _invalid("The sticker field is required.")
        self.sticker_requests.append(stickers)
        image = b"\x89PNG sticker " + json.dumps(stickers, sort_keys=True).encode()
        return self._ok({"image": base64.b64encode(image).decode(), "mime": "image/png"})

    # ------------------------------------------------------------------ handlers: insights, user

    def _insights(self, request: ResontRequest, kind: str, item_id: int) -> FakeResponse:
        data = self.insights.get((kind, item_id), {})
        wanted = [m for m in request.args("metric") if m] or list(data)
        return self._ok({"insights": [{"metric": [m], "data": data.get(m)} for m in wanted], "metric": wanted})

    def _h_insights_account(self, request: ResontRequest, account_id: str) -> FakeResponse:
        self._get(self.accounts, account_id, "Account")
        period = request.arg("period")
        if not period:
            raise _invalid("The period field is required.")
        if period == "custom" and not (request.arg("date_from") and request.arg("date_to")):
            raise _invalid("A custom period needs date_from and date_to.")
        return self._insights(request, "account", int(account_id))

    def _h_insights_post(self, request: ResontRequest, group_id: str) -> FakeResponse:
        self._get(self.post_groups, group_id, "Post group")
        return self._insights(request, "post", int(group_id))

    def _h_me(self, request: ResontRequest) -> FakeResponse:
        return self._ok({**self.user, "expire_date": self.render_date(self.user["expire_date"])})

    def _h_me_files(self, request: ResontRequest) -> FakeResponse:
        used = sum(f["filesize"] for f in self.files.values())
        total = 1024 * 1024 * 1024
        return self._ok(
            {
                "total_files": len(self.files),
                "max_file_size": 100 * 1024 * 1024,
                "max_file_size_readable": "100 MB",
                "total_storage": total,
                "total_storage_readable": "1 GB",
                "used_storage": used,
                "used_storage_readable": f"{used} B",
                "remaining_storage": total - used,
                "remaining_storage_readable": f"{total - used} B",
            }
        )

    # ------------------------------------------------------------------ handlers: posts

    def _h_post_list(self, request: ResontRequest) -> FakeResponse:
        accounts = set(self._account_ids(request, required=False))
        start, end = self.parse_date(request.arg("publish_from")), self.parse_date(request.arg("publish_to"))
        order = request.arg("order") or "id"
        if order not in ("id", "schedule_date"):
            raise _invalid("The selected order is invalid.")

        def when(group: dict[str, Any]) -> datetime:
            return group["schedule_date"] or group["create_date"]

        items = [
            g
            for g in self.post_groups.values()
            if g["status"] != "draft"
            and (not accounts or accounts & set(g["account_ids"]))
            and (start is None or when(g) >= start)
            and (end is None or when(g) <= end)
        ]
        key = (lambda g: g["id"]) if order == "id" else (lambda g: (when(g), g["id"]))
        return self._paged(request, [self._render_group(g) for g in sorted(items, key=key, reverse=True)])

    def _h_post_drafts(self, request: ResontRequest) -> FakeResponse:
        drafts = sorted(
            (g for g in self.post_groups.values() if g["status"] == "draft"), key=lambda g: g["id"], reverse=True
        )
        return self._paged(request, [self._render_group(g) for g in drafts])

    def _post_fields(self, request: ResontRequest, group: dict[str, Any] | None) -> dict[str, Any]:
        """Validated post fields of a create (``group`` None) or edit request."""
        creating = group is None
        fields: dict[str, Any] = {}
        if creating or request.args("account_ids"):
            fields["account_ids"] = self._account_ids(request)
        kind = request.arg("type")
        if kind is not None or creating:
            if kind not in POST_TYPES:
                raise _invalid("The selected type is invalid.")
            fields["type"] = kind
        media = [_int(m, -1) for m in request.args("media_ids") if m != ""]
        if any(m not in self.files for m in media):
            raise _invalid("The selected media ids are invalid.")
        if media or request.args("media_ids"):
            fields["media_ids"] = media
        for name in ("caption", "location"):
            if request.arg(name) is not None:
                fields[name] = request.arg(name)
        prefix = "custom_captions["
        captions = {k[len(prefix) : -1]: v[0] for k, v in request.form.items() if k.startswith(prefix)}
        if captions:
            fields["custom_captions"] = captions
        if creating and not fields.get("caption") and not media:
            raise _invalid("A post needs a caption or media.")
        return fields

    def _schedule(self, request: ResontRequest, group: dict[str, Any] | None) -> tuple[str, datetime | None]:
        """(status, schedule time) from is_draft / is_scheduled / schedule_date. A draft keeps
        the time it is given (its proposed time: it is not scheduled for it)."""
        current = group["schedule_date"] if group else None
        raw = request.arg("schedule_date")
        if request.arg("is_draft") == "1":
            if raw and raw.isdigit() and self.drafts_keep_schedule:
                return "draft", datetime.fromtimestamp(int(raw), UTC)
            return "draft", current
        if request.arg("is_scheduled") == "1":
            if not raw or not raw.isdigit():
                if current is None:
                    raise _invalid("The schedule date field is required when the post is scheduled.")
                return "scheduled", current
            when = datetime.fromtimestamp(int(raw), UTC)
            if when <= self.clock():
                raise _invalid("The schedule date must be in the future.")
            return "scheduled", when
        if group is not None and request.arg("is_draft") is None and request.arg("is_scheduled") is None:
            return group["status"], current
        return "published", None

    def _require_whole_post(self, request: ResontRequest, group: dict[str, Any] | None) -> None:
        """400 unless every field the document does not mark optional was sent (an empty value
        counts as sent: ``media_ids=`` for a text post, ``schedule_date=`` for one without a
        time); ``location`` is required of a post that has one."""
        missing = [name for name in WHOLE_POST if not _sent(request, name)]
        if group is not None and group["location"] and not _sent(request, "location"):
            missing.append("location")
        if missing:
            raise _invalid(f"The {', '.join(missing)} field(s) are required.")
        for flag in ("is_scheduled", "is_draft"):
            if request.arg(flag) not in ("0", "1"):
                raise _invalid(f"The {flag} field must be 0 or 1.")
        kind = request.arg("type")
        if kind != "text" and not [m for m in request.args("media_ids") if m]:
            raise _invalid(f"The media ids field is required for a {kind} post.")

    def _first_post(self, group: dict[str, Any], with_group_id: bool = True) -> dict[str, Any]:
        """What "Create post" and "Edit post" answer: a Post (the group's first)."""
        post = self._render_post(self.posts[group["post_ids"][0]])
        if not with_group_id:
            post.pop("post_group_id", None)
        return post

    def _h_post_create(self, request: ResontRequest) -> FakeResponse:
        self._require_whole_post(request, None)
        fields = self._post_fields(request, None)
        status, when = self._schedule(request, None)
        group = self.add_post_group(
            fields.get("caption") or "",
            fields["account_ids"],
            status=status,
            schedule=when,
            media_ids=fields.get("media_ids", ()),
            type=fields["type"],
            custom_captions=fields.get("custom_captions"),
            from_user=None,
            created=self._tick(),
        )
        group["location"] = fields.get("location")
        group["form"] = {k: list(v) for k, v in request.form.items()}
        self._set_status(group, status)
        if self.create_answer == "group":
            return self._ok(self._render_group(group))
        return self._ok(self._first_post(group, with_group_id=self.create_answer == "post"))

    def _h_post_group(self, request: ResontRequest, group_id: str) -> FakeResponse:
        return self._ok(self._render_group(self._get(self.post_groups, group_id, "Post group")))

    def _h_post_detail(self, request: ResontRequest, post_id: str) -> FakeResponse:
        return self._ok(self._render_post(self._get(self.posts, post_id, "Post")))

    def _h_post_edit(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.post_groups, group_id, "Post group")
        if group["status"] == "published":
            raise _invalid("A published post is edited with the edit-after-publish service.")
        self._require_whole_post(request, group)
        fields = self._post_fields(request, group)
        status, when = self._schedule(request, group)
        accounts_changed = fields["account_ids"] != group["account_ids"]
        group.update(fields, schedule_date=when)
        group["form"] = {k: list(v) for k, v in request.form.items()}
        if accounts_changed:
            self._make_posts(group)
        self._set_status(group, status)
        return self._ok(self._first_post(group))

    def _h_post_edit_published(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.post_groups, group_id, "Post group")
        if group["status"] != "published":
            raise _invalid("Only a published post can be edited after publishing.")
        networks = {self.accounts[a]["type"].lower() for a in group["account_ids"] if a in self.accounts}
        if not networks <= set(EDITABLE_AFTER_PUBLISH):
            raise _invalid("Editing after publishing is supported for Telegram and Instagram only.")
        self._require_whole_post(request, group)
        group["caption"] = request.arg("caption") or ""
        group["form"] = {k: list(v) for k, v in request.form.items()}
        self._set_status(group, "published")
        return self._ok(self._first_post(group))

    def _h_post_retry(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.post_groups, group_id, "Post group")
        if group["status"] != "failed":
            raise _invalid("Only a failed post can be retried.")
        self._set_status(group, self.retry_outcome)
        return self._ok()

    def _h_post_cancel(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.post_groups, group_id, "Post group")
        if group["status"] not in ("draft", "scheduled", "pending"):
            raise _invalid("Only a draft or scheduled post can be cancelled.")
        self._set_status(group, "canceled")
        return self._ok()

    def _h_post_delete(self, request: ResontRequest, group_id: str) -> FakeResponse:
        group = self._get(self.post_groups, group_id, "Post group")
        for post_id in group["post_ids"]:
            self.posts.pop(post_id, None)
        del self.post_groups[group["id"]]
        return self._ok()

    # ------------------------------------------------------------------ handlers: search

    def _search_query(self, request: ResontRequest) -> str:
        query = (request.arg("query") or "").strip().lstrip("#")
        if not query:
            raise _invalid("The query field is required.")
        if not request.arg("account_ids"):
            raise _invalid("The account ids field is required.")
        return query

    def _h_search_location(self, request: ResontRequest) -> FakeResponse:
        query = self._search_query(request)
        return self._list(
            [
                {
                    "id": 501,
                    "name": f"{query} Square",
                    "description": f"{query}, Tehran",
                    "social": "instagram",
                    "lat": "35.6997",
                    "lng": "51.3380",
                    "type": "location",
                },
            ]
        )

    def _h_search_people(self, request: ResontRequest) -> FakeResponse:
        query = self._search_query(request)
        return self._list(
            [
                {"pk": 9100 + i, "username": f"{query}_{i}", "profile_pic_url": f"https://cdn.example/{query}_{i}.jpg"}
                for i in (1, 2)
            ]
        )

    def _h_search_hashtag(self, request: ResontRequest) -> FakeResponse:
        query = self._search_query(request)
        return self._list([query, f"{query}s", f"{query}_daily"])

    # ------------------------------------------------------------------ handlers: tickets

    def _h_ticket_list(self, request: ResontRequest) -> FakeResponse:
        tickets = sorted(self.tickets.values(), key=lambda t: t["id"], reverse=True)
        return self._paged(request, [self._render_ticket(t) for t in tickets])

    def _h_ticket_departments(self, request: ResontRequest) -> FakeResponse:
        return self._list([dict(d) for d in self.departments.values()])

    def _h_ticket_create(self, request: ResontRequest) -> FakeResponse:
        title, content = request.arg("title"), request.arg("content")
        if not title or not content:
            raise _invalid("The title and content fields are required.")
        self._get(self.departments, request.arg("department_id"), "Department")
        ticket = self.add_ticket(title, content, _int(request.arg("department_id"), 1), created=self._tick())
        self._attach(request, ticket["id"])
        return self._ok(self._render_ticket(ticket))

    def _attach(self, request: ResontRequest, ticket_id: int) -> None:
        attachments = request.files.get("attachment", [])
        if attachments:
            self.uploads.extend(attachments)
            metas = [m for m in self.ticket_metas.values() if m["ticket_id"] == ticket_id]
            metas[-1]["attachment"] = f"https://cdn.example/tickets/{ticket_id}/{attachments[0].filename}"

    def _h_ticket_detail(self, request: ResontRequest, ticket_id: str) -> FakeResponse:
        return self._ok(self._render_ticket(self._get(self.tickets, ticket_id, "Ticket")))

    def _h_ticket_meta(self, request: ResontRequest, ticket_id: str) -> FakeResponse:
        self._get(self.tickets, ticket_id, "Ticket")
        metas = [m for m in self.ticket_metas.values() if m["ticket_id"] == int(ticket_id)]
        return self._list([self._render_ticket_meta(m) for m in metas])

    def _h_ticket_reply(self, request: ResontRequest, ticket_id: str) -> FakeResponse:
        ticket = self._get(self.tickets, ticket_id, "Ticket")
        if ticket["status"] == 3:
            raise _invalid("The ticket is closed.")
        if not request.arg("content"):
            raise _invalid("The content field is required.")
        self._add_ticket_meta(ticket["id"], request.arg("content") or "", admin=False)
        self._attach(request, ticket["id"])
        ticket.update(status=1, status_name="Open")
        return self._ok(self._render_ticket(ticket))

    def _h_ticket_close(self, request: ResontRequest, ticket_id: str) -> FakeResponse:
        self._get(self.tickets, ticket_id, "Ticket").update(status=3, status_name="Closed")
        return self._ok()

    # ------------------------------------------------------------------ OAuth server

    def _route_web(self, request: ResontRequest) -> FakeResponse:
        if request.method == "GET" and request.path == "web/oauth/authorize":
            return self._authorize(request)
        if request.method == "POST" and request.path == "web/oauth/token":
            return self._token(request)
        return FakeResponse(404, "<html>Not Found</html>", content_type="text/html")

    def _authorize(self, request: ResontRequest) -> FakeResponse:
        """The authorize page as documented: ``client_id``, ``response_type``, ``scope`` and
        ``state`` are mandatory, ``redirect_uri`` optional and must begin with the registered
        one. The user decides at once (``authorize_answer``): "approve" redirects back with a
        code (``response_type=code``) or the token (``token``) and the state, as GET
        parameters; "deny" with ``error=access_denied`` (RFC 6749; the document is silent)."""
        refused = self._authorize_refusal(request)
        if refused is not None:
            return refused
        redirect = request.arg("redirect_uri") or self.redirect_uri
        state = request.arg("state") or ""
        if self.authorize_answer == "deny":
            back = {"error": "access_denied", "error_description": "The user denied the request.", "state": state}
        elif request.arg("response_type") == "token":
            back = {**self._token_answer(self._granted(request), include_refresh=False).body, "state": state}
        else:
            back = {"code": self.issue_code(self._granted(request), redirect), "state": state}
        separator = "&" if "?" in redirect else "?"
        return FakeResponse(
            302, "", headers={"Location": f"{redirect}{separator}{urlencode(back)}"}, content_type="text/plain"
        )

    def _authorize_refusal(self, request: ResontRequest) -> FakeResponse | None:
        missing = [name for name in ("client_id", "response_type", "scope", "state") if not request.arg(name)]
        if missing:
            return _oauth_error(400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}.")
        if request.arg("client_id") != self.client_id:
            return _oauth_error(400, "invalid_client", "Unknown client.")
        if request.arg("response_type") not in ("code", "token"):
            return _oauth_error(400, "unsupported_response_type", "response_type must be code or token.")
        unknown = [s for s in (request.arg("scope") or "").split(" ") if s not in OAUTH_SCOPES]
        if unknown:
            return _oauth_error(400, "invalid_scope", f"Unknown scope(s): {', '.join(unknown)}.")
        if not (request.arg("redirect_uri") or self.redirect_uri).startswith(self.redirect_uri):
            return _oauth_error(400, "invalid_request", "The redirect uri does not match the registered one.")
        return None

    def _granted(self, request: ResontRequest) -> str:
        """The scopes the user grants: those asked for, minus ``withheld_scopes``."""
        return " ".join(s for s in (request.arg("scope") or "").split(" ") if s not in self.withheld_scopes)

    def _token(self, request: ResontRequest) -> FakeResponse:
        self.token_requests += 1
        if request.arg("client_id") != self.client_id or request.arg("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        grant = request.arg("grant_type")
        if grant == "authorization_code":
            return self._grant_code(request)
        if grant == "refresh_token":
            return self._grant_refresh(request)
        return _oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")

    def _grant_code(self, request: ResontRequest) -> FakeResponse:
        code = self.codes.pop(request.arg("code") or "", None)
        if code is None or self.clock() - code["at"] > timedelta(seconds=30):
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid or expired.")
        if request.arg("redirect_uri") != code["redirect_uri"]:
            return _oauth_error(400, "invalid_grant", "The redirect uri does not match.")
        return self._token_answer(code["scope"], include_refresh=True)

    def _grant_refresh(self, request: ResontRequest) -> FakeResponse:
        refresh = request.arg("refresh_token") or ""
        record = self.refresh_tokens.get(refresh)
        if record is None or record["expires"] <= self.clock():
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid.")
        self.refresh_count += 1
        if self.rotate_refresh_tokens:
            del self.refresh_tokens[refresh]
            return self._token_answer(record["scope"], include_refresh=True)
        return self._token_answer(record["scope"], include_refresh=False)

    def _token_answer(self, scope: str, include_refresh: bool) -> FakeResponse:
        access, refresh = self.issue_tokens(scope)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": int(self.access_token_ttl),
            "token_type": "access_token",
            "scope": scope,
        }
        if include_refresh:
            body.update(refresh_token=refresh, refresh_token_expires=365 * 86400)
        else:
            del self.refresh_tokens[refresh]
        return FakeResponse(200, body)


def _sent(request: FakeRequest, name: str) -> bool:
    """Whether the form carries ``name`` (plain, ``name[]`` or ``name[key]``), even empty."""
    return any(key == name or key.startswith(f"{name}[") for key in request.form)


def _oauth_error(status: int, error: str, description: str) -> FakeResponse:
    """OAuth servers answer errors in the RFC 6749 shape (``error`` is a string)."""
    return FakeResponse(status, {"error": error, "error_description": description, "message": description})


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def query_pairs(url: str) -> list[tuple[str, str]]:
    """The query of ``url`` as (key, value) pairs (for assertions on paging links)."""
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)

"""A loopback Telegram Bot API server for tests and benchmarks.

``BotApiEmulator`` is a real HTTP server on ``127.0.0.1`` (a free port, threaded stdlib server),
so a bot can reach it from the test process (python-telegram-bot's own request machinery, via
``ApplicationBuilder().base_url(emu.api_url).base_file_url(emu.file_url)``) or from a subprocess
(``TELEGRAM_BASE_URL=emu.base_url``).

Bot side (HTTP, ``/bot<token>/<method>`` and ``/file/bot<token>/<file_path>``): getMe,
getUpdates (long polling, offset, limit, allowed_updates, 409 when another poll takes over),
set/delete/getWebhookInfo, set/get/deleteMyCommands, sendMessage, sendPhoto, sendDocument,
sendVideo, sendMediaGroup (multipart, ``attach://``, file_id reuse), editMessageText,
editMessageCaption, editMessageReplyMarkup, deleteMessage(s), answerCallbackQuery, getFile and
the file download, sendChatAction, close/logOut. Any other method: ``404 Not Found`` like
Telegram. A wrong token: ``401 Unauthorized``. Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ...}`` exactly as the Bot API shapes them.

It behaves like Telegram where bots usually get it wrong: parse_mode markup is parsed (text and
entities as the user sees them; invalid markup is a 400), texts and captions have their length
limits, an edit that changes nothing is a 400 "message is not modified", editing the text
without ``reply_markup`` removes the inline keyboard, messages in a forum topic reply to the
topic's first message, a callback query can be answered once, and flood control answers 429
with ``retry_after`` (see :class:`FloodLimits`).

User side (Python, thread-safe): :meth:`BotApiEmulator.user_sends` and friends put updates in
the bot's queue; :meth:`messages` shows every chat's history with edits applied; every request
is recorded (:meth:`requests_of`).
"""

from __future__ import annotations

import asyncio
import collections
import copy
import inspect
import itertools
import json
import math
import mimetypes
import os
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.botapi.formatting import ParseError, utf16_len
from tests.botapi.formatting import parse as parse_entities

DEFAULT_TOKEN = "123456:TEST-token"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_PHOTO_UPLOAD = 10 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024

#: Methods that produce or change a message: these count against flood limits.
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendVideoNote",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)

_KNOWN_METHODS = [
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendMediaGroup",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "answerCallbackQuery",
    "getFile",
    "sendChatAction",
    "getChatMember",
    "close",
    "logOut",
] + sorted(COUNTED_METHODS)
_CANONICAL = {m.lower(): m for m in _KNOWN_METHODS}

_JSON_PARAMS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "reply_parameters",
    "link_preview_options",
    "media",
    "commands",
    "scope",
    "allowed_updates",
    "message_ids",
}
_INT_PARAMS = {
    "chat_id",
    "message_id",
    "message_thread_id",
    "reply_to_message_id",
    "offset",
    "limit",
    "user_id",
    "cache_time",
    "from_chat_id",
}
_FLOAT_PARAMS = {"timeout"}
_BOOL_PARAMS = {
    "show_alert",
    "disable_notification",
    "protect_content",
    "drop_pending_updates",
    "allow_sending_without_reply",
    "disable_web_page_preview",
    "has_spoiler",
    "show_caption_above_media",
    "disable_content_type_detection",
    "supports_streaming",
}
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_UPDATE_TYPES_DEFAULT_OFF = {"chat_member", "message_reaction", "message_reaction_count"}


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class User:
    """A Telegram user (the person a test acts as)."""

    id: int
    first_name: str = "Tester"
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


UserLike = User | int | dict


def as_user(user: UserLike) -> User:
    if isinstance(user, User):
        return user
    if isinstance(user, int):
        return User(id=user, first_name=f"User{user}", username=f"user{user}")
    if isinstance(user, dict):
        return User(
            id=int(user["id"]),
            first_name=user.get("first_name") or f"User{user['id']}",
            username=user.get("username"),
            last_name=user.get("last_name"),
            language_code=user.get("language_code"),
            is_bot=bool(user.get("is_bot", False)),
        )
    raise TypeError(f"not a user: {user!r}")


#: ``hook(params, files, handle)``: a test's stand-in for one Bot API method (see
#: :meth:`BotApiEmulator.intercept`); ``handle(params, files)`` is the emulator's own handling.
Intercept = Callable[[dict[str, Any], Any, Callable[[dict[str, Any], Any], Any]], Any]


@dataclass(frozen=True)
class FloodLimits:
    """Flood control: rolling windows of accepted requests, counted per chat and overall.

    ``group`` messages per ``group_window`` seconds in one group/supergroup/channel (negative
    chat id), ``private`` per ``private_window`` in one private chat, ``overall`` per
    ``overall_window`` across all chats. ``None`` disables a limit. Sends and edits count
    (:data:`COUNTED_METHODS`); a media group counts one per item. A request refused with 429
    does not count.
    """

    group: int | None = 20
    group_window: float = 60.0
    overall: int | None = 30
    overall_window: float = 1.0
    private: int | None = None
    private_window: float = 1.0
    counted_methods: frozenset[str] = COUNTED_METHODS

    @classmethod
    def telegram(cls) -> FloodLimits:
        """Telegram's documented limits: 20 a minute per group, 30 a second overall."""
        return cls()

    @classmethod
    def relaxed(cls) -> FloodLimits:
        """The test default: 60 a minute per group (the highest ``group_messages_per_minute``
        the bot's config accepts), 30 a second overall. A bot that respects its own config
        never sees a 429; one that ignores rate limiting does."""
        return cls(group=60)

    @classmethod
    def off(cls) -> FloodLimits:
        return cls(group=None, overall=None, private=None)


@dataclass
class RecordedRequest:
    """One HTTP request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, dict[str, Any]]
    time: float  # time.monotonic() when it arrived
    wall_time: float
    status: int = 0
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str
    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class _Chat:
    info: dict[str, Any]
    next_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[int, dict[str, Any]] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    #: users who sent or pressed something in the chat, or were added: user id -> User dict
    members: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Callback:
    id: str
    chat_id: int
    message_id: int
    user: dict[str, Any]
    data: str
    time: float
    answer: dict[str, Any] | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: BotApiEmulator, address: tuple[str, int]):
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to every keep-alive request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def do_GET(self) -> None:
        self.server.emulator.serve(self)

    do_POST = do_GET

    def do_PUT(self) -> None:
        self._drain()
        self.server.emulator.reply(self, 405, {"ok": False, "error_code": 405, "description": "Method Not Allowed"})

    do_DELETE = do_PATCH = do_PUT

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BotApiEmulator:
    """A Telegram Bot API server on 127.0.0.1 with a user-side Python API for tests.

    Use as a context manager or call :meth:`start`/:meth:`stop`. ``base_url`` is the value for
    the bot's ``TELEGRAM_BASE_URL``; ``api_url``/``file_url`` are what PTB's
    ``ApplicationBuilder.base_url``/``base_file_url`` take.
    """

    name = "emulator"

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: FloodLimits | None = None,
        bot_username: str = "test_bot",
        bot_first_name: str = "Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.token = token
        self.limits = limits if limits is not None else FloodLimits.telegram()
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 777000
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._host = host
        self._port = port
        self._clock = clock
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        # state, guarded by self._cond
        self._chats: dict[int, _Chat] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(10_001)
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        self._webhook: dict[str, Any] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callbacks: dict[str, _Callback] = {}
        self._callback_ids = itertools.count(int.from_bytes(os.urandom(4), "big") * 1000)
        self._blocked_by: set[int] = set()
        self._requests: list[RecordedRequest] = []
        self._flood_windows: dict[Any, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.too_many_requests = 0  #: 429 answers sent so far
        self.too_many_requests_by_chat: collections.Counter[int] = collections.Counter()
        self._media_groups = itertools.count(1_000_000_000_000)
        self._intercepts: dict[str, Intercept] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, port: int | None = None) -> BotApiEmulator:
        """Listen (on ``port`` when given: a restart on the port it had) and serve."""
        if self._server is not None:
            return self
        if port is not None:
            self._port = port
        self._stopping = False
        self._server = _Server(self, (self._host, self._port))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="botapi-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        with server.conn_lock:
            conns = list(server.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Root URL: the bot's ``TELEGRAM_BASE_URL``."""
        return f"http://{self._host}:{self.port}"

    url = base_url  # alias

    @property
    def api_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` (PTB appends the token)."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.base_url}/file/bot"

    @property
    def bot_id(self) -> int:
        return self.bot_user["id"]

    def set_limits(self, limits: FloodLimits | None = None, **changes: Any) -> FloodLimits:
        """Replace the flood limits (``FloodLimits`` or keyword changes to the current ones);
        clears the windows so the new limits start fresh."""
        with self._cond:
            base = limits if limits is not None else self.limits
            self.limits = FloodLimits(**{**base.__dict__, **changes})
            self._flood_windows.clear()
            return self.limits

    def intercept(self, method: str, hook: Intercept | None) -> None:
        """Route the Bot API ``method`` through ``hook(params, files, handle)`` (``handle`` is the
        emulator's own handling of it) until ``intercept(method, None)``: how a test makes
        Telegram fail (raise :class:`ApiError`) or answer differently for a while."""
        with self._cond:
            if hook is None:
                self._intercepts.pop(method, None)
            else:
                self._intercepts[method] = hook

    # --- HTTP ------------------------------------------------------------------------------

    def reply(
        self, handler: BaseHTTPRequestHandler, status: int, body: Any, content_type: str = "application/json"
    ) -> None:
        """Answer an HTTP request (``body`` as JSON unless it is bytes). With :meth:`serve` and
        :meth:`read_body` the HTTP layer that ``tests.drills.faults`` wraps to inject faults."""
        payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True

    def read_body(self, handler: BaseHTTPRequestHandler) -> bytes:
        """The request's body (chunked or with a length)."""
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(handler.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    handler.rfile.readline()
                    break
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
            return b"".join(chunks)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Handle one HTTP request: a Bot API method, a file download, or an error."""
        url = urllib.parse.urlsplit(handler.path)
        path = urllib.parse.unquote(url.path)
        body = self.read_body(handler)
        if path.startswith("/file/bot"):
            self._serve_file(handler, path[len("/file/bot") :])
            return
        m = re.fullmatch(r"/bot([^/]*)/([A-Za-z0-9_]*)/?", path)
        if not m:
            self.reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, raw_method = m.group(1), m.group(2)
        method = _CANONICAL.get(raw_method.lower(), raw_method)
        try:
            params, files = self._parse_params(handler, url.query, body)
        except ValueError as exc:
            params, files = {}, {}
            parse_error: str | None = str(exc)
        else:
            parse_error = None
        record = RecordedRequest(
            method=method,
            params=params,
            files={k: {"filename": f[0], "size": len(f[1]), "content_type": f[2]} for k, f in files.items()},
            time=self._clock(),
            wall_time=time.time(),
        )
        with self._cond:
            self._requests.append(record)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if parse_error:
                raise _bad(parse_error)
            result = self._dispatch(method, params, files)
        except ApiError as err:
            record.status, record.error = err.code, err.description
            self.reply(handler, err.code, err.body())
            return
        except Exception as exc:  # a bug in the emulator: say so loudly, like a 500 would
            record.status, record.error = 500, f"emulator error: {exc!r}"
            self.reply(handler, 500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc!r}"})
            raise
        record.status, record.result = 200, result
        self.reply(handler, 200, {"ok": True, "result": result})

    def _serve_file(self, handler: BaseHTTPRequestHandler, rest: str) -> None:
        token, _, file_path = rest.partition("/")
        with self._cond:
            self._requests.append(RecordedRequest("file", {"file_path": file_path}, {}, self._clock(), time.time()))
            stored = self._files_by_path.get(file_path) if token == self.token else None
        if stored is None:
            self.reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        ctype = stored.mime_type or "application/octet-stream"
        self.reply(handler, 200, stored.data, content_type=ctype)

    def _parse_params(
        self, handler: BaseHTTPRequestHandler, query: str, body: bytes
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
        raw: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        for key, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
            raw[key] = values[-1]
        ctype = handler.headers.get("Content-Type", "")
        if body:
            if ctype.startswith("application/json"):
                try:
                    data = json.loads(body)
                except json.JSONDecodeError:
                    raise ValueError("can't parse JSON object") from None
                if not isinstance(data, dict):
                    raise ValueError("JSON object expected")
                raw.update(data)
            elif ctype.startswith("multipart/form-data"):
                msg = BytesParser(policy=HTTP).parsebytes(
                    b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
                )
                if not msg.is_multipart():
                    raise ValueError("can't parse multipart request")
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    if not name:
                        continue
                    payload = part.get_payload(decode=True) or b""
                    filename = part.get_filename()
                    if filename is not None:
                        files[name] = (filename, payload, part.get_content_type())
                    else:
                        charset = part.get_content_charset() or "utf-8"
                        raw[name] = payload.decode(charset)
            else:  # application/x-www-form-urlencoded and anything else
                for key, values in urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
                    raw[key] = values[-1]
        return {key: self.decode_param(key, value) for key, value in raw.items()}, files

    @staticmethod
    def decode_param(key: str, value: Any) -> Any:
        """A request parameter as the Bot API reads it: JSON-encoded objects decoded, numbers and
        booleans sent as text turned back into their type (``tests.botapi.tta`` reads its
        recorded requests the same way)."""
        if not isinstance(value, str):
            return value
        if key in _JSON_PARAMS:
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                if key == "media" or key == "reply_markup" or key == "commands":
                    raise ValueError(f"can't parse {key} JSON object") from None
                return value
        if key in _INT_PARAMS and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        if key in _FLOAT_PARAMS:
            try:
                return float(value)
            except ValueError:
                return value
        if key in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        return value

    # --- dispatch --------------------------------------------------------------------------

    def _dispatch(self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> Any:
        if method == "getUpdates":
            return self._get_updates(params)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        with self._cond:
            if method in self.limits.counted_methods:
                chat_id = params.get("chat_id")
                count = (
                    len(params["media"]) if method == "sendMediaGroup" and isinstance(params.get("media"), list) else 1
                )
                self._check_flood(chat_id if isinstance(chat_id, int) else None, count)
            hook = self._intercepts.get(method)
            result = handler(params, files) if hook is None else hook(params, files, handler)
            self._cond.notify_all()
            return result

    def _check_flood(self, chat_id: int | None, count: int) -> None:
        """Count ``count`` messages to ``chat_id`` or raise 429 (nothing is counted then)."""
        lim = self.limits
        now = self._clock()
        checks: list[tuple[Any, int, float]] = []
        if lim.overall:
            checks.append(("overall", lim.overall, lim.overall_window))
        if chat_id is not None:
            if chat_id < 0 and lim.group:
                checks.append((("chat", chat_id), lim.group, lim.group_window))
            elif chat_id > 0 and lim.private:
                checks.append((("chat", chat_id), lim.private, lim.private_window))
        retry_after = 0.0
        for key, limit, window in checks:
            dq = self._flood_windows[key]
            while dq and dq[0] <= now - window:
                dq.popleft()
            if len(dq) + count > limit:
                if count > limit:
                    raise _bad("Too Many Requests: too many messages in one request for the flood limit")
                # the slot frees when the (len+count-limit)-th oldest leaves the window
                oldest = dq[len(dq) + count - limit - 1]
                retry_after = max(retry_after, oldest + window - now)
        if retry_after > 0:
            seconds = max(1, math.ceil(retry_after))
            self.too_many_requests += 1
            if chat_id is not None:
                self.too_many_requests_by_chat[chat_id] += 1
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        for key, _, _ in checks:
            self._flood_windows[key].extend([now] * count)

    # --- updates ---------------------------------------------------------------------------

    def _push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (caller holds the lock)."""
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self._cond.notify_all()
        return update

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._cond:
            if self._webhook:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                )
            offset = params.get("offset")
            limit = params.get("limit") or 100
            if not isinstance(limit, int) or not 1 <= limit <= 100:
                limit = 100
            timeout = params.get("timeout") or 0
            if not isinstance(timeout, (int, float)):
                timeout = 0
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = allowed or None
            if isinstance(offset, int):
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._poll_generation += 1
            generation = self._poll_generation
            deadline = time.monotonic() + float(timeout)
            while True:
                if self._poll_generation != generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                    )
                self._updates = [u for u in self._updates if self._update_allowed(u)]
                if self._updates or self._stopping:
                    return copy.deepcopy(self._updates[:limit])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(min(remaining, 0.5))

    def _update_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in _UPDATE_TYPES_DEFAULT_OFF
        return kind in self._allowed_updates

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot (an ``offset`` past them)."""
        with self._cond:
            return copy.deepcopy(self._updates)

    # --- chats and messages ----------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        *,
        type: str | None = None,
        title: str | None = None,
        is_forum: bool = False,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """Register a chat (optional: unknown chat ids are created on first use, private for
        positive ids and supergroup for negative ones). Returns the chat object."""
        with self._cond:
            chat = self._chat(chat_id)
            kind = type or ("private" if chat_id > 0 else "supergroup")
            info: dict[str, Any] = {"id": chat_id, "type": kind}
            if kind == "private":
                info["first_name"] = first_name or chat.info.get("first_name") or f"User{chat_id}"
                if username or chat.info.get("username"):
                    info["username"] = username or chat.info.get("username")
            else:
                info["title"] = title or chat.info.get("title") or f"Group {chat_id}"
                if username:
                    info["username"] = username
                if is_forum:
                    info["is_forum"] = True
                    chat.next_id = max(chat.next_id, 2)  # id 1 is the General topic
            chat.info = info
            return dict(info)

    def add_member(self, chat_id: int, user: UserLike) -> dict[str, Any]:
        """Make ``user`` a member of the chat (``getChatMember`` knows them); users who send or
        press something in a chat become members by themselves. Returns the User object."""
        with self._cond:
            info = as_user(user).to_dict()
            self._chat(chat_id).members[info["id"]] = info
            return dict(info)

    def create_topic(self, chat_id: int, name: str, *, user: UserLike | None = None) -> int:
        """Create a forum topic (the chat becomes a forum); returns its ``message_thread_id``."""
        with self._cond:
            chat = self._chat(chat_id)
            if not chat.info.get("is_forum"):
                self.add_chat(chat_id, type=chat.info["type"], title=chat.info.get("title"), is_forum=True)
            mid = self._next_id(chat)
            creator = as_user(user).to_dict() if user is not None else dict(self.bot_user)
            service = {
                "message_id": mid,
                "message_thread_id": mid,
                "from": creator,
                "chat": dict(chat.info),
                "date": int(time.time()),
                "forum_topic_created": {"name": name, "icon_color": 7322096},
                "is_topic_message": True,
            }
            chat.messages[mid] = service
            chat.topics[mid] = name
            return mid

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                info = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            else:
                info = {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
            chat = self._chats[chat_id] = _Chat(info=info)
        return chat

    @staticmethod
    def _next_id(chat: _Chat) -> int:
        mid = chat.next_id
        chat.next_id += 1
        return mid

    def _resolve_chat(self, chat: int | dict | None, user: User) -> _Chat:
        if chat is None:
            chat_id = user.id
        elif isinstance(chat, dict):
            chat_id = int(chat["id"])
            if chat_id not in self._chats:
                self.add_chat(
                    chat_id, type=chat.get("type"), title=chat.get("title"), is_forum=bool(chat.get("is_forum"))
                )
        else:
            chat_id = int(chat)
        c = self._chat(chat_id)
        c.members[user.id] = user.to_dict()
        if c.info["type"] == "private" and chat_id == user.id:
            c.info["first_name"] = user.first_name
            if user.username:
                c.info["username"] = user.username
        return c

    def _place_message(
        self,
        chat: _Chat,
        message: dict[str, Any],
        *,
        reply_to: int | None,
        thread_id: int | None,
        allow_missing_reply: bool = False,
    ) -> None:
        """Fill thread and reply fields the way Telegram does."""
        target = None
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None and not allow_missing_reply:
                raise _bad("message to be replied not found")
        if chat.info.get("is_forum"):
            if thread_id is None and target is not None:
                thread_id = target.get("message_thread_id") if target.get("is_topic_message") else None
            if thread_id is not None and thread_id != 1:
                if thread_id not in chat.topics:
                    raise _bad("message thread not found")
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
                if target is None:
                    target = chat.messages.get(thread_id)
        if target is not None:
            message["reply_to_message"] = self._reply_copy(target)

    @staticmethod
    def _reply_copy(target: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(target)
        out.pop("reply_to_message", None)
        return out

    def _validate_markup(self, markup: Any) -> dict[str, Any] | None:
        """Return the inline keyboard to store on the message (None for other markups)."""
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                actions = [a for a in _INLINE_ACTIONS if a in button]
                if len(actions) != 1:
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
        if not any(rows):
            return None
        return copy.deepcopy(markup)

    def _format(
        self, text: Any, parse_mode: Any, entities: Any, limit: int, *, caption: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        text = "" if text is None else str(text)
        if isinstance(entities, list) and entities:
            plain, ents = text, entities
        else:
            try:
                plain, ents = parse_entities(text, parse_mode if isinstance(parse_mode, str) else None)
            except ParseError as exc:
                raise _bad(str(exc)) from None
        if utf16_len(plain) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return plain, ents

    def _bot_message_base(self, params: dict[str, Any]) -> tuple[_Chat, dict[str, Any]]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        if chat_id > 0 and chat_id in self._blocked_by:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        chat = self._chat(chat_id)
        message = {"message_id": 0, "from": dict(self.bot_user), "chat": dict(chat.info), "date": int(time.time())}
        return chat, message

    def _reply_target(self, params: dict[str, Any]) -> tuple[int | None, bool]:
        rp = params.get("reply_parameters")
        if isinstance(rp, dict) and "message_id" in rp:
            return int(rp["message_id"]), bool(rp.get("allow_sending_without_reply"))
        rid = params.get("reply_to_message_id")
        if isinstance(rid, int):
            return rid, bool(params.get("allow_sending_without_reply"))
        return None, False

    def _finish_bot_message(self, chat: _Chat, message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        reply_to, allow_missing = self._reply_target(params)
        thread = params.get("message_thread_id")
        self._place_message(
            chat,
            message,
            reply_to=reply_to,
            thread_id=thread if isinstance(thread, int) else None,
            allow_missing_reply=allow_missing,
        )
        markup = self._validate_markup(params.get("reply_markup"))
        if markup:
            message["reply_markup"] = markup
        if params.get("has_protected_content") or params.get("protect_content"):
            message["has_protected_content"] = True
        message["message_id"] = self._next_id(chat)
        chat.messages[message["message_id"]] = message
        return copy.deepcopy(message)

    # --- bot methods -------------------------------------------------------------------------

    def _m_getMe(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return dict(self.bot_user)

    def _m_close(self, params: dict[str, Any], files: Any) -> bool:
        return True

    _m_logOut = _m_close

    def _m_setWebhook(self, params: dict[str, Any], files: Any) -> bool:
        url = params.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = {"url": url, **{k: v for k, v in params.items() if k != "url"}} if url else None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_deleteWebhook(self, params: dict[str, Any], files: Any) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return {
            "url": (self._webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _m_setMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad('parameter "commands" is required')
        if len(commands) > 100:
            raise _bad("too many commands")
        for cmd in commands:
            name = cmd.get("command", "") if isinstance(cmd, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_getMyCommands(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _m_deleteMyCommands(self, params: dict[str, Any], files: Any) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _m_getChatMember(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        """A member of the chat (see :meth:`add_member`); anyone else is "user not found"."""
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise _bad("chat not found")
        member = self._chats[chat_id].members.get(user_id) if isinstance(user_id, int) else None
        if member is None:
            raise _bad("user not found")
        return {"status": "member", "user": dict(member)}

    def _m_sendChatAction(self, params: dict[str, Any], files: Any) -> bool:
        if not isinstance(params.get("chat_id"), int):
            raise _bad("chat not found")
        if not params.get("action"):
            raise _bad("action is empty")
        return True

    def _m_sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        chat, message = self._bot_message_base(params)
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), MAX_TEXT, caption=False
        )
        if not text.strip():
            raise _bad("message text is empty")
        message["text"] = text
        if entities:
            message["entities"] = entities
        lpo = params.get("link_preview_options")
        if isinstance(lpo, dict):
            message["link_preview_options"] = lpo
        elif params.get("disable_web_page_preview"):
            message["link_preview_options"] = {"is_disabled": True}
        return self._finish_bot_message(chat, message, params)

    # media --------------------------------------------------------------------------------

    def _store_file(
        self,
        data: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        n = next(self._file_counter)
        prefix = {"photo": "AgACAgI", "document": "BQACAgI", "video": "BAACAgI"}.get(kind, "CAACAgI")
        file_id = f"{prefix}{n:06d}{secrets.token_hex(8)}"
        ext = os.path.splitext(file_name or "")[1] or {"photo": ".jpg", "video": ".mp4"}.get(kind, "")
        folder = {"photo": "photos", "document": "documents", "video": "videos"}.get(kind, kind + "s")
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AQAD{n:06d}{secrets.token_hex(3)}",
            data=data,
            file_path=f"{folder}/file_{n}{ext}",
            kind=kind,
            file_name=file_name,
            mime_type=mime_type or (mimetypes.guess_type(file_name)[0] if file_name else None),
            url=url,
        )
        self._files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(self, value: Any, files: dict[str, tuple[str, bytes, str]], param: str, kind: str) -> StoredFile:
        """Resolve an InputFile: an upload in this field, ``attach://name``, a file_id or a URL."""
        upload = None
        if value is None or value == "":
            upload = files.get(param)
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise _bad(f"wrong HTTP URL specified: attached file {value} not found")
        if upload is not None:
            filename, data, ctype = upload
            if not data:
                raise _bad("file must be non-empty")
            if len(data) > (MAX_PHOTO_UPLOAD if kind == "photo" else MAX_UPLOAD):
                raise ApiError(413, "Request Entity Too Large")
            mime = ctype if ctype and ctype != "application/octet-stream" else None
            return self._store_file(data, kind, file_name=filename or None, mime_type=mime)
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if re.match(r"https?://", value):
                return self._store_file(
                    b"", kind, url=value, file_name=os.path.basename(urllib.parse.urlsplit(value).path) or None
                )
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {param} in the request")

    @staticmethod
    def _image_size(data: bytes) -> tuple[int, int]:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    break
                marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
                i += 2 + length
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
        return 320, 320

    def _media_object(self, stored: StoredFile, kind: str) -> Any:
        if kind == "photo":
            width, height = self._image_size(stored.data)
            return [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.size,
                    "width": width,
                    "height": height,
                }
            ]
        obj: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if stored.file_name:
            obj["file_name"] = stored.file_name
        if stored.mime_type:
            obj["mime_type"] = stored.mime_type
        if kind == "video":
            obj.update({"width": 640, "height": 360, "duration": 1})
            obj.setdefault("mime_type", "video/mp4")
        return obj

    def _send_media(
        self, kind: str, params: dict[str, Any], files: dict[str, tuple[str, bytes, str]]
    ) -> dict[str, Any]:
        chat, message = self._bot_message_base(params)
        stored = self._input_file(params.get(kind), files, kind, kind)
        caption, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"), MAX_CAPTION, caption=True
        )
        message[kind] = self._media_object(stored, kind)
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        if params.get("has_spoiler"):
            message["has_media_spoiler"] = True
        if params.get("show_caption_above_media"):
            message["show_caption_above_media"] = True
        return self._finish_bot_message(chat, message, params)

    def _m_sendPhoto(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self._send_media("photo", params, files)

    def _m_sendDocument(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self._send_media("document", params, files)

    def _m_sendVideo(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        return self._send_media("video", params, files)

    def _m_sendMediaGroup(self, params: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        media = params.get("media")
        if not isinstance(media, list):
            raise _bad('parameter "media" is required')
        if not 2 <= len(media) <= 10:
            raise _bad("wrong number of media in the album: must include 2-10 items")
        kinds = {m.get("type") for m in media if isinstance(m, dict)}
        if not kinds <= {"photo", "video", "document", "audio"}:
            raise _bad("unsupported media type in the album")
        if "document" in kinds and kinds != {"document"} or "audio" in kinds and kinds != {"audio"}:
            raise _bad("documents and audio files can't be mixed with other media types in an album")
        if params.get("reply_markup"):
            raise _bad("reply markup is not allowed for media groups")
        group_id = str(next(self._media_groups))
        out = []
        # validate everything before storing anything: an album is sent whole or not at all
        prepared = []
        for item in media:
            kind = item["type"]
            caption, entities = self._format(
                item.get("caption"), item.get("parse_mode"), item.get("caption_entities"), MAX_CAPTION, caption=True
            )
            prepared.append((kind, self._input_file(item.get("media"), files, "media", kind), caption, entities, item))
        for kind, stored, caption, entities, item in prepared:
            chat, message = self._bot_message_base(params)
            message[kind] = self._media_object(stored, kind)
            message["media_group_id"] = group_id
            if caption:
                message["caption"] = caption
                if entities:
                    message["caption_entities"] = entities
            if item.get("has_spoiler"):
                message["has_media_spoiler"] = True
            out.append(self._finish_bot_message(chat, message, params))
        return out

    def _m_getFile(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # edits --------------------------------------------------------------------------------

    def _editable(self, params: dict[str, Any]) -> tuple[_Chat, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id, mid = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        if not isinstance(mid, int):
            raise _bad("message identifier is not specified")
        chat = self._chat(chat_id)
        message = chat.messages.get(mid)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        return chat, message

    @staticmethod
    def _not_modified() -> ApiError:
        return _bad(
            "message is not modified: specified new message content and reply markup are exactly the same "
            "as a current content and reply markup of the message"
        )

    def _apply_edit(
        self, chat: _Chat, message: dict[str, Any], changes: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        new = {k: v for k, v in message.items() if k not in ("edit_date",)}
        for key, value in changes.items():
            if value in (None, [], ""):
                new.pop(key, None)
            else:
                new[key] = value
        if markup:
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        old = {k: v for k, v in message.items() if k != "edit_date"}
        if new == old:
            raise self._not_modified()
        new["edit_date"] = int(time.time())
        chat.messages[message["message_id"]] = new
        return copy.deepcopy(new)

    def _m_editMessageText(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), MAX_TEXT, caption=False
        )
        if not text.strip():
            raise _bad("message text is empty")
        changes: dict[str, Any] = {"text": text, "entities": entities}
        lpo = params.get("link_preview_options")
        if isinstance(lpo, dict):
            changes["link_preview_options"] = lpo
        # Telegram: an edit without reply_markup removes the inline keyboard
        return self._apply_edit(chat, message, changes, self._validate_markup(params.get("reply_markup")))

    def _m_editMessageCaption(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        chat, message = self._editable(params)
        if not any(k in message for k in ("photo", "document", "video", "animation", "audio", "voice")):
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"), MAX_CAPTION, caption=True
        )
        return self._apply_edit(
            chat,
            message,
            {"caption": caption, "caption_entities": entities},
            self._validate_markup(params.get("reply_markup")),
        )

    def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        chat, message = self._editable(params)
        return self._apply_edit(chat, message, {}, self._validate_markup(params.get("reply_markup")))

    def _m_deleteMessage(self, params: dict[str, Any], files: Any) -> bool:
        chat_id, mid = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(mid, int):
            raise _bad("message to delete not found")
        chat = self._chat(chat_id)
        message = chat.messages.pop(mid, None)
        if message is None:
            raise _bad("message to delete not found")
        chat.deleted[mid] = message
        return True

    def _m_deleteMessages(self, params: dict[str, Any], files: Any) -> bool:
        chat_id, ids = params.get("chat_id"), params.get("message_ids")
        if not isinstance(chat_id, int) or not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message identifiers are invalid")
        chat = self._chat(chat_id)
        for mid in ids:
            message = chat.messages.pop(int(mid), None)
            if message is not None:
                chat.deleted[int(mid)] = message
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any], files: Any) -> bool:
        cq = self._callbacks.get(str(params.get("callback_query_id") or ""))
        if cq is None or cq.answer is not None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        cq.answer = {
            "text": text,
            "show_alert": bool(params.get("show_alert", False)),
            "url": params.get("url"),
            "cache_time": params.get("cache_time"),
        }
        return True

    # --- user side -------------------------------------------------------------------------

    def block_bot(self, user: UserLike, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: private sends get 403 Forbidden."""
        uid = as_user(user).id
        with self._cond:
            (self._blocked_by.add if blocked else self._blocked_by.discard)(uid)

    def _user_message(
        self, user: UserLike, chat: int | dict | None, reply_to: int | None, thread_id: int | None
    ) -> tuple[_Chat, dict[str, Any]]:
        u = as_user(user)
        c = self._resolve_chat(chat, u)
        message = {"message_id": 0, "from": u.to_dict(), "chat": dict(c.info), "date": int(time.time())}
        if thread_id is not None and c.info.get("is_forum") and thread_id not in c.topics:
            raise ValueError(f"forum topic {thread_id} does not exist in chat {c.info['id']}: use create_topic()")
        self._place_message(c, message, reply_to=reply_to, thread_id=thread_id)
        return c, message

    def _commit_user_message(self, chat: _Chat, message: dict[str, Any]) -> dict[str, Any]:
        message["message_id"] = self._next_id(chat)
        chat.messages[message["message_id"]] = message
        self._push_update("message", message)
        return copy.deepcopy(message)

    def user_sends(
        self,
        user: UserLike,
        chat: int | dict | None = None,
        text: str = "",
        reply_to: int | None = None,
        thread_id: int | None = None,
        *,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user writes ``text`` in ``chat`` (default: their private chat with the bot).

        A text starting with ``/`` gets a ``bot_command`` entity. ``reply_to`` is a message id
        in the same chat; ``thread_id`` a forum topic. Returns the message as the bot gets it.
        """
        with self._cond:
            c, message = self._user_message(user, chat, reply_to, thread_id)
            message["text"] = text
            ents = list(entities or [])
            m = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?", text)
            if m and not entities:
                ents.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
            if ents:
                message["entities"] = ents
            return self._commit_user_message(c, message)

    def user_sends_photo(
        self,
        user: UserLike,
        chat: int | dict | None = None,
        data: bytes = b"",
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (its bytes are what getFile + download return)."""
        with self._cond:
            c, message = self._user_message(user, chat, reply_to, thread_id)
            stored = self._store_file(bytes(data), "photo", mime_type="image/jpeg")
            message["photo"] = self._media_object(stored, "photo")
            if caption:
                message["caption"] = caption
            return self._commit_user_message(c, message)

    def user_sends_document(
        self,
        user: UserLike,
        chat: int | dict | None = None,
        data: bytes = b"",
        filename: str = "file.bin",
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        *,
        mime_type: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a file as a document."""
        with self._cond:
            c, message = self._user_message(user, chat, reply_to, thread_id)
            stored = self._store_file(
                bytes(data),
                "document",
                file_name=filename,
                mime_type=mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            )
            message["document"] = self._media_object(stored, "document")
            if caption:
                message["caption"] = caption
            return self._commit_user_message(c, message)

    def user_sends_video(
        self,
        user: UserLike,
        chat: int | dict | None = None,
        data: bytes = b"",
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        *,
        filename: str | None = None,
        mime_type: str = "video/mp4",
    ) -> dict[str, Any]:
        """The user sends a video (as a video, not as a document)."""
        with self._cond:
            c, message = self._user_media_message(
                user, chat, reply_to, thread_id, "video", data, file_name=filename, mime_type=mime_type
            )
            if caption:
                message["caption"] = caption
            return self._commit_user_message(c, message)

    def user_sends_album(
        self,
        user: UserLike,
        chat: int | dict | None,
        items: list[tuple[str, bytes]],
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """The user sends an album: one message per ``(kind, bytes)`` item, all sharing a
        ``media_group_id``, as Telegram delivers albums (separate updates). Kinds are ``photo``,
        ``video`` and ``document`` (documents only with documents); 2 to 10 items. The caption
        goes on the first message, as clients send it. Returns the messages in order."""
        kinds = {kind for kind, _ in items}
        if not 2 <= len(items) <= 10:
            raise ValueError(f"an album has 2 to 10 items, not {len(items)}")
        if not kinds <= {"photo", "video", "document"}:
            raise ValueError(f"unsupported kinds in an album: {sorted(kinds - {'photo', 'video', 'document'})}")
        if "document" in kinds and kinds != {"document"}:
            raise ValueError("documents can't be mixed with other media in an album")
        group_id = str(next(self._media_groups))
        out = []
        with self._cond:
            for index, (kind, data) in enumerate(items):
                name = f"document_{index + 1}" if kind == "document" else None
                c, message = self._user_media_message(user, chat, reply_to, thread_id, kind, data, file_name=name)
                message["media_group_id"] = group_id
                if index == 0 and caption:
                    message["caption"] = caption
                out.append(self._commit_user_message(c, message))
        return out

    def _user_media_message(
        self,
        user: UserLike,
        chat: int | dict | None,
        reply_to: int | None,
        thread_id: int | None,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> tuple[_Chat, dict[str, Any]]:
        """A user message (not committed) carrying ``data`` as a ``kind`` (photo, video, document)."""
        default_mime = {"photo": "image/jpeg", "video": "video/mp4"}.get(kind, "application/octet-stream")
        c, message = self._user_message(user, chat, reply_to, thread_id)
        stored = self._store_file(bytes(data), kind, file_name=file_name, mime_type=mime_type or default_mime)
        message[kind] = self._media_object(stored, kind)
        return c, message

    def user_edits(self, user: UserLike, chat: int | dict | None, message_id: int, text: str) -> dict[str, Any]:
        """The user edits one of their text messages (an ``edited_message`` update)."""
        u = as_user(user)
        with self._cond:
            c = self._resolve_chat(chat, u)
            message = c.messages.get(message_id)
            if message is None or message.get("from", {}).get("id") != u.id or "text" not in message:
                raise ValueError(f"user {u.id} has no text message {message_id} in chat {c.info['id']}")
            message = {**message, "text": text, "edit_date": int(time.time())}
            c.messages[message_id] = message
            self._push_update("edited_message", message)
            return copy.deepcopy(message)

    def user_presses(
        self, user: UserLike, chat: int | dict | None, message_id: int, data: str, *, force: bool = False
    ) -> str:
        """The user presses the inline button with ``callback_data == data`` under the bot's
        message; returns the callback query id. The button must be on the message now (a
        stale keyboard raises ``LookupError``) unless ``force=True`` (forged callback data)."""
        u = as_user(user)
        with self._cond:
            c = self._resolve_chat(chat, u)
            message = c.messages.get(message_id)
            if message is None:
                raise LookupError(f"no message {message_id} in chat {c.info['id']}")
            datas = [
                b.get("callback_data")
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            if not force and data not in datas:
                raise LookupError(f"message {message_id} has no button with callback_data {data!r} (buttons: {datas})")
            cq_id = str(next(self._callback_ids))
            self._callbacks[cq_id] = _Callback(cq_id, c.info["id"], message_id, u.to_dict(), data, self._clock())
            self._push_update(
                "callback_query",
                {
                    "id": cq_id,
                    "from": u.to_dict(),
                    "message": copy.deepcopy(message),
                    "chat_instance": str(abs(hash((c.info["id"], self.bot_id))) % 10**18),
                    "data": data,
                },
            )
            return cq_id

    def press_button(self, user: UserLike, chat: int | dict | None, message_id: int, text: str) -> str:
        """Press the button whose label is ``text`` (exact, or a unique substring)."""
        buttons = [b for row in self.buttons(chat if chat is not None else as_user(user).id, message_id) for b in row]
        exact = [b for b in buttons if b.get("text") == text]
        found = exact or [b for b in buttons if text in b.get("text", "")]
        if len(found) != 1 or "callback_data" not in found[0]:
            raise LookupError(
                f"no unique callback button {text!r} on message {message_id}: {[b.get('text') for b in buttons]}"
            )
        return self.user_presses(user, chat, message_id, found[0]["callback_data"])

    def callback_answer(self, callback_query_id: str) -> dict[str, Any] | None:
        """What the bot answered to the callback query (text, show_alert, url, cache_time),
        or None while it has not answered."""
        with self._cond:
            cq = self._callbacks.get(str(callback_query_id))
            return dict(cq.answer) if cq and cq.answer is not None else None

    # --- inspection ------------------------------------------------------------------------

    @staticmethod
    def _chat_id(chat: int | dict) -> int:
        return int(chat["id"]) if isinstance(chat, dict) else int(chat)

    def messages(self, chat: int | dict) -> list[dict[str, Any]]:
        """Every message in the chat (user's and bot's), current state, oldest first. Deleted
        messages are left out (see :meth:`deleted_messages`)."""
        with self._cond:
            c = self._chats.get(self._chat_id(chat))
            if c is None:
                return []
            return [copy.deepcopy(m) for _, m in sorted(c.messages.items())]

    def bot_messages(self, chat: int | dict) -> list[dict[str, Any]]:
        """The bot's messages in the chat (service messages excluded), oldest first."""
        return [
            m
            for m in self.messages(chat)
            if m.get("from", {}).get("id") == self.bot_id and "forum_topic_created" not in m
        ]

    def message(self, chat: int | dict, message_id: int) -> dict[str, Any] | None:
        with self._cond:
            c = self._chats.get(self._chat_id(chat))
            m = c.messages.get(message_id) if c else None
            return copy.deepcopy(m) if m is not None else None

    def last_bot_message(self, chat: int | dict) -> dict[str, Any] | None:
        msgs = self.bot_messages(chat)
        return msgs[-1] if msgs else None

    def deleted_messages(self, chat: int | dict) -> list[dict[str, Any]]:
        with self._cond:
            c = self._chats.get(self._chat_id(chat))
            return [copy.deepcopy(m) for _, m in sorted(c.deleted.items())] if c else []

    def buttons(self, chat: int | dict, message_id: int) -> list[list[dict[str, Any]]]:
        """The inline keyboard under a message (rows of buttons), [] if none."""
        m = self.message(chat, message_id)
        return (m or {}).get("reply_markup", {}).get("inline_keyboard", [])

    def chats(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(c.info) for c in self._chats.values()]

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The commands the bot registered with setMyCommands for that scope/language."""
        with self._cond:
            return copy.deepcopy(
                self._commands.get(self._commands_key({"scope": scope, "language_code": language_code}), [])
            )

    def file_bytes(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id].data

    def file(self, file_id: str) -> StoredFile:
        with self._cond:
            return self._files[file_id]

    @property
    def webhook(self) -> dict[str, Any] | None:
        with self._cond:
            return dict(self._webhook) if self._webhook else None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def requests_of(self, *methods: str) -> list[RecordedRequest]:
        """Recorded requests to the given Bot API methods (case-insensitive), oldest first."""
        wanted = {_CANONICAL.get(m.lower(), m) for m in methods}
        with self._cond:
            return [r for r in self._requests if r.method in wanted]

    def clear_requests(self) -> None:
        with self._cond:
            self._requests.clear()

    def flood_stats(self) -> dict[str, Any]:
        with self._cond:
            return {"too_many_requests": self.too_many_requests, "by_chat": dict(self.too_many_requests_by_chat)}

    # --- waiting ---------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[..., Any],
        timeout: float = 10.0,
        interval: float = 0.02,
        message: str | Callable[[], str] | None = None,
    ) -> Any:
        """Poll ``predicate()`` until it returns something truthy; return that. Raises
        ``AssertionError`` (with the chat history) after ``timeout`` seconds. Lets the event loop
        run in between, so an in-process bot keeps working.

        A predicate taking one argument is a message predicate: it is tried on every bot
        message in every chat, newest first, and the first match is returned."""
        return await wait_for(as_condition(self, predicate), timeout, interval, message or self._describe)

    def wait_for_sync(
        self,
        predicate: Callable[..., Any],
        timeout: float = 10.0,
        interval: float = 0.02,
        message: str | Callable[[], str] | None = None,
    ) -> Any:
        """Blocking variant of :meth:`wait_for`, for a bot in another thread or process."""
        return wait_for_sync(as_condition(self, predicate), timeout, interval, message or self._describe)

    def all_bot_messages(self) -> list[dict[str, Any]]:
        """The bot's messages in every chat, oldest first (by date, then id)."""
        with self._cond:
            chat_ids = list(self._chats)
        out = [m for cid in chat_ids for m in self.bot_messages(cid)]
        return sorted(out, key=lambda m: (m.get("date", 0), m["message_id"]))

    async def wait_for_bot_message(
        self,
        chat: int | dict,
        predicate: Callable[[dict[str, Any]], Any] | None = None,
        timeout: float = 10.0,
        *,
        after: int = 0,
    ) -> dict[str, Any]:
        """Wait until the bot has a message in ``chat`` (with ``message_id > after``) that
        matches ``predicate(message)``; returns the newest such message."""

        def check() -> dict[str, Any] | None:
            found = [
                m for m in self.bot_messages(chat) if m["message_id"] > after and (predicate is None or predicate(m))
            ]
            return found[-1] if found else None

        return await self.wait_for(check, timeout)

    def _describe(self) -> str:
        with self._cond:
            lines = []
            for cid, c in self._chats.items():
                for _, m in sorted(c.messages.items()):
                    who = "bot" if m.get("from", {}).get("id") == self.bot_id else f"user {m.get('from', {}).get('id')}"
                    lines.append(
                        f"  chat {cid} #{m['message_id']} {who}: {m.get('text') or m.get('caption') or '<media>'!r}"
                    )
            errors = [f"  {r.method}: {r.status} {r.error}" for r in self._requests if r.status not in (0, 200)][-10:]
        return (
            "chat history:\n"
            + ("\n".join(lines[-30:]) or "  (empty)")
            + ("\nfailed requests:\n" + "\n".join(errors) if errors else "")
        )


def as_condition(backend: Any, predicate: Callable[..., Any]) -> Callable[[], Any]:
    """A zero-argument condition from ``predicate``: as is when it takes no argument, else a
    message predicate tried on the backend's bot messages (all chats, newest first)."""
    try:
        params = [
            p
            for p in inspect.signature(predicate).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return predicate
    if not params:
        return predicate

    def condition() -> Any:
        for m in reversed(backend.all_bot_messages()):
            if predicate(m):
                return m
        return None

    return condition


def _timeout_message(message: str | Callable[[], str] | None) -> str:
    if message is None:
        return ""
    try:
        return "\n" + (message() if callable(message) else message)
    except Exception as exc:  # pragma: no cover - diagnostics only
        return f"\n(could not describe state: {exc!r})"


async def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | Callable[[], str] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s{_timeout_message(message)}")
        await asyncio.sleep(interval)


def wait_for_sync(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | Callable[[], str] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s{_timeout_message(message)}")
        time.sleep(interval)


def text_of(message: dict[str, Any] | None) -> str:
    """The text or caption of a message dict ('' for none)."""
    if not message:
        return ""
    return message.get("text") or message.get("caption") or ""


def button_datas(message: dict[str, Any] | None) -> list[str]:
    """Every callback_data under a message."""
    rows = ((message or {}).get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


__all__: Iterable[str] = [
    "ApiError",
    "BotApiEmulator",
    "COUNTED_METHODS",
    "DEFAULT_TOKEN",
    "FloodLimits",
    "RecordedRequest",
    "StoredFile",
    "User",
    "as_user",
    "button_datas",
    "text_of",
    "wait_for",
    "wait_for_sync",
]

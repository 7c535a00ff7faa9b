"""telegram-test-api (npm, pinned to 4.2.1 in /package-lock.json) as a second, independent Bot
API backend, behind the same user-side API as :class:`tests.botapi.emulator.BotApiEmulator`.

``TtaServer`` runs ``node tests/botapi/tta_server.js`` (one process per test session);
``TtaEmulator`` is one test's view of it, with its own bot token: telegram-test-api keys every
message and update by token, so tests sharing the server never see each other's chats.

What telegram-test-api serves: getMe, getUpdates, sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, deleteMessage, set/deleteWebhook, sendChatAction
is NOT among them. Everything else (setMyCommands, media, getFile, ...) fails with HTTP 500
``{"message": "API method '...' is not supported..."}`` (PTB raises NetworkError). No flood
control, no parse_mode validation, no length limits. The launcher fixes the few places where
its wire format breaks python-telegram-bot (see the header of tta_server.js).

Known differences from Telegram (and from BotApiEmulator) that parametrized tests must avoid:
* editMessageText without reply_markup keeps the old inline keyboard (Telegram removes it);
* editing to the same content succeeds (Telegram: 400 "message is not modified");
* message ids are global across chats, and the bot is always id 666 / @TestNameBot;
* a callback query can be answered any number of times, and any callback data is accepted.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.botapi.emulator import (
    BotApiEmulator,
    RecordedRequest,
    UserLike,
    as_condition,
    as_user,
    wait_for,
    wait_for_sync,
)
from tests.botapi.formatting import ParseError, utf16_len
from tests.botapi.formatting import parse as parse_entities

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).with_name("tta_server.js")
PINNED_VERSION = "4.2.1"
NPM_INSTALL_HINT = "run `npm ci --ignore-scripts` in the repository root"

_BOT_USER = {"id": 666, "is_bot": True, "first_name": "Test First name", "username": "TestNameBot"}


class Unsupported(NotImplementedError):
    """telegram-test-api cannot do this (use the ``botapi`` fixture for it)."""


def tta_unavailable_reason(root: Path = REPO_ROOT) -> str | None:
    """None when node and the pinned telegram-test-api are installed, else why not."""
    if shutil.which("node") is None:
        return "node is not installed (telegram-test-api needs Node.js)"
    manifest = root / "node_modules" / "telegram-test-api" / "package.json"
    if not manifest.is_file():
        return f"telegram-test-api is not installed in {root / 'node_modules'}: {NPM_INSTALL_HINT}"
    try:
        version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return f"cannot read {manifest}: {NPM_INSTALL_HINT}"
    if version != PINNED_VERSION:
        return f"telegram-test-api {version} is installed, the lock file pins {PINNED_VERSION}: {NPM_INSTALL_HINT}"
    return None


class TtaServer:
    """The telegram-test-api node process on 127.0.0.1 (a free port)."""

    def __init__(self, root: Path = REPO_ROOT, *, store_timeout: int = 600, start_timeout: float = 20.0):
        self.root = Path(root)
        self.store_timeout = store_timeout
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._stderr = None
        self._tokens = itertools.count(1)

    def start(self) -> TtaServer:
        reason = tta_unavailable_reason(self.root)
        if reason:
            raise RuntimeError(reason)
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, "DEBUG": "", "NODE_ENV": "test"}
        self.process = subprocess.Popen(
            ["node", str(LAUNCHER), "0", str(self.store_timeout)],
            cwd=self.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        text = line[0].decode().strip() if line else ""
        if not text.startswith("ready "):
            self.stop()
            raise RuntimeError(f"telegram-test-api did not start: {text!r} {self.stderr_text()}")
        self.port = int(text.split()[1])
        return self

    def stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        proc = self.process
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        self.process = None

    def __enter__(self) -> TtaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("telegram-test-api is not started")
        return f"http://127.0.0.1:{self.port}"

    def new_token(self) -> str:
        return f"{700000 + next(self._tokens)}:TTA-{secrets.token_hex(8)}"

    def client(self, token: str | None = None) -> TtaEmulator:
        return TtaEmulator(self, token or self.new_token())


class TtaEmulator:
    """One test's user-side view of telegram-test-api, with the same API as BotApiEmulator
    for what telegram-test-api can do (texts, commands, buttons, edits, deletes)."""

    name = "tta"
    too_many_requests = 0  # no flood control in telegram-test-api

    def __init__(self, server: TtaServer, token: str):
        self.server = server
        self.token = token
        self.bot_user = dict(_BOT_USER)
        self._http = httpx.Client(base_url=server.base_url, timeout=10.0)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    # --- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.server.base_url

    url = base_url  # alias

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.base_url}/file/bot"

    @property
    def bot_id(self) -> int:
        return self.bot_user["id"]

    # --- HTTP ------------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        with self._lock:
            response = self._http.post(path, json=body)
        response.raise_for_status()
        data = response.json()
        if not data.get("ok"):
            raise RuntimeError(f"telegram-test-api {path}: {data}")
        return data.get("result")

    def _get(self, path: str) -> Any:
        with self._lock:
            response = self._http.get(path, params={"token": self.token})
        response.raise_for_status()
        return response.json()["result"]

    def _history(self) -> list[dict[str, Any]]:
        return self._post("/getUpdatesHistory", {"token": self.token}) or []

    # --- user side -------------------------------------------------------------------------

    @staticmethod
    def _chat_dict(chat: int | dict | None, user_dict: dict[str, Any]) -> dict[str, Any]:
        if chat is None:
            chat = user_dict["id"]
        if isinstance(chat, dict):
            return {"type": "private" if int(chat["id"]) > 0 else "supergroup", **chat}
        chat_id = int(chat)
        if chat_id > 0:
            out = {"id": chat_id, "type": "private", "first_name": user_dict["first_name"]}
            if user_dict.get("username"):
                out["username"] = user_dict["username"]
            return out
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _base_message(
        self, user: UserLike, chat: int | dict | None, reply_to: int | None, thread_id: int | None
    ) -> dict[str, Any]:
        u = as_user(user).to_dict()
        chat_dict = self._chat_dict(chat, u)
        message: dict[str, Any] = {"botToken": self.token, "from": u, "chat": chat_dict, "date": int(time.time())}
        if reply_to is not None:
            target = self.message(chat_dict["id"], reply_to)
            if target is None:
                raise LookupError(f"no message {reply_to} in chat {chat_dict['id']}")
            target.pop("reply_to_message", None)
            message["reply_to_message"] = target
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return message

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
        message = self._base_message(user, chat, reply_to, thread_id)
        message["text"] = text
        ents = list(entities or [])
        m = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?", text)
        if m and not entities:
            ents.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
        if ents:
            message["entities"] = ents
        path = "/sendCommand" if any(e.get("type") == "bot_command" for e in ents) else "/sendMessage"
        result = self._post(path, message)
        out = dict(result or message)
        out.pop("botToken", None)
        return out

    def user_presses(
        self, user: UserLike, chat: int | dict | None, message_id: int, data: str, *, force: bool = False
    ) -> str:
        u = as_user(user).to_dict()
        chat_id = self._chat_dict(chat, u)["id"]
        message = self.message(chat_id, message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        datas = [
            b.get("callback_data")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        if not force and data not in datas:
            raise LookupError(f"message {message_id} has no button with callback_data {data!r} (buttons: {datas})")
        body = {
            "botToken": self.token,
            "from": u,
            "message": message,
            "data": data,
            "chat_instance": f"ci{chat_id}",
            "date": int(time.time()),
        }
        result = self._post("/sendCallback", body)
        return str(result["callback_query_id"])

    def press_button(self, user: UserLike, chat: int | dict | None, message_id: int, text: str) -> str:
        chat_id = self._chat_dict(chat, as_user(user).to_dict())["id"]
        buttons = [b for row in self.buttons(chat_id, message_id) for b in row]
        exact = [b for b in buttons if b.get("text") == text]
        found = exact or [b for b in buttons if text in b.get("text", "")]
        if len(found) != 1 or "callback_data" not in found[0]:
            raise LookupError(
                f"no unique callback button {text!r} on message {message_id}: {[b.get('text') for b in buttons]}"
            )
        return self.user_presses(user, chat, message_id, found[0]["callback_data"])

    def callback_answer(self, callback_query_id: str) -> dict[str, Any] | None:
        answer = self._get("/x/callbackAnswers").get(str(callback_query_id))
        return dict(answer) if answer else None

    def user_sends_photo(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise Unsupported("telegram-test-api has no photos: use the botapi fixture")

    def user_sends_document(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise Unsupported("telegram-test-api has no documents: use the botapi fixture")

    def user_edits(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise Unsupported("telegram-test-api has no edited_message updates: use the botapi fixture")

    def create_topic(self, *args: Any, **kwargs: Any) -> int:
        raise Unsupported("telegram-test-api has no forum topics: use the botapi fixture")

    def add_chat(self, chat_id: int, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("is_forum"):
            raise Unsupported("telegram-test-api has no forum topics: use the botapi fixture")
        return self._chat_dict(chat_id, {"id": chat_id, "first_name": f"User{chat_id}"})

    def block_bot(self, *args: Any, **kwargs: Any) -> None:
        raise Unsupported("telegram-test-api cannot block a bot: use the botapi fixture")

    def set_limits(self, *args: Any, **kwargs: Any) -> None:
        raise Unsupported("telegram-test-api has no flood control: use the botapi fixture")

    # --- inspection ------------------------------------------------------------------------

    def _normalize_bot(self, item: dict[str, Any]) -> dict[str, Any]:
        raw = dict(item["message"])
        chat_id = int(raw.pop("chat_id"))
        msg: dict[str, Any] = {
            "message_id": item["messageId"],
            "from": dict(self.bot_user),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(item["time"]) // 1000,
        }
        params = {k: BotApiEmulator.decode_param(k, v) for k, v in raw.items()}
        text = params.get("text")
        if isinstance(text, str):
            try:
                plain, entities = parse_entities(
                    text, params.get("parse_mode") if isinstance(params.get("parse_mode"), str) else None
                )
            except ParseError:
                plain, entities = text, []
            msg["text"] = plain
            if isinstance(params.get("entities"), list):
                msg["entities"] = params["entities"]
            elif entities:
                msg["entities"] = entities
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup and any(markup["inline_keyboard"]):
            msg["reply_markup"] = markup
        if isinstance(params.get("message_thread_id"), int):
            msg["message_thread_id"] = params["message_thread_id"]
            msg["is_topic_message"] = True
        rp = params.get("reply_parameters")
        reply_id = rp.get("message_id") if isinstance(rp, dict) else params.get("reply_to_message_id")
        if reply_id is not None:
            msg["reply_to_message"] = {"message_id": int(reply_id)}
        if isinstance(params.get("link_preview_options"), dict):
            msg["link_preview_options"] = params["link_preview_options"]
        return msg

    def _all_messages(self) -> list[dict[str, Any]]:
        out = []
        for item in self._history():
            if "callbackQuery" in item:
                continue
            message = item.get("message") or {}
            if "chat_id" in message:
                out.append(self._normalize_bot(item))
            else:
                msg = {k: v for k, v in message.items() if k != "botToken"}
                msg["message_id"] = item["messageId"]
                out.append(msg)
        by_id = {m["message_id"]: m for m in out}
        for m in out:  # fill reply_to_message with the replied message as stored
            ref = m.get("reply_to_message")
            if ref and set(ref) == {"message_id"} and ref["message_id"] in by_id:
                target = {k: v for k, v in by_id[ref["message_id"]].items() if k != "reply_to_message"}
                m["reply_to_message"] = target
        return sorted(out, key=lambda m: m["message_id"])

    def messages(self, chat: int | dict) -> list[dict[str, Any]]:
        chat_id = int(chat["id"]) if isinstance(chat, dict) else int(chat)
        return [m for m in self._all_messages() if int(m["chat"]["id"]) == chat_id]

    def bot_messages(self, chat: int | dict) -> list[dict[str, Any]]:
        return [m for m in self.messages(chat) if m.get("from", {}).get("id") == self.bot_id]

    def message(self, chat: int | dict, message_id: int) -> dict[str, Any] | None:
        for m in self.messages(chat):
            if m["message_id"] == message_id:
                return m
        return None

    def last_bot_message(self, chat: int | dict) -> dict[str, Any] | None:
        msgs = self.bot_messages(chat)
        return msgs[-1] if msgs else None

    def buttons(self, chat: int | dict, message_id: int) -> list[list[dict[str, Any]]]:
        m = self.message(chat, message_id)
        return (m or {}).get("reply_markup", {}).get("inline_keyboard", [])

    def requests_of(self, *methods: str) -> list[RecordedRequest]:
        wanted = {m.lower() for m in methods}
        out = []
        for r in self._get("/x/requests"):
            if r["method"].lower() in wanted:
                params = {k: BotApiEmulator.decode_param(k, v) for k, v in (r.get("params") or {}).items()}
                out.append(
                    RecordedRequest(
                        method=r["method"],
                        params=params,
                        files={},
                        time=r["time"] / 1000.0,
                        wall_time=r["time"] / 1000.0,
                        status=500 if r.get("error") else 200,
                        error=r.get("error"),
                    )
                )
        return out

    # --- waiting ---------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[..., Any],
        timeout: float = 10.0,
        interval: float = 0.05,
        message: str | Callable[[], str] | None = None,
    ) -> Any:
        return await wait_for(as_condition(self, predicate), timeout, interval, message or self._describe)

    def wait_for_sync(
        self,
        predicate: Callable[..., Any],
        timeout: float = 10.0,
        interval: float = 0.05,
        message: str | Callable[[], str] | None = None,
    ) -> Any:
        return wait_for_sync(as_condition(self, predicate), timeout, interval, message or self._describe)

    def all_bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self._all_messages() if m.get("from", {}).get("id") == self.bot_id]

    async def wait_for_bot_message(
        self,
        chat: int | dict,
        predicate: Callable[[dict[str, Any]], Any] | None = None,
        timeout: float = 10.0,
        *,
        after: int = 0,
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            found = [
                m for m in self.bot_messages(chat) if m["message_id"] > after and (predicate is None or predicate(m))
            ]
            return found[-1] if found else None

        return await self.wait_for(check, timeout)

    def _describe(self) -> str:
        try:
            lines = [
                f"  chat {m['chat']['id']} #{m['message_id']} {'bot' if m.get('from', {}).get('id') == self.bot_id else 'user'}: "
                f"{m.get('text')!r}"
                for m in self._all_messages()
            ]
        except Exception as exc:  # pragma: no cover - diagnostics only
            return f"(telegram-test-api history unavailable: {exc!r})"
        return "telegram-test-api history:\n" + ("\n".join(lines[-30:]) or "  (empty)")

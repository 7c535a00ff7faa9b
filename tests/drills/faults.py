"""Fault switches for the drills: the bot wired to switchable upstreams, and Bot API faults.

* :func:`drill_bot` runs the real application (``build_application`` + ``running``) against the
  emulator and the fakes reached through :class:`Switch` transports (which can refuse
  connections like a closed port), with the recurring jobs disabled so a drill runs poll cycles
  itself (:func:`cycle`), and the clients' retry back-off shortened (:func:`fast_retries`) so a
  drill does not wait out real back-off times (a 1 s Retry-After still asks for 1 s; the sleep
  is what is shortened, and every requested wait is recorded in ``app.drill_waits``).
* :class:`TelegramFaults` makes the Bot API emulator answer some methods with a 429 and
  ``retry_after``, a 500, a non-JSON page, truncated JSON (after doing the work, as a lost
  answer), a dropped connection, or a hang, for a number of requests or until cleared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.app import build_application, running
from bot.store.state import Store
from tests.harness import ADMIN_CHAT, test_config

# --- upstream transports ------------------------------------------------------------------


class Switch(httpx.AsyncBaseTransport):
    """Wraps a fake's in-process transport; ``refuse = True`` makes every request fail to
    connect (``httpx.ConnectError``), as a closed port does: nothing reaches the fake."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.refuse = False
        self.refuse_next = 0  # refuse only this many more requests
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse or self.refuse_next > 0:
            self.refuse_next = max(0, self.refuse_next - 1)
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.inner.handle_async_request(request)


def fast_retries(app: Any, factor: float = 0.01, cap: float = 0.05) -> list[float]:
    """Shorten the Resont and MioGram clients' retry sleeps (each requested wait is recorded in
    the returned list, then slept ``factor`` of it, at most ``cap`` seconds)."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(float(seconds))
        await asyncio.sleep(min(cap, float(seconds) * factor))

    services = app.bot_data.services
    resont = services.resont
    resont.sender.retry = dataclasses.replace(resont.sender.retry, sleep=sleep)
    if services.miogram is not None:
        services.miogram.transport.sleep = sleep
    return waits


def job_names(app: Any) -> list[str]:
    return [job.name for feature in app.bot_data.features for job in feature.jobs]


async def cycle(app: Any) -> None:
    """One poll cycle: every recurring job once, concurrently, as the job queue runs them."""
    jobs = [job for name in job_names(app) for job in app.job_queue.get_jobs_by_name(name)]
    await asyncio.gather(*(job.run(app) for job in jobs))


@asynccontextmanager
async def drill_bot(
    botapi: Any,
    *,
    resont: Any = None,
    miogram: Any = None,
    store: Store | None = None,
    scheduled: bool = False,
    **overrides: Any,
) -> AsyncIterator[Any]:
    """The bot against ``botapi`` and the fakes (in-process, behind :class:`Switch`es).

    The application gets ``drill_resont`` / ``drill_miogram`` (the switches) and
    ``drill_waits`` (retry waits asked for) in ``bot_data``."""
    overrides.setdefault("telegram_token", botapi.token)
    transports: dict[str, Any] = {}
    switches: dict[str, Switch] = {}
    if resont is not None:
        switches["resont"] = Switch(resont.transport())
        transports["resont_transport"] = switches["resont"]
    if miogram is not None:
        switches["miogram"] = Switch(miogram.transport())
        transports["miogram_transport"] = switches["miogram"]
    config = test_config(botapi.base_url, **overrides)
    app = build_application(config, store=store or Store.memory(), **transports)
    async with AsyncExitStack() as stack:
        app = await stack.enter_async_context(running(app))
        if not scheduled:
            for name in job_names(app):
                for job in app.job_queue.get_jobs_by_name(name):
                    job.enabled = False
        app.bot_data.drill_resont = switches.get("resont")  # type: ignore[attr-defined]
        app.bot_data.drill_miogram = switches.get("miogram")  # type: ignore[attr-defined]
        app.bot_data.drill_waits = fast_retries(app)  # type: ignore[attr-defined]
        yield app


# --- what the admins were told ------------------------------------------------------------


def texts(botapi: Any, chat: int = ADMIN_CHAT) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in botapi.bot_messages(chat)]


def alerts(botapi: Any) -> list[str]:
    return [t for t in texts(botapi) if t.startswith("⚠️")]


def recoveries(botapi: Any) -> list[str]:
    return [t for t in texts(botapi) if t.startswith("✅")]


def with_text(botapi: Any, needle: str) -> list[str]:
    return [t for t in texts(botapi) if needle in t]


# --- Bot API faults -------------------------------------------------------------------------


@dataclass
class TelegramFault:
    kind: str  # status | non_json | truncated | drop | hang
    methods: frozenset[str]
    times: int = 10**9
    status: int = 500
    retry_after: int | None = None
    delay: float = 6.0
    hits: int = 0


class TelegramFaults:
    """Bot API faults on a started :class:`tests.botapi.BotApiEmulator`, by method name.

    ``add("status", "sendMessage", status=429, retry_after=1, times=2)``; ``clear()`` heals.
    ``truncated`` lets the emulator do the work (the message exists) and cuts its answer in
    half: the answer is lost, as on a connection that breaks after the server acted."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self._lock = threading.Lock()
        self._faults: list[TelegramFault] = []
        self._local = threading.local()
        self._serve = emulator.serve
        self._reply = emulator.reply
        emulator.serve = self._faulty_serve  # instance attributes shadow the methods
        emulator.reply = self._faulty_reply

    def add(self, kind: str, *methods: str, **kwargs: Any) -> TelegramFault:
        fault = TelegramFault(kind, frozenset(m.lower() for m in methods), **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self) -> None:
        self.clear()
        self.emulator.__dict__.pop("serve", None)
        self.emulator.__dict__.pop("reply", None)

    def _take(self, method: str) -> TelegramFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and method.lower() in fault.methods:
                    fault.times -= 1
                    fault.hits += 1
                    return fault
        return None

    def _faulty_serve(self, handler: Any) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(handler.path).path)
        match = re.fullmatch(r"/bot[^/]*/([A-Za-z0-9_]*)/?", path)
        fault = self._take(match.group(1)) if match else None
        if fault is None:
            self._serve(handler)
            return
        if fault.kind == "truncated":
            self._local.truncate = True
            try:
                self._serve(handler)
            finally:
                self._local.truncate = False
            return
        self.emulator.read_body(handler)
        if fault.kind == "status":
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": f"Too Many Requests: retry after {fault.retry_after or 1}"
                if fault.status == 429
                else "Internal Server Error",
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            self._reply(handler, fault.status, body)
        elif fault.kind == "non_json":
            self._reply(handler, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        elif fault.kind in ("drop", "hang"):
            if fault.kind == "hang":
                time.sleep(fault.delay)
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            raise ValueError(f"unknown Telegram fault {fault.kind!r}")

    def _faulty_reply(self, handler: Any, status: int, body: Any, content_type: str = "application/json") -> None:
        if not getattr(self._local, "truncate", False):
            self._reply(handler, status, body, content_type)
            return
        payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._reply(handler, status, payload[: max(1, len(payload) // 2)], content_type)


def restart_on_same_port(emulator: Any, down_for: float) -> None:
    """Stop the emulator (connections refused) for ``down_for`` seconds, then start it again on
    the same port with its state (chats, updates) intact. Blocking: run it in a thread."""
    port = emulator.port
    emulator.stop()
    time.sleep(down_for)
    emulator.start(port)

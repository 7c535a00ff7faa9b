"""Shared machinery of the in-repo upstream fakes (Resont, MioGram).

A fake is a :class:`FakeService` subclass implementing ``route(request) -> FakeResponse``. The
same instance can be used in-process (``service.transport()``, an httpx async transport) or as a
loopback HTTP server (``with service.serve() as url:``), so tests and benchmarks exercise the real
client code over either. Every request is recorded in ``service.requests``; a per-test
:class:`FaultPlan` injects 429 with Retry-After, 5xx, timeouts, dropped connections, non-JSON and
truncated JSON bodies, and ``latency`` is each answer's time after its request arrived (the fake's
own work included, as a server's would be).
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass
class FakeRequest:
    method: str
    path: str  # without the leading base path, e.g. "comment/12/reply"
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A single value from the query or the form body."""
        for source in (self.form, self.query):
            if name in source and source[name]:
                return source[name][0]
        return default

    def args(self, name: str) -> list[str]:
        """Every value of ``name`` (``name[]`` bracket arrays included)."""
        out: list[str] = []
        for source in (self.query, self.form):
            out.extend(source.get(name, []))
            out.extend(source.get(f"{name}[]", []))
        return out

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes → as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next ``times`` matching requests.

    kind: ``status`` (answer ``status`` with ``body``/``retry_after``), ``timeout`` (hang for
    ``delay`` seconds, then answer normally: the client should give up first), ``drop`` (close the
    connection without answering), ``non_json`` (an HTML error page), ``truncated`` (the real
    answer cut in half).
    """

    kind: str
    status: int = 500
    retry_after: float | None = None
    body: Any = None
    times: int = 1
    match: str | None = None  # regex searched in "METHOD path" (MioGram: "POST Func")
    delay: float = 30.0

    def matches(self, signature: str) -> bool:
        return self.match is None or re.search(self.match, signature) is not None


class FaultPlan:
    """Faults queued for a test; thread-safe because the loopback server is threaded."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(kind, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        """How many queued faults have not been used up yet."""
        with self._lock:
            return len(self._faults)

    def take(self, signature: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(signature):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None


class DropConnection(Exception):
    """Raised by a fault: the server closes the connection without an answer."""


def parse_body(headers: dict[str, str], body: bytes) -> tuple[dict[str, list[str]], dict[str, list[UploadedFile]]]:
    """Decode a urlencoded or multipart/form-data body into (form fields, files)."""
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        return parse_qs(body.decode("utf-8"), keep_blank_values=True), {}
    if ctype.startswith("multipart/form-data"):
        return _parse_multipart(ctype, body)
    return {}, {}


def _parse_multipart(ctype: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, list[UploadedFile]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    form: dict[str, list[str]] = {}
    files: dict[str, list[UploadedFile]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files.setdefault(name, []).append(UploadedFile(filename, part.get_content_type(), payload))
        else:
            form.setdefault(name, []).append(payload.decode("utf-8"))
    return form, files


class FakeService:
    """Base of the fakes: request recording, faults, latency, two ways to be reached."""

    #: path prefix stripped before routing (e.g. "/token/v1")
    base_path: str = ""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.faults = FaultPlan()
        self.requests: list[FakeRequest] = []
        self._lock = threading.RLock()

    # --- to implement
    def route(self, request: FakeRequest) -> FakeResponse:
        raise NotImplementedError

    def signature(self, request: FakeRequest) -> str:
        return f"{request.method} {request.path}"

    # --- request handling shared by both adapters
    def build_request(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> FakeRequest:
        parts = urlsplit(raw_path)
        path = parts.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :]
        lowered = {k.lower(): v for k, v in headers.items()}
        form, files = parse_body(lowered, body)
        return FakeRequest(
            method=method.upper(),
            path=path.strip("/"),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=lowered,
            body=body,
            form=form,
            files=files,
        )

    def respond(self, request: FakeRequest) -> tuple[FakeResponse, Fault | None]:
        """Record ``request`` and produce the answer, applying a queued fault if one matches."""
        with self._lock:
            self.requests.append(request)
            fault = self.faults.take(self.signature(request))
            if fault is not None and fault.kind == "status":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = (
                    fault.body
                    if fault.body is not None
                    else {"error": {"message": "injected", "type": "HttpException"}}
                )
                return FakeResponse(fault.status, body, headers), fault
            if fault is not None and fault.kind == "non_json":
                return FakeResponse(502, "<html><body>Bad Gateway</body></html>", content_type="text/html"), fault
            response = self.route(request)
            if fault is not None and fault.kind == "truncated":
                raw = response.encoded()
                response = FakeResponse(
                    response.status, raw[: max(1, len(raw) // 2)], response.headers, response.content_type
                )
            return response, fault

    def latency_left(self, arrived: float) -> float:
        """Seconds still to wait before answering a request that arrived at ``arrived``
        (``time.monotonic()``): ``latency`` is the server's time to answer, its own work included."""
        return max(0.0, self.latency - (time.monotonic() - arrived)) if self.latency else 0.0

    def wait_out_latency(self, arrived: float) -> None:
        """Block the serving thread until ``latency`` has passed since the request arrived."""
        left = self.latency_left(arrived)
        if left:
            time.sleep(left)

    # --- in-process adapter
    def transport(self) -> httpx.AsyncBaseTransport:
        return _Transport(self)

    # --- loopback adapter
    def serve(self) -> LoopbackServer:
        return LoopbackServer(self)


class _Transport(httpx.AsyncBaseTransport):
    def __init__(self, service: FakeService) -> None:
        self.service = service

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        raw_path = request.url.raw_path.decode("ascii")
        arrived = time.monotonic()
        fake = self.service.build_request(request.method, raw_path, dict(request.headers), body)
        response, fault = self.service.respond(fake)
        await asyncio.sleep(self.service.latency_left(arrived))
        if fault is not None and fault.kind == "timeout":
            raise httpx.ReadTimeout("injected timeout", request=request)
        if fault is not None and fault.kind == "drop":
            raise httpx.RemoteProtocolError("injected dropped connection", request=request)
        headers = {"content-type": response.content_type, **response.headers}
        return httpx.Response(response.status, headers=headers, content=response.encoded(), request=request)


class LoopbackServer:
    """The fake as a threaded HTTP server on 127.0.0.1 (a free port). Use as a context manager
    or call ``start()``/``stop()``; ``url`` is the root (``http://127.0.0.1:PORT``)."""

    def __init__(self, service: FakeService) -> None:
        self.service = service
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> LoopbackServer:
        handler = _make_handler(self.service)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _make_handler(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
            # client's delayed ACK add ~40 ms to every keep-alive request
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def parse_request(self) -> bool:
            # the request line has just been read: the request has arrived (a server's latency
            # counts its own reading of the headers and body)
            self.arrived = time.monotonic()
            return super().parse_request()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            arrived = self.arrived
            fake = service.build_request(self.command, self.path, dict(self.headers.items()), body)
            response, fault = service.respond(fake)
            service.wait_out_latency(arrived)
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault is not None and fault.kind == "timeout":
                time.sleep(fault.delay)
            payload = response.encoded()
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    return Handler

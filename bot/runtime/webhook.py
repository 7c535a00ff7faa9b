"""The Resont webhook receiver: a small aiohttp server beside the Telegram polling.

Resont pushes ``{type, user_id, payload}`` JSON to the URL registered with the OAuth client
(``https://<host>/resont/<WEBHOOK_SECRET>``). The secret in the path is the only protection
Resont's pushes allow, so:

* a wrong secret (or any other path) answers 404, as if nothing were there;
* a body that is not a JSON object with a ``type`` answers 400;
* an event type the bot does not handle (``autoform_completed``, ``leed_created`` …) answers 200
  and is ignored, so Resont does not retry it forever;
* ``message_created`` and ``comment_created`` are handed to ``on_event``, which only has to
  record the item (the inbox pipeline claims it in the state file and forwards it in the
  background); a failure there answers 500 so that Resont may push again.

The server knows nothing of Telegram: it parses and hands over. It runs in the bot's own event
loop, started by the inbox feature's ``on_start`` hook when ``PORT`` is set, and stops at shutdown
(``aclose``).

Running it (``web`` process): set ``PORT`` (Heroku sets it for a ``web`` dyno) and
``WEBHOOK_SECRET``, and register ``https://<your-app>/resont/<WEBHOOK_SECRET>`` as the webhook URL
of the Resont OAuth client (pushes need a refresh token with ``offline_access``). The same process
keeps polling Telegram and Resont: the webhook only makes new items arrive sooner, and an item
that arrives by both ways is forwarded once. Run exactly one such process (two processes polling
Telegram with one token conflict).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.models import WebhookEvent, parse_webhook

log = logging.getLogger(__name__)

#: Largest body accepted (a Message or Comment object is a few KiB).
MAX_BODY = 1024 * 1024

EventHandler = Callable[[WebhookEvent], Awaitable[None]]
Parser = Callable[[bytes], "WebhookEvent | None"]


class WebhookServer:
    """``await server.start()`` … ``await server.aclose()``; ``port`` is the bound port."""

    def __init__(
        self,
        *,
        secret: str,
        on_event: EventHandler,
        parse: Parser | None = None,
        host: str = "0.0.0.0",
        port: int = 8080,
        path_prefix: str = "/resont",
    ) -> None:
        if not secret:
            raise ValueError("the webhook needs a secret")
        self._secret = secret.encode("utf-8")
        self._on_event = on_event
        self._parse = parse or (lambda body: parse_webhook(body))
        self.host = host
        self.port = port
        self.path_prefix = path_prefix.rstrip("/")
        self._runner: web.AppRunner | None = None
        self.received = 0  # events handed over (for /status and tests)

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path_prefix + "/{secret}", self._handle)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info("Resont webhook listening on %s:%s%s/<secret>", self.host, self.port, self.path_prefix)

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def aclose(self) -> None:
        """Stop listening (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("Resont webhook stopped")

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.match_info.get("secret", "").encode("utf-8")
        if not hmac.compare_digest(given, self._secret):
            log.info("webhook push with a wrong secret from %s", request.remote)
            raise web.HTTPNotFound()
        body = await request.read()
        try:
            event = self._parse(body)
        except ResontMalformed as exc:
            log.info("webhook push refused: %s", exc)
            return _json(400, {"ok": False, "error": str(exc)})
        if event is None:
            return _json(200, {"ok": True, "ignored": True})
        try:
            await self._on_event(event)
        except Exception:
            log.exception("webhook event %s could not be recorded", event.type)
            return _json(500, {"ok": False})
        self.received += 1
        return _json(200, {"ok": True})


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)

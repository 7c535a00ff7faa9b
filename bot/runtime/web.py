"""The bot's HTTP side in web mode (``PORT`` set): one aiohttp server on ``0.0.0.0:$PORT``.

Features declare their routes (``Feature.web_routes``): the inbox serves Resont's webhook
(``POST /resont/{WEBHOOK_SECRET}``), the connect feature the OAuth callback
(``GET /oauth/callback``). The server runs in the bot's own event loop beside the Telegram
polling, starts after the features' start hooks (so every route finds its runtime ready) and
stops first at shutdown (so nothing arrives while the rest closes). A port that cannot be bound
is an alert to the admins, not a crash: polling still brings everything, only later.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.runtime.services import Services

log = logging.getLogger(__name__)

#: Largest request body accepted (a webhook push is a Message or Comment object: a few KiB).
MAX_BODY = 1024 * 1024
#: Incident key of "the port cannot be bound".
ALERT_KEY = "web"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WebRoute:
    """One route: ``method`` and aiohttp ``path`` pattern (``/resont/{secret}``) → handler."""

    method: str
    path: str
    handler: Handler


class WebServer:
    """``await server.start()`` … ``await server.aclose()``; ``port`` is the bound port."""

    def __init__(self, routes: Sequence[WebRoute], *, host: str = "0.0.0.0", port: int = 8080) -> None:
        self.routes = list(routes)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        for route in self.routes:
            app.router.add_route(route.method, route.path, route.handler)
        return app

    async def start(self) -> None:
        """Bind and serve; raises OSError when the port cannot be bound (nothing left open)."""
        runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        if runner.addresses:
            self.port = int(runner.addresses[0][1])
        paths = ", ".join(f"{r.method} {r.path}" for r in self.routes)
        log.info("web mode: listening on %s:%s (%s)", self.host, self.port, paths)

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def aclose(self) -> None:
        """Stop listening (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("web mode: stopped")


async def start_web(
    app: Application[Any, Any, Any, Any, Any, Any], services: Services, routes: Sequence[WebRoute]
) -> WebServer | None:
    """Web mode: serve ``routes`` (every feature's) on ``PORT``. None without ``PORT``, or when
    the port cannot be bound (then the admins are told once, until a later start succeeds)."""
    port = services.config.port
    if port is None:
        return None
    server = WebServer(routes, port=port)
    try:
        await server.start()
    except OSError as exc:
        log.error("web mode: cannot listen on port %s: %s", port, exc)
        text = services.t("core.alert_web_failed", None, port=str(port), error=html.escape(str(exc)[:200]))
        await services.alerts.raise_(app.bot, ALERT_KEY, text)
        return None
    await services.alerts.resolve(app.bot, ALERT_KEY)
    return server

"""The Resont webhook route: ``POST /resont/<WEBHOOK_SECRET>`` on the web-mode server.

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

Every authenticated, well-formed push (ignored types too) is noted in the store's ``webhook``
table (:class:`PushJournal`), so /status can say when the last one came, across restarts.

The route knows nothing of Telegram: it parses and hands over. The inbox feature declares it
(``Feature.web_routes``); :mod:`bot.runtime.web` serves it when ``PORT`` is set.

Running it (``web`` process): set ``PORT`` (Heroku sets it for a ``web`` dyno) and
``WEBHOOK_SECRET``, and register ``https://<your-app>/resont/<WEBHOOK_SECRET>`` as the webhook URL
of the Resont OAuth client (pushes need a refresh token with ``offline_access``). The same process
keeps polling Telegram and Resont: the webhook only makes new items arrive sooner, and an item
that arrives by both ways is forwarded once. Run exactly one such process (two processes polling
Telegram with one token conflict).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.inbox_models import WebhookEvent, parse_webhook
from bot.runtime.web import WebRoute
from bot.store.errors import StoreUnavailable
from bot.store.state import Store

log = logging.getLogger(__name__)

EventHandler = Callable[[WebhookEvent], Awaitable[None]]
Parser = Callable[[bytes], "WebhookEvent | None"]


@dataclass(frozen=True)
class LastPush:
    """The last push received: when (unix seconds), its type, and how many came so far."""

    at: float
    type: str
    count: int


class PushJournal:
    """Notes each push in the store's ``webhook`` table (one small document)."""

    KEY = "last"

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._table = store.table("webhook")
        self._clock = clock

    def note(self, kind: str) -> None:
        last = self.last()
        count = last.count + 1 if last else 1
        self._table.put(self.KEY, {"at": self._clock(), "type": kind[:64], "count": count})

    def last(self) -> LastPush | None:
        doc = self._table.get(self.KEY)
        if doc is None:
            return None
        return LastPush(float(doc.get("at", 0)), str(doc.get("type", "")), int(doc.get("count", 0)))


class ResontWebhook:
    """The webhook route: checks the secret, parses, hands events to ``on_event``."""

    def __init__(
        self,
        *,
        secret: str,
        on_event: EventHandler,
        journal: PushJournal,
        parse: Parser | None = None,
        path_prefix: str = "/resont",
    ) -> None:
        if not secret:
            raise ValueError("the webhook needs a secret")
        self._secret = secret.encode("utf-8")
        self._on_event = on_event
        self._journal = journal
        self._parse = parse or (lambda body: parse_webhook(body))
        self.path_prefix = path_prefix.rstrip("/")
        self.received = 0  # events handed over (for tests)

    def routes(self) -> list[WebRoute]:
        return [WebRoute("POST", self.path_prefix + "/{secret}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
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
        self._journal.note(event.type if event is not None else _type_of(body))
        if event is None:
            return _json(200, {"ok": True, "ignored": True})
        try:
            await self._on_event(event)
        except StoreUnavailable as exc:  # the database is away: Resont pushes it again
            log.warning("webhook event %s not recorded now: %s", event.type, exc)
            return _json(503, {"ok": False})
        except Exception:  # any failure: let Resont push again
            log.exception("webhook event %s could not be recorded", event.type)
            return _json(500, {"ok": False})
        self.received += 1
        return _json(200, {"ok": True})


def _type_of(body: bytes) -> str:
    """The ``type`` of a push the parser accepted but ignores (it is a JSON object with one)."""
    try:
        return str(json.loads(body).get("type", ""))
    except (ValueError, AttributeError):
        return ""


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)

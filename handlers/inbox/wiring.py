"""Inbox bridge: Resont comments and direct messages as cards in the admin chat, answered there.

This module declares the feature (commands, buttons, reply routes, jobs, hooks) and the
webhook route; the work is done by one module per responsibility:

* :mod:`handlers.inbox.poll` – the polls (fetch, cursors); :mod:`handlers.inbox.records` (keys,
  claiming, retention), :mod:`handlers.inbox.enrich` and :mod:`handlers.inbox.delivery` (cards,
  digests, DM grouping, webhook pushes) make the pipeline; cards are drawn by
  :mod:`handlers.inbox.cards`.
* :mod:`handlers.inbox.actions` – card buttons: like, tag, delete (with confirmation, comments),
  done; :mod:`handlers.inbox.digests` – digest lines expand into cards, "Mark all done".
* :mod:`handlers.inbox.answers` – answering: reply to a card (text; for DMs also a photo or a
  document, uploaded as the attachment), or press Reply and answer the question. The answer
  goes out through Resont and the card says who replied what.
* :mod:`handlers.inbox.views` – ``/inbox`` lists the open items by account; the ``/status`` line.

Who may do this is declared here (agents and admins) and enforced by ``handlers.guard`` and the
reply router; nothing re-checks roles by hand.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram.ext import CommandHandler

from bot.clients.resont.inbox_models import WebhookEvent
from bot.config import Config
from bot.runtime.feature import Command, Feature, RepeatingJob, ReplyRoute
from bot.runtime.roles import INBOX
from bot.runtime.web import WebRoute
from bot.runtime.webhook import PushJournal, ResontWebhook
from handlers.inbox import poll as pipeline
from handlers.inbox.actions import comment_buttons, dm_buttons
from handlers.inbox.answers import on_card_reply, on_prompt_reply
from handlers.inbox.delivery import on_webhook_event, runtime, stop_inbox
from handlers.inbox.digests import digest_buttons
from handlers.inbox.records import CARD_KIND, PROMPT_KIND
from handlers.inbox.views import on_inbox, status_lines

if TYPE_CHECKING:
    from bot.runtime.context import AnyApplication
    from bot.runtime.services import Services

log = logging.getLogger(__name__)


def feature(config: Config) -> Feature:
    """The inbox feature: ``/inbox``, card and digest buttons, answers, both polls, the webhook."""
    return Feature(
        name="inbox",
        handlers=[CommandHandler("inbox", on_inbox)],
        commands=[Command("inbox", INBOX, "inbox.cmd_inbox")],
        buttons=[comment_buttons(), dm_buttons(), digest_buttons()],
        replies={
            CARD_KIND: ReplyRoute(INBOX, on_card_reply),
            PROMPT_KIND: ReplyRoute(INBOX, on_prompt_reply),
        },
        jobs=[
            RepeatingJob("inbox-comments", pipeline.poll_comments),
            RepeatingJob("inbox-dms", pipeline.poll_dms, first=1.5),
        ],
        on_start=[start_inbox],
        on_stop=[stop_inbox],
        status_lines=[status_lines],
        web_routes=[webhook_routes],
    )


# ---------------------------------------------------------------------------------- start-up


async def start_inbox(app: AnyApplication) -> None:
    """Create the inbox runtime (before any poll, push or button needs it)."""
    runtime(app)


def webhook_routes(app: AnyApplication) -> list[WebRoute]:
    """Web mode: Resont's pushes at ``POST /resont/<WEBHOOK_SECRET>`` (see bot.runtime.webhook)."""
    services: Services = app.bot_data.services

    async def on_event(event: WebhookEvent) -> None:
        await on_webhook_event(app, event)

    webhook = ResontWebhook(
        secret=services.config.webhook_secret,
        on_event=on_event,
        journal=PushJournal(services.store),
        parse=services.resont.parse_webhook,
    )
    return webhook.routes()

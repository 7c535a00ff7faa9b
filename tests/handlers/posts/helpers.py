"""Helpers of the posts tests: run the bot, find cards, press buttons, wait for polls."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.botapi import text_of, wait_for
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN_CHAT, bot_running


def running(backend: Any, resont: FakeResont, **overrides: Any):
    overrides.setdefault("poll_seconds", 0.2)
    return bot_running(backend.base_url, resont=resont, telegram_token=backend.token, **overrides)


def tomorrow() -> datetime:
    return (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)


def draft(fake: FakeResont, caption: str = "Launch day!", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("schedule", tomorrow())
    return fake.add_post_group(caption, list(fake.accounts), **kwargs)


TITLE = re.compile(r"^(?:📝 Draft|🗓 Scheduled post) #(\d+)")


def cards(backend: Any, pg: int) -> list[dict[str, Any]]:
    return [
        m for m in backend.bot_messages(ADMIN_CHAT) if (match := TITLE.match(text_of(m))) and int(match.group(1)) == pg
    ]


async def card_of(backend: Any, pg: int) -> dict[str, Any]:
    found = await backend.wait_for(lambda: cards(backend, pg))
    return found[0]


def current(backend: Any, card: dict[str, Any]) -> dict[str, Any]:
    return backend.message(ADMIN_CHAT, card["message_id"]) or {}


def datas(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


async def press(
    backend: Any, user: int, message: dict[str, Any], data: str, chat: int = ADMIN_CHAT, *, force: bool = False
) -> dict[str, Any]:
    """Press a button (``force``: one no longer on the message, like an old client would)."""
    cq = backend.user_presses(user, chat, message["message_id"], data, force=force)
    return await backend.wait_for(lambda: backend.callback_answer(cq))


async def bot_text(backend: Any, pattern: str, chat: int = ADMIN_CHAT, after: int = 0) -> dict[str, Any]:
    return await backend.wait_for_bot_message(chat, lambda m: re.search(pattern, text_of(m)), after=after)


def writes(fake: FakeResont, pg: int) -> list[Any]:
    """Requests that change post group ``pg`` in Resont."""
    return fake.requests_to(rf"^(PUT|DELETE) post/{pg}$|^POST post/{pg}/")


async def poll_ran(app: Any, after: float | None = None) -> None:
    services = app.bot_data.services
    since = time.time() if after is None else after
    await wait_for(lambda: (o := services.health.jobs.get("posts")) is not None and o.at > since, 10)


def audit(app: Any, action: str) -> list[dict[str, Any]]:
    return [doc for _, doc in app.bot_data.services.store.table("audit").items() if doc["action"] == action]


def is_card(message: dict[str, Any]) -> bool:
    return TITLE.match(text_of(message)) is not None


class Clock:
    """A clock the test moves: the bot's ``clock`` and the Resont fake's share it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


async def deadlines_ran(app: Any, after: float | None = None) -> None:
    """Wait until the approval deadlines job has run (after ``after``, default now)."""
    services = app.bot_data.services
    since = time.time() if after is None else after
    await wait_for(lambda: (o := services.health.jobs.get("posts.deadlines")) is not None and o.at > since, 10)


def reminders(backend: Any, pg: int) -> list[dict[str, Any]]:
    """The reminders the bot sent about post group ``pg``."""
    return [m for m in backend.bot_messages(ADMIN_CHAT) if text_of(m).startswith(f"⏰ Draft #{pg} ")]

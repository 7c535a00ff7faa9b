"""Helpers of the mass-send end-to-end tests: the bot with the MioGram fake, the /mass flow
driven through the Bot API emulator, and what the emulator shows."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application

from bot.massjobs import docs as md
from handlers.mass import buttons as kinds
from handlers.mass.wiring import MassFeature
from tests.botapi.emulator import button_datas, text_of
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET, RESONT_TOKEN, bot_running


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+98912{1000000 + start + i}" for i in range(count)]


def national(number: str) -> str:
    return "0" + number[3:]


@asynccontextmanager
async def mass_bot(telegram, fake: FakeMioGram | None = None, **overrides: Any) -> AsyncIterator[Application]:
    fake = fake if fake is not None else FakeMioGram(secret=MIOGRAM_SECRET)
    async with bot_running(
        telegram.base_url,
        miogram=fake,
        resont=FakeResont(token=RESONT_TOKEN),
        telegram_token=telegram.token,
        **overrides,
    ) as app:
        mass = next(f.mass for f in app.bot_data.features if isinstance(f, MassFeature))
        mass.painter.interval = 0.0  # every state is shown (the fake is fast)
        yield app


def store_of(app: Application):
    return app.bot_data.services.store


async def bot_says(
    telegram, text: str, after: int = 0, chat: int = ADMIN_CHAT, timeout: float = 10.0
) -> dict[str, Any]:
    return await telegram.wait_for_bot_message(chat, lambda m: text in text_of(m), timeout=timeout, after=after)


def button(message: dict[str, Any], prefix: str) -> str:
    found = [d for d in button_datas(message) if d.startswith(prefix)]
    assert found, f"no {prefix!r} button on {text_of(message)!r}: {button_datas(message)}"
    return found[0]


async def flow_to_preview(
    telegram, audience: str, content: str = "Hello from the team", *, channel: str = "m", user: int = ADMIN
) -> dict[str, Any]:
    """/mass → paste the audience → the text → a channel → the preview card."""
    start = max([m["message_id"] for m in telegram.messages(ADMIN_CHAT)] or [0])
    telegram.user_sends(user, ADMIN_CHAT, "/mass")
    ask = await bot_says(telegram, "step 1 of 3", after=start)
    telegram.user_sends(user, ADMIN_CHAT, audience, reply_to=ask["message_id"])
    step2 = await bot_says(telegram, "Step 2 of 3", after=ask["message_id"])
    telegram.user_sends(user, ADMIN_CHAT, content, reply_to=step2["message_id"])
    step3 = await bot_says(telegram, "Step 3 of 3", after=step2["message_id"])
    telegram.user_presses(user, ADMIN_CHAT, step3["message_id"], kinds.Channel(channel).encode())
    return await bot_says(telegram, "preview", after=step3["message_id"])


async def confirm(telegram, preview: dict[str, Any], user: int = ADMIN) -> str:
    data = button(preview, "mass:go:")
    telegram.user_presses(user, ADMIN_CHAT, preview["message_id"], data)
    return data.split(":")[2]


async def report_rows(botapi, job_id: str, timeout: float = 15.0) -> list[dict[str, str]]:
    def find():
        return [
            m
            for m in botapi.bot_messages(ADMIN_CHAT)
            if (m.get("document") or {}).get("file_name") == f"mass-{job_id}.csv"
        ]

    docs = await botapi.wait_for(find, timeout=timeout)
    data = botapi.file_bytes(docs[0]["document"]["file_id"]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(data)))


def progress_message(app: Application, botapi, job_id: str) -> dict[str, Any]:
    where = store_of(app).table(md.TABLE).get(job_id)["progress"]
    return botapi.message(where["chat_id"], where["message_id"])


async def progress_showing(app: Application, botapi, job_id: str, text: str) -> dict[str, Any]:
    """The progress message once it shows ``text`` (it is drawn in the background)."""

    def check():
        if not (store_of(app).table(md.TABLE).get(job_id) or {}).get("progress"):
            return None
        message = progress_message(app, botapi, job_id)
        return message if text in text_of(message) else None

    return await botapi.wait_for(check)

"""/lang: per-user language over the configured one, through the Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application

from bot.app import build_application, build_features, running
from bot.runtime.i18n import Catalogue
from bot.store.state import Store
from handlers import lang
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, RESONT_TOKEN, STRANGER, test_config

CATALOGUE = Catalogue.load()


@asynccontextmanager
async def lang_bot(botapi: Any, **overrides: Any) -> AsyncIterator[Application]:
    """The bot with the /lang feature (added before the reply fallbacks if app.py lacks it)."""
    config = test_config(botapi.base_url, telegram_token=botapi.token, **overrides)
    features = build_features(config)
    if not any(f.name == "lang" for f in features):
        features.insert(len(features) - 1, lang.feature(config))
    fake = FakeResont(token=RESONT_TOKEN)
    app = build_application(config, store=Store.memory(), features=features, resont_transport=fake.transport())
    async with running(app):
        yield app


def private_texts(botapi: Any, user: int) -> list[str]:
    return [m.get("text", "") for m in botapi.bot_messages(user)]


async def test_lang_fa_switches_that_user_only(botapi):
    async with lang_bot(botapi) as app:
        botapi.user_sends(ADMIN, ADMIN, "/lang fa")
        await botapi.wait_for(lambda: any("زبان به" in t for t in private_texts(botapi, ADMIN)))
        assert app.bot_data.services.store.table("users").get(str(ADMIN)) == {"lang": "fa"}

        botapi.user_sends(ADMIN, ADMIN, "/help")
        await botapi.wait_for(lambda: any("کارهایی که اینجا" in t for t in private_texts(botapi, ADMIN)))
        help_text = private_texts(botapi, ADMIN)[-1]
        assert CATALOGUE.t("lang.cmd_lang", "fa") in help_text

        # the private menu follows the choice, listing only what the role allows
        menu = await botapi.wait_for(lambda: botapi.commands({"type": "chat", "chat_id": ADMIN}))
        assert {"command": "lang", "description": CATALOGUE.t("lang.cmd_lang", "fa")} in menu

        # another user still gets the configured language
        botapi.user_sends(AGENT, AGENT, "/help")
        await botapi.wait_for(lambda: any("What you can do here" in t for t in private_texts(botapi, AGENT)))


async def test_lang_buttons_and_back_to_default(botapi):
    async with lang_bot(botapi, language="fa") as app:
        users = app.bot_data.services.store.table("users")
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/lang")
        card = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "reply_markup" in m)
        assert "پیش‌فرض تیم" in card["text"]  # the configured language, in Persian
        labels = [b["text"] for row in botapi.buttons(ADMIN_CHAT, card["message_id"]) for b in row]
        assert labels[:2] == ["English", "فارسی"]

        answer = botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], "lang:en")
        await botapi.wait_for(lambda: botapi.callback_answer(answer))
        assert botapi.callback_answer(answer)["text"] == "🌐 Language set to English."
        done = "🌐 Language set to English."
        await botapi.wait_for(lambda: botapi.message(ADMIN_CHAT, card["message_id"])["text"] == done)
        assert users.get(str(ADMIN)) == {"lang": "en"}

        botapi.user_sends(ADMIN, ADMIN_CHAT, "/lang default")
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "زبان پیش‌فرض تیم" in m.get("text", ""))
        assert users.get(str(ADMIN)) == {}


async def test_lang_accepts_names_and_refuses_nonsense(botapi):
    async with lang_bot(botapi) as app:
        users = app.bot_data.services.store.table("users")
        users.put(str(AGENT), {"lang": "en", "other": 1})
        botapi.user_sends(AGENT, AGENT, "/lang فارسی")
        await botapi.wait_for(lambda: (users.get(str(AGENT)) or {}).get("lang") == "fa")
        assert users.get(str(AGENT)) == {"lang": "fa", "other": 1}  # other prefs are kept

        botapi.user_sends(AGENT, AGENT, "/lang klingon")
        await botapi.wait_for(lambda: any("/lang default" in t for t in private_texts(botapi, AGENT)[1:]))
        assert users.get(str(AGENT))["lang"] == "fa"

        forged = botapi.user_presses(AGENT, AGENT, botapi.last_bot_message(AGENT)["message_id"], "lang:xx", force=True)
        await botapi.wait_for(lambda: botapi.callback_answer(forged))
        assert botapi.callback_answer(forged)["show_alert"] is True


async def test_strangers_cannot_set_a_language(botapi):
    async with lang_bot(botapi) as app:
        botapi.user_sends(STRANGER, STRANGER, "/lang fa")
        await botapi.wait_for(lambda: private_texts(botapi, STRANGER))
        assert "only works for its team" in private_texts(botapi, STRANGER)[0]
        assert app.bot_data.services.store.table("users").get(str(STRANGER)) is None


async def test_admin_chat_menu_exists_in_both_languages(botapi):
    async with lang_bot(botapi, language="en"):
        chat = {"type": "chat", "chat_id": ADMIN_CHAT}
        english = await botapi.wait_for(lambda: botapi.commands(chat))
        persian = await botapi.wait_for(lambda: botapi.commands(chat, language_code="fa"))
        assert {"command": "lang", "description": CATALOGUE.t("lang.cmd_lang", "en")} in english
        assert {"command": "lang", "description": CATALOGUE.t("lang.cmd_lang", "fa")} in persian
        assert [c["command"] for c in persian] == [c["command"] for c in english]
        # the default scope has both too (the admin chat's menu wins in the admin chat)
        assert botapi.commands(language_code="fa") == persian

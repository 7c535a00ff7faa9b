"""/lang: each user's interface language (English or Persian), over the configured default.

``/lang`` shows the current choice with buttons (:class:`PickLanguage`: ``lang:en``, ``lang:fa``,
``lang:default``);
``/lang fa`` / ``/lang en`` / ``/lang default`` set it directly (``فارسی``, ``english`` … work
too). The choice is stored in the ``users`` table as ``{"lang": code}`` (read by
``Services.lang``); ``default`` removes it. In a private chat the bot's command menu is re-sent in
the chosen language, listing the commands the user's role allows.
"""

from __future__ import annotations

import logging
from typing import Annotated

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature
from bot.runtime.i18n import LANGUAGES
from bot.runtime.roles import ANY_ROLE, roles_of
from bot.runtime.services import Services
from bot.runtime.tg.buttons import Buttons, button
from bot.runtime.tg.callback import ButtonData, Namespace, OneOf
from bot.runtime.tg.quiet import answer_quietly, edit_quietly
from bot.runtime.update_parts import message_of, user_of

log = logging.getLogger(__name__)

LANG = Namespace("lang")
DEFAULT = "default"

#: What a user may type after /lang (lower-cased) → language code or "default".
ALIASES: dict[str, str] = {
    "en": "en", "eng": "en", "english": "en", "انگلیسی": "en",
    "fa": "fa", "fas": "fa", "per": "fa", "persian": "fa", "farsi": "fa", "فارسی": "fa", "پارسی": "fa",
    "default": DEFAULT, "reset": DEFAULT, "auto": DEFAULT, "پیش‌فرض": DEFAULT, "پیشفرض": DEFAULT,
}  # fmt: skip


class PickLanguage(ButtonData, namespace=LANG):
    """``lang:<code>``: use this language (or follow the configured one: ``default``)."""

    code: Annotated[str, OneOf(*LANGUAGES, DEFAULT)]


def feature(config: Config) -> Feature:
    return Feature(
        name="lang",
        handlers=[CommandHandler("lang", on_lang)],
        commands=[Command("lang", ANY_ROLE, "lang.cmd_lang")],
        buttons=[Buttons(LANG, ANY_ROLE, {PickLanguage: on_button})],
    )


def chosen(services: Services, user_id: int) -> str | None:
    """The user's own choice, or None when they follow the configured language."""
    prefs = services.store.table("users").get(str(user_id)) or {}
    code = prefs.get("lang")
    return code if code in LANGUAGES else None


def set_language(services: Services, user_id: int, code: str) -> None:
    """Store ``code`` (a language or ``default``) for ``user_id``, keeping their other prefs."""
    users = services.store.table("users")
    prefs = users.get(str(user_id)) or {}
    if code == DEFAULT:
        prefs.pop("lang", None)
    else:
        prefs["lang"] = code
    users.put(str(user_id), prefs)


def language_name(services: Services, code: str, lang: str) -> str:
    return services.i18n.t(f"lang.name_{code}", lang)


def keyboard(services: Services, lang: str) -> InlineKeyboardMarkup:
    buttons = [button(services.i18n.t(f"lang.button_{code}", lang), PickLanguage(code)) for code in LANGUAGES]
    default = services.i18n.t(
        "lang.button_default", lang, language=language_name(services, services.config.language, lang)
    )
    return InlineKeyboardMarkup([buttons, [button(default, PickLanguage(DEFAULT))]])


def current_text(services: Services, user_id: int) -> str:
    lang = services.lang(user_id)
    key = "lang.current_own" if chosen(services, user_id) else "lang.current_default"
    return services.i18n.t(key, lang, language=language_name(services, lang, lang))


def confirmation(services: Services, user_id: int, code: str) -> str:
    lang = services.lang(user_id)
    key = "lang.set_default" if code == DEFAULT else "lang.set"
    return services.i18n.t(key, lang, language=language_name(services, lang, lang))


async def on_lang(update: Update, context: Context) -> None:
    message = message_of(update)
    user = user_of(update)
    services = context.services
    args = context.args or []
    if not args:
        await message.reply_text(
            current_text(services, user.id), reply_markup=keyboard(services, services.lang(user.id))
        )
        return
    typed = " ".join(args).strip().lower()
    code = ALIASES.get(typed) or ALIASES.get(typed.replace("\u200c", ""))
    if code is None:
        await message.reply_text(services.t("lang.usage", user.id))
        return
    set_language(services, user.id, code)
    await message.reply_text(confirmation(services, user.id, code))
    if message.chat.type == ChatType.PRIVATE:
        await refresh_menu(context, user.id)


async def on_button(update: Update, context: Context, data: PickLanguage) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    set_language(services, user_id, data.code)
    text = confirmation(services, user_id, data.code)
    await answer_quietly(query, text)
    message = query.message if isinstance(query.message, Message) else None
    if message is not None:
        await edit_quietly(message, text, what="confirm the language")
        if message.chat.type == ChatType.PRIVATE:
            await refresh_menu(context, user_id)


async def refresh_menu(context: Context, user_id: int) -> None:
    """The private chat's command menu in the user's language, for the commands they may use."""
    services = context.services
    roles = roles_of(services.config, user_id)
    lang = services.lang(user_id)
    commands = [
        BotCommand(c.name, services.i18n.t(c.help_key, lang)[:256])
        for f in context.bot_data.features
        for c in f.commands
        if c.in_menu and roles & c.roles
    ]
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(user_id))
    except TelegramError as exc:  # a menu is a convenience
        log.info("could not set the command menu of user %s: %s", user_id, exc)

"""/lang: each user's interface language (English or Persian), over the configured default.

``/lang`` shows the current choice with buttons (``lang:en``, ``lang:fa``, ``lang:default``);
``/lang fa`` / ``/lang en`` / ``/lang default`` set it directly (``فارسی``, ``english`` … work
too). The choice is stored in the ``users`` table as ``{"lang": code}`` (read by
``Services.lang``); ``default`` removes it. In a private chat the bot's command menu is re-sent in
the chosen language, listing the commands the user's role allows.
"""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature
from bot.runtime.i18n import LANGUAGES
from bot.runtime.roles import ANY_ROLE, roles_of
from bot.runtime.services import Services

log = logging.getLogger(__name__)

NAMESPACE = "lang"
DEFAULT = "default"

#: What a user may type after /lang (lower-cased) → language code or "default".
ALIASES: dict[str, str] = {
    "en": "en", "eng": "en", "english": "en", "انگلیسی": "en",
    "fa": "fa", "fas": "fa", "per": "fa", "persian": "fa", "farsi": "fa", "فارسی": "fa", "پارسی": "fa",
    "default": DEFAULT, "reset": DEFAULT, "auto": DEFAULT, "پیش‌فرض": DEFAULT, "پیشفرض": DEFAULT,
}  # fmt: skip


def feature(config: Config) -> Feature:
    return Feature(
        name="lang",
        handlers=[
            CommandHandler("lang", on_lang),
            CallbackQueryHandler(on_button, pattern=rf"^{NAMESPACE}:"),
        ],
        commands=[Command("lang", ANY_ROLE, "lang.cmd_lang")],
        callbacks={NAMESPACE: ANY_ROLE},
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
    buttons = [
        InlineKeyboardButton(services.i18n.t(f"lang.button_{code}", lang), callback_data=f"{NAMESPACE}:{code}")
        for code in LANGUAGES
    ]
    default = services.i18n.t(
        "lang.button_default", lang, language=language_name(services, services.config.language, lang)
    )
    return InlineKeyboardMarkup([buttons, [InlineKeyboardButton(default, callback_data=f"{NAMESPACE}:{DEFAULT}")]])


def current_text(services: Services, user_id: int) -> str:
    lang = services.lang(user_id)
    key = "lang.current_own" if chosen(services, user_id) else "lang.current_default"
    return services.i18n.t(key, lang, language=language_name(services, lang, lang))


def confirmation(services: Services, user_id: int, code: str) -> str:
    lang = services.lang(user_id)
    key = "lang.set_default" if code == DEFAULT else "lang.set"
    return services.i18n.t(key, lang, language=language_name(services, lang, lang))


async def on_lang(update: Update, context: Context) -> None:
    message = update.effective_message
    user = update.effective_user
    services = context.services
    args = context.args or []
    if not args:
        await message.reply_text(
            current_text(services, user.id), parse_mode="HTML", reply_markup=keyboard(services, services.lang(user.id))
        )
        return
    typed = " ".join(args).strip().lower()
    code = ALIASES.get(typed) or ALIASES.get(typed.replace("\u200c", ""))
    if code is None:
        await message.reply_text(services.t("lang.usage", user.id), parse_mode="HTML")
        return
    set_language(services, user.id, code)
    await message.reply_text(confirmation(services, user.id, code), parse_mode="HTML")
    if message.chat.type == ChatType.PRIVATE:
        await refresh_menu(context, user.id)


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    code = (query.data or "").split(":", 1)[1] if ":" in (query.data or "") else ""
    if code not in (*LANGUAGES, DEFAULT):
        await query.answer(services.t("core.stale_button", user_id), show_alert=True)
        return
    set_language(services, user_id, code)
    text = confirmation(services, user_id, code)
    await query.answer(text)
    message = query.message if isinstance(query.message, Message) else None
    if message is not None:
        try:
            await message.edit_text(text, parse_mode="HTML")
        except BadRequest as exc:  # pressed twice: "message is not modified"
            log.debug("language message not edited: %s", exc)
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

"""The one place that decides who may act: commands, button presses and replies.

Runs before every other handler (group -1). Rules come from the features' declarations
(``Feature.commands``, ``Feature.buttons``); a refused update stops here, so no feature handler
ever sees it. A button's namespace is read with the callback-data codec; a namespace no feature
owns is answered as stale (data that does not decode in a known one is answered by its router). Refusals are logged; a refused user is told at most once per cooldown per chat, so
a stranger in the group cannot make the bot spam it.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.runtime.context import AnyApplication, Context
from bot.runtime.feature import Feature
from bot.runtime.roles import ANY_ROLE, Role, roles_of
from bot.runtime.tg.callback import namespace_of
from bot.runtime.tg.quiet import answer_quietly

log = logging.getLogger(__name__)

REFUSAL_COOLDOWN = 600.0  # seconds between two refusal messages to the same user in one chat


@dataclass
class Rules:
    """Who may use each command and each callback-data namespace."""

    commands: dict[str, frozenset[Role]] = field(default_factory=dict)
    callbacks: dict[str, frozenset[Role]] = field(default_factory=dict)
    told: dict[tuple[int, int], float] = field(default_factory=dict)

    @classmethod
    def from_features(cls, features: Sequence[Feature]) -> Rules:
        rules = cls()
        for feature in features:
            for command in feature.commands:
                rules.commands[command.name] = command.roles
            for buttons in feature.buttons:
                rules.callbacks[buttons.namespace.name] = buttons.roles
        return rules

    def should_tell(self, chat_id: int, user_id: int) -> bool:
        now = time.monotonic()
        last = self.told.get((chat_id, user_id))
        if last is not None and now - last < REFUSAL_COOLDOWN:
            return False
        self.told[(chat_id, user_id)] = now
        return True


def install(app: AnyApplication, features: Sequence[Feature]) -> Rules:
    """Add the guard to ``app`` for the rules declared by ``features``."""
    rules = Rules.from_features(features)

    async def check(update: Update, context: Context) -> None:
        await _check(update, context, rules)

    app.add_handler(TypeHandler(Update, check), group=-1)
    return rules


def command_of(update: Update) -> str | None:
    """The command name of a message (``/mass@MyBot args`` → ``mass``), if it is one."""
    message = update.effective_message
    if message is None or not message.text or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    return message.text[1 : first.length].split("@", 1)[0].lower()


async def _check(update: Update, context: Context, rules: Rules) -> None:
    user = update.effective_user
    user_id = user.id if user else None
    roles = roles_of(context.services.config, user_id)
    if update.callback_query is not None:
        await _check_button(update, context, rules, roles)
        return
    if update.effective_message is None or user_id is None:
        return  # channel posts, edits without a sender: nothing to act on
    name = command_of(update)
    if name is None:
        if not roles:
            log.info("ignored a message from user %s (no role)", user_id)
            raise ApplicationHandlerStop
        return
    needed = rules.commands.get(name, ANY_ROLE)
    if roles & needed:
        return
    log.info("refused /%s from user %s (roles: %s)", name, user_id, sorted(r.value for r in roles) or "none")
    chat_id = update.effective_chat.id if update.effective_chat else user_id
    if rules.should_tell(chat_id, user_id):
        key = "core.refused_command" if roles else "core.refused_stranger"
        try:
            await update.effective_message.reply_text(context.services.t(key, user_id, command=html.escape(name)))
        except TelegramError as exc:
            log.warning("could not tell user %s about the refusal: %s", user_id, exc)
    raise ApplicationHandlerStop


async def _check_button(update: Update, context: Context, rules: Rules, roles: frozenset[Role]) -> None:
    query = update.callback_query
    assert query is not None
    user_id = query.from_user.id
    namespace = namespace_of(query.data)
    needed = rules.callbacks.get(namespace)
    if needed is None:
        key = "core.stale_button"
        log.info("stale or forged button %r from user %s", str(query.data)[:64], user_id)
    elif roles & needed:
        return
    else:
        key = "core.refused_button"
        log.info("refused button %r from user %s", namespace, user_id)
    await answer_quietly(query, context.services.t(key, user_id), alert=True)
    raise ApplicationHandlerStop

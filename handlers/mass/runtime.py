"""What the parts of the mass feature share once the bot runs: the application, its services and
the runner (with its book of jobs). Built unbound by ``feature(config)``, bound at start-up."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup, Update

from bot.config import Config
from bot.massjobs.runner import MassRunner
from bot.massjobs.storage import JobBook
from bot.runtime.context import AnyApplication
from bot.runtime.services import Services
from bot.runtime.tg.quiet import edit_quietly
from bot.runtime.update_parts import query_of

log = logging.getLogger("handlers.mass")


class MassRuntime:
    """The bound application and runner; every part of the feature reaches them through here."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: AnyApplication | None = None
        self._runner: MassRunner | None = None

    def bind(self, app: AnyApplication, runner: MassRunner) -> None:
        self.app = app
        self._runner = runner

    @property
    def bound(self) -> bool:
        return self._runner is not None

    @property
    def runner(self) -> MassRunner:
        assert self._runner is not None, "the mass feature is not started"
        return self._runner

    @property
    def jobs(self) -> JobBook:
        """The runner's jobs: every read and write of a job goes through them."""
        return self.runner.book

    @property
    def services(self) -> Services:
        assert self.app is not None
        services: Services = self.app.bot_data.services
        return services

    @property
    def bot(self) -> Bot:
        assert self.app is not None
        bot: Bot = self.app.bot
        return bot

    async def edit_query_message(self, update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Edit the message of the pressed button (an unchanged text is not an error)."""
        await edit_quietly(query_of(update), text, markup, what="edit a mass card")

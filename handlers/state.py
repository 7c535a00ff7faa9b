"""/backup: the bot's state as a JSON export, sent to the admin chat as a document.

The export is the one ``python -m bot state export`` writes (``bot.store.transfer``), minus the
tables that hold secrets (OAuth tokens), which the caption names; ``python -m bot state import``
restores it into the file store or PostgreSQL.
"""

from __future__ import annotations

import html
import io
import logging
from datetime import UTC, datetime

from telegram import InputFile, Update
from telegram.ext import CommandHandler

from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature
from bot.runtime.roles import ADMINS
from bot.store.transfer import export_bytes, export_state, summary

log = logging.getLogger(__name__)


def feature(config: Config) -> Feature:
    return Feature(
        name="state",
        handlers=[CommandHandler("backup", on_backup)],
        commands=[Command("backup", ADMINS, "state.cmd_backup")],
    )


async def on_backup(update: Update, context: Context) -> None:
    services = context.services
    user_id = update.effective_user.id if update.effective_user else None
    export = export_state(services.store, secrets=False)
    tables, documents = summary(export)
    left_out = (
        services.t("state.backup_left_out", user_id, tables=", ".join(export["left_out"])) if export["left_out"] else ""
    )
    caption = services.t(
        "state.backup_caption",
        user_id,
        where=html.escape(export["source"]),
        documents=documents,
        tables=tables,
        left_out=left_out,
    )
    name = f"state-backup-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    chat_id = services.config.admin_chat_id
    await context.bot.send_document(
        chat_id,
        InputFile(io.BytesIO(export_bytes(export)), filename=name),
        caption=caption,
        message_thread_id=services.topic("alerts"),
    )
    services.store.audit(user_id or "unknown", "state.backup", name, documents=documents)
    log.info("state backup sent to the admin chat: %d documents, left out: %s", documents, export["left_out"])
    message = update.effective_message
    if message is not None and message.chat_id != chat_id:
        await message.reply_text(services.t("state.backup_sent", user_id))

"""/start, /help, /status and the one error handler."""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature
from bot.runtime.ratelimit import StrictRateLimiter
from bot.runtime.roles import ADMINS, ANY_ROLE, roles_of
from bot.runtime.services import Services
from bot.runtime.update_parts import message_of, user_of
from bot.store.errors import StoreError, StoreTakenOver, StoreUnavailable
from bot.text.redact import redact

log = logging.getLogger(__name__)

STATUS_CHECK_TIMEOUT = 10.0


def feature(config: Config) -> Feature:
    return Feature(
        name="core",
        handlers=[
            CommandHandler("start", on_start),
            CommandHandler("help", on_help),
            CommandHandler("status", on_status),
        ],
        commands=[
            Command("start", ANY_ROLE, "core.cmd_start"),
            Command("help", ANY_ROLE, "core.cmd_help"),
            Command("status", ADMINS, "core.cmd_status"),
        ],
    )


async def on_start(update: Update, context: Context) -> None:
    user = user_of(update)
    services = context.services
    roles = roles_of(services.config, user.id)
    role_names = ", ".join(services.t(f"core.role_{r.value}", user.id) for r in sorted(roles, key=lambda r: r.value))
    await message_of(update).reply_text(
        services.t("core.welcome", user.id, name=user.first_name or str(user.id), roles=role_names)
        + "\n\n"
        + help_text(services, context.bot_data.features, user.id)
    )


async def on_help(update: Update, context: Context) -> None:
    user_id = user_of(update).id
    text = help_text(context.services, context.bot_data.features, user_id)
    await message_of(update).reply_text(text)


def help_text(services: Services, features: list[Feature], user_id: int) -> str:
    """The commands this user may use, one line each, from every feature's declarations."""
    roles = roles_of(services.config, user_id)
    lines = [services.t("core.help_title", user_id)]
    for feature in features:
        for command in feature.commands:
            if roles & command.roles:
                lines.append(f"/{command.name} — {html.escape(services.t(command.help_key, user_id))}")
    return "\n".join(lines)


async def on_status(update: Update, context: Context) -> None:
    services = context.services
    user_id = user_of(update).id
    resont, miogram = await asyncio.gather(_check_resont(services), _check_miogram(services))
    lines = [services.t("core.status_title", user_id), resont_line(services, user_id, resont)]
    lines.append(miogram_line(services, user_id, miogram))
    lines.extend(job_lines(services, user_id))
    for feature in context.bot_data.features:
        for status in feature.status_lines:
            lines.extend(status(services, user_id))
    lines.extend(queue_lines(services, user_id, context))
    await message_of(update).reply_text("\n".join(lines))


async def _check_resont(services: Services) -> tuple[bool, str]:
    try:
        me = await asyncio.wait_for(services.resont.users.me(), STATUS_CHECK_TIMEOUT)
    except TimeoutError:
        services.health.upstream("resont", False, "timeout")
        return False, "timeout"
    except Exception as exc:  # any failure is a status to show, not a crash
        services.health.upstream("resont", False, str(exc))
        return False, redact(str(exc), services.config.secrets())
    name = getattr(me, "name", None) or getattr(me, "email", None) or ""
    services.health.upstream("resont", True, name)
    return True, str(name)


async def _check_miogram(services: Services) -> tuple[bool | None, str]:
    if services.miogram is None:
        return None, ""
    try:
        credits = await asyncio.wait_for(services.miogram.account.credits(), STATUS_CHECK_TIMEOUT)
    except TimeoutError:
        services.health.upstream("miogram", False, "timeout")
        return False, "timeout"
    except Exception as exc:
        services.health.upstream("miogram", False, str(exc))
        return False, redact(str(exc), services.config.secrets())
    services.health.upstream("miogram", True, "")
    return True, str(getattr(credits, "message", ""))


def resont_line(services: Services, user_id: int, result: tuple[bool, str]) -> str:
    ok, detail = result
    key = "core.status_resont_ok" if ok else "core.status_resont_down"
    return services.t(key, user_id, detail=_safe(services, detail))


def miogram_line(services: Services, user_id: int, result: tuple[bool | None, str]) -> str:
    ok, detail = result
    if ok is None:
        return services.t("core.status_miogram_off", user_id)
    key = "core.status_miogram_ok" if ok else "core.status_miogram_down"
    return services.t(key, user_id, detail=_safe(services, detail))


def job_lines(services: Services, user_id: int) -> list[str]:
    if not services.health.jobs:
        return [services.t("core.status_no_polls_yet", user_id)]
    now = time.time()
    lines = []
    for name, outcome in sorted(services.health.jobs.items()):
        key = "core.status_job_ok" if outcome.ok else "core.status_job_failed"
        lines.append(
            services.t(key, user_id, job=name, ago=int(now - outcome.at), detail=_safe(services, outcome.detail))
        )
    return lines


def _safe(services: Services, detail: str) -> str:
    """A detail fit for the chat: secrets masked, HTML escaped, kept short."""
    return html.escape(redact(detail, services.config.secrets())[:200])


def queue_lines(services: Services, user_id: int, context: Context) -> list[str]:
    store = services.store
    limiter = context.application.bot.rate_limiter
    backlog = limiter.backlog(services.config.admin_chat_id) if isinstance(limiter, StrictRateLimiter) else 0
    open_alerts = len(store.table("alerts"))
    return [
        services.t(
            "core.status_queues",
            user_id,
            scheduled=len(store.table("scheduled")),
            backlog=backlog,
            alerts=open_alerts,
        ),
        state_line(services, user_id),
    ]


def state_line(services: Services, user_id: int) -> str:
    """Where the state lives and whether it can be written (one round trip to a database)."""
    health = services.store.check()
    where = html.escape(health.where)
    if health.available:
        return services.t("core.status_state", user_id, where=where, kib=round(services.store.size_bytes() / 1024, 1))
    seconds = int(time.time() - health.since) if health.since else 0
    return services.t(
        "core.status_state_down", user_id, where=where, seconds=seconds, detail=_safe(services, health.detail)
    )


async def on_error(update: object, context: Context) -> None:
    """Log the failure with a reference id, then tell the admin chat in one line. A write the
    database could not take is not a bug: the user who acted is told it did not take effect."""
    ref = secrets.token_hex(4)
    error = context.error
    if isinstance(error, (StoreUnavailable, StoreTakenOver)):
        if isinstance(update, Update):
            await tell_unsaved(update, context, error)
        else:  # a job: it runs again on its next turn; /status and the store's log say why
            log.warning("a job stopped: %s", error)
        return
    log.error("unhandled error (ref %s) while handling %s", ref, type(update).__name__, exc_info=error)
    services: Services | None = getattr(context.bot_data, "services", None)
    if services is None:
        return
    summary = redact(f"{type(error).__name__}: {error}", services.config.secrets())[:300]
    try:
        await services.send_admin(
            context.bot, services.t("core.error_admin", None, ref=ref, summary=html.escape(summary)), topic="alerts"
        )
        if (
            isinstance(update, Update)
            and update.effective_chat
            and update.effective_chat.id != services.config.admin_chat_id
        ):
            user_id = update.effective_user.id if update.effective_user else None
            await context.bot.send_message(update.effective_chat.id, services.t("core.error_user", user_id, ref=ref))
    except TelegramError as exc:
        log.error("could not report error %s to the admins: %s", ref, exc)


async def tell_unsaved(update: Update, context: Context, error: StoreError) -> None:
    """The state refused a write (database unreachable, or another bot took over): nothing of
    the action was saved; say so to whoever acted, as an alert on a button or as a reply."""
    log.warning("an action was not saved: %s", error)
    services: Services | None = getattr(context.bot_data, "services", None)
    if services is None:
        return
    user_id = update.effective_user.id if update.effective_user else None
    text = services.t("core.error_unsaved", user_id)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except TelegramError as exc:
        log.warning("could not tell the user that the action was not saved: %s", exc)

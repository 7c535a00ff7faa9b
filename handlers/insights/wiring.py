"""/insights: Resont analytics as a chart picture, and the weekly digest to the admin chat.

Flow: ``/insights`` lists the connected accounts as buttons (``ins:acct:<account id>``), or
``/insights <post group id>`` goes straight to a post group; then a period is picked
(``ins:period:<target>:<period>``, target ``<account id>`` or ``p<post group id>``). Week, month,
three months and lifetime fetch at once; "custom" asks for a date range by force-reply (read by
:func:`bot.text.dateranges.parse_date_range`: Gregorian or Jalali, Persian digits, "last 7 days").
The answer is a PNG chart (rendered off the event loop) with a caption of headline figures.

This module is the feature: its declaration, the command, the buttons and the range reply.
Reading Resont's answers is :mod:`handlers.insights.data`, texts and the chart are
:mod:`handlers.insights.render`, the weekly digest is :mod:`handlers.insights.digest`; the names
other modules and tests use are re-exported here.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CommandHandler

from bot.clients.resont.errors import ResontError
from bot.config import Config
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature, ReplyRoute
from bot.runtime.roles import INBOX
from bot.runtime.services import Services
from bot.runtime.tg.buttons import Buttons, button
from bot.runtime.tg.callback import ButtonData, Match, Namespace, OneOf
from bot.runtime.tg.quiet import edit_quietly
from bot.runtime.update_parts import message_of, press_chat_id, query_of, user_of
from bot.text.dateranges import parse_date_range
from bot.text.digits import to_ascii_digits
from bot.text.timewords import TimeParseError
from handlers.insights.data import (
    ACCOUNT_METRICS,
    CUMULATIVE,
    PERIODS,
    POST_METRICS,
    Report,
    Target,
    connected_accounts,
    fetch_report,
    points_of,
    read_insights,
)
from handlers.insights.digest import DIGEST_JOB, digest_schedule, start_digest
from handlers.insights.render import (
    account_label,
    caption_of,
    period_label,
    resont_error_text,
    send_report,
    target_name,
)
from handlers.replies import ask

#: Used by tests and other modules through ``handlers.insights.wiring``.
__all__ = [
    "ACCOUNT_METRICS", "CUMULATIVE", "DIGEST_JOB", "PERIODS", "POST_METRICS", "Report",
    "caption_of", "digest_schedule", "feature", "points_of", "read_insights",
]  # fmt: skip

log = logging.getLogger(__name__)

INS = Namespace("ins")
REPLY_KIND = "insights_range"
MAX_ACCOUNT_BUTTONS = 60
TARGET_CODE = r"p?\d{1,12}"  # Target.code: an account id, or p<post group id>


class PickAccount(ButtonData, namespace=INS, action="acct"):
    """``ins:acct:<account id>``: ask which period for this account."""

    account: Annotated[str, Match(r"\d{1,12}")]


class PickPeriod(ButtonData, namespace=INS, action="period"):
    """``ins:period:<target code>:<period>``: fetch and draw (or ask the dates, ``custom``)."""

    target: Annotated[str, Match(TARGET_CODE)]
    period: Annotated[str, OneOf(*PERIODS)]


def feature(config: Config) -> Feature:
    return Feature(
        name="insights",
        handlers=[CommandHandler("insights", on_insights)],
        commands=[Command("insights", INBOX, "insights.cmd_insights")],
        buttons=[Buttons(INS, INBOX, {PickAccount: on_account, PickPeriod: on_period})],
        replies={REPLY_KIND: ReplyRoute(INBOX, on_range_reply)},
        on_start=[start_digest] if config.insights_digest else [],
    )


# --- fetch, draw, send ---------------------------------------------------------------------


async def deliver(
    context: Context,
    *,
    user_id: int,
    chat_id: int,
    thread_id: int | None,
    target: Target,
    period: str,
    start: date | None = None,
    end: date | None = None,
    progress: Message | None = None,
    reply_to: int | None = None,
) -> None:
    """Fetch, draw and send; the progress message becomes the error text, or goes away."""
    services = context.services
    lang = services.lang(user_id)
    try:
        name = await target_name(services, target, lang)
        label = period_label(services, lang, period, start, end)
        report = await fetch_report(services, target, period, name=name, label=label, start=start, end=end)
    except ResontError as exc:
        log.info("insights for %s %s failed: %r", target.kind, target.item_id, exc)
        text = resont_error_text(services, exc, lang)
        if progress is not None and await edit_quietly(progress, text, what="show an insights error"):
            return
        await context.bot.send_message(chat_id, text, message_thread_id=thread_id)
        return
    await send_report(context, chat_id, report, lang, thread_id=thread_id, reply_to=reply_to)
    if progress is not None:
        try:
            await progress.delete()
        except TelegramError as exc:
            log.debug("could not delete the progress message: %s", exc)


async def _edit_or_send(
    context: Context, message: Message | None, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Show ``text`` in the button's message, or in a new one when it cannot be edited."""
    if message is None or not await edit_quietly(message, text, markup, what="show insights in place"):
        await context.bot.send_message(chat_id, text, reply_markup=markup)


def _thread_of(message: Message | None) -> int | None:
    if message is None:
        return None
    return message.message_thread_id if getattr(message, "is_topic_message", False) else None


# --- keyboards -----------------------------------------------------------------------------


def accounts_keyboard(services: Services, accounts: Iterable[Any], lang: str) -> InlineKeyboardMarkup:
    buttons = []
    for account in accounts:
        label = account_label(services, account, lang)
        if account.login_required:
            label = services.i18n.t("insights.account_relogin", lang, account=label)
        buttons.append(button(label[:64], PickAccount(str(account.id))))
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def periods_keyboard(services: Services, target: Target, lang: str) -> InlineKeyboardMarkup:
    def of(period: str) -> InlineKeyboardButton:
        return button(services.i18n.t(f"insights.period_button.{period}", lang), PickPeriod(target.code, period))

    return InlineKeyboardMarkup([[of("week"), of("month")], [of("three_months"), of("lifetime")], [of("custom")]])


def period_prompt(services: Services, target: Target, name: str, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """ "Which period for <name>?" with the period buttons."""
    text = services.i18n.t("insights.pick_period", lang, name=html.escape(name))
    return text, periods_keyboard(services, target, lang)


# --- handlers ------------------------------------------------------------------------------


async def on_insights(update: Update, context: Context) -> None:
    """``/insights`` → account buttons; ``/insights <post group id>`` → period buttons."""
    message = message_of(update)
    services = context.services
    lang = services.lang(user_of(update).id)
    args = [to_ascii_digits(a) for a in (context.args or [])]
    if args:
        if len(args) == 1 and args[0].isascii() and args[0].isdigit() and 0 < len(args[0]) <= 12:
            target = Target("post", int(args[0]))
            text, markup = period_prompt(services, target, await target_name(services, target, lang), lang)
            await message.reply_text(text, reply_markup=markup)
        else:
            await message.reply_text(services.i18n.t("insights.usage", lang))
        return
    try:
        accounts = await connected_accounts(services)
    except ResontError as exc:
        await message.reply_text(resont_error_text(services, exc, lang))
        return
    if not accounts:
        await message.reply_text(services.i18n.t("insights.no_accounts", lang))
        return
    shown = accounts[:MAX_ACCOUNT_BUTTONS]
    text = services.i18n.t("insights.pick_account", lang)
    if len(accounts) > len(shown):
        text += "\n" + services.i18n.t("insights.more_accounts", lang, shown=len(shown), total=len(accounts))
    await message.reply_text(text, reply_markup=accounts_keyboard(services, shown, lang))


async def on_account(update: Update, context: Context, data: PickAccount) -> None:
    """The account's period buttons in place of the account list."""
    query = query_of(update)
    services = context.services
    lang = services.lang(query.from_user.id)
    target = Target("account", int(data.account))
    message = query.message if isinstance(query.message, Message) else None
    try:
        name = await target_name(services, target, lang)
    except ResontError as exc:
        await query.answer()
        await _edit_or_send(context, message, press_chat_id(query), resont_error_text(services, exc, lang))
        return
    await query.answer()
    text, markup = period_prompt(services, target, name, lang)
    await _edit_or_send(context, message, press_chat_id(query), text, markup)


async def on_period(update: Update, context: Context, data: PickPeriod) -> None:
    """A period button: fetch and draw it, or ask for the dates (``custom``)."""
    query = query_of(update)
    lang = context.services.lang(query.from_user.id)
    target = Target.from_code(data.target)
    if data.period == "custom":
        await _on_custom(update, context, target, lang)
    else:
        await _on_period(update, context, target, data.period, lang)


async def _on_custom(update: Update, context: Context, target: Target, lang: str) -> None:
    """Ask for a date range, by force-reply to the user's /insights command when it can."""
    query = query_of(update)
    user_id = query.from_user.id
    message = query.message if isinstance(query.message, Message) else None
    chat_id = press_chat_id(query)
    await query.answer()
    if message is not None:
        await edit_quietly(message, context.services.i18n.t("insights.custom_asked", lang), what="ask the dates")
    # A selective force-reply reaches the user it replies to: their /insights command.
    command = message.reply_to_message if message is not None else None
    mine = command is not None and command.from_user is not None and command.from_user.id == user_id
    reply_to = command.message_id if command is not None and mine else None
    await ask_range(context, chat_id, user_id, target, thread_id=_thread_of(message), reply_to=reply_to)


async def _on_period(update: Update, context: Context, target: Target, period: str, lang: str) -> None:
    """Fetch and draw a fixed period, the button's message showing progress meanwhile."""
    query = query_of(update)
    services = context.services
    message = query.message if isinstance(query.message, Message) else None
    chat_id = press_chat_id(query)
    lock = services.locks(f"{INS.name}:{chat_id}:{message.message_id if message else query.id}")
    if lock.locked():  # a second press while the first is still drawing
        await query.answer(services.i18n.t("insights.busy", lang))
        return
    async with lock:
        await query.answer(services.i18n.t("insights.fetching_short", lang))
        label = html.escape(period_label(services, lang, period))
        progress_text = services.i18n.t("insights.fetching", lang, period=label)
        shown = message is not None and await edit_quietly(message, progress_text, what="show progress")
        progress = message if shown else None
        await deliver(
            context,
            user_id=query.from_user.id,
            chat_id=chat_id,
            thread_id=_thread_of(message),
            target=target,
            period=period,
            progress=progress,
        )


async def ask_range(
    context: Context, chat_id: int, user_id: int, target: Target, *, thread_id: int | None, reply_to: int | None = None
) -> None:
    services = context.services
    text = services.i18n.t("insights.ask_range", services.lang(user_id), zone=html.escape(services.config.timezone))
    kwargs: dict[str, Any] = {"kind": REPLY_KIND, "user_id": user_id, "data": {"target": target.code}}
    try:
        await ask(context, chat_id, text, thread_id=thread_id, reply_to=reply_to, **kwargs)
    except BadRequest as exc:
        if reply_to is None:
            raise
        log.info("could not reply to message %s (%s); asking without a reply", reply_to, exc)
        await ask(context, chat_id, text, thread_id=thread_id, **kwargs)


async def on_range_reply(update: Update, context: Context, doc: dict[str, Any]) -> None:
    """The answer to "which dates?": parse it, then fetch; a bad range is explained and asked again."""
    message = message_of(update)
    services = context.services
    user_id = user_of(update).id
    lang = services.lang(user_id)
    code = str((doc.get("data") or {}).get("target", ""))
    if not re.fullmatch(TARGET_CODE, code):
        log.warning("insights range prompt with a bad target %r", code[:32])
        return
    target = Target.from_code(code)
    thread_id = _thread_of(message)
    try:
        start, end = parse_date_range(message.text or "", now=services.clock(), tz=services.tz, lang=lang)
    except TimeParseError as exc:
        await message.reply_text(html.escape(exc.render(services.i18n, lang)))
        await ask_range(context, message.chat_id, user_id, target, thread_id=thread_id, reply_to=message.message_id)
        return
    label = period_label(services, lang, "custom", start, end)
    progress = await message.reply_text(services.i18n.t("insights.fetching", lang, period=html.escape(label)))
    await deliver(
        context,
        user_id=user_id,
        chat_id=message.chat_id,
        thread_id=thread_id,
        target=target,
        period="custom",
        start=start,
        end=end,
        progress=progress,
        reply_to=message.message_id,
    )

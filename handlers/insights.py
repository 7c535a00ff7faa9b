"""/insights: Resont analytics as a chart picture, and the weekly digest to the admin chat.

Flow: ``/insights`` lists the connected accounts as buttons (``ins:acct:<account id>``), or
``/insights <post group id>`` goes straight to a post group; then a period is picked
(``ins:period:<target>:<period>``, target ``<account id>`` or ``p<post group id>``). Week, month,
three months and lifetime fetch at once; "custom" asks for a date range by force-reply (read by
:func:`bot.timeparse.parse_date_range`: Gregorian or Jalali, Persian digits, "last 7 days").
The answer is a PNG chart (rendered off the event loop) with a caption of headline figures.
Metrics Resont did not return are named as "not reported", never drawn as zero; an answer with no
data at all is said in words, and so is a Resont error (with its trace id).

Resont's ``Insights.data`` is documented only as ``integer|string|array|object``:
:func:`points_of` reads the shapes seen in social-media APIs (a number, a list of
``{date, value}`` objects or ``[date, value]`` pairs, a ``{date: value}`` mapping, an object with a
``values`` list) and leaves anything else out as "not reported".

The weekly digest (``INSIGHTS_DIGEST``, e.g. ``mon 09:00`` in ``TIMEZONE``; off when empty) is a
JobQueue ``run_daily`` job registered at start-up: one chart per account to the admin chat.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.charts import Point, headline_figures, render_insights_chart
from bot.config import Config
from bot.context import Context
from bot.feature import Command, Feature, ReplyRoute
from bot.i18n import to_ascii_digits, to_persian_digits
from bot.resont_dates import DateParser
from bot.resont_errors import ResontError
from bot.roles import INBOX
from bot.services import Services
from bot.timeparse import TimeParseError, format_date, parse_date_range
from handlers.replies import ask

log = logging.getLogger(__name__)

NAMESPACE = "ins"
REPLY_KIND = "insights_range"
DIGEST_JOB = "insights_digest"

#: Period code (in callback data and catalogue keys) → the value Resont expects.
PERIODS: dict[str, str] = {
    "week": "week",
    "month": "month",
    "three_months": "three months",
    "lifetime": "lifetime",
    "custom": "custom",
}
#: Days covered by a fixed period (to place undated values; lifetime has no fixed length).
PERIOD_DAYS = {"week": 7, "month": 30, "three_months": 90}

#: Metrics asked for. Resont's document names no metric; these are the usual ones of the
#: networks it serves. Whatever else Resont sends back is shown too.
ACCOUNT_METRICS: tuple[str, ...] = ("followers", "impressions", "reach", "engagement", "profile_views")
POST_METRICS: tuple[str, ...] = ("impressions", "reach", "likes", "comments", "shares", "saves")
#: Metrics that are a running level (the period's figure is the last value, not the sum).
CUMULATIVE = frozenset({"followers", "following", "followers_count", "media_count"})

MAX_ACCOUNT_BUTTONS = 60
CAPTION_LIMIT = 1024
CHART_SIZE = (1280, 720)  # 16:9, Telegram shows it full width on a phone without downscaling text

_ACCT_RE = re.compile(r"ins:acct:(\d{1,12})")
_PERIOD_RE = re.compile(rf"ins:period:(p?\d{{1,12}}):({'|'.join(PERIODS)})")
_DATE_KEYS = ("date", "end_time", "day", "time", "timestamp", "x", "label", "period", "start_time")
_VALUE_KEYS = ("value", "count", "y", "total", "amount")
_NESTED_KEYS = ("values", "data", "series", "points", "items")
_WEEKDAYS_CRON = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # PTB run_daily: 0 = Sunday


def feature(config: Config) -> Feature:
    return Feature(
        name="insights",
        handlers=[
            CommandHandler("insights", on_insights),
            CallbackQueryHandler(on_button, pattern=rf"^{NAMESPACE}:"),
        ],
        commands=[Command("insights", INBOX, "insights.cmd_insights")],
        callbacks={NAMESPACE: INBOX},
        replies={REPLY_KIND: ReplyRoute(INBOX, on_range_reply)},
        on_start=[start_digest] if config.insights_digest else [],
    )


# --- the target of a request ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What insights are asked for: an account or a post group."""

    kind: str  # "account" | "post"
    item_id: int

    @property
    def code(self) -> str:
        return str(self.item_id) if self.kind == "account" else f"p{self.item_id}"

    @classmethod
    def from_code(cls, code: str) -> Target:
        if code.startswith("p"):
            return cls("post", int(code[1:]))
        return cls("account", int(code))

    @property
    def metrics(self) -> tuple[str, ...]:
        return ACCOUNT_METRICS if self.kind == "account" else POST_METRICS


@dataclass
class Report:
    """One insights answer, read and ready to draw."""

    name: str  # plain text (not HTML-escaped)
    period_label: str
    series: dict[str, list[Point]]  # raw metric name → points (only metrics with data)
    missing: list[str]  # raw metric names requested or returned without data
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.figures


# --- reading Resont's data -----------------------------------------------------------------


def number_of(value: Any) -> float | int | None:
    """A finite number from a number or a numeric string (Persian digits, separators), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number: float | int = value
    elif isinstance(value, str):
        text = to_ascii_digits(value).strip().replace(",", "").replace("٬", "").replace("٫", ".")
        if not re.fullmatch(r"[-+]?\d+(?:\.\d+)?", text):
            return None
        number = float(text) if "." in text else int(text)
    else:
        return None
    if isinstance(number, float):
        if not math.isfinite(number):
            return None
        if number.is_integer():
            return int(number)
    return number


def _date_of(value: Any, dates: DateParser, tz: tzinfo) -> date | datetime | None:
    """A date (midnight values) or an aware datetime, read through the user's date settings."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 1e8:
        return None  # a small number is a value or an index, not a unix time
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    parsed = dates.parse(value)
    if parsed is None:
        return None
    if parsed.time() == time(0, 0):
        return parsed.date()
    return parsed.astimezone(tz)


def _point_of(item: Mapping[str, Any], dates: DateParser, tz: tzinfo) -> tuple[bool, Point | None]:
    """(looks like a point, the point). A point with no usable value keeps its date as a gap."""
    when = next((_date_of(item[k], dates, tz) for k in _DATE_KEYS if k in item and item[k] is not None), None)
    if when is None:
        return False, None
    raw = next((item[k] for k in _VALUE_KEYS if k in item), None)
    return True, (when, number_of(raw))


def points_of(data: Any, *, dates: DateParser, tz: tzinfo, end: date, depth: int = 0) -> list[Point] | None:
    """The ``(date, value)`` points of one metric's ``data``, or None when there is nothing usable.

    A lone number is one point at ``end`` (the period's last day); a list of bare numbers is one
    value a day ending at ``end``.
    """
    if data is None or depth > 3:
        return None
    single = number_of(data)
    if single is not None:
        return [(end, single)]
    if isinstance(data, Mapping):
        for key in _NESTED_KEYS:
            if isinstance(data.get(key), (list, Mapping)):
                return points_of(data[key], dates=dates, tz=tz, end=end, depth=depth + 1)
        is_point, point = _point_of(data, dates, tz)
        if is_point:
            return [point] if point is not None else None
        for key in _VALUE_KEYS:
            value = number_of(data.get(key))
            if value is not None:
                return [(end, value)]
        by_date = [(_date_of(k, dates, tz), number_of(v)) for k, v in data.items()]
        points = [(when, value) for when, value in by_date if when is not None]
        return points or None
    if isinstance(data, (list, tuple)):
        points: list[Point] = []
        bare: list[float | int | None] = []
        for item in data:
            if isinstance(item, Mapping):
                is_point, point = _point_of(item, dates, tz)
                if is_point and point is not None:
                    points.append(point)
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                when = _date_of(item[0], dates, tz)
                if when is not None:
                    points.append((when, number_of(item[1])))
            elif item is None or number_of(item) is not None:
                bare.append(number_of(item))
        if not points and any(v is not None for v in bare):
            first = end - timedelta(days=len(bare) - 1)
            points = [(first + timedelta(days=i), value) for i, value in enumerate(bare)]
        return points or None
    return None


def read_insights(
    by_metric: Mapping[str, Any],
    requested: Sequence[str],
    *,
    dates: DateParser,
    tz: tzinfo,
    end: date,
) -> tuple[dict[str, list[Point]], list[str]]:
    """(metric → points for metrics with at least one value, metrics without any), in the order
    requested then returned."""
    series: dict[str, list[Point]] = {}
    missing: list[str] = []
    for name in dict.fromkeys([*requested, *by_metric]):
        points = points_of(by_metric.get(name), dates=dates, tz=tz, end=end)
        if points and any(value is not None for _, value in points):
            series[name] = points
        else:
            missing.append(name)
    return series, missing


# --- texts ---------------------------------------------------------------------------------


def metric_name(services: Services, name: str, lang: str) -> str:
    key = f"insights.metric.{name}"
    if services.i18n.has(key, lang) or services.i18n.has(key, "en"):
        return services.i18n.t(key, lang)
    return name.replace("_", " ").strip().capitalize() or name


def format_number(value: float | int, lang: str, *, signed: bool = False) -> str:
    """``1,234`` / ``12.5`` (``+56`` when signed); Persian digits in Persian."""
    sign = "+" if signed else ""
    if float(value).is_integer():
        text = f"{int(value):{sign},}"
    else:
        text = f"{value:{sign},.2f}".rstrip("0").rstrip(".")
    return to_persian_digits(text) if lang == "fa" else text


def period_label(services: Services, lang: str, period: str, start: date | None = None, end: date | None = None) -> str:
    if period == "custom" and start is not None and end is not None:
        return services.i18n.t(
            "insights.period_range", lang, start=format_date(start, lang=lang), end=format_date(end, lang=lang)
        )
    return services.i18n.t(f"insights.period.{period}", lang)


def caption_of(services: Services, report: Report, lang: str) -> str:
    """The photo's caption (HTML): title, one line per metric with its figure, what is missing."""
    t = services.i18n.t
    head = t("insights.caption_title", lang, name=html.escape(report.name), period=html.escape(report.period_label))
    lines = []
    for name, figures in report.figures.items():
        shown = html.escape(metric_name(services, name, lang))
        value = format_number(figures["total"], lang)
        key = "insights.caption_level" if name in CUMULATIVE else "insights.caption_total"
        line = t(key, lang, metric=shown, value=value)
        if figures.get("change") is not None:
            change = format_number(figures["change"], lang, signed=True)
            if figures.get("change_pct") is not None:
                pct = format_number(figures["change_pct"], lang, signed=True)
                line += t("insights.caption_change_pct", lang, change=change, pct=pct)
            else:
                line += t("insights.caption_change", lang, change=change)
        lines.append(line)
    tail = []
    if report.missing:
        separator = t("insights.list_separator", lang)
        names = separator.join(html.escape(metric_name(services, m, lang)) for m in report.missing)
        tail.append(t("insights.caption_missing", lang, metrics=names))
    while lines and len("\n".join([head, *lines, *tail])) > CAPTION_LIMIT:
        lines.pop()  # a caption is at most 1024 characters: keep the first metrics
    text = "\n".join([head, *lines, *tail])
    return text if len(text) <= CAPTION_LIMIT else text[: CAPTION_LIMIT - 1] + "…"


def render_chart(services: Services, report: Report, lang: str) -> bytes:
    """The PNG (blocking: call through ``asyncio.to_thread``)."""
    series = {metric_name(services, n, lang): points for n, points in report.series.items()}
    missing = [metric_name(services, n, lang) for n in report.missing]
    return render_insights_chart(
        series,
        title=services.i18n.t("insights.chart_title", lang, name=report.name, period=report.period_label),
        x_label=services.i18n.t("insights.chart_x", lang),
        y_label=services.i18n.t("insights.chart_y", lang),
        missing=missing,
        lang=lang,
        size_px=CHART_SIZE,
        tz=services.tz,
        catalogue=services.i18n,
    )


def resont_error_text(services: Services, exc: ResontError, lang: str) -> str:
    text = services.i18n.t("insights.resont_error", lang, message=html.escape(exc.message))
    if exc.trace_id:
        text += services.i18n.t("insights.trace_id", lang, trace=html.escape(exc.trace_id))
    return text


# --- fetching ------------------------------------------------------------------------------


async def target_name(services: Services, target: Target, lang: str) -> str:
    if target.kind == "post":
        shown = str(target.item_id)
        return services.i18n.t("insights.post_name", lang, id=to_persian_digits(shown) if lang == "fa" else shown)
    account = await services.resont.account(target.item_id)
    return account_label(services, account, lang)


def account_label(services: Services, account: Any, lang: str) -> str:
    name = (account.name or account.identifier or str(account.id))[:64]
    if account.type:
        return services.i18n.t("insights.account_label", lang, name=name, network=account.type)
    return name


async def fetch_report(
    services: Services,
    target: Target,
    period: str,
    lang: str,
    *,
    name: str,
    start: date | None = None,
    end: date | None = None,
) -> Report:
    """Ask Resont for ``target``'s insights over ``period`` and read them. Raises ResontError."""
    api_period = PERIODS[period]
    kwargs: dict[str, Any] = {}
    if period == "custom":
        kwargs = {"date_from": start, "date_to": end}
    if target.kind == "account":
        response = await services.resont.account_insights(target.item_id, target.metrics, api_period, **kwargs)
    else:
        response = await services.resont.post_insights(target.item_id, target.metrics, api_period, **kwargs)
    tz = services.tz
    dates = DateParser.from_settings(services.resont.user, tz)
    last_day = end if (period == "custom" and end is not None) else services.clock().astimezone(tz).date()
    series, missing = read_insights(response.by_metric(), target.metrics, dates=dates, tz=tz, end=last_day)
    label = period_label(services, lang, period, start, end)
    report = Report(name=name, period_label=label, series=series, missing=missing)
    report.figures = headline_figures(series, cumulative=CUMULATIVE)
    return report


async def send_report(
    context: Context,
    chat_id: int,
    report: Report,
    lang: str,
    *,
    thread_id: int | None = None,
    reply_to: int | None = None,
) -> Message:
    """The chart with its caption, or the plain "no data" sentence."""
    services = context.services
    if report.empty:
        text = services.i18n.t(
            "insights.no_data", lang, name=html.escape(report.name), period=html.escape(report.period_label)
        )
        return await context.bot.send_message(
            chat_id, text, parse_mode="HTML", message_thread_id=thread_id, reply_to_message_id=reply_to
        )
    png = await asyncio.to_thread(render_chart, services, report, lang)
    return await context.bot.send_photo(
        chat_id,
        photo=InputFile(png, filename="insights.png"),
        caption=caption_of(services, report, lang),
        parse_mode="HTML",
        message_thread_id=thread_id,
        reply_to_message_id=reply_to,
    )


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
        report = await fetch_report(services, target, period, lang, name=name, start=start, end=end)
    except ResontError as exc:
        log.info("insights for %s %s failed: %r", target.kind, target.item_id, exc)
        text = resont_error_text(services, exc, lang)
        if progress is not None and await _edit(progress, text):
            return
        await context.bot.send_message(chat_id, text, parse_mode="HTML", message_thread_id=thread_id)
        return
    await send_report(context, chat_id, report, lang, thread_id=thread_id, reply_to=reply_to)
    if progress is not None:
        try:
            await progress.delete()
        except TelegramError as exc:
            log.debug("could not delete the progress message: %s", exc)


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
    try:
        await message.edit_text(text, parse_mode="HTML", reply_markup=markup)
        return True
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return True
        log.info("could not edit message %s: %s", message.message_id, exc)
        return False


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
        buttons.append(InlineKeyboardButton(label[:64], callback_data=f"{NAMESPACE}:acct:{account.id}"))
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def periods_keyboard(services: Services, target: Target, lang: str) -> InlineKeyboardMarkup:
    def button(period: str) -> InlineKeyboardButton:
        text = services.i18n.t(f"insights.period_button.{period}", lang)
        return InlineKeyboardButton(text, callback_data=f"{NAMESPACE}:period:{target.code}:{period}")

    return InlineKeyboardMarkup(
        [[button("week"), button("month")], [button("three_months"), button("lifetime")], [button("custom")]]
    )


# --- handlers ------------------------------------------------------------------------------


async def on_insights(update: Update, context: Context) -> None:
    """``/insights`` → account buttons; ``/insights <post group id>`` → period buttons."""
    message = update.effective_message
    user_id = update.effective_user.id
    services = context.services
    lang = services.lang(user_id)
    args = [to_ascii_digits(a) for a in (context.args or [])]
    if args:
        if len(args) == 1 and args[0].isascii() and args[0].isdigit() and 0 < len(args[0]) <= 12:
            target = Target("post", int(args[0]))
            text = services.i18n.t(
                "insights.pick_period", lang, name=html.escape(await target_name(services, target, lang))
            )
            await message.reply_text(text, parse_mode="HTML", reply_markup=periods_keyboard(services, target, lang))
        else:
            await message.reply_text(services.i18n.t("insights.usage", lang), parse_mode="HTML")
        return
    try:
        accounts = await services.resont.accounts()
    except ResontError as exc:
        await message.reply_text(resont_error_text(services, exc, lang), parse_mode="HTML")
        return
    accounts = [a for a in accounts if a.id is not None]
    if not accounts:
        await message.reply_text(services.i18n.t("insights.no_accounts", lang), parse_mode="HTML")
        return
    accounts.sort(key=lambda a: (a.insights_order if a.insights_order is not None else 1 << 30, a.id))
    shown = accounts[:MAX_ACCOUNT_BUTTONS]
    text = services.i18n.t("insights.pick_account", lang)
    if len(accounts) > len(shown):
        text += "\n" + services.i18n.t("insights.more_accounts", lang, shown=len(shown), total=len(accounts))
    await message.reply_text(text, parse_mode="HTML", reply_markup=accounts_keyboard(services, shown, lang))


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = query.from_user.id
    lang = services.lang(user_id)
    data = query.data or ""
    message = query.message if isinstance(query.message, Message) else None

    if match := _ACCT_RE.fullmatch(data):
        target = Target("account", int(match[1]))
        try:
            name = await target_name(services, target, lang)
        except ResontError as exc:
            await query.answer()
            text = resont_error_text(services, exc, lang)
            if message is None or not await _edit(message, text):
                await context.bot.send_message(query.message.chat.id, text, parse_mode="HTML")
            return
        await query.answer()
        text = services.i18n.t("insights.pick_period", lang, name=html.escape(name))
        markup = periods_keyboard(services, target, lang)
        if message is None or not await _edit(message, text, markup):
            await context.bot.send_message(query.message.chat.id, text, parse_mode="HTML", reply_markup=markup)
        return

    match = _PERIOD_RE.fullmatch(data)
    if match is None:
        log.info("malformed insights button %r from user %s", data[:64], user_id)
        await query.answer(services.i18n.t("core.stale_button", lang), show_alert=True)
        return
    target, period = Target.from_code(match[1]), match[2]
    chat_id = query.message.chat.id
    thread_id = _thread_of(message)

    if period == "custom":
        await query.answer()
        if message is not None:
            await _edit(message, services.i18n.t("insights.custom_asked", lang))
        # A selective force-reply reaches the user it replies to: their /insights command.
        command = message.reply_to_message if message is not None else None
        mine = command is not None and command.from_user is not None and command.from_user.id == user_id
        await ask_range(
            context, chat_id, user_id, target, thread_id=thread_id, reply_to=command.message_id if mine else None
        )
        return

    lock = services.locks(f"{NAMESPACE}:{chat_id}:{message.message_id if message else query.id}")
    if lock.locked():  # a second press while the first is still drawing
        await query.answer(services.i18n.t("insights.busy", lang))
        return
    async with lock:
        await query.answer(services.i18n.t("insights.fetching_short", lang))
        label = html.escape(period_label(services, lang, period))
        progress_text = services.i18n.t("insights.fetching", lang, period=label)
        progress = message if message is not None and await _edit(message, progress_text) else None
        await deliver(
            context,
            user_id=user_id,
            chat_id=chat_id,
            thread_id=thread_id,
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
    message = update.effective_message
    services = context.services
    user_id = update.effective_user.id
    lang = services.lang(user_id)
    code = str((doc.get("data") or {}).get("target", ""))
    if not re.fullmatch(r"p?\d{1,12}", code):
        log.warning("insights range prompt with a bad target %r", code[:32])
        return
    target = Target.from_code(code)
    thread_id = _thread_of(message)
    try:
        start, end = parse_date_range(message.text or "", now=services.clock(), tz=services.tz, lang=lang)
    except TimeParseError as exc:
        await message.reply_text(html.escape(exc.render(services.i18n, lang)), parse_mode="HTML")
        await ask_range(context, message.chat_id, user_id, target, thread_id=thread_id, reply_to=message.message_id)
        return
    label = period_label(services, lang, "custom", start, end)
    progress = await message.reply_text(
        services.i18n.t("insights.fetching", lang, period=html.escape(label)), parse_mode="HTML"
    )
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


# --- weekly digest -------------------------------------------------------------------------


def digest_schedule(spec: str, zone: str) -> tuple[time, tuple[int, ...]]:
    """``"mon 09:00"`` → (09:00 in ``zone``, PTB's day tuple (0 = Sunday))."""
    day, clock = spec.split()
    hour, minute = (int(part) for part in clock.split(":"))
    return time(hour, minute, tzinfo=ZoneInfo(zone)), (_WEEKDAYS_CRON.index(day[:3]),)


async def start_digest(app: Application) -> None:
    """Register the weekly digest (only added to ``on_start`` when it is configured)."""
    config = app.bot_data.services.config
    if not config.insights_digest:
        return
    assert app.job_queue is not None
    when, days = digest_schedule(config.insights_digest, config.timezone)
    app.job_queue.run_daily(
        run_digest,
        time=when,
        days=days,
        name=DIGEST_JOB,
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600},
    )
    log.info("weekly insights digest: %s (%s)", config.insights_digest, config.timezone)


async def run_digest(context: Context) -> None:
    """One chart per account to the admin chat; accounts without data and failures in one line each."""
    services = context.services
    lang = services.config.language
    chat_id = services.config.admin_chat_id
    try:
        accounts = [a for a in await services.resont.accounts() if a.id is not None]
    except ResontError as exc:
        services.health.job(DIGEST_JOB, False, str(exc))
        await services.send_admin(context.bot, resont_error_text(services, exc, lang), topic="alerts")
        return
    accounts.sort(key=lambda a: (a.insights_order if a.insights_order is not None else 1 << 30, a.id))
    sent, empty, failed = 0, [], []
    for account in accounts:
        name = account_label(services, account, lang)
        try:
            report = await fetch_report(services, Target("account", account.id), "week", lang, name=name)
        except ResontError as exc:
            head = services.i18n.t("insights.digest_failed_line", lang, name=html.escape(name))
            failed.append(f"{head} {resont_error_text(services, exc, lang)}")
            continue
        if report.empty:
            empty.append(html.escape(name))
            continue
        await send_report(context, chat_id, report, lang)
        sent += 1
    lines = []
    if not accounts:
        lines.append(services.i18n.t("insights.no_accounts", lang))
    if empty:
        separator = services.i18n.t("insights.list_separator", lang)
        lines.append(services.i18n.t("insights.digest_no_data", lang, names=separator.join(empty)))
    lines.extend(failed)
    if lines:
        await context.bot.send_message(chat_id, "\n".join(lines), parse_mode="HTML")
    services.health.job(DIGEST_JOB, not failed, f"{sent}/{len(accounts)}")

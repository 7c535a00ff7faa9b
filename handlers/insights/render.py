"""Insights texts and pictures: names, figures, the caption, and the chart drawn off the event loop.

Metrics Resont did not return are named as "not reported", never drawn as zero; an answer with no
data at all is said in words (:func:`send_report`), and so is a Resont error (with its trace id).
"""

from __future__ import annotations

import asyncio
import html
from datetime import date
from typing import Any

from telegram import InputFile, Message

from bot.clients.resont.errors import ResontError
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.text.charts import Headline
from bot.text.digits import to_persian_digits
from bot.text.timeparse import format_date
from handlers.insights.data import CUMULATIVE, Report, Target

CAPTION_LIMIT = 1024
CHART_SIZE = (1280, 720)  # 16:9, Telegram shows it full width on a phone without downscaling text


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


def resont_error_text(services: Services, exc: ResontError, lang: str) -> str:
    text = services.i18n.t("insights.resont_error", lang, message=html.escape(exc.message))
    if exc.trace_id:
        text += services.i18n.t("insights.trace_id", lang, trace=html.escape(exc.trace_id))
    return text


def account_label(services: Services, account: Any, lang: str) -> str:
    name = (account.name or account.identifier or str(account.id))[:64]
    if account.type:
        return services.i18n.t("insights.account_label", lang, name=name, network=account.type)
    return name


async def target_name(services: Services, target: Target, lang: str) -> str:
    """A post group's "post N", or the account's label (fetched from Resont: may raise ResontError)."""
    if target.kind == "post":
        shown = str(target.item_id)
        return services.i18n.t("insights.post_name", lang, id=to_persian_digits(shown) if lang == "fa" else shown)
    account = await services.resont.accounts.get(target.item_id)
    return account_label(services, account, lang)


# --- the caption ---------------------------------------------------------------------------


def caption_of(services: Services, report: Report, lang: str) -> str:
    """The photo's caption (HTML): title, one line per metric with its figure, what is missing."""
    t = services.i18n.t
    head = t("insights.caption_title", lang, name=html.escape(report.name), period=html.escape(report.period_label))
    lines = [_figure_line(services, name, figures, lang) for name, figures in report.figures.items()]
    tail = []
    if report.missing:
        separator = t("insights.list_separator", lang)
        names = separator.join(html.escape(metric_name(services, m, lang)) for m in report.missing)
        tail.append(t("insights.caption_missing", lang, metrics=names))
    while lines and len("\n".join([head, *lines, *tail])) > CAPTION_LIMIT:
        lines.pop()  # a caption is at most 1024 characters: keep the first metrics
    text = "\n".join([head, *lines, *tail])
    return text if len(text) <= CAPTION_LIMIT else text[: CAPTION_LIMIT - 1] + "…"


def _figure_line(services: Services, name: str, figures: Headline, lang: str) -> str:
    """One metric's caption line: its total (or level), and its change over the period if known."""
    t = services.i18n.t
    shown = html.escape(metric_name(services, name, lang))
    value = format_number(figures["total"], lang)
    key = "insights.caption_level" if name in CUMULATIVE else "insights.caption_total"
    line = t(key, lang, metric=shown, value=value)
    change_value, change_pct = figures["change"], figures["change_pct"]
    if change_value is None:
        return line
    change = format_number(change_value, lang, signed=True)
    if change_pct is not None:
        pct = format_number(change_pct, lang, signed=True)
        return line + t("insights.caption_change_pct", lang, change=change, pct=pct)
    return line + t("insights.caption_change", lang, change=change)


# --- the chart -----------------------------------------------------------------------------


def render_chart(services: Services, report: Report, lang: str) -> bytes:
    """The PNG (blocking: call through ``asyncio.to_thread``)."""
    series = {metric_name(services, n, lang): points for n, points in report.series.items()}
    missing = [metric_name(services, n, lang) for n in report.missing]
    return services.charts.render(
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
        return await context.bot.send_message(chat_id, text, message_thread_id=thread_id, reply_to_message_id=reply_to)
    png = await asyncio.to_thread(render_chart, services, report, lang)
    return await context.bot.send_photo(
        chat_id,
        photo=InputFile(png, filename="insights.png"),
        caption=caption_of(services, report, lang),
        message_thread_id=thread_id,
        reply_to_message_id=reply_to,
    )

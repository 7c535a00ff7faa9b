"""Reports: the CSV report of a finished job (and its button), ``/report``, ``/credits`` and
``/limits``."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import TelegramError

from bot.clients.miogram.client import MioGramClient
from bot.clients.miogram.errors import MioGramError
from bot.clients.miogram.models import Limits
from bot.clients.miogram.report import ReportRow
from bot.massjobs import counts
from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from bot.massjobs.report import report_csv
from bot.massjobs.storage import load
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.buttons import button
from bot.runtime.tg.callback import ButtonData
from bot.runtime.update_parts import message_of, press_chat_id, query_of, user_of
from bot.text.timeparse import format_when
from handlers.mass import buttons as kinds
from handlers.mass.common import fmt_num, fmt_size, rows, utc
from handlers.mass.runtime import MassRuntime

log = logging.getLogger("handlers.mass")

#: what a question to MioGram answers
T = TypeVar("T")


class Reports:
    """A finished job's report, the CSV button, and ``/report``, ``/credits`` and ``/limits``."""

    def __init__(self, runtime: MassRuntime) -> None:
        self.runtime = runtime

    async def finished(self, job: JobDoc) -> None:
        services = self.runtime.services
        c = counts.count(job)
        key = "mass.finished_done" if job["status"] == md.DONE else "mass.finished_cancelled"
        caption = services.t(
            key,
            None,
            job=job["id"],
            sent=c.sent,
            not_delivered=c.not_delivered,
            invalid=c.invalid,
            unknown=c.unknown,
            opted_out=c.opted_out + len(job.get("opted_out", [])),
            skipped=c.skipped + c.left + c.failed,
            total=c.total,
        )
        await self.send_report(self.runtime.bot, job, caption)

    async def send_report(
        self, bot: Bot, job: JobDoc, caption: str, chat_id: int | None = None, thread_id: int | None = None
    ) -> None:
        services = self.runtime.services
        document = InputFile(report_csv(job), filename=f"mass-{job['id']}.csv")
        target = chat_id if chat_id is not None else services.config.admin_chat_id
        thread = thread_id if chat_id is not None else services.topic("mass")
        try:
            await bot.send_document(chat_id=target, document=document, caption=caption[:1024], message_thread_id=thread)
        except TelegramError as exc:
            log.error("mass job %s: could not send the report: %s", job["id"], exc)

    async def on_csv(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        if not job.get("units"):
            await query.answer(services.t("mass.no_report_yet", user_id), show_alert=True)
            return
        await query.answer()
        c = counts.count(job)
        caption = services.t(
            "mass.csv_caption",
            user_id,
            job=job["id"],
            status=status_label(services, user_id, job),
            sent=c.sent,
            total=c.total,
        )
        message = query.message if isinstance(query.message, Message) else None
        await self.send_report(
            context.bot,
            job,
            caption,
            chat_id=press_chat_id(query),
            thread_id=message.message_thread_id if message is not None and message.is_topic_message else None,
        )

    async def on_report(self, update: Update, context: Context) -> None:
        """``/report``: the recent mass sends (with their CSV buttons) and MioGram's own report."""
        services, user_id = context.services, user_of(update).id
        jobs = recent_jobs(services)
        lines = [services.t("mass.report_title", user_id)]
        if not jobs:
            lines.append(services.t("mass.report_no_jobs", user_id))
        lines += [job_line(services, user_id, job) for job in jobs]
        buttons = [
            button(services.t("mass.btn_csv_of", user_id, job=job["id"]), kinds.Csv(job["id"]))
            for job in jobs
            if job.get("units")
        ]
        lines.append("")
        lines += await miogram_report_lines(services, user_id)
        markup = InlineKeyboardMarkup(rows(buttons, 3)) if buttons else None
        await message_of(update).reply_text("\n".join(lines), reply_markup=markup)

    async def on_credits(self, update: Update, context: Context) -> None:
        services, user_id = context.services, user_of(update).id
        credits = await self._ask_miogram(update, context, lambda client: client.account.credits())
        if credits is None:
            return
        lang = services.lang(user_id)
        lines = [services.t("mass.credits_title", user_id)]
        for kind in ("message", "photo", "video", "file", "other"):
            value = credits.for_kind(kind)
            key = "mass.credits_line" if value > 0 else "mass.credits_line_empty"
            lines.append(
                services.t(key, user_id, kind=services.t(f"mass.credit_{kind}", user_id), value=fmt_num(value, lang))
            )
        await message_of(update).reply_text("\n".join(lines))

    async def on_limits(self, update: Update, context: Context) -> None:
        services, user_id = context.services, user_of(update).id
        answer = await self._ask_miogram(update, context, limits_and_footer)
        if answer is None:
            return
        limits, footer = answer
        lang = services.lang(user_id)
        yes, no = services.t("mass.word_yes", user_id), services.t("mass.word_no", user_id)
        text = services.t(
            "mass.limits",
            user_id,
            message=fmt_num(limits.message_bytes, lang),
            photo=fmt_size(limits.photo_bytes, lang),
            video=fmt_size(limits.video_bytes, lang),
            file=fmt_size(limits.file_bytes, lang),
            can_get=yes if limits.can_get else no,
            is_super=yes if limits.is_super else no,
        )
        if footer:
            text += "\n" + services.t("mass.preview_footer", user_id, footer=fmt_num(footer, lang))
        await message_of(update).reply_text(text)

    async def _ask_miogram(
        self, update: Update, context: Context, call: Callable[[MioGramClient], Awaitable[T]]
    ) -> T | None:
        """``call(client)``, or None after telling the admin MioGram is not configured or failed."""
        services, user_id = context.services, user_of(update).id
        if services.miogram is None:
            await message_of(update).reply_text(services.t("mass.not_configured", user_id))
            return None
        try:
            return await call(services.miogram)
        except MioGramError as exc:
            await message_of(update).reply_text(services.t("mass.mio_error", user_id, error=html.escape(str(exc))))
            return None


async def limits_and_footer(client: MioGramClient) -> tuple[Limits, int]:
    """MioGram's size limits (asked afresh) and the bytes its footer adds to every message."""
    limits = await client.checks.limits(refresh=True)
    return limits, client.checks.message_bytes("")[1]


#: records /report reads from MioGram's send report, and how many of them it lists
REPORT_RECORDS = 100
REPORT_LINES = 10


async def miogram_report_lines(services: Services, user_id: int) -> list[str]:
    """/report's part about MioGram's own send report: delivered and not-delivered numbers over
    the records read, the newest records, and what the report cannot show."""

    def t(key: str, **values: object) -> str:
        return services.t(key, user_id, **values)

    if services.miogram is None:
        return [t("mass.not_configured")]
    try:
        report = await services.miogram.account.report(REPORT_RECORDS)
    except MioGramError as exc:
        return [t("mass.mio_error", error=html.escape(str(exc)))]
    delivered, failed = report.delivered_count, report.not_delivered_count
    lines = [t("mass.report_mio_title", count=len(report.rows), delivered=delivered, failed=failed)]
    lang = services.lang(user_id)
    lines += [report_row_line(services, user_id, lang, row) for row in report.rows[:REPORT_LINES]]
    if report.unreadable:
        lines.append(t("mass.report_mio_unreadable", count=report.unreadable))
    if report.filled:
        lines.append(t("mass.report_mio_window"))
    return lines


def report_row_line(services: Services, user_id: int, lang: str, row: ReportRow) -> str:
    """One record of MioGram's report: when, what (a text's start, or a file's size), to whom,
    and how many got it."""

    def t(key: str, **values: object) -> str:
        return services.t(key, user_id, **values)

    size = row.file_size
    if size is not None:
        what = t("mass.report_mio_file", size=fmt_size(size, lang))
    else:
        text = " ".join(row.data.split())
        what = t("mass.report_mio_text", text=html.escape(text[:40] + ("…" if len(text) > 40 else "")))
    count = len(row.numbers)
    to = html.escape(row.numbers[0]) if count == 1 else t("mass.report_mio_numbers", count=fmt_num(count, lang))
    return t(
        "mass.report_mio_line",
        when=html.escape(row.when),
        what=what,
        to=to,
        delivered=fmt_num(len(row.delivered), lang),
        total=fmt_num(count, lang),
    )


def recent_jobs(services: Services, count: int = 8) -> list[JobDoc]:
    """The latest confirmed jobs, newest first (read from the store: nothing is cached)."""
    docs = [doc for _, doc in services.store.table(md.TABLE).items() if doc.get("status") != md.DRAFT]
    docs.sort(key=lambda d: d.get("created_at", 0), reverse=True)
    return [job for job in (load(services.store, doc["id"]) for doc in docs[:count]) if job is not None]


def status_label(services: Services, user_id: int | None, job: JobDoc) -> str:
    return services.t(f"mass.status_{job.get('status', 'draft')}", user_id)


def job_line(services: Services, user_id: int, job: JobDoc) -> str:
    c = counts.count(job)
    when = format_when(utc(job.get("created_at")), tz=services.tz, lang=services.lang(user_id))
    status = status_label(services, user_id, job)
    return services.t("mass.report_job", user_id, job=job["id"], status=status, sent=c.sent, total=c.total, when=when)

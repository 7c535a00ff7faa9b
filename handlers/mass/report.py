"""Reports: the CSV report of a finished job (and its button), ``/report``, ``/credits`` and
``/limits``."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import TelegramError

from bot.clients.miogram.client import MioGramError
from bot.massjobs import counts
from bot.massjobs import docs as md
from bot.massjobs.report import report_csv
from bot.massjobs.storage import load
from bot.runtime.context import Context
from bot.runtime.services import NO_PREVIEW
from bot.text.timeparse import format_when
from handlers.mass.common import button, fmt_num, fmt_size, rows, status_label, utc

log = logging.getLogger("handlers.mass.wiring")


class ReportMixin:
    """Reports and the commands that answer directly; mixed into :class:`handlers.mass.wiring.Mass`."""

    async def finished(self, job: dict[str, Any]) -> None:
        services = self.services
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
        await self.send_report(self.app.bot, job, caption)  # type: ignore[union-attr]

    async def send_report(
        self, bot, job: dict[str, Any], caption: str, chat_id: int | None = None, thread_id: int | None = None
    ) -> None:
        services = self.services
        document = InputFile(report_csv(job), filename=f"mass-{job['id']}.csv")
        target = chat_id if chat_id is not None else services.config.admin_chat_id
        thread = thread_id if chat_id is not None else services.topic("mass")
        try:
            await bot.send_document(
                chat_id=target, document=document, caption=caption[:1024], parse_mode="HTML", message_thread_id=thread
            )
        except TelegramError as exc:
            log.error("mass job %s: could not send the report: %s", job["id"], exc)

    async def _on_csv(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
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
        message = query.message
        await self.send_report(
            context.bot,
            job,
            caption,
            chat_id=message.chat_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
        )

    async def on_report(self, update: Update, context: Context) -> None:
        services = context.services
        user_id = update.effective_user.id
        lang = services.lang(user_id)
        recent = sorted(
            (doc for _, doc in services.store.table(md.TABLE).items() if doc.get("status") != md.DRAFT),
            key=lambda d: d.get("created_at", 0),
            reverse=True,
        )[:8]
        jobs = [job for job in (load(services.store, doc["id"]) for doc in recent) if job is not None]
        lines = [services.t("mass.report_title", user_id)]
        buttons = []
        if not jobs:
            lines.append(services.t("mass.report_no_jobs", user_id))
        for job in jobs:
            c = counts.count(job)
            when = format_when(utc(job.get("created_at")), tz=services.tz, lang=lang)
            lines.append(
                services.t(
                    "mass.report_job",
                    user_id,
                    job=job["id"],
                    status=status_label(services, user_id, job),
                    sent=c.sent,
                    total=c.total,
                    when=when,
                )
            )
            if job.get("units"):
                buttons.append(button(services.t("mass.btn_csv_of", user_id, job=job["id"]), f"mass:csv:{job['id']}"))
        lines.append("")
        if services.miogram is None:
            lines.append(services.t("mass.not_configured", user_id))
        else:
            try:
                records = await services.miogram.report(100)
            except MioGramError as exc:
                lines.append(services.t("mass.mio_error", user_id, error=html.escape(str(exc))))
            else:
                delivered = sum(1 for r in records if r.result is True)
                failed = sum(1 for r in records if r.result is False)
                lines.append(
                    services.t("mass.report_mio_title", user_id, count=len(records), delivered=delivered, failed=failed)
                )
                for record in records[:10]:
                    result = (
                        services.t("mass.word_yes" if record.result else "mass.word_no", user_id)
                        if record.result is not None
                        else "?"
                    )
                    lines.append(
                        services.t(
                            "mass.report_mio_line",
                            user_id,
                            date=html.escape(record.date or ""),
                            phone=html.escape(record.phone or ""),
                            func=html.escape(record.func or ""),
                            result=result,
                        )
                    )
        markup = InlineKeyboardMarkup(rows(buttons, 3)) if buttons else None
        await update.effective_message.reply_text(
            "\n".join(lines), parse_mode="HTML", reply_markup=markup, link_preview_options=NO_PREVIEW
        )

    async def on_credits(self, update: Update, context: Context) -> None:
        services, user_id = context.services, update.effective_user.id
        credits = await self._ask_miogram(update, context, lambda client: client.credits())
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
        await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML")

    async def on_limits(self, update: Update, context: Context) -> None:
        services, user_id = context.services, update.effective_user.id
        limits = await self._ask_miogram(update, context, lambda client: client.limits(refresh=True))
        if limits is None:
            return
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
        footer = services.miogram.message_bytes("")[1]
        if footer:
            text += "\n" + services.t("mass.preview_footer", user_id, footer=fmt_num(footer, lang))
        await update.effective_message.reply_text(text, parse_mode="HTML")

    async def _ask_miogram(self, update: Update, context: Context, call: Callable[[Any], Awaitable[Any]]) -> Any:
        """``call(client)``, or None after telling the admin MioGram is not configured or failed."""
        services, user_id = context.services, update.effective_user.id
        if services.miogram is None:
            await update.effective_message.reply_text(services.t("mass.not_configured", user_id))
            return None
        try:
            return await call(services.miogram)
        except MioGramError as exc:
            await update.effective_message.reply_text(
                services.t("mass.mio_error", user_id, error=html.escape(str(exc))), parse_mode="HTML"
            )
            return None

"""The buttons that drive a job: Send now, Schedule (and its time reply), Drop, Pause, Resume,
Cancel. Stateless: they work after a restart."""

from __future__ import annotations

import html
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from bot.runtime.context import Context
from bot.runtime.tg.callback import ButtonData
from bot.runtime.update_parts import message_of, press_chat_id, query_of, user_of
from bot.text.timeparse import format_when, parse_when
from bot.text.timewords import TimeParseError
from handlers.mass.painter import ProgressPainter
from handlers.mass.runtime import MassRuntime
from handlers.replies import ask


class Controls:
    """A job's controls: each method answers one button (or the time reply) of a job."""

    def __init__(self, runtime: MassRuntime, painter: ProgressPainter) -> None:
        self.runtime = runtime
        self.painter = painter

    async def on_go(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        """Send now (from the preview, or a scheduled send started early)."""
        await self._go(update, context, job, anyway=False)

    async def on_go_anyway(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        """Send now and through the quiet hours (the preview's "send anyway")."""
        await self._go(update, context, job, anyway=True)

    async def _go(self, update: Update, context: Context, job: JobDoc, *, anyway: bool) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        if job["status"] == md.DRAFT and job.get("blocked", True):
            await query.answer(services.t("mass.cannot_confirm", user_id), show_alert=True)
            return
        was_scheduled = job["status"] == md.SCHEDULED
        ok, after = await self.runtime.runner.confirm(job["id"], user_id, anyway=anyway)
        if not ok or after is None:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        if was_scheduled:
            services.scheduler.cancel(f"mass:{job['id']}")
        await query.answer(services.t("mass.started", user_id))
        if off_progress(query, after):
            who = html.escape(query.from_user.full_name)
            text = services.t("mass.confirmed_card", user_id, job=job["id"], who=who)
            await self.runtime.edit_query_message(update, text)

    async def on_anyway(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        """A send paused for the quiet hours goes on now (the progress message's button)."""
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        ok = await self.runtime.runner.send_anyway(job["id"], user_id)
        await query.answer(services.t("mass.anyway_ok" if ok else "mass.already_finished", user_id))

    async def on_schedule(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        if job["status"] != md.DRAFT or job.get("blocked", True):
            await query.answer(services.t("mass.cannot_confirm", user_id), show_alert=True)
            return
        await query.answer()
        message = query.message if isinstance(query.message, Message) else None
        hint = services.t("time.hint", user_id, zone=services.config.timezone)
        await ask(
            context,
            press_chat_id(query),
            services.t("mass.ask_when", user_id, job=job["id"], hint=html.escape(hint)),
            kind="mass.when",
            user_id=user_id,
            data={"job_id": job["id"]},
            thread_id=message.message_thread_id if message is not None and message.is_topic_message else None,
        )

    async def on_when_reply(self, update: Update, context: Context, doc: dict[str, Any]) -> None:
        """The admin's answer to "when?": the draft is scheduled, or asked again with the reason."""
        services, message, user_id = context.services, message_of(update), user_of(update).id
        job_id = str(doc.get("data", {}).get("job_id", ""))
        job = self.runtime.jobs.get(job_id)
        if job is None or job["status"] != md.DRAFT:
            await message.reply_text(services.t("mass.job_unknown", user_id))
            return
        lang = services.lang(user_id)
        try:
            run_at = parse_when(message.text or "", now=services.clock(), tz=services.tz, lang=lang)
        except TimeParseError as exc:
            values = {k: html.escape(str(v)) for k, v in exc.values.items()}
            error = services.i18n.t(exc.reason_key, lang, **values)
            text = services.t("mass.when_again", user_id, error=error)
            data = {"job_id": job_id}
            await ask(
                context,
                message.chat_id,
                text,
                kind="mass.when",
                user_id=user_id,
                data=data,
                reply_to=message.message_id,
            )
            return
        if not await self.runtime.runner.schedule(job_id, run_at.timestamp(), user_id):
            await message.reply_text(services.t("mass.already_started", user_id))
            return
        services.scheduler.schedule("mass.start", run_at, {"job_id": job_id}, key=f"mass:{job_id}")
        when = format_when(run_at, tz=services.tz, lang=lang)
        zone = services.config.timezone
        await message.reply_text(services.t("mass.scheduled", user_id, job=job_id, when=when, zone=zone))
        await self._scheduled(context, job)

    async def _scheduled(self, context: Context, job: JobDoc) -> None:
        """A scheduled draft: its preview loses its buttons, its progress message shows when."""
        preview = job.get("preview")
        if preview:
            try:
                await context.bot.edit_message_reply_markup(
                    chat_id=preview["chat_id"], message_id=preview["message_id"], reply_markup=None
                )
            except TelegramError:
                pass
        await self.painter.progress(job, force=True)

    async def on_drop(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        if job["status"] != md.DRAFT:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        await self.runtime.runner.cancel(job["id"], user_id)
        await query.answer(services.t("mass.dropped", user_id))
        await self.runtime.edit_query_message(update, services.t("mass.dropped_card", user_id, job=job["id"]))

    async def on_pause(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        after = await self.runtime.runner.pause(job["id"], user_id)
        ok = after is not None and after["status"] == md.PAUSED
        await query.answer(services.t("mass.paused_ok" if ok else "mass.not_running", user_id))

    async def on_resume(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        ok, after = await self.runtime.runner.resume(job["id"], user_id)
        if ok:
            await query.answer(services.t("mass.resumed_ok", user_id))
            if off_progress(query, after):
                who = html.escape(query.from_user.full_name)
                await self.runtime.edit_query_message(
                    update, services.t("mass.resumed_card", user_id, job=job["id"], who=who)
                )
            return
        if after is not None and any(u["state"] == md.UNKNOWN for u in after.get("units", [])):
            await query.answer(services.t("mass.decide_unknown_first", user_id), show_alert=True)
        else:
            await query.answer(services.t("mass.not_paused", user_id), show_alert=True)

    async def on_cancel(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        if job["status"] in md.FINISHED:
            await query.answer(services.t("mass.already_finished", user_id), show_alert=True)
            return
        after = await self.runtime.runner.cancel(job["id"], user_id)
        key = "mass.cancelling" if after and after["status"] == md.CANCELLING else "mass.cancelled_ok"
        await query.answer(services.t(key, user_id))
        if off_progress(query, after):
            who = html.escape(query.from_user.full_name)
            await self.runtime.edit_query_message(
                update, services.t("mass.cancelled_card", user_id, job=job["id"], who=who)
            )


def off_progress(query: CallbackQuery, job: JobDoc | None) -> bool:
    """Whether the pressed button is on a message other than the job's progress message (which
    the painter redraws): a preview card or an alert, edited to say who pressed."""
    if query.message is None:
        return False
    progress = job.get("progress") if job is not None else None
    return (progress.get("message_id") if progress else None) != query.message.message_id

"""The job's progress message in the admin chat: drawn by one background task per job, edited in
place (at most every ``progress_interval`` seconds, state changes at once), with the
Pause/Resume/Cancel buttons. Part of the runner's :class:`~bot.massjobs.runner.Notifier`."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.massjobs import counts
from bot.massjobs import docs as md
from bot.runtime.services import NO_PREVIEW
from bot.text.timeparse import format_when
from handlers.mass.common import button, fmt_duration, fmt_num, not_modified, pause_text, rows, status_label, utc

log = logging.getLogger("handlers.mass.wiring")


class ProgressMixin:
    """The progress message; mixed into :class:`handlers.mass.wiring.Mass`."""

    async def progress(self, job: dict[str, Any], *, force: bool = False) -> None:
        """Ask for the job's progress message to show its current state. Returns at once: one
        background task per job draws the latest state (requests made meanwhile are folded into
        one edit), so a slow or rate-limited Telegram never holds up the sending."""
        job_id = job["id"]
        if not force and time.monotonic() - self._last_edit.get(job_id, 0.0) < self.progress_interval:
            return
        self._dirty.add(job_id)
        if job_id in self._painters:
            return
        self._painters.add(job_id)
        paint = self._paint_loop(job_id)
        if self.app is not None and self.app.running:
            self.app.create_task(paint, name=f"mass-progress:{job_id}")
        else:  # during start-up (recovery): a plain task, kept referenced until it ends
            task = asyncio.get_running_loop().create_task(paint)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _paint_loop(self, job_id: str) -> None:
        try:
            while job_id in self._dirty:
                self._dirty.discard(job_id)
                try:
                    await self._paint(job_id)
                except Exception:  # a drawing failure must not stop later ones
                    log.exception("mass job %s: could not draw the progress message", job_id)
        finally:
            self._painters.discard(job_id)

    async def _paint(self, job_id: str) -> None:
        services = self.services
        async with services.locks(f"mass-progress:{job_id}"):
            current = self.jobs.get(job_id)
            if current is None or current.get("status") == md.DRAFT:
                return
            text, markup = self.render_progress(current)
            where = current.get("progress")
            shown = f"{text}\n{markup.to_json() if markup else ''}"
            if where and self._last_text.get(job_id) == shown:
                return  # an edit that changes nothing still counts against the group's rate
            self._last_edit[job_id] = time.monotonic()
            bot = self.app.bot  # type: ignore[union-attr]
            if where:
                try:
                    await bot.edit_message_text(
                        chat_id=where["chat_id"],
                        message_id=where["message_id"],
                        text=text,
                        reply_markup=markup,
                        parse_mode="HTML",
                        link_preview_options=NO_PREVIEW,
                    )
                    self._last_text[job_id] = shown
                    if current.get("status") in md.FINISHED:
                        self._forget(job_id)
                    return
                except BadRequest as exc:
                    if not_modified(exc):
                        self._last_text[job_id] = shown
                        return
                    log.warning("mass job %s: progress message not editable (%s); sending a new one", job_id, exc)
                except TelegramError as exc:
                    log.warning("mass job %s: could not edit the progress message: %s", job_id, exc)
                    return
            try:
                message = await services.send_admin(bot, text, topic="mass", markup=markup)
            except TelegramError as exc:
                log.warning("mass job %s: could not post the progress message: %s", job_id, exc)
                return
            self._last_text[job_id] = shown
            self.jobs.update(job_id, progress={"chat_id": message.chat_id, "message_id": message.message_id})

    def _forget(self, job_id: str) -> None:
        self._last_text.pop(job_id, None)
        self._last_edit.pop(job_id, None)

    def render_progress(self, job: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
        services = self.services
        lang = services.lang(None)
        t = lambda key, **v: services.t(key, None, **v)  # noqa: E731
        job_id = job["id"]
        status = job["status"]
        c = counts.count(job)
        lines = [t("mass.progress_title", job=job_id, status=status_label(services, None, job))]
        if status == md.SCHEDULED:
            when = format_when(utc(job.get("run_at")), tz=services.tz, lang=lang)
            lines.append(t("mass.progress_scheduled", when=when))
        done = c.processed
        lines.append(
            t("mass.progress_bar", bar=counts.progress_bar(done, c.total), percent=counts.percent(done, c.total))
        )
        lines.append(
            t(
                "mass.progress_counts",
                sent=c.sent,
                not_delivered=c.not_delivered,
                left=c.left + c.in_flight,
                total=c.total,
            )
        )
        extras = []
        for name in ("invalid", "unknown", "opted_out", "skipped", "failed"):
            value = getattr(c, name)
            if value:
                extras.append(t(f"mass.count_{name}", count=value))
        if extras:
            lines.append(" · ".join(extras))
        lines.append(t("mass.progress_batches", done=c.batches_done, total=c.batches))
        if status in (md.RUNNING, md.CANCELLING):
            rate = counts.rate_per_minute(job)
            eta = counts.eta_seconds(job)
            if rate is not None and eta is not None:
                lines.append(t("mass.progress_rate", rate=fmt_num(round(rate, 1), lang), eta=fmt_duration(eta, lang)))
        if status == md.PAUSED:
            lines.append(pause_text(services, None, job))
        if job.get("channel") == "whatsapp":
            lines.append(t("mass.progress_whatsapp"))
        buttons: list[InlineKeyboardButton] = []
        if status == md.RUNNING:
            buttons = [
                button(t("mass.btn_pause"), f"mass:pause:{job_id}"),
                button(t("mass.btn_stop"), f"mass:cancel:{job_id}"),
            ]
        elif status == md.PAUSED:
            unknown = next((i for i, u in enumerate(job.get("units", [])) if u["state"] == md.UNKNOWN), None)
            if unknown is None:
                buttons.append(button(t("mass.btn_resume"), f"mass:resume:{job_id}"))
            else:  # the same choice as on the batch's card, in case that card could not be sent
                buttons += [
                    button(t("mass.btn_resend"), f"mass:resend:{job_id}:{unknown}"),
                    button(t("mass.btn_skip"), f"mass:skip:{job_id}:{unknown}"),
                ]
            buttons.append(button(t("mass.btn_stop"), f"mass:cancel:{job_id}"))
        elif status == md.SCHEDULED:
            buttons = [
                button(t("mass.btn_send_now"), f"mass:go:{job_id}"),
                button(t("mass.btn_stop"), f"mass:cancel:{job_id}"),
            ]
        elif status in md.FINISHED and job.get("units"):
            buttons = [button(t("mass.btn_csv"), f"mass:csv:{job_id}")]
        return "\n".join(lines), InlineKeyboardMarkup(rows(buttons)) if buttons else None

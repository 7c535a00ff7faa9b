"""Mass sends through MioGram, as seen from Telegram.

- ``/mass`` (the conversation in :mod:`handlers.mass_flow`) builds a *draft* job: audience,
  content, channel. The draft's preview card is stateless (``mass:go|sched|drop|inv|prev:<job>``)
  so it survives restarts and can be produced by the Bridge as well (:func:`start_from_post`).
- A confirmed job is driven by :class:`bot.mass_runner.MassRunner` one MioGram request at a time
  through the job queue (a ``run_once`` chain), never blocking the bot. One progress message in
  the admin chat (topic ``mass``) is edited in place; Pause/Resume/Cancel are buttons on it.
- An ``unknown`` unit (999, lost connection, crash) gets a card with Resend / Skip / Check.
- ``/report``, ``/credits``, ``/limits`` answer directly; ``/lists`` and ``/optout`` live in
  :mod:`handlers.mass_lists`.

This class implements the runner's :class:`~bot.mass_runner.Notifier`.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import mass_runner as mr
from bot.config import Config
from bot.context import Context
from bot.feature import Command, Feature, ReplyRoute
from bot.i18n import to_persian_digits
from bot.miogram import Media, MediaKind, MioGramError, Outcome
from bot.phones import InvalidPhone, normalize
from bot.roles import ADMINS
from bot.services import NO_PREVIEW, Services
from bot.timeparse import TimeParseError, format_when, parse_when
from handlers import mass_files, mass_flow, mass_lists
from handlers.replies import ask

log = logging.getLogger(__name__)

#: seconds between two edits of a progress message (state changes are shown at once)
PROGRESS_INTERVAL = 4.0
#: the most saved lists offered as buttons
MAX_LIST_BUTTONS = 12
#: a media file from a URL (the Bridge) larger than this is refused
URL_MEDIA_MAX = 50 * 1024 * 1024
MIB = 1_048_576


@dataclass
class MassFeature(Feature):
    """The mass feature, carrying its runtime (``mass``) so :func:`start_from_post` finds it."""

    mass: Mass | None = None


def feature(config: Config) -> Feature:
    mass = Mass(config)
    return MassFeature(
        name="mass",
        handlers=[
            mass_flow.conversation(mass),
            CallbackQueryHandler(mass.on_button, pattern=r"^mass:"),
            CommandHandler("report", mass.on_report),
            CommandHandler("credits", mass.on_credits),
            CommandHandler("limits", mass.on_limits),
            *mass_lists.handlers(mass),
        ],
        commands=[
            Command("mass", ADMINS, "mass.cmd_mass"),
            Command("lists", ADMINS, "mass.cmd_lists"),
            Command("optout", ADMINS, "mass.cmd_optout"),
            Command("report", ADMINS, "mass.cmd_report"),
            Command("credits", ADMINS, "mass.cmd_credits"),
            Command("limits", ADMINS, "mass.cmd_limits"),
        ],
        callbacks={"mass": ADMINS, "lists": ADMINS, "optout": ADMINS},
        replies={
            "mass.when": ReplyRoute(ADMINS, mass.on_when_reply),
            **mass_lists.replies(mass),
        },
        scheduled={"mass.start": mass.on_scheduled_start},
        on_start=[mass.on_start],
        status_lines=[mass.status_lines],
        mass=mass,
    )


def mass_of(context: Context) -> Mass:
    for item in context.bot_data.features:
        if isinstance(item, MassFeature) and item.mass is not None:
            return item.mass
    raise LookupError("the mass feature is not installed")


# --- formatting helpers


def lang_of(services: Services, user_id: int | None) -> str:
    return services.lang(user_id)


def fmt_num(value: int | float, lang: str) -> str:
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    return to_persian_digits(text) if lang == "fa" else text


def fmt_size(size: int, lang: str) -> str:
    """``1.2 MB`` / ``340 KB`` / ``900 B`` (binary units, as MioGram counts)."""
    if size >= MIB:
        text = f"{size / MIB:.1f} MB"
    elif size >= 1024:
        text = f"{size / 1024:.0f} KB"
    else:
        text = f"{size} B"
    return to_persian_digits(text) if lang == "fa" else text


def fmt_duration(seconds: float, lang: str) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return to_persian_digits(text) if lang == "fa" else text


def button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode("utf-8")) <= 64, data
    return InlineKeyboardButton(text, callback_data=data)


def rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def csv_bytes(header: list[str], lines: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue().encode("utf-8-sig")


def _not_modified(exc: BadRequest) -> bool:
    return "not modified" in str(exc).lower()


# --- the runtime


class Mass:
    """Everything the mass feature keeps while the bot runs (built by ``feature(config)``, bound
    to the application at start-up)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: Application | None = None
        self.runner: mr.MassRunner | None = None
        self.progress_interval = PROGRESS_INTERVAL
        self._last_edit: dict[str, float] = {}
        self._last_text: dict[str, str] = {}  # what the progress message shows (no useless edits)
        self._dirty: set[str] = set()  # jobs whose progress message is behind
        self._painters: set[str] = set()  # jobs with a drawing task
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle and the job-queue chain

    async def on_start(self, app: Application) -> None:
        self.app = app
        services: Services = app.bot_data.services
        self.runner = mr.MassRunner(services, self, self.load_media, self._kick)
        resumed = await self.runner.recover()
        if resumed:
            log.info("resuming %d mass job(s) after a restart: %s", len(resumed), ", ".join(resumed))

    @property
    def services(self) -> Services:
        assert self.app is not None
        return self.app.bot_data.services

    def _kick(self, job_id: str, delay: float) -> None:
        assert self.app is not None and self.app.job_queue is not None
        self.app.job_queue.run_once(self._step_job, when=delay, data=job_id, name=f"mass:{job_id}")

    async def _step_job(self, context: Context) -> None:
        assert self.runner is not None
        job_id = context.job.data
        try:
            again = await self.runner.step(job_id)
        except Exception:
            self.runner.halt(job_id)
            raise
        if not again:
            return
        if context.application.running:
            context.job_queue.run_once(self._step_job, when=0, data=job_id, name=f"mass:{job_id}")
        else:  # shutting down: the job stays "running" in the state file and resumes at start
            self.runner.halt(job_id)

    async def on_scheduled_start(self, context: Context, data: dict[str, Any]) -> None:
        assert self.runner is not None
        await self.runner.start_scheduled(str(data.get("job_id", "")))

    def status_lines(self, services: Services, user_id: int | None) -> list[str]:
        jobs = [doc for _, doc in services.store.table(mr.TABLE).items()]
        running = sum(1 for j in jobs if j.get("status") in (mr.RUNNING, mr.CANCELLING))
        paused = sum(1 for j in jobs if j.get("status") == mr.PAUSED)
        scheduled = sum(1 for j in jobs if j.get("status") == mr.SCHEDULED)
        if not (running or paused or scheduled):
            return []
        return [services.t("mass.status_line", user_id, running=running, paused=paused, scheduled=scheduled)]

    # --- media

    async def load_media(self, job: dict[str, Any]) -> Media:
        """The job's file: from the spool, else downloaded again from Telegram or its URL."""
        media = job["content"]["media"]
        path = Path(media["spool"]) if media.get("spool") else None
        if path is None or not path.exists():
            path = mr.spool_dir(self.services) / f"{job['id']}.{media['ext']}"
            if media.get("file_id"):
                assert self.app is not None
                file = await self.app.bot.get_file(media["file_id"])
                await file.download_to_drive(custom_path=path)
            elif media.get("url"):
                await self._download_url(media["url"], path)
            else:
                raise FileNotFoundError("the job's file is gone")
            self._update_job(job["id"], lambda j: j["content"]["media"].update(spool=str(path)))
        return Media(path, media["ext"], kind=media.get("kind"))

    async def _download_url(self, url: str, path: Path) -> int:
        size = 0
        async with self.services.http.stream("GET", url) as response:
            response.raise_for_status()
            with path.open("wb") as handle:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > URL_MEDIA_MAX:
                        handle.close()
                        path.unlink(missing_ok=True)
                        raise mass_files.TooBig(size, URL_MEDIA_MAX)
                    handle.write(chunk)
        return size

    def _update_job(self, job_id: str, change) -> None:
        """Apply ``change(job)`` to the stored job (synchronous: atomic in the event loop)."""
        table = self.services.store.table(mr.TABLE)
        job = table.get(job_id)
        if job is not None:
            change(job)
            table.put(job_id, job)

    # --- drafts and the preview

    def build_draft(
        self,
        *,
        job_id: str,
        user_id: int,
        chat_id: int,
        thread_id: int | None,
        audience: dict[str, Any],
        content: dict[str, Any],
        channel: str,
        source: str = "flow",
    ) -> dict[str, Any]:
        """A draft job from an audience ({label, valid, invalid, duplicates}) and content
        ({text, media}); opted-out numbers are set aside. Stored, and returned."""
        services = self.services
        job = {
            "id": job_id,
            "status": mr.DRAFT,
            "source": source,
            "created_by": user_id,
            "created_at": mr.now_ts(services),
            "chat_id": chat_id,
            "thread_id": thread_id,
            "content": content,
            "channel": channel,
            "batch_size": services.config.mass_batch_size,
            "units": [],
        }
        set_audience(services, job, audience)
        mr.save_job(services.store, job)
        return job

    async def render_preview(self, job: dict[str, Any], user_id: int | None) -> tuple[str, InlineKeyboardMarkup]:
        """The preview card: counts, content against the limits, credit, batches. Stores
        ``blocked`` (a limit is exceeded: the send cannot be confirmed)."""
        services = self.services
        lang = lang_of(services, user_id)
        t = lambda key, **v: services.t(key, user_id, **v)  # noqa: E731
        job_id = job["id"]
        content = job["content"]
        media = content.get("media")
        numbers = job["numbers"]
        lines = [t("mass.preview_title", job=job_id), t("mass.preview_audience", label=html.escape(job["audience"]))]
        lines.append(t("mass.preview_counts", valid=len(numbers), invalid=len(job["invalid"]),
                       duplicates=job["duplicates"], opted_out=len(job["opted_out"])))
        for raw, reason in job["invalid"][:5]:
            lines.append(t("mass.preview_invalid_line", raw=html.escape(raw[:40]), reason=html.escape(reason_text(services, user_id, reason))))
        if len(job["invalid"]) > 5:
            lines.append(t("mass.preview_invalid_more", count=len(job["invalid"]) - 5))
        blocked: list[str] = []
        if not numbers:
            blocked.append(t("mass.preview_no_numbers"))
        client = services.miogram
        limits = credits = None
        checked = False
        if client is None:
            blocked.append(t("mass.not_configured"))
        else:
            try:
                limits = await client.limits()
                credits = await client.credits()
                checked = True
            except MioGramError as exc:
                blocked.append(t("mass.preview_unchecked", error=html.escape(str(exc))))
        if media:
            kind = MediaKind(media["kind"])
            lines.append(t("mass.preview_media", kind=t(f"mass.kind_{kind.value}"), ext=html.escape(media["ext"]),
                           size=fmt_size(media["size"], lang)))
            if limits is not None:
                limit = limits.for_kind(kind.limit_kind)
                if media["size"] > limit:
                    blocked.append(t("mass.preview_media_over", size=fmt_num(media["size"], lang),
                                     limit=fmt_num(limit, lang), kind=t(f"mass.kind_{kind.limit_kind}"),
                                     human=fmt_size(media["size"], lang), human_limit=fmt_size(limit, lang)))
                else:
                    lines.append(t("mass.preview_within", limit=fmt_size(limit, lang)))
            if job["channel"] == "whatsapp":
                blocked.append(t("mass.preview_whatsapp_media"))
        text = content.get("text")
        if text:
            key = "mass.preview_caption" if media else "mass.preview_text"
            if client is not None and limits is not None:
                used, footer = client.message_bytes(text)
                lines.append(t(key, bytes=fmt_num(used, lang), limit=fmt_num(limits.message_bytes, lang)))
                if footer:
                    lines.append(t("mass.preview_footer", footer=fmt_num(footer, lang)))
                if used > limits.message_bytes:
                    blocked.append(t("mass.preview_text_over", bytes=fmt_num(used, lang),
                                     limit=fmt_num(limits.message_bytes, lang),
                                     over=fmt_num(used - limits.message_bytes, lang)))
            else:
                lines.append(t(key, bytes=fmt_num(len(text.encode("utf-8")), lang), limit="?"))
        channel_key = "mass.preview_channel_whatsapp" if job["channel"] == "whatsapp" else "mass.preview_channel_messenger"
        lines.append(t(channel_key))
        if credits is not None and numbers:
            for kind, needed in credit_needs(job).items():
                left = credits.for_kind(kind)
                key = "mass.preview_credit_ok" if left >= needed else "mass.preview_credit_short"
                lines.append(t(key, needed=needed, left=max(left, 0), kind=t(f"mass.credit_{kind}")))
        size = job["batch_size"]
        batches = -(-len(numbers) // size) if numbers else 0
        requests = batches * len(mr.parts_of(content))
        lines.append(t("mass.preview_batches", batches=batches, size=size, requests=requests,
                       minutes=max(1, round(len(numbers) * len(mr.parts_of(content)) / 60)) if numbers else 0))
        for reason in blocked:
            lines.append(reason)
        buttons: list[InlineKeyboardButton] = []
        if not blocked:
            buttons += [button(t("mass.btn_send"), f"mass:go:{job_id}"), button(t("mass.btn_schedule"), f"mass:sched:{job_id}")]
        else:
            lines.append(t("mass.preview_refused"))
            if client is not None and not checked:
                buttons.append(button(t("mass.btn_recheck"), f"mass:prev:{job_id}"))
        if job["invalid"]:
            buttons.append(button(t("mass.btn_invalid"), f"mass:inv:{job_id}"))
        buttons.append(button(t("mass.btn_cancel"), f"mass:drop:{job_id}"))
        self._update_job(job_id, lambda j: j.update(blocked=bool(blocked)))
        job["blocked"] = bool(blocked)
        return "\n".join(lines), InlineKeyboardMarkup(rows(buttons))

    async def send_preview(self, context: Context, job: dict[str, Any], user_id: int) -> None:
        text, markup = await self.render_preview(job, user_id)
        message = await context.bot.send_message(
            chat_id=job["chat_id"], text=text, reply_markup=markup, parse_mode="HTML",
            message_thread_id=job.get("thread_id"),
        )
        self._update_job(job["id"], lambda j: j.update(preview={"chat_id": message.chat_id, "message_id": message.message_id}))

    # --- Notifier: what the runner tells the admins

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
            current = mr.load(services.store, job_id)
            if current is None or current.get("status") == mr.DRAFT:
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
                        chat_id=where["chat_id"], message_id=where["message_id"], text=text,
                        reply_markup=markup, parse_mode="HTML", link_preview_options=NO_PREVIEW,
                    )
                    self._last_text[job_id] = shown
                    if current.get("status") in mr.FINISHED:
                        self._forget(job_id)
                    return
                except BadRequest as exc:
                    if _not_modified(exc):
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
            self._update_job(job_id, lambda j: j.update(progress={"chat_id": message.chat_id, "message_id": message.message_id}))

    def _forget(self, job_id: str) -> None:
        self._last_text.pop(job_id, None)
        self._last_edit.pop(job_id, None)

    def render_progress(self, job: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
        services = self.services
        lang = services.lang(None)
        t = lambda key, **v: services.t(key, None, **v)  # noqa: E731
        job_id = job["id"]
        status = job["status"]
        c = mr.count(job)
        lines = [t("mass.progress_title", job=job_id, status=status_label(services, None, job))]
        if status == mr.SCHEDULED:
            when = format_when(_utc(job.get("run_at")), tz=services.tz, lang=lang)
            lines.append(t("mass.progress_scheduled", when=when))
        done = c.processed
        lines.append(t("mass.progress_bar", bar=mr.progress_bar(done, c.total), percent=mr.percent(done, c.total)))
        lines.append(t("mass.progress_counts", sent=c.sent, not_delivered=c.not_delivered, left=c.left + c.in_flight, total=c.total))
        extras = []
        for name in ("invalid", "unknown", "opted_out", "skipped", "failed"):
            value = getattr(c, name)
            if value:
                extras.append(t(f"mass.count_{name}", count=value))
        if extras:
            lines.append(" · ".join(extras))
        lines.append(t("mass.progress_batches", done=c.batches_done, total=c.batches))
        if status in (mr.RUNNING, mr.CANCELLING):
            rate = mr.rate_per_minute(job)
            eta = mr.eta_seconds(job)
            if rate is not None and eta is not None:
                lines.append(t("mass.progress_rate", rate=fmt_num(round(rate, 1), lang), eta=fmt_duration(eta, lang)))
        if status == mr.PAUSED:
            lines.append(pause_text(services, None, job))
        if job.get("channel") == "whatsapp":
            lines.append(t("mass.progress_whatsapp"))
        buttons: list[InlineKeyboardButton] = []
        if status == mr.RUNNING:
            buttons = [button(t("mass.btn_pause"), f"mass:pause:{job_id}"), button(t("mass.btn_stop"), f"mass:cancel:{job_id}")]
        elif status == mr.PAUSED:
            unknown = next((i for i, u in enumerate(job.get("units", [])) if u["state"] == mr.UNKNOWN), None)
            if unknown is None:
                buttons.append(button(t("mass.btn_resume"), f"mass:resume:{job_id}"))
            else:  # the same choice as on the batch's card, in case that card could not be sent
                buttons += [button(t("mass.btn_resend"), f"mass:resend:{job_id}:{unknown}"),
                            button(t("mass.btn_skip"), f"mass:skip:{job_id}:{unknown}")]
            buttons.append(button(t("mass.btn_stop"), f"mass:cancel:{job_id}"))
        elif status == mr.SCHEDULED:
            buttons = [button(t("mass.btn_send_now"), f"mass:go:{job_id}"), button(t("mass.btn_stop"), f"mass:cancel:{job_id}")]
        elif status in mr.FINISHED and job.get("units"):
            buttons = [button(t("mass.btn_csv"), f"mass:csv:{job_id}")]
        return "\n".join(lines), InlineKeyboardMarkup(rows(buttons)) if buttons else None

    async def unknown_unit(self, job: dict[str, Any], index: int) -> None:
        services = self.services
        t = lambda key, **v: services.t(key, None, **v)  # noqa: E731
        unit = job["units"][index]
        job_id = job["id"]
        text = t(
            "mass.unknown_card",
            job=job_id,
            batch=unit["batch"] + 1,
            batches=mr.batch_count(job),
            part=t(f"mass.part_{unit['part']}"),
            count=len(unit.get("todo") or unit["numbers"]),
            reason=html.escape(unit.get("error") or ""),
        )
        markup = InlineKeyboardMarkup([
            [button(t("mass.btn_resend"), f"mass:resend:{job_id}:{index}"), button(t("mass.btn_skip"), f"mass:skip:{job_id}:{index}")],
            [button(t("mass.btn_check"), f"mass:check:{job_id}:{index}")],
        ])
        try:
            message = await services.send_admin(self.app.bot, text, topic="mass", markup=markup)  # type: ignore[union-attr]
        except TelegramError as exc:
            log.error("mass job %s: could not show the unknown batch %d: %s", job_id, index, exc)
            return

        mr.update_unit(services.store, job_id, index, card={"chat_id": message.chat_id, "message_id": message.message_id})

    async def paused(self, job: dict[str, Any], reason: str, detail: str) -> None:
        services = self.services
        t = lambda key, **v: services.t(key, None, **v)  # noqa: E731
        job_id = job["id"]
        bot = self.app.bot  # type: ignore[union-attr]
        if reason in (mr.NO_CREDIT, mr.LOW_CREDIT):
            c = mr.count(job)
            text = t(f"mass.alert_{reason}", job=job_id, left=c.left, detail=html.escape(detail))
            markup = InlineKeyboardMarkup([[button(t("mass.btn_resume"), f"mass:resume:{job_id}"),
                                            button(t("mass.btn_stop"), f"mass:cancel:{job_id}")]])
            await services.alerts.raise_(bot, f"mass:credit:{job_id}", text, markup)
            return
        index = next((i for i, u in enumerate(job["units"]) if u["state"] == mr.FAILED), None)
        text = t("mass.alert_error", job=job_id, detail=html.escape(detail))
        buttons = [button(t("mass.btn_retry"), f"mass:resume:{job_id}")]
        if index is not None:
            buttons.append(button(t("mass.btn_skip"), f"mass:skip:{job_id}:{index}"))
        buttons.append(button(t("mass.btn_stop"), f"mass:cancel:{job_id}"))
        try:
            await services.send_admin(bot, text, topic="mass", markup=InlineKeyboardMarkup(rows(buttons, 3)))
        except TelegramError as exc:
            log.error("mass job %s: could not tell the admins it paused: %s", job_id, exc)

    async def resumed(self, job: dict[str, Any]) -> None:
        await self.services.alerts.resolve(self.app.bot, f"mass:credit:{job['id']}")  # type: ignore[union-attr]

    async def finished(self, job: dict[str, Any]) -> None:
        services = self.services
        c = mr.count(job)
        key = "mass.finished_done" if job["status"] == mr.DONE else "mass.finished_cancelled"
        caption = services.t(key, None, job=job["id"], sent=c.sent, not_delivered=c.not_delivered, invalid=c.invalid,
                             unknown=c.unknown, opted_out=c.opted_out + len(job.get("opted_out", [])),
                             skipped=c.skipped + c.left + c.failed, total=c.total)
        await self.send_report(self.app.bot, job, caption)  # type: ignore[union-attr]

    async def send_report(self, bot, job: dict[str, Any], caption: str, chat_id: int | None = None,
                          thread_id: int | None = None) -> None:
        services = self.services
        document = InputFile(mr.report_csv(job), filename=f"mass-{job['id']}.csv")
        target = chat_id if chat_id is not None else services.config.admin_chat_id
        thread = thread_id if chat_id is not None else services.topic("mass")
        try:
            await bot.send_document(chat_id=target, document=document, caption=caption[:1024],
                                    parse_mode="HTML", message_thread_id=thread)
        except TelegramError as exc:
            log.error("mass job %s: could not send the report: %s", job["id"], exc)

    # --- buttons (stateless: they work after a restart)

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        user_id = query.from_user.id
        services = context.services
        parts = (query.data or "").split(":")
        action = parts[1] if len(parts) > 1 else ""
        handler = {
            "go": self._on_go, "sched": self._on_schedule, "drop": self._on_drop, "inv": self._on_invalid,
            "prev": self._on_recheck, "pause": self._on_pause, "resume": self._on_resume,
            "cancel": self._on_cancel, "resend": self._on_resolve, "skip": self._on_resolve,
            "check": self._on_check, "rmiss": self._on_resolve, "csv": self._on_csv, "pick": self._on_pick,
        }.get(action)
        if handler is None or len(parts) < 3 or self.runner is None:
            # a step of a /mass conversation that is over (restart, timeout, another admin)
            await query.answer(services.t("mass.flow_expired", user_id), show_alert=True)
            return
        job = mr.load(services.store, parts[2])
        if job is None:
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        await handler(update, context, job, parts)

    async def _edit_query_message(self, update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await update.callback_query.edit_message_text(text, reply_markup=markup, parse_mode="HTML")
        except BadRequest as exc:
            if not _not_modified(exc):
                log.warning("could not edit a mass card: %s", exc)

    async def _on_go(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if job["status"] == mr.DRAFT and job.get("blocked", True):
            await query.answer(services.t("mass.cannot_confirm", user_id), show_alert=True)
            return
        was_scheduled = job["status"] == mr.SCHEDULED
        ok, job = await self.runner.confirm(job["id"], user_id)  # type: ignore[union-attr]
        if not ok:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        if was_scheduled:
            services.scheduler.cancel(f"mass:{job['id']}")
        await query.answer(services.t("mass.started", user_id))
        if query.message is not None and (job.get("progress") or {}).get("message_id") != query.message.message_id:
            who = html.escape(query.from_user.full_name)
            await self._edit_query_message(update, services.t("mass.confirmed_card", user_id, job=job["id"], who=who))

    async def _on_schedule(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if job["status"] != mr.DRAFT or job.get("blocked", True):
            await query.answer(services.t("mass.cannot_confirm", user_id), show_alert=True)
            return
        await query.answer()
        message = query.message
        hint = services.t("time.hint", user_id, zone=services.config.timezone)
        await ask(
            context, message.chat_id, services.t("mass.ask_when", user_id, job=job["id"], hint=html.escape(hint)),
            kind="mass.when", user_id=user_id, data={"job_id": job["id"]},
            thread_id=message.message_thread_id if getattr(message, "is_topic_message", False) else None,
        )

    async def on_when_reply(self, update: Update, context: Context, doc: dict[str, Any]) -> None:
        services = context.services
        message = update.effective_message
        user_id = update.effective_user.id
        job_id = str(doc.get("data", {}).get("job_id", ""))
        job = mr.load(services.store, job_id)
        if job is None or job["status"] != mr.DRAFT:
            await message.reply_text(services.t("mass.job_unknown", user_id))
            return
        lang = services.lang(user_id)
        try:
            run_at = parse_when(message.text or "", now=services.clock(), tz=services.tz, lang=lang)
        except TimeParseError as exc:
            values = {k: html.escape(str(v)) for k, v in exc.values.items()}
            error = services.i18n.t(exc.reason_key, lang, **values)
            await ask(context, message.chat_id, services.t("mass.when_again", user_id, error=error),
                      kind="mass.when", user_id=user_id, data={"job_id": job_id}, reply_to=message.message_id)
            return
        if not await self.runner.schedule(job_id, run_at.timestamp(), user_id):  # type: ignore[union-attr]
            await message.reply_text(services.t("mass.already_started", user_id))
            return
        services.scheduler.schedule("mass.start", run_at, {"job_id": job_id}, key=f"mass:{job_id}")
        when = format_when(run_at, tz=services.tz, lang=lang)
        await message.reply_text(services.t("mass.scheduled", user_id, job=job_id, when=when, zone=services.config.timezone),
                                 parse_mode="HTML")
        job = mr.load(services.store, job_id) or job
        preview = job.get("preview")
        if preview:
            try:
                await context.bot.edit_message_reply_markup(chat_id=preview["chat_id"], message_id=preview["message_id"], reply_markup=None)
            except TelegramError:
                pass
        await self.progress(job, force=True)

    async def _on_drop(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if job["status"] != mr.DRAFT:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        await self.runner.cancel(job["id"], user_id)  # type: ignore[union-attr]
        await query.answer(services.t("mass.dropped", user_id))
        await self._edit_query_message(update, services.t("mass.dropped_card", user_id, job=job["id"]))

    async def _on_invalid(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        await query.answer()
        rows_ = [[raw, reason] for raw, reason in job.get("invalid", [])]
        data = csv_bytes(["input", "reason"], rows_)
        await context.bot.send_document(
            chat_id=query.message.chat_id, document=InputFile(data, filename=f"invalid-{job['id']}.csv"),
            caption=services.t("mass.invalid_caption", user_id, count=len(rows_)),
            message_thread_id=query.message.message_thread_id if query.message.is_topic_message else None,
        )

    async def _on_recheck(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, user_id = update.callback_query, update.callback_query.from_user.id
        await query.answer()
        if job["status"] != mr.DRAFT:
            return
        set_audience(context.services, job, {"label": job["audience"], "valid": job["numbers"] + job["opted_out"],
                                             "invalid": job["invalid"], "duplicates": job["duplicates"]})
        mr.save_job(context.services.store, job)
        text, markup = await self.render_preview(job, user_id)
        await self._edit_query_message(update, text, markup)

    async def _on_pause(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        after = await self.runner.pause(job["id"], user_id)  # type: ignore[union-attr]
        ok = after is not None and after["status"] == mr.PAUSED
        await query.answer(services.t("mass.paused_ok" if ok else "mass.not_running", user_id))

    async def _on_resume(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        ok, after = await self.runner.resume(job["id"], user_id)  # type: ignore[union-attr]
        if ok:
            await query.answer(services.t("mass.resumed_ok", user_id))
            if query.message is not None and (after.get("progress") or {}).get("message_id") != query.message.message_id:
                who = html.escape(query.from_user.full_name)
                await self._edit_query_message(update, services.t("mass.resumed_card", user_id, job=job["id"], who=who))
            return
        if after is not None and any(u["state"] == mr.UNKNOWN for u in after.get("units", [])):
            await query.answer(services.t("mass.decide_unknown_first", user_id), show_alert=True)
        else:
            await query.answer(services.t("mass.not_paused", user_id), show_alert=True)

    async def _on_cancel(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if job["status"] in mr.FINISHED:
            await query.answer(services.t("mass.already_finished", user_id), show_alert=True)
            return
        after = await self.runner.cancel(job["id"], user_id)  # type: ignore[union-attr]
        key = "mass.cancelling" if after and after["status"] == mr.CANCELLING else "mass.cancelled_ok"
        await query.answer(services.t(key, user_id))
        if query.message is not None and (after or {}).get("progress", {}).get("message_id") != query.message.message_id:
            who = html.escape(query.from_user.full_name)
            await self._edit_query_message(update, services.t("mass.cancelled_card", user_id, job=job["id"], who=who))

    async def _on_resolve(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        action = {"resend": "resend", "skip": "skip", "rmiss": "resend_missing"}[parts[1]]
        try:
            index = int(parts[3])
        except (IndexError, ValueError):
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        known: dict[str, str] = {}
        if action == "resend_missing":
            known = dict(job["units"][index].get("checked") or {}) if index < len(job.get("units", [])) else {}
        ok, after = await self.runner.resolve(job["id"], index, action, user_id, known)  # type: ignore[union-attr]
        if not ok:
            await query.answer(services.t("mass.already_decided", user_id), show_alert=True)
            if after is not None:
                await self._edit_query_message(update, (query.message.text_html if query.message else "") or "")
            return
        await query.answer(services.t(f"mass.decided_{action}", user_id))
        who = html.escape(query.from_user.full_name)
        unit = after["units"][index]
        await self._edit_query_message(update, services.t(
            f"mass.decided_{action}_card", user_id, job=job["id"], batch=unit["batch"] + 1, who=who,
            # "todo" may be an empty list (the report accounted for every number): 0 to send
            count=len(unit["todo"] if unit.get("todo") is not None else unit["numbers"])))

    async def _on_check(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        try:
            index = int(parts[3])
            unit = job["units"][index]
        except (IndexError, ValueError):
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        if unit["state"] != mr.UNKNOWN:
            await query.answer(services.t("mass.already_decided", user_id), show_alert=True)
            return
        if services.miogram is None:
            await query.answer(services.t("mass.not_configured", user_id), show_alert=True)
            return
        await query.answer(services.t("mass.checking", user_id))
        try:
            records = await services.miogram.report(999)
        except MioGramError as exc:
            await context.bot.send_message(query.message.chat_id, services.t("mass.mio_error", user_id, error=html.escape(str(exc))),
                                           parse_mode="HTML")
            return
        wanted = set(unit.get("todo") or unit["numbers"])
        funcs = unit_funcs(job, unit)
        found: dict[str, str] = {}
        for record in records:
            number = _record_number(record.phone, services.config.phone_region)
            if number not in wanted or number in found:
                continue
            if record.func and funcs and record.func not in funcs:
                continue
            if record.result is True:
                found[number] = Outcome.SENT.value
            elif record.result is False:
                found[number] = Outcome.NOT_DELIVERED.value

        mr.update_unit(services.store, job["id"], index, checked=found)
        missing = len(wanted) - len(found)
        t = lambda key, **v: services.t(key, user_id, **v)  # noqa: E731
        text = t("mass.check_result", job=job["id"], batch=unit["batch"] + 1, count=len(wanted),
                 sent=sum(1 for v in found.values() if v == Outcome.SENT.value),
                 not_delivered=sum(1 for v in found.values() if v == Outcome.NOT_DELIVERED.value), missing=missing)
        buttons = []
        if found and missing:
            buttons.append(button(t("mass.btn_resend_missing", count=missing), f"mass:rmiss:{job['id']}:{index}"))
        elif found and not missing:
            buttons.append(button(t("mass.btn_accept_report"), f"mass:rmiss:{job['id']}:{index}"))
        buttons += [button(t("mass.btn_resend"), f"mass:resend:{job['id']}:{index}"),
                    button(t("mass.btn_skip"), f"mass:skip:{job['id']}:{index}")]
        await self._edit_query_message(update, text, InlineKeyboardMarkup(rows(buttons, 1)))

    async def _on_csv(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if not job.get("units"):
            await query.answer(services.t("mass.no_report_yet", user_id), show_alert=True)
            return
        await query.answer()
        c = mr.count(job)
        caption = services.t("mass.csv_caption", user_id, job=job["id"], status=status_label(services, user_id, job),
                             sent=c.sent, total=c.total)
        message = query.message
        await self.send_report(context.bot, job, caption, chat_id=message.chat_id,
                               thread_id=message.message_thread_id if message.is_topic_message else None)

    async def _on_pick(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        """The Bridge: a saved list chosen for a draft made from a post."""
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if job["status"] != mr.DRAFT or len(parts) < 4:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        saved = services.store.table("lists").get(parts[3])
        if saved is None:
            await query.answer(services.t("mass.list_gone", user_id), show_alert=True)
            return
        await query.answer()
        set_audience(services, job, list_audience(services, user_id, saved))
        mr.save_job(services.store, job)
        text, markup = await self.render_preview(job, user_id)
        await self._edit_query_message(update, text, markup)
        self._update_job(job["id"], lambda j: j.update(preview={"chat_id": query.message.chat_id, "message_id": query.message.message_id}))

    # --- commands that answer directly

    async def on_report(self, update: Update, context: Context) -> None:
        services = context.services
        user_id = update.effective_user.id
        lang = services.lang(user_id)
        recent = sorted(
            (doc for _, doc in services.store.table(mr.TABLE).items() if doc.get("status") != mr.DRAFT),
            key=lambda d: d.get("created_at", 0), reverse=True,
        )[:8]
        jobs = [job for job in (mr.load(services.store, doc["id"]) for doc in recent) if job is not None]
        lines = [services.t("mass.report_title", user_id)]
        buttons = []
        if not jobs:
            lines.append(services.t("mass.report_no_jobs", user_id))
        for job in jobs:
            c = mr.count(job)
            when = format_when(_utc(job.get("created_at")), tz=services.tz, lang=lang)
            lines.append(services.t("mass.report_job", user_id, job=job["id"], status=status_label(services, user_id, job),
                                    sent=c.sent, total=c.total, when=when))
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
                lines.append(services.t("mass.report_mio_title", user_id, count=len(records), delivered=delivered, failed=failed))
                for record in records[:10]:
                    result = services.t("mass.word_yes" if record.result else "mass.word_no", user_id) if record.result is not None else "?"
                    lines.append(services.t("mass.report_mio_line", user_id, date=html.escape(record.date or ""),
                                            phone=html.escape(record.phone or ""), func=html.escape(record.func or ""),
                                            result=result))
        markup = InlineKeyboardMarkup(rows(buttons, 3)) if buttons else None
        await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML", reply_markup=markup,
                                                  link_preview_options=NO_PREVIEW)

    async def on_credits(self, update: Update, context: Context) -> None:
        services = context.services
        user_id = update.effective_user.id
        if services.miogram is None:
            await update.effective_message.reply_text(services.t("mass.not_configured", user_id))
            return
        try:
            credits = await services.miogram.credits()
        except MioGramError as exc:
            await update.effective_message.reply_text(services.t("mass.mio_error", user_id, error=html.escape(str(exc))), parse_mode="HTML")
            return
        lang = services.lang(user_id)
        lines = [services.t("mass.credits_title", user_id)]
        for kind in ("message", "photo", "video", "file", "other"):
            value = credits.for_kind(kind)
            key = "mass.credits_line" if value > 0 else "mass.credits_line_empty"
            lines.append(services.t(key, user_id, kind=services.t(f"mass.credit_{kind}", user_id), value=fmt_num(value, lang)))
        await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML")

    async def on_limits(self, update: Update, context: Context) -> None:
        services = context.services
        user_id = update.effective_user.id
        if services.miogram is None:
            await update.effective_message.reply_text(services.t("mass.not_configured", user_id))
            return
        try:
            limits = await services.miogram.limits(refresh=True)
        except MioGramError as exc:
            await update.effective_message.reply_text(services.t("mass.mio_error", user_id, error=html.escape(str(exc))), parse_mode="HTML")
            return
        lang = services.lang(user_id)
        yes, no = services.t("mass.word_yes", user_id), services.t("mass.word_no", user_id)
        text = services.t(
            "mass.limits", user_id,
            message=fmt_num(limits.message_bytes, lang),
            photo=fmt_size(limits.photo_bytes, lang), video=fmt_size(limits.video_bytes, lang),
            file=fmt_size(limits.file_bytes, lang),
            can_get=yes if limits.can_get else no, is_super=yes if limits.is_super else no,
        )
        footer = services.miogram.message_bytes("")[1]
        if footer:
            text += "\n" + services.t("mass.preview_footer", user_id, footer=fmt_num(footer, lang))
        await update.effective_message.reply_text(text, parse_mode="HTML")


# --- helpers shared with the flow and the Bridge


def set_audience(services: Services, job: dict[str, Any], audience: dict[str, Any]) -> None:
    """Put an audience on a draft: opted-out numbers are set aside (and counted)."""
    optout = services.store.table("optout")
    valid = list(dict.fromkeys(audience.get("valid", [])))
    job["audience"] = str(audience.get("label", ""))
    job["numbers"] = [n for n in valid if n not in optout]
    job["opted_out"] = [n for n in valid if n in optout]
    job["invalid"] = [list(item) for item in audience.get("invalid", [])]
    job["duplicates"] = int(audience.get("duplicates", 0))


def list_audience(services: Services, user_id: int | None, saved: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": services.t("mass.audience_list", user_id, name=saved.get("name", "")),
        "valid": list(saved.get("numbers", [])),
        "invalid": [],
        "duplicates": 0,
    }


def credit_needs(job: dict[str, Any]) -> dict[str, int]:
    """Credit per kind the job needs (one per number per request)."""
    count = len(job["numbers"])
    media = job["content"].get("media")
    needs: dict[str, int] = {}
    if media:
        kind = MediaKind(media["kind"]).credit_kind
        needs[kind] = needs.get(kind, 0) + count
    if job["content"].get("text"):
        needs["message"] = needs.get("message", 0) + count
    return needs


def unit_funcs(job: dict[str, Any], unit: dict[str, Any]) -> set[str]:
    """The MioGram functions a unit is sent with (to match report records)."""
    if unit["part"] == "text":
        return {"SendMessageWhatsAppMass"} if job.get("channel") == "whatsapp" else {"SendMessageMass"}
    kind = MediaKind(job["content"]["media"]["kind"])
    return {{"photo": "SendPhotoMass", "video": "SendVideoMass"}.get(kind.limit_kind, "SendFileMass")}


def _record_number(phone: str | None, region: str) -> str | None:
    text = (phone or "").strip()
    if not text:
        return None
    for candidate in ([text] if text.startswith("+") else [f"+{text}", text]):
        try:
            return normalize(candidate, region)
        except InvalidPhone:
            continue
    return None


def reason_text(services: Services, user_id: int | None, reason: str) -> str:
    """A phone-parse reason in the user's language (the parser speaks English)."""
    key = "mass.reason_" + reason.replace(" ", "_")
    if reason.startswith("invalid for region"):
        return services.t("mass.reason_invalid_for_region", user_id, region=reason.rsplit(" ", 1)[-1])
    return services.t(key, user_id) if services.i18n.has(key) else reason


def status_label(services: Services, user_id: int | None, job: dict[str, Any]) -> str:
    return services.t(f"mass.status_{job.get('status', 'draft')}", user_id)


def pause_text(services: Services, user_id: int | None, job: dict[str, Any]) -> str:
    reason = job.get("pause_reason") or mr.BY_ADMIN
    return services.t(f"mass.paused_{reason}", user_id, detail=html.escape(job.get("pause_detail") or ""))


def _utc(timestamp: Any):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc)


def media_info(path: Path, extension: str, **extra: Any) -> dict[str, Any]:
    """The job's record of a spooled file (kind decided by its extension)."""
    media = Media(path, extension)
    return {"spool": str(path), "ext": media.extension, "size": media.size, "kind": media.kind.value, **extra}


# --- the Bridge: an approved post → a mass send to a saved list


async def start_from_post(
    context: Context,
    *,
    admin_id: int,
    chat_id: int,
    caption: str | None,
    media: bytes | str | None = None,
    media_ext: str | None = None,
    list_id: str | None = None,
    list_name: str | None = None,
    thread_id: int | None = None,
) -> str | None:
    """Start a mass send of a post's caption and first media through the usual preview.

    ``media`` is the file's bytes (then ``media_ext`` is required) or an http(s) URL (the
    extension comes from ``media_ext`` or the URL). With ``list_id``/``list_name`` the preview of
    that saved list is posted in ``chat_id``; without, a list picker. Returns the draft's job id,
    or None when MioGram is not configured or nothing can be sent (the admin is told why).
    """
    mass = mass_of(context)
    services = context.services
    if services.miogram is None:
        await context.bot.send_message(chat_id, services.t("mass.not_configured", admin_id), message_thread_id=thread_id)
        return None
    text = (caption or "").strip() or None
    job_id = mr.new_id()
    content: dict[str, Any] = {"text": text, "media": None}
    if media is not None:
        try:
            content["media"] = await _bridge_media(mass, job_id, media, media_ext)
        except (mass_files.TooBig, ValueError, OSError, Exception) as exc:  # noqa: BLE001 - told to the admin
            log.warning("bridge: the post's media cannot be used: %s", exc)
            await context.bot.send_message(chat_id, services.t("mass.bridge_media_failed", admin_id, error=html.escape(str(exc)[:200])),
                                           parse_mode="HTML", message_thread_id=thread_id)
            if text is None:
                return None
            content["media"] = None
    if text is None and content["media"] is None:
        await context.bot.send_message(chat_id, services.t("mass.bridge_nothing", admin_id), message_thread_id=thread_id)
        return None
    saved = None
    lists = services.store.table("lists")
    if list_id is not None:
        saved = lists.get(list_id)
    elif list_name is not None:
        saved = next((doc for _, doc in lists.items() if doc.get("name", "").lower() == list_name.strip().lower()), None)
    audience = list_audience(services, admin_id, saved) if saved else {"label": "", "valid": []}
    job = mass.build_draft(job_id=job_id, user_id=admin_id, chat_id=chat_id, thread_id=thread_id,
                           audience=audience, content=content, channel="messenger", source="post")
    if saved is not None:
        await mass.send_preview(context, job, admin_id)
        return job_id
    choices = sorted(lists.items(), key=lambda kv: kv[1].get("name", "").lower())[:MAX_LIST_BUTTONS]
    if not choices:
        mass._update_job(job_id, lambda j: j.update(status=mr.CANCELLED, report_sent=True))
        mr.drop_spool(job)
        await context.bot.send_message(chat_id, services.t("mass.bridge_no_lists", admin_id), message_thread_id=thread_id)
        return None
    buttons = [button(services.t("mass.btn_list", admin_id, name=doc.get("name", "")[:30], count=len(doc.get("numbers", []))),
                      f"mass:pick:{job_id}:{key}") for key, doc in choices]
    buttons.append(button(services.t("mass.btn_cancel", admin_id), f"mass:drop:{job_id}"))
    message = await context.bot.send_message(chat_id, services.t("mass.bridge_pick", admin_id), parse_mode="HTML",
                                             reply_markup=InlineKeyboardMarkup(rows(buttons, 1)), message_thread_id=thread_id)
    mass._update_job(job_id, lambda j: j.update(preview={"chat_id": message.chat_id, "message_id": message.message_id}))
    return job_id


async def _bridge_media(mass: Mass, job_id: str, media: bytes | str, media_ext: str | None) -> dict[str, Any]:
    directory = mr.spool_dir(mass.services)
    if isinstance(media, (bytes, bytearray)):
        if not media_ext:
            raise ValueError("media_ext is needed with bytes")
        ext = media_ext.strip(".").lower()
        path = directory / f"{job_id}.{ext}"
        path.write_bytes(bytes(media))
        return media_info(path, ext, name=f"post.{ext}")
    url = str(media)
    if not url.startswith(("http://", "https://")):
        raise ValueError("the media is neither bytes nor an http(s) URL")
    ext = (media_ext or Path(urlsplit(url).path).suffix or ".jpg").strip(".").lower()
    path = directory / f"{job_id}.{ext}"
    await mass._download_url(url, path)
    return media_info(path, ext, url=url, name=Path(urlsplit(url).path).name or f"post.{ext}")


def bridge_button(services: Services, user_id: int | None, callback_data: str) -> InlineKeyboardButton:
    """The "Also send to a list…" button, labelled from this catalogue, for the posts card."""
    return button(services.t("mass.bridge_button", user_id), callback_data)

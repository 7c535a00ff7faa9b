"""Mass sends through MioGram, as seen from Telegram.

- ``/mass`` (the conversation in :mod:`handlers.mass.flow`) builds a *draft* job: audience,
  content, channel. The draft's preview card is stateless (``mass:go|sched|drop|inv|prev:<job>``)
  so it survives restarts and can be produced by the Bridge as well (:func:`start_from_post`).
- A confirmed job is driven by :class:`bot.massjobs.runner.MassRunner` one MioGram request at a time
  through the job queue (a ``run_once`` chain), never blocking the bot. One progress message in
  the admin chat (topic ``mass``) is edited in place; Pause/Resume/Cancel are buttons on it.
- An ``unknown`` unit (999, lost connection, crash) gets a card with Resend / Skip / Check.
- ``/report``, ``/credits``, ``/limits`` answer directly; ``/lists`` and ``/optout`` live in
  :mod:`handlers.mass.lists`.

Layout: this module holds the feature, the runtime (:class:`Mass`: lifecycle, the job-queue
chain, media) and the button dispatch; :class:`Mass` mixes in the preview card
(:mod:`handlers.mass.preview`), the job controls (:mod:`handlers.mass.controls`), the progress
message (:mod:`handlers.mass.progress`), unknown/failed batches (:mod:`handlers.mass.unknown`) and
reports (:mod:`handlers.mass.report`); together they implement the runner's
:class:`~bot.massjobs.runner.Notifier`. The Bridge is :mod:`handlers.mass.bridge`, shared helpers
:mod:`handlers.mass.common`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.clients.miogram.client import Media
from bot.config import Config
from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from bot.massjobs.runner import MassRunner, RunnerDeps
from bot.massjobs.spool import spool_dir
from bot.massjobs.storage import JobBook
from bot.runtime.context import Context
from bot.runtime.feature import Command, Feature, ReplyRoute
from bot.runtime.roles import ADMINS
from bot.runtime.services import Services
from handlers.mass import files as mass_files
from handlers.mass import flow as mass_flow
from handlers.mass import lists as mass_lists
from handlers.mass.bridge import bridge_button, start_from_post
from handlers.mass.common import (  # noqa: F401 - re-exported: the helpers' former home
    MAX_LIST_BUTTONS,
    button,
    fmt_num,
    list_audience,
    media_info,
    not_modified,
    reason_text,
    rows,
    set_audience,
)
from handlers.mass.controls import ControlsMixin
from handlers.mass.preview import PreviewMixin
from handlers.mass.progress import ProgressMixin
from handlers.mass.report import ReportMixin
from handlers.mass.unknown import UnknownMixin

__all__ = ["Mass", "MassFeature", "bridge_button", "button", "feature", "mass_of", "start_from_post"]

log = logging.getLogger(__name__)

#: seconds between two edits of a progress message (state changes are shown at once)
PROGRESS_INTERVAL = 4.0
#: a media file from a URL (the Bridge) larger than this is refused
URL_MEDIA_MAX = 50 * 1024 * 1024


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


# --- the runtime


class Mass(PreviewMixin, ControlsMixin, ProgressMixin, UnknownMixin, ReportMixin):
    """Everything the mass feature keeps while the bot runs (built by ``feature(config)``, bound
    to the application at start-up)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: Application | None = None
        self.runner: MassRunner | None = None
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
        deps = RunnerDeps(
            store=services.store,
            client=services.miogram,
            locks=services.locks,
            clock=lambda: services.clock().timestamp(),
            cancel_scheduled=services.scheduler.cancel,
            retention_days=float(getattr(services.config, "retention_days", 30)),
        )
        self.runner = MassRunner(deps, self, self.load_media, self._kick)
        resumed = await self.runner.recover()
        if resumed:
            log.info("resuming %d mass job(s) after a restart: %s", len(resumed), ", ".join(resumed))

    @property
    def jobs(self) -> JobBook:
        """The runner's jobs: every read and write of a job goes through them."""
        assert self.runner is not None
        return self.runner.book

    @property
    def services(self) -> Services:
        assert self.app is not None
        return self.app.bot_data.services

    def _kick(self, job_id: str, delay: float) -> None:
        assert self.app is not None and self.app.job_queue is not None
        self.app.job_queue.run_once(self._step_job, when=delay, data=job_id, name=f"mass:{job_id}")

    async def _step_job(self, context: Context) -> None:
        """A job's chain of steps, one after the other in this one job-queue run (no scheduling
        hop between two batches); it ends when the job stops or the bot shuts down (the job then
        stays "running" in the state and resumes at the next start)."""
        assert self.runner is not None
        job_id = context.job.data
        try:
            while await self.runner.step(job_id):
                if not context.application.running:
                    await self.runner.park(job_id)
                    return
        except Exception:
            await self.runner.park(job_id)
            raise

    async def on_scheduled_start(self, context: Context, data: dict[str, Any]) -> None:
        assert self.runner is not None
        await self.runner.start_scheduled(str(data.get("job_id", "")))

    def status_lines(self, services: Services, user_id: int | None) -> list[str]:
        jobs = self.jobs.documents() if self.runner is not None else []
        running = sum(1 for j in jobs if j.get("status") in (md.RUNNING, md.CANCELLING))
        paused = sum(1 for j in jobs if j.get("status") == md.PAUSED)
        scheduled = sum(1 for j in jobs if j.get("status") == md.SCHEDULED)
        if not (running or paused or scheduled):
            return []
        return [services.t("mass.status_line", user_id, running=running, paused=paused, scheduled=scheduled)]

    # --- media

    async def load_media(self, job: JobDoc) -> Media:
        """The job's file: from the spool, else downloaded again from Telegram or its URL."""
        media = job["content"]["media"]
        path = Path(media["spool"]) if media.get("spool") else None
        if path is None or not path.exists():
            path = spool_dir(self.services.store.path) / f"{job['id']}.{media['ext']}"
            if media.get("file_id"):
                assert self.app is not None
                file = await self.app.bot.get_file(media["file_id"])
                await file.download_to_drive(custom_path=path)
            elif media.get("url"):
                await self.download_url(media["url"], path)
            else:
                raise FileNotFoundError("the job's file is gone")
            media["spool"] = str(path)  # the job's own document: written at once, no await between
            self.jobs.save(job)
        return Media(path, media["ext"], kind=media.get("kind"))

    async def download_url(self, url: str, path: Path) -> int:
        """Download ``url`` to ``path`` (at most ``URL_MEDIA_MAX`` bytes); returns the size."""
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

    # --- buttons (stateless: they work after a restart)

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        user_id = query.from_user.id
        services = context.services
        parts = (query.data or "").split(":")
        action = parts[1] if len(parts) > 1 else ""
        handler = {
            "go": self._on_go,
            "sched": self._on_schedule,
            "drop": self._on_drop,
            "inv": self._on_invalid,
            "prev": self._on_recheck,
            "pause": self._on_pause,
            "resume": self._on_resume,
            "cancel": self._on_cancel,
            "resend": self._on_resolve,
            "skip": self._on_resolve,
            "check": self._on_check,
            "rmiss": self._on_resolve,
            "csv": self._on_csv,
            "pick": self._on_pick,
        }.get(action)
        if handler is None or len(parts) < 3 or self.runner is None:
            # a step of a /mass conversation that is over (restart, timeout, another admin)
            await query.answer(services.t("mass.flow_expired", user_id), show_alert=True)
            return
        job = self.jobs.get(parts[2])
        if job is None:
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        await handler(update, context, job, parts)

    async def _edit_query_message(self, update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await update.callback_query.edit_message_text(text, reply_markup=markup, parse_mode="HTML")
        except BadRequest as exc:
            if not not_modified(exc):
                log.warning("could not edit a mass card: %s", exc)

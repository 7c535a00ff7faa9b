"""Mass sends through MioGram, as seen from Telegram.

- ``/mass`` (the conversation in :mod:`handlers.mass.flow`) builds a *draft* job: audience,
  content, channel. The draft's preview card is stateless (``mass:go|sched|drop|inv|prev:<job>``)
  so it survives restarts and can be produced by the Bridge as well
  (:func:`handlers.mass.bridge.start_from_post`).
- A confirmed job is driven by :class:`bot.massjobs.runner.MassRunner` one MioGram request at a
  time through the job queue, never blocking the bot. One progress message in the admin chat
  (topic ``mass``) is edited in place; Pause/Resume/Cancel are buttons on it.
- An ``unknown`` unit (999, lost connection, crash) gets a card with Resend / Skip / Check.
- ``/report``, ``/credits``, ``/limits`` answer directly; ``/lists`` and ``/optout`` live in
  :mod:`handlers.mass.lists`.

Layout: :class:`Mass` is the feature's runtime. It owns its parts and delegates to them: the
drafts and their preview (:mod:`handlers.mass.drafts`, checked by the pure
:mod:`handlers.mass.check` and drawn by the pure :mod:`handlers.mass.preview`), the job controls
(:mod:`handlers.mass.controls`), the progress painter (:mod:`handlers.mass.painter`, drawing
:mod:`handlers.mass.progress`), the job files (:mod:`handlers.mass.media`), unknown and failed
batches (:mod:`handlers.mass.unknown`), reports (:mod:`handlers.mass.report`), the Bridge
(:mod:`handlers.mass.bridge`) and the lanes' checks and alerts (:mod:`handlers.mass.lanes`).
What the parts share is a :class:`~handlers.mass.runtime.MassRuntime`; :class:`Mass` is the
runner's notifier and hands each event to the part it concerns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot.config import Config
from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from bot.massjobs.ports import RunnerDeps
from bot.massjobs.quiet import QuietHours
from bot.massjobs.runner import MassRunner
from bot.massjobs.storage import JobBook
from bot.runtime.context import AnyApplication, Context
from bot.runtime.feature import Command, Feature, ReplyRoute
from bot.runtime.roles import ADMINS
from bot.runtime.services import Services
from bot.runtime.tg.buttons import ButtonHandler, Buttons
from bot.runtime.tg.callback import ButtonData
from bot.runtime.tg.quiet import answer_quietly
from bot.runtime.update_parts import query_of
from handlers.mass import buttons as kinds
from handlers.mass import flow as mass_flow
from handlers.mass import lanes
from handlers.mass import lists as mass_lists
from handlers.mass.bridge import Bridge
from handlers.mass.controls import Controls
from handlers.mass.drafts import Drafts
from handlers.mass.media import JobMedia
from handlers.mass.painter import ProgressPainter
from handlers.mass.report import Reports
from handlers.mass.runtime import MassRuntime
from handlers.mass.unknown import UnknownBatches

__all__ = ["Mass", "MassFeature", "feature", "mass_of"]

log = logging.getLogger(__name__)

#: ``await handler(update, context, job, data)``: a job button's handler, once its job is found
#: (``data`` is the decoded button of the kind it is routed for, see :meth:`Mass.job_buttons`)
JobButtonHandler = Callable[[Update, Context, JobDoc, Any], Awaitable[None]]


@dataclass(frozen=True)
class StepRun:
    """What a job-queue run of a job's steps is given: the job, and the lane it sends through."""

    job_id: str
    lane: str

    @staticmethod
    def of(context: Context) -> StepRun:
        """The job and lane of the job-queue run ``context`` is for."""
        data = context.job.data if context.job is not None else None
        if not isinstance(data, StepRun):
            raise LookupError(f"a mass step run without its job and lane: {data!r}")
        return data


@dataclass
class MassFeature(Feature):
    """The mass feature, carrying its runtime (``mass``) and the Bridge, which
    :func:`handlers.mass.bridge.start_from_post` finds."""

    mass: Mass | None = None
    bridge: Bridge | None = None


def feature(config: Config) -> Feature:
    mass = Mass(config)
    return MassFeature(
        name="mass",
        handlers=[
            mass_flow.conversation(mass.drafts),
            CommandHandler("report", mass.reports.on_report),
            CommandHandler("credits", mass.reports.on_credits),
            CommandHandler("limits", mass.reports.on_limits),
            *mass_lists.handlers(),
        ],
        commands=[
            Command("mass", ADMINS, "mass.cmd_mass"),
            Command("lists", ADMINS, "mass.cmd_lists"),
            Command("optout", ADMINS, "mass.cmd_optout"),
            Command("report", ADMINS, "mass.cmd_report"),
            Command("credits", ADMINS, "mass.cmd_credits"),
            Command("limits", ADMINS, "mass.cmd_limits"),
        ],
        buttons=[mass.job_buttons(), *mass_lists.buttons(flow_expired)],
        replies={
            "mass.when": ReplyRoute(ADMINS, mass.on_when_reply),
            **mass_lists.replies(),
        },
        scheduled={"mass.start": mass.on_scheduled_start, "mass.wake": mass.on_wake},
        on_start=[mass.on_start],
        status_lines=[mass.status_lines],
        mass=mass,
        bridge=mass.bridge,
    )


def mass_of(context: Context) -> Mass:
    for item in context.bot_data.features:
        if isinstance(item, MassFeature) and item.mass is not None:
            return item.mass
    raise LookupError("the mass feature is not installed")


# --- the runtime


class Mass:
    """Everything the mass feature keeps while the bot runs (built by ``feature(config)``, bound
    to the application at start-up); the runner's notifier."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.runtime = MassRuntime(config)
        self.painter = ProgressPainter(self.runtime)
        self.drafts = Drafts(self.runtime)
        self.controls = Controls(self.runtime, self.painter)
        self.media = JobMedia(self.runtime)
        self.bridge = Bridge(self.runtime, self.drafts, self.media)
        self.unknown = UnknownBatches(self.runtime, self.media)
        self.reports = Reports(self.runtime)

    @property
    def jobs(self) -> JobBook:
        return self.runtime.jobs

    @property
    def services(self) -> Services:
        return self.runtime.services

    # --- the runner's notifier: each event goes to the part it concerns

    async def progress(self, job: JobDoc, *, force: bool = False) -> None:
        await self.painter.progress(job, force=force)

    async def unknown_unit(self, job: JobDoc, index: int) -> None:
        await self.unknown.unknown_unit(job, index)

    async def paused(self, job: JobDoc, reason: str, detail: str) -> None:
        await self.unknown.paused(job, reason, detail)

    async def resumed(self, job: JobDoc) -> None:
        await self.unknown.resumed(job)

    async def finished(self, job: JobDoc) -> None:
        await self.reports.finished(job)

    async def lane_refused(self, job: JobDoc, robot: str, detail: str) -> None:
        await lanes.lane_refused(self.services, self.runtime.bot, job, robot, detail)

    # --- lifecycle and the job-queue chain

    async def on_start(self, app: AnyApplication) -> None:
        services: Services = app.bot_data.services
        config = services.config
        deps = RunnerDeps(
            store=services.store,
            client=services.miogram.mass if services.miogram is not None else None,
            locks=services.locks,
            clock=lambda: services.clock().timestamp(),
            cancel_scheduled=services.scheduler.cancel,
            retention_days=float(config.retention_days),
            quiet=QuietHours.parse(config.mass_quiet_hours, services.tz) if config.mass_quiet_hours else None,
            wake=self._wake_at,
            robots=await lanes.checked_robots(services, app.bot),
        )
        self.runtime.bind(app, MassRunner(deps, self, self.media.load, self._kick))
        resumed = await self.runtime.runner.recover()
        if resumed:
            log.info("resuming %d mass job(s) after a restart: %s", len(resumed), ", ".join(resumed))

    def _kick(self, job_id: str, lane: str, delay: float) -> None:
        app = self.runtime.app
        assert app is not None and app.job_queue is not None
        name = f"mass:{job_id}:{lane}"
        app.job_queue.run_once(self._step_job, when=delay, data=StepRun(job_id, lane), name=name)

    def _wake_at(self, job_id: str, timestamp: float) -> None:
        """A send paused for quiet hours is woken at their end (kept across restarts)."""
        when = datetime.fromtimestamp(timestamp, tz=UTC)
        self.services.scheduler.schedule("mass.wake", when, {"job_id": job_id}, key=f"mass-wake:{job_id}")

    async def on_wake(self, context: Context, data: dict[str, Any]) -> None:
        await self.runtime.runner.wake(str(data.get("job_id", "")))

    async def _step_job(self, context: Context) -> None:
        """A job's chain of steps, one after the other in this one job-queue run (no scheduling
        hop between two batches); it ends when the job stops or the bot shuts down (the job then
        stays "running" in the state and resumes at the next start)."""
        runner, step = self.runtime.runner, StepRun.of(context)
        job_id, lane = step.job_id, step.lane
        try:
            while await runner.step(job_id, lane):
                if not context.application.running:
                    await runner.park(job_id, lane)
                    return
        except Exception:
            await runner.park(job_id, lane)
            raise

    async def on_scheduled_start(self, context: Context, data: dict[str, Any]) -> None:
        await self.runtime.runner.start_scheduled(str(data.get("job_id", "")))

    async def on_when_reply(self, update: Update, context: Context, doc: dict[str, Any]) -> None:
        await self.controls.on_when_reply(update, context, doc)

    def status_lines(self, services: Services, user_id: int | None) -> list[str]:
        """``/status``: sends under way, and the lanes and quiet hours when they are set."""
        jobs = self.jobs.documents() if self.runtime.bound else []
        running = sum(1 for j in jobs if j["status"] in (md.RUNNING, md.CANCELLING))
        paused = sum(1 for j in jobs if j["status"] == md.PAUSED)
        scheduled = sum(1 for j in jobs if j["status"] == md.SCHEDULED)
        lines = []
        if running or paused or scheduled:
            t = services.t
            lines.append(t("mass.status_line", user_id, running=running, paused=paused, scheduled=scheduled))
        return lines + self._setting_lines(services, user_id)

    def _setting_lines(self, services: Services, user_id: int | None) -> list[str]:
        if not self.runtime.bound:
            return []
        runner, lines = self.runtime.runner, []
        if len(runner.lanes.robots) > 1:
            live = ", ".join(lanes.robot_name(services, r, user_id) for r in runner.lanes.live)
            out = ", ".join(lanes.robot_name(services, r, user_id) for r in runner.lanes.refused)
            key = "mass.status_lanes_out" if out else "mass.status_lanes"
            lines.append(services.t(key, user_id, live=live, out=out))
        if runner.deps.quiet is not None:
            window, zone = runner.deps.quiet.label(), services.config.timezone
            lines.append(services.t("mass.status_quiet", user_id, window=window, zone=zone))
        return lines

    # --- buttons (stateless: they work after a restart)

    def job_buttons(self) -> Buttons:
        """The buttons of previews, progress messages and unknown-batch cards (stateless: each
        carries its job id), and the /mass steps outside an open conversation (expired)."""
        routes: dict[type[ButtonData], JobButtonHandler] = {
            kinds.Go: self.controls.on_go,
            kinds.Schedule: self.controls.on_schedule,
            kinds.Drop: self.controls.on_drop,
            kinds.InvalidList: self.drafts.on_invalid,
            kinds.Recheck: self.drafts.on_recheck,
            kinds.Pause: self.controls.on_pause,
            kinds.Resume: self.controls.on_resume,
            kinds.Cancel: self.controls.on_cancel,
            kinds.GoAnyway: self.controls.on_go_anyway,
            kinds.Anyway: self.controls.on_anyway,
            kinds.Resend: self.unknown.on_resolve,
            kinds.Skip: self.unknown.on_resolve,
            kinds.Check: self.unknown.on_check,
            kinds.ResendMissing: self.unknown.on_resolve,
            kinds.ResendNotDelivered: self.unknown.on_resolve,
            kinds.Csv: self.reports.on_csv,
            kinds.PickList: self.drafts.on_pick,
        }
        handlers: dict[type[ButtonData], ButtonHandler] = {kind: self._with_job(h) for kind, h in routes.items()}
        handlers.update(dict.fromkeys(kinds.FLOW_STEPS, flow_expired))
        return Buttons(kinds.MASS, ADMINS, handlers, stale=flow_expired)

    def _with_job(self, handler: JobButtonHandler) -> ButtonHandler:
        """``handler(update, context, job, data)`` once the button's job is found."""

        async def run(update: Update, context: Context, data: Any) -> None:
            if not self.runtime.bound:
                await flow_expired(update, context)
                return
            job = self.jobs.get(data.job)
            if job is None:
                query = query_of(update)
                await answer_quietly(query, context.services.t("mass.job_unknown", query.from_user.id), alert=True)
                return
            await handler(update, context, job, data)

        return run


async def flow_expired(update: Update, context: Context, data: ButtonData | None = None) -> None:
    """A step of a /mass conversation that is over (restart, timeout, another admin), or a
    button that does not decode."""
    query = query_of(update)
    await answer_quietly(query, context.services.t("mass.flow_expired", query.from_user.id), alert=True)

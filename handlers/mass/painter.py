"""The job's progress message in the admin chat: drawn by one background task per job, edited in
place (at most every ``interval`` seconds, state changes at once). A slow or rate-limited
Telegram never holds up the sending."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from functools import partial
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from bot.runtime.tg.quiet import is_benign
from handlers.mass.common import speech
from handlers.mass.progress import render_progress
from handlers.mass.runtime import MassRuntime

log = logging.getLogger("handlers.mass")

#: seconds between two edits of a progress message (state changes are shown at once)
PROGRESS_INTERVAL = 4.0


class ProgressPainter:
    """Keeps each job's progress message up to date; owns what it last drew and when."""

    def __init__(self, runtime: MassRuntime, interval: float = PROGRESS_INTERVAL) -> None:
        self.runtime = runtime
        self.interval = interval
        self._last_edit: dict[str, float] = {}
        self._last_text: dict[str, str] = {}  # what the message shows (no useless edits)
        self._dirty: set[str] = set()  # jobs whose message is behind
        self._painters: set[str] = set()  # jobs with a drawing task
        self._tasks: set[asyncio.Task[None]] = set()

    async def progress(self, job: JobDoc, *, force: bool = False) -> None:
        """Ask for the job's progress message to show its current state. Returns at once: one
        background task per job draws the latest state (requests meanwhile fold into one edit)."""
        job_id = job["id"]
        if not force and time.monotonic() - self._last_edit.get(job_id, 0.0) < self.interval:
            return
        self._dirty.add(job_id)
        if job_id not in self._painters:
            self._painters.add(job_id)
            self._start(self._paint_loop(job_id), job_id)

    def _start(self, paint: Coroutine[Any, Any, None], job_id: str) -> None:
        app = self.runtime.app
        if app is not None and app.running:
            app.create_task(paint, name=f"mass-progress:{job_id}")
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
        services = self.runtime.services
        async with services.locks(f"mass-progress:{job_id}"):
            job = self.runtime.jobs.get(job_id)
            if job is None or job["status"] == md.DRAFT:
                return
            text, markup = render_progress(job, speech(services, None), self.runtime.runner.lanes)
            shown = f"{text}\n{markup.to_json() if markup else ''}"
            where = job.get("progress")
            if where and self._last_text.get(job_id) == shown:
                return  # an edit that changes nothing still counts against the group's rate
            self._last_edit[job_id] = time.monotonic()
            if where and not await self._edit(job, text, markup, shown):
                return
            await self._post(job_id, text, markup, shown)

    async def _edit(self, job: JobDoc, text: str, markup: InlineKeyboardMarkup | None, shown: str) -> bool:
        """Edit the message in place. True when a new message has to be posted instead."""
        job_id, where = job["id"], job["progress"]
        try:
            await self.runtime.bot.edit_message_text(
                chat_id=where["chat_id"],
                message_id=where["message_id"],
                text=text,
                reply_markup=markup,
            )
        except BadRequest as exc:
            if is_benign(exc):
                self._last_text[job_id] = shown
                return False
            log.warning("mass job %s: progress message not editable (%s); sending a new one", job_id, exc)
            return True
        except TelegramError as exc:
            log.warning("mass job %s: could not edit the progress message: %s", job_id, exc)
            return False
        self._last_text[job_id] = shown
        if job["status"] in md.FINISHED:
            self.forget(job_id)
        return False

    async def _post(self, job_id: str, text: str, markup: InlineKeyboardMarkup | None, shown: str) -> None:
        services = self.runtime.services
        try:
            message = await services.send_admin(self.runtime.bot, text, topic="mass", markup=markup)
        except TelegramError as exc:
            log.warning("mass job %s: could not post the progress message: %s", job_id, exc)
            return
        self._last_text[job_id] = shown
        where = {"chat_id": message.chat_id, "message_id": message.message_id}
        await services.store.durably(partial(self.runtime.jobs.update, job_id, progress=where))

    def forget(self, job_id: str) -> None:
        """Drop what was drawn for a finished job."""
        self._last_text.pop(job_id, None)
        self._last_edit.pop(job_id, None)

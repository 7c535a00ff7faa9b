"""The text and buttons of a job's progress message. Pure: drawn from the job alone (the
:class:`~handlers.mass.painter.ProgressPainter` decides when to draw and where it goes)."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.massjobs import counts
from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from bot.massjobs.lanes import Lanes
from bot.runtime.tg.buttons import button
from handlers.mass import buttons as kinds
from handlers.mass.common import Speech, fmt_duration, fmt_num, rows


def pause_line(job: JobDoc, say: Speech) -> str:
    """Why the job is paused, in words (quiet hours: when it goes on by itself)."""
    reason = job.get("pause_reason") or md.BY_ADMIN
    when = say.when(job.get("resume_at", 0.0)) if reason == md.QUIET else ""
    return say.t(f"mass.paused_{reason}", detail=html.escape(job.get("pause_detail") or ""), when=when)


def lanes_line(job: JobDoc, say: Speech, lanes: Lanes) -> str:
    """Each sending agent: the batch it is sending, idle, or refused by MioGram."""
    busy = {u.get("lane", ""): u["batch"] for u in job.get("units", []) if u["state"] == md.IN_FLIGHT}
    parts = []
    for robot in lanes.robots:
        name = html.escape(robot) if robot else say.t("mass.robot_default")
        if robot in lanes.refused:
            parts.append(say.t("mass.lane_out", robot=name))
        elif robot in busy:
            parts.append(say.t("mass.lane_busy", robot=name, batch=busy[robot] + 1))
        else:
            parts.append(say.t("mass.lane_idle", robot=name))
    return say.t("mass.progress_lanes", lanes=" · ".join(parts))


def _count_lines(job: JobDoc, say: Speech) -> list[str]:
    t, c = say.t, counts.count(job)
    done = c.processed
    lines = [
        t("mass.progress_bar", bar=counts.progress_bar(done, c.total), percent=counts.percent(done, c.total)),
        t("mass.progress_counts", sent=c.sent, not_delivered=c.not_delivered, left=c.left + c.in_flight, total=c.total),
    ]
    names = ("invalid", "unknown", "opted_out", "skipped", "failed")
    extras = [t(f"mass.count_{name}", count=getattr(c, name)) for name in names if getattr(c, name)]
    if extras:
        lines.append(" · ".join(extras))
    lines.append(t("mass.progress_batches", done=c.batches_done, total=c.batches))
    return lines


def _state_lines(job: JobDoc, say: Speech, lanes: Lanes | None) -> list[str]:
    status, lines = job["status"], []
    if lanes is not None and len(lanes.robots) > 1 and status in (md.RUNNING, md.CANCELLING, md.PAUSED):
        lines.append(lanes_line(job, say, lanes))
    if status in (md.RUNNING, md.CANCELLING):
        rate, eta = counts.rate_per_minute(job), counts.eta_seconds(job)
        if rate is not None and eta is not None:
            rate_text = fmt_num(round(rate, 1), say.lang)
            lines.append(say.t("mass.progress_rate", rate=rate_text, eta=fmt_duration(eta, say.lang)))
    if status == md.PAUSED:
        lines.append(pause_line(job, say))
    if job.get("channel") == "whatsapp":
        lines.append(say.t("mass.progress_whatsapp"))
    return lines


def _buttons(job: JobDoc, say: Speech) -> list[InlineKeyboardButton]:
    t, job_id, status = say.t, job["id"], job["status"]
    stop = button(t("mass.btn_stop"), kinds.Cancel(job_id))
    if status == md.RUNNING:
        return [button(t("mass.btn_pause"), kinds.Pause(job_id)), stop]
    if status == md.SCHEDULED:
        return [button(t("mass.btn_send_now"), kinds.Go(job_id)), stop]
    if status in md.FINISHED:
        return [button(t("mass.btn_csv"), kinds.Csv(job_id))] if job.get("units") else []
    if status != md.PAUSED:
        return []
    if job.get("pause_reason") == md.QUIET:
        return [button(t("mass.btn_send_anyway"), kinds.Anyway(job_id)), stop]
    unknown = next((i for i, u in enumerate(job.get("units", [])) if u["state"] == md.UNKNOWN), None)
    if unknown is None:
        return [button(t("mass.btn_resume"), kinds.Resume(job_id)), stop]
    # the same choice as on the batch's card, in case that card could not be sent
    return [
        button(t("mass.btn_resend"), kinds.Resend(job_id, unknown)),
        button(t("mass.btn_skip"), kinds.Skip(job_id, unknown)),
        stop,
    ]


def render_progress(job: JobDoc, say: Speech, lanes: Lanes | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    """The progress message of ``job``: status, bar, counts, rate, the lanes (when there are
    several) and the buttons that fit."""
    status_word = say.t(f"mass.status_{job['status']}")
    lines = [say.t("mass.progress_title", job=job["id"], status=status_word)]
    if job["status"] == md.SCHEDULED:
        lines.append(say.t("mass.progress_scheduled", when=say.when(job.get("run_at", 0.0))))
    lines += _count_lines(job, say) + _state_lines(job, say, lanes)
    buttons = _buttons(job, say)
    return "\n".join(lines), InlineKeyboardMarkup(rows(buttons)) if buttons else None

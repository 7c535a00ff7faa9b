"""The weekly insights digest: one chart per account to the admin chat.

``INSIGHTS_DIGEST`` (e.g. ``mon 09:00`` in ``TIMEZONE``; off when empty) is a JobQueue
``run_daily`` job registered at start-up (:func:`start_digest`).
"""

from __future__ import annotations

import html
import logging
from datetime import time
from zoneinfo import ZoneInfo

from bot.clients.resont.errors import ResontError
from bot.runtime.context import AnyApplication, Context
from handlers.insights.data import Target, connected_accounts, fetch_report
from handlers.insights.render import account_label, period_label, resont_error_text, send_report

log = logging.getLogger(__name__)

DIGEST_JOB = "insights_digest"
_WEEKDAYS_CRON = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # PTB run_daily: 0 = Sunday


def digest_schedule(spec: str, zone: str) -> tuple[time, tuple[int, ...]]:
    """``"mon 09:00"`` → (09:00 in ``zone``, PTB's day tuple (0 = Sunday))."""
    day, clock = spec.split()
    hour, minute = (int(part) for part in clock.split(":"))
    return time(hour, minute, tzinfo=ZoneInfo(zone)), (_WEEKDAYS_CRON.index(day[:3]),)


async def start_digest(app: AnyApplication) -> None:
    """Register the weekly digest (only added to ``on_start`` when it is configured)."""
    config = app.bot_data.services.config
    if not config.insights_digest:
        return
    assert app.job_queue is not None
    when, days = digest_schedule(config.insights_digest, config.timezone)
    app.job_queue.run_daily(
        run_digest,
        time=when,
        days=days,
        name=DIGEST_JOB,
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600},
    )
    log.info("weekly insights digest: %s (%s)", config.insights_digest, config.timezone)


async def run_digest(context: Context) -> None:
    """One chart per account to the admin chat; accounts without data and failures in one line each."""
    services = context.services
    lang = services.config.language
    chat_id = services.config.admin_chat_id
    try:
        accounts = await connected_accounts(services)
    except ResontError as exc:
        services.health.job(DIGEST_JOB, False, str(exc))
        await services.send_admin(context.bot, resont_error_text(services, exc, lang), topic="alerts")
        return
    label = period_label(services, lang, "week")
    sent, empty, failed = 0, [], []
    for account in accounts:
        name = account_label(services, account, lang)
        try:
            report = await fetch_report(services, Target("account", account.id), "week", name=name, label=label)
        except ResontError as exc:
            head = services.i18n.t("insights.digest_failed_line", lang, name=html.escape(name))
            failed.append(f"{head} {resont_error_text(services, exc, lang)}")
            continue
        if report.empty:
            empty.append(html.escape(name))
            continue
        await send_report(context, chat_id, report, lang)
        sent += 1
    await _send_note(context, chat_id, lang, no_accounts=not accounts, empty=empty, failed=failed)
    services.health.job(DIGEST_JOB, not failed, f"{sent}/{len(accounts)}")


async def _send_note(
    context: Context, chat_id: int, lang: str, *, no_accounts: bool, empty: list[str], failed: list[str]
) -> None:
    """The digest's closing note: no accounts, accounts without data, failures (none: no note)."""
    t = context.services.i18n.t
    lines = []
    if no_accounts:
        lines.append(t("insights.no_accounts", lang))
    if empty:
        lines.append(t("insights.digest_no_data", lang, names=t("insights.list_separator", lang).join(empty)))
    lines.extend(failed)
    if lines:
        await context.bot.send_message(chat_id, "\n".join(lines))

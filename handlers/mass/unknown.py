"""Batches that need an admin's decision: the card of an ``unknown`` batch (999, lost connection,
crash) with Resend / Skip / Check, and the alert of a paused job (credit, failed batch). Part of
the runner's notifier."""

from __future__ import annotations

import html
import logging
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.clients.miogram.errors import MioGramError
from bot.clients.miogram.models import Outcome
from bot.clients.miogram.report import RequestCheck, Verdict
from bot.massjobs import counts
from bot.massjobs import docs as md
from bot.massjobs import units as mu
from bot.massjobs.docs import JobDoc, UnitDoc
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.buttons import button
from bot.runtime.update_parts import query_of
from handlers.mass import buttons as kinds
from handlers.mass.common import rows
from handlers.mass.media import JobMedia
from handlers.mass.runtime import MassRuntime

log = logging.getLogger("handlers.mass")


class UnknownBatches:
    """Unknown and failed batches: their cards, the paused alerts, and the admins' decisions."""

    def __init__(self, runtime: MassRuntime, media: JobMedia) -> None:
        self.runtime = runtime
        self.media = media

    async def unknown_unit(self, job: JobDoc, index: int) -> None:
        services = self.runtime.services
        t = services.t  # in the chat's language
        unit = job["units"][index]
        job_id = job["id"]
        text = t(
            "mass.unknown_card",
            job=job_id,
            batch=unit["batch"] + 1,
            batches=mu.batch_count(job),
            part=t(f"mass.part_{unit['part']}"),
            count=len(unit.get("todo") or unit["numbers"]),
            reason=html.escape(unit.get("error") or ""),
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    button(t("mass.btn_resend"), kinds.Resend(job_id, index)),
                    button(t("mass.btn_skip"), kinds.Skip(job_id, index)),
                ],
                [button(t("mass.btn_check"), kinds.Check(job_id, index))],
            ]
        )
        try:
            message = await services.send_admin(self.runtime.bot, text, topic="mass", markup=markup)
        except TelegramError as exc:
            log.error("mass job %s: could not show the unknown batch %d: %s", job_id, index, exc)
            return

        card: md.MessageRef = {"chat_id": message.chat_id, "message_id": message.message_id}
        await services.store.durably(partial(self.runtime.jobs.update_unit, job_id, index, card=card))

    async def paused(self, job: JobDoc, reason: str, detail: str) -> None:
        services = self.runtime.services
        t = services.t  # in the chat's language
        job_id = job["id"]
        bot = self.runtime.bot
        if reason in (md.NO_CREDIT, md.LOW_CREDIT):
            c = counts.count(job)
            text = t(f"mass.alert_{reason}", job=job_id, left=c.left, detail=html.escape(detail))
            markup = InlineKeyboardMarkup(
                [
                    [
                        button(t("mass.btn_resume"), kinds.Resume(job_id)),
                        button(t("mass.btn_stop"), kinds.Cancel(job_id)),
                    ]
                ]
            )
            await services.alerts.raise_(bot, f"mass:credit:{job_id}", text, markup)
            return
        index = next((i for i, u in enumerate(job["units"]) if u["state"] == md.FAILED), None)
        text = t("mass.alert_error", job=job_id, detail=html.escape(detail))
        buttons = [button(t("mass.btn_retry"), kinds.Resume(job_id))]
        if index is not None:
            buttons.append(button(t("mass.btn_skip"), kinds.Skip(job_id, index)))
        buttons.append(button(t("mass.btn_stop"), kinds.Cancel(job_id)))
        try:
            await services.send_admin(bot, text, topic="mass", markup=InlineKeyboardMarkup(rows(buttons, 3)))
        except TelegramError as exc:
            log.error("mass job %s: could not tell the admins it paused: %s", job_id, exc)

    async def resumed(self, job: JobDoc) -> None:
        await self.runtime.services.alerts.resolve(self.runtime.bot, f"mass:credit:{job['id']}")

    async def on_resolve(self, update: Update, context: Context, job: JobDoc, data: kinds.UnitDecision) -> None:
        """Resend / Skip / take MioGram's report (``rmiss``: its outcomes as final; ``rnd``: and
        resend the numbers it shows not delivered) for an unknown or failed batch."""
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        action = {"resend": "resend", "skip": "skip", "rmiss": "resend_missing", "rnd": "resend_missing"}[data.action]
        index = data.index
        try:
            unit = job["units"][index]
        except IndexError:
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        known = report_outcomes(unit, data.action)
        # counted now: the job is live, and its next step may already have run when the card is edited
        count = len([number for number in mu.request_numbers(unit) if number not in known])
        if action == "resend_missing" and not known:
            # no proof on record (a stale card): taking "the report" would resend every number
            await query.answer(services.t("mass.check_not_checked", user_id), show_alert=True)
            return
        ok, after = await self.runtime.runner.resolve(job["id"], index, action, user_id, known)
        if not ok:
            await query.answer(services.t("mass.already_decided", user_id), show_alert=True)
            if after is not None:
                shown = query.message.text_html if isinstance(query.message, Message) else None
                await self.runtime.edit_query_message(update, shown or "")
            return
        await query.answer(services.t(f"mass.decided_{action}", user_id))
        who = html.escape(query.from_user.full_name)
        text = services.t(
            f"mass.decided_{action}_card", user_id, job=job["id"], batch=unit["batch"] + 1, who=who, count=count
        )
        await self.runtime.edit_query_message(update, text)

    async def on_check(self, update: Update, context: Context, job: JobDoc, data: kinds.Check) -> None:
        """Check: look the unknown batch's request up in MioGram's send report and show what the
        report proves. Nothing is decided or sent here; the proof is kept on the unit for the
        admin's next press."""
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        index = data.index
        try:
            unit = job["units"][index]
        except IndexError:
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        if unit["state"] != md.UNKNOWN:
            await query.answer(services.t("mass.already_decided", user_id), show_alert=True)
            return
        if services.miogram is None:
            await query.answer(services.t("mass.not_configured", user_id), show_alert=True)
            return
        await query.answer(services.t("mass.checking", user_id))
        check = await self._look_up(context, job, unit)
        if check is None:
            return
        self.runtime.jobs.update_unit(job["id"], index, checked=proven_outcomes(check))
        text, buttons = check_card(services, user_id, job, index, check)
        await self.runtime.edit_query_message(update, text, InlineKeyboardMarkup(rows(buttons, 1)))

    async def _look_up(self, context: Context, job: JobDoc, unit: UnitDoc) -> RequestCheck | None:
        """The report's word on the unit's lost request, or None after telling the admin why
        the report could not be read (or the file to compare is gone)."""
        services, chat_id = context.services, context.services.config.admin_chat_id
        client, numbers = services.miogram, mu.request_numbers(unit)
        assert client is not None
        try:
            if unit["part"] == "media":
                try:
                    media = await self.media.load(job)
                except Exception as exc:  # gone from the spool and from Telegram: say so, decide nothing
                    text = services.t("mass.check_no_file", None, error=html.escape(str(exc)[:200]))
                    await context.bot.send_message(chat_id, text)
                    return None
                return await client.account.find_request(numbers, media=media)
            return await client.account.find_request(numbers, text=job["content"]["text"])
        except MioGramError as exc:
            text = services.t("mass.mio_error", None, error=html.escape(str(exc)))
            await context.bot.send_message(chat_id, text)
            return None


def proven_outcomes(check: RequestCheck) -> dict[str, str]:
    """Number → outcome for every number the report proves (nothing when it cannot tell)."""
    if not check.proven:
        return {}
    outcomes = dict.fromkeys(check.delivered, Outcome.SENT.value)
    outcomes.update(dict.fromkeys(check.not_delivered, Outcome.NOT_DELIVERED.value))
    return outcomes


def report_outcomes(unit: UnitDoc, choice: str) -> dict[str, str]:
    """The outcomes an admin takes from the report: all it proved (``rmiss``), or only the
    deliveries (``rnd``: the numbers it shows not delivered are sent again)."""
    checked: dict[str, str] = dict(unit.get("checked") or {})
    if choice == "rnd":
        return {number: outcome for number, outcome in checked.items() if outcome == Outcome.SENT.value}
    return checked if choice == "rmiss" else {}


def check_card(
    services: Services, user_id: int, job: JobDoc, index: int, check: RequestCheck
) -> tuple[str, list[InlineKeyboardButton]]:
    """The text and buttons of an unknown batch's card after Check (pure)."""

    def t(key: str, **values: object) -> str:
        return services.t(key, user_id, **values)

    job_id, batch = job["id"], job["units"][index]["batch"] + 1
    skip = button(t("mass.btn_skip"), kinds.Skip(job_id, index))
    if check.proven and check.row is not None:
        text = t(
            "mass.check_found",
            job=job_id,
            batch=batch,
            count=len(check.numbers),
            when=html.escape(check.row.when),
            sent=len(check.delivered),
            not_delivered=len(check.not_delivered),
        )
        buttons = [button(t("mass.btn_accept_report"), kinds.ResendMissing(job_id, index))]
        if check.not_delivered:
            count = len(check.not_delivered)
            buttons.append(
                button(t("mass.btn_resend_not_delivered", count=count), kinds.ResendNotDelivered(job_id, index))
            )
        return text, [*buttons, skip]
    if check.verdict is Verdict.AMBIGUOUS:
        why = t("mass.check_why_many", matches=check.matches)
    else:
        why = t("mass.check_why_none")
    text = t("mass.check_cannot_tell", job=job_id, batch=batch, count=len(check.numbers), why=why)
    resend = button(t("mass.btn_resend"), kinds.Resend(job_id, index))
    return text, [resend, skip, button(t("mass.btn_check_again"), kinds.Check(job_id, index))]

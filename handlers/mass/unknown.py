"""Batches that need an admin's decision: the card of an ``unknown`` batch (999, lost connection,
crash) with Resend / Skip / Check, and the alert of a paused job (credit, failed batch). Part of
the runner's :class:`~bot.massjobs.runner.Notifier`."""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.clients.miogram.client import MioGramError, Outcome
from bot.massjobs import counts
from bot.massjobs import docs as md
from bot.massjobs import units as mu
from bot.runtime.context import Context
from handlers.mass.common import button, record_number, rows, unit_funcs

log = logging.getLogger("handlers.mass.wiring")


class UnknownMixin:
    """Unknown and failed batches; mixed into :class:`handlers.mass.wiring.Mass`."""

    async def unknown_unit(self, job: dict[str, Any], index: int) -> None:
        services = self.services
        t = lambda key, **v: services.t(key, None, **v)  # noqa: E731
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
                    button(t("mass.btn_resend"), f"mass:resend:{job_id}:{index}"),
                    button(t("mass.btn_skip"), f"mass:skip:{job_id}:{index}"),
                ],
                [button(t("mass.btn_check"), f"mass:check:{job_id}:{index}")],
            ]
        )
        try:
            message = await services.send_admin(self.app.bot, text, topic="mass", markup=markup)  # type: ignore[union-attr]
        except TelegramError as exc:
            log.error("mass job %s: could not show the unknown batch %d: %s", job_id, index, exc)
            return

        self.jobs.update_unit(job_id, index, card={"chat_id": message.chat_id, "message_id": message.message_id})

    async def paused(self, job: dict[str, Any], reason: str, detail: str) -> None:
        services = self.services
        t = lambda key, **v: services.t(key, None, **v)  # noqa: E731
        job_id = job["id"]
        bot = self.app.bot  # type: ignore[union-attr]
        if reason in (md.NO_CREDIT, md.LOW_CREDIT):
            c = counts.count(job)
            text = t(f"mass.alert_{reason}", job=job_id, left=c.left, detail=html.escape(detail))
            markup = InlineKeyboardMarkup(
                [
                    [
                        button(t("mass.btn_resume"), f"mass:resume:{job_id}"),
                        button(t("mass.btn_stop"), f"mass:cancel:{job_id}"),
                    ]
                ]
            )
            await services.alerts.raise_(bot, f"mass:credit:{job_id}", text, markup)
            return
        index = next((i for i, u in enumerate(job["units"]) if u["state"] == md.FAILED), None)
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
        await self._edit_query_message(
            update,
            services.t(
                f"mass.decided_{action}_card",
                user_id,
                job=job["id"],
                batch=unit["batch"] + 1,
                who=who,
                # "todo" may be an empty list (the report accounted for every number): 0 to send
                count=len(unit["todo"] if unit.get("todo") is not None else unit["numbers"]),
            ),
        )

    async def _on_check(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        try:
            index = int(parts[3])
            unit = job["units"][index]
        except (IndexError, ValueError):
            await query.answer(services.t("mass.job_unknown", user_id), show_alert=True)
            return
        if unit["state"] != md.UNKNOWN:
            await query.answer(services.t("mass.already_decided", user_id), show_alert=True)
            return
        if services.miogram is None:
            await query.answer(services.t("mass.not_configured", user_id), show_alert=True)
            return
        await query.answer(services.t("mass.checking", user_id))
        try:
            records = await services.miogram.report(999)
        except MioGramError as exc:
            await context.bot.send_message(
                query.message.chat_id,
                services.t("mass.mio_error", user_id, error=html.escape(str(exc))),
                parse_mode="HTML",
            )
            return
        wanted = set(unit.get("todo") or unit["numbers"])
        funcs = unit_funcs(job, unit)
        found: dict[str, str] = {}
        for record in records:
            number = record_number(record.phone, services.config.phone_region)
            if number not in wanted or number in found:
                continue
            if record.func and funcs and record.func not in funcs:
                continue
            if record.result is True:
                found[number] = Outcome.SENT.value
            elif record.result is False:
                found[number] = Outcome.NOT_DELIVERED.value

        self.jobs.update_unit(job["id"], index, checked=found)
        missing = len(wanted) - len(found)
        t = lambda key, **v: services.t(key, user_id, **v)  # noqa: E731
        text = t(
            "mass.check_result",
            job=job["id"],
            batch=unit["batch"] + 1,
            count=len(wanted),
            sent=sum(1 for v in found.values() if v == Outcome.SENT.value),
            not_delivered=sum(1 for v in found.values() if v == Outcome.NOT_DELIVERED.value),
            missing=missing,
        )
        buttons = []
        if found and missing:
            buttons.append(button(t("mass.btn_resend_missing", count=missing), f"mass:rmiss:{job['id']}:{index}"))
        elif found and not missing:
            buttons.append(button(t("mass.btn_accept_report"), f"mass:rmiss:{job['id']}:{index}"))
        buttons += [
            button(t("mass.btn_resend"), f"mass:resend:{job['id']}:{index}"),
            button(t("mass.btn_skip"), f"mass:skip:{job['id']}:{index}"),
        ]
        await self._edit_query_message(update, text, InlineKeyboardMarkup(rows(buttons, 1)))

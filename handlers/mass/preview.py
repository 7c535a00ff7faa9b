"""The draft of a mass send and its preview card (counts, content against MioGram's limits,
credit, batches), with the preview's Invalid-list, Recheck and list-pick (Bridge) buttons."""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot.clients.miogram.client import MediaKind, MioGramError
from bot.massjobs import docs as md
from bot.massjobs import units as mu
from bot.runtime.context import Context
from handlers.mass.common import (
    button,
    credit_needs,
    csv_bytes,
    fmt_num,
    fmt_size,
    lang_of,
    list_audience,
    reason_text,
    rows,
    set_audience,
)


class PreviewMixin:
    """Drafts and their preview card; mixed into :class:`handlers.mass.wiring.Mass`."""

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
            "status": md.DRAFT,
            "source": source,
            "created_by": user_id,
            "created_at": services.clock().timestamp(),
            "chat_id": chat_id,
            "thread_id": thread_id,
            "content": content,
            "channel": channel,
            "batch_size": services.config.mass_batch_size,
            "units": [],
        }
        set_audience(services, job, audience)
        self.jobs.save(job)
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
        lines.append(
            t(
                "mass.preview_counts",
                valid=len(numbers),
                invalid=len(job["invalid"]),
                duplicates=job["duplicates"],
                opted_out=len(job["opted_out"]),
            )
        )
        for raw, reason in job["invalid"][:5]:
            lines.append(
                t(
                    "mass.preview_invalid_line",
                    raw=html.escape(raw[:40]),
                    reason=html.escape(reason_text(services, user_id, reason)),
                )
            )
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
            lines.append(
                t(
                    "mass.preview_media",
                    kind=t(f"mass.kind_{kind.value}"),
                    ext=html.escape(media["ext"]),
                    size=fmt_size(media["size"], lang),
                )
            )
            if limits is not None:
                limit = limits.for_kind(kind.limit_kind)
                if media["size"] > limit:
                    blocked.append(
                        t(
                            "mass.preview_media_over",
                            size=fmt_num(media["size"], lang),
                            limit=fmt_num(limit, lang),
                            kind=t(f"mass.kind_{kind.limit_kind}"),
                            human=fmt_size(media["size"], lang),
                            human_limit=fmt_size(limit, lang),
                        )
                    )
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
                    blocked.append(
                        t(
                            "mass.preview_text_over",
                            bytes=fmt_num(used, lang),
                            limit=fmt_num(limits.message_bytes, lang),
                            over=fmt_num(used - limits.message_bytes, lang),
                        )
                    )
            else:
                lines.append(t(key, bytes=fmt_num(len(text.encode("utf-8")), lang), limit="?"))
        channel_key = (
            "mass.preview_channel_whatsapp" if job["channel"] == "whatsapp" else "mass.preview_channel_messenger"
        )
        lines.append(t(channel_key))
        if credits is not None and numbers:
            for kind, needed in credit_needs(job).items():
                left = credits.for_kind(kind)
                key = "mass.preview_credit_ok" if left >= needed else "mass.preview_credit_short"
                lines.append(t(key, needed=needed, left=max(left, 0), kind=t(f"mass.credit_{kind}")))
        size = job["batch_size"]
        batches = -(-len(numbers) // size) if numbers else 0
        requests = batches * len(mu.parts_of(content))
        lines.append(
            t(
                "mass.preview_batches",
                batches=batches,
                size=size,
                requests=requests,
                minutes=max(1, round(len(numbers) * len(mu.parts_of(content)) / 60)) if numbers else 0,
            )
        )
        for reason in blocked:
            lines.append(reason)
        buttons: list[InlineKeyboardButton] = []
        if not blocked:
            buttons += [
                button(t("mass.btn_send"), f"mass:go:{job_id}"),
                button(t("mass.btn_schedule"), f"mass:sched:{job_id}"),
            ]
        else:
            lines.append(t("mass.preview_refused"))
            if client is not None and not checked:
                buttons.append(button(t("mass.btn_recheck"), f"mass:prev:{job_id}"))
        if job["invalid"]:
            buttons.append(button(t("mass.btn_invalid"), f"mass:inv:{job_id}"))
        buttons.append(button(t("mass.btn_cancel"), f"mass:drop:{job_id}"))
        self.jobs.update(job_id, blocked=bool(blocked))
        job["blocked"] = bool(blocked)
        return "\n".join(lines), InlineKeyboardMarkup(rows(buttons))

    async def send_preview(self, context: Context, job: dict[str, Any], user_id: int) -> None:
        text, markup = await self.render_preview(job, user_id)
        message = await context.bot.send_message(
            chat_id=job["chat_id"],
            text=text,
            reply_markup=markup,
            parse_mode="HTML",
            message_thread_id=job.get("thread_id"),
        )
        self.jobs.update(job["id"], preview={"chat_id": message.chat_id, "message_id": message.message_id})

    async def _on_invalid(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        await query.answer()
        rows_ = [[raw, reason] for raw, reason in job.get("invalid", [])]
        data = csv_bytes(["input", "reason"], rows_)
        await context.bot.send_document(
            chat_id=query.message.chat_id,
            document=InputFile(data, filename=f"invalid-{job['id']}.csv"),
            caption=services.t("mass.invalid_caption", user_id, count=len(rows_)),
            message_thread_id=query.message.message_thread_id if query.message.is_topic_message else None,
        )

    async def _on_recheck(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        query, user_id = update.callback_query, update.callback_query.from_user.id
        await query.answer()
        if job["status"] != md.DRAFT:
            return
        set_audience(
            context.services,
            job,
            {
                "label": job["audience"],
                "valid": job["numbers"] + job["opted_out"],
                "invalid": job["invalid"],
                "duplicates": job["duplicates"],
            },
        )
        self.jobs.save(job)
        text, markup = await self.render_preview(job, user_id)
        await self._edit_query_message(update, text, markup)

    async def _on_pick(self, update: Update, context: Context, job: dict[str, Any], parts: list[str]) -> None:
        """The Bridge: a saved list chosen for a draft made from a post."""
        query, services, user_id = update.callback_query, context.services, update.callback_query.from_user.id
        if job["status"] != md.DRAFT or len(parts) < 4:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        saved = services.store.table("lists").get(parts[3])
        if saved is None:
            await query.answer(services.t("mass.list_gone", user_id), show_alert=True)
            return
        await query.answer()
        set_audience(services, job, list_audience(services, user_id, saved))
        self.jobs.save(job)
        text, markup = await self.render_preview(job, user_id)
        await self._edit_query_message(update, text, markup)
        self.jobs.update(job["id"], preview={"chat_id": query.message.chat_id, "message_id": query.message.message_id})

"""Drafts of mass sends and their preview card: building a draft, asking MioGram for the facts
the check needs, and the card's Invalid-list, Recheck and list-pick (Bridge) buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.clients.miogram.errors import MioGramError
from bot.massjobs import docs as md
from bot.massjobs.docs import ContentDoc, JobDoc
from bot.runtime.context import Context
from bot.runtime.tg.callback import ButtonData
from bot.runtime.update_parts import query_message, query_of
from handlers.mass import buttons as kinds
from handlers.mass.check import PreviewFacts, check_preview
from handlers.mass.common import Audience, csv_bytes, list_audience, set_audience, speech
from handlers.mass.preview import render_preview
from handlers.mass.runtime import MassRuntime
from handlers.mass.savedlists import saved_list


class Drafts:
    """Makes drafts and draws their preview cards."""

    def __init__(self, runtime: MassRuntime) -> None:
        self.runtime = runtime

    def build(
        self,
        *,
        job_id: str,
        user_id: int,
        chat_id: int,
        thread_id: int | None,
        audience: Audience,
        content: ContentDoc,
        channel: str,
        source: str = "flow",
    ) -> JobDoc:
        """A draft job from an audience ({label, valid, invalid, duplicates}) and content
        ({text, media}); opted-out numbers are set aside. Stored, and returned."""
        services = self.runtime.services
        job: JobDoc = {
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
            "numbers": [],
            "opted_out": [],
            "invalid": [],
            "duplicates": 0,
            "audience": "",
            "units": [],
        }
        set_audience(services, job, audience)
        self.runtime.jobs.save(job)
        return job

    async def facts(self, job: JobDoc) -> PreviewFacts:
        """What MioGram says about the account (limits, credit), or why it could not be asked."""
        services, runner = self.runtime.services, self.runtime.runner
        client = services.miogram
        if client is None:
            return PreviewFacts(configured=False)
        text = job["content"].get("text")
        text_bytes = client.checks.message_bytes(text) if text else None
        lanes, quiet, now = len(runner.lanes.live), runner.deps.quiet, runner.now()
        limits = credits = None
        try:
            limits = await client.checks.limits()
            credits = await client.account.credits()
        except MioGramError as exc:
            return PreviewFacts(True, limits, None, str(exc), text_bytes, lanes, quiet, now)
        return PreviewFacts(True, limits, credits, None, text_bytes, lanes, quiet, now)

    async def card(self, job: JobDoc, user_id: int | None) -> tuple[str, InlineKeyboardMarkup]:
        """The preview card; stores whether the send is ``blocked`` (then it cannot be confirmed)."""
        check = check_preview(job, await self.facts(job))
        self.runtime.jobs.update(job["id"], blocked=check.blocked)
        return render_preview(job, check, speech(self.runtime.services, user_id))

    async def send(self, context: Context, job: JobDoc, user_id: int) -> None:
        """Post the preview card of ``job`` where the draft was made."""
        text, markup = await self.card(job, user_id)
        message = await context.bot.send_message(
            chat_id=job["chat_id"],
            text=text,
            reply_markup=markup,
            message_thread_id=job.get("thread_id"),
        )
        self.runtime.jobs.update(job["id"], preview={"chat_id": message.chat_id, "message_id": message.message_id})

    async def on_invalid(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        """The invalid inputs of the audience, with their reasons, as a CSV file."""
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        await query.answer()
        lines = [[raw, reason] for raw, reason in job.get("invalid", [])]
        card = query_message(query)
        await context.bot.send_document(
            chat_id=card.chat_id,
            document=InputFile(csv_bytes(["input", "reason"], lines), filename=f"invalid-{job['id']}.csv"),
            caption=services.t("mass.invalid_caption", user_id, count=len(lines)),
            message_thread_id=card.message_thread_id if card.is_topic_message else None,
        )

    async def on_recheck(self, update: Update, context: Context, job: JobDoc, data: ButtonData) -> None:
        """Ask MioGram again (it could not be reached) and redraw the card; opt-outs are re-read."""
        query = query_of(update)
        await query.answer()
        if job["status"] != md.DRAFT:
            return
        audience: Audience = {
            "label": job["audience"],
            "valid": job["numbers"] + job["opted_out"],
            "invalid": job["invalid"],
            "duplicates": job["duplicates"],
        }
        set_audience(context.services, job, audience)
        self.runtime.jobs.save(job)
        text, markup = await self.card(job, query.from_user.id)
        await self.runtime.edit_query_message(update, text, markup)

    async def on_pick(self, update: Update, context: Context, job: JobDoc, data: kinds.PickList) -> None:
        """The Bridge: a saved list chosen for a draft made from a post."""
        query, services = query_of(update), context.services
        user_id = query.from_user.id
        if job["status"] != md.DRAFT:
            await query.answer(services.t("mass.already_started", user_id), show_alert=True)
            return
        saved = saved_list(services.store, data.key)
        if saved is None:
            await query.answer(services.t("mass.list_gone", user_id), show_alert=True)
            return
        await query.answer()
        set_audience(services, job, list_audience(services, user_id, saved))
        self.runtime.jobs.save(job)
        text, markup = await self.card(job, user_id)
        await self.runtime.edit_query_message(update, text, markup)
        card = query_message(query)
        where: md.MessageRef = {"chat_id": card.chat_id, "message_id": card.message_id}
        self.runtime.jobs.update(job["id"], preview=where)

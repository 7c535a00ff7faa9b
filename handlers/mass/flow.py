"""The ``/mass`` conversation: audience → content (→ caption) → channel → preview.

Each step is one bot message the admin replies to (replies to the bot reach it even in a group
with privacy mode on; a step without buttons asks with force-reply); ``/cancel`` leaves at any
step, and a reply to some other card or question meanwhile goes to that card, not to the flow. The conversation ends when the preview card is posted:
from there the card's buttons (handled in :mod:`handlers.mass.wiring`) work without conversation state,
across restarts.
"""

from __future__ import annotations

import html
import logging
import warnings
from typing import Any

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.clients.miogram.phones import PhoneFileError, PhoneParse, parse_csv, parse_numbers
from bot.massjobs.spool import spool_dir
from bot.runtime.context import Context
from bot.runtime.tg.buttons import button, step
from bot.runtime.tg.quiet import edit_quietly
from bot.runtime.update_parts import chat_id_of, message_of, query_of, user_of
from handlers.mass import buttons as kinds
from handlers.mass import files as mass_files
from handlers.mass.common import MAX_LIST_BUTTONS, fmt_num, list_audience, media_info, rows
from handlers.mass.drafts import Drafts
from handlers.mass.flowstate import NumbersFile, begin, drop_flow_media, end, flow_of
from handlers.mass.savedlists import saved_list, saved_lists
from handlers.replies import find_target
from handlers.replies import on_reply as route_reply

log = logging.getLogger(__name__)

AUDIENCE, COLUMN, CONTENT, CAPTION, CHANNEL = range(5)
FLOW_TIMEOUT = 30 * 60.0

_MEDIA = filters.PHOTO | filters.VIDEO | filters.ANIMATION | filters.AUDIO | filters.VOICE | filters.Document.ALL
_TEXT = filters.TEXT & ~filters.COMMAND


def conversation(drafts: Drafts) -> ConversationHandler[Context]:
    flow = Flow(drafts)
    with warnings.catch_warnings():
        # per_message=False is meant: buttons of a step belong to the admin's (chat, user) flow.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return _conversation(flow)


def _conversation(flow: Flow) -> ConversationHandler[Context]:
    return ConversationHandler(
        entry_points=[CommandHandler("mass", flow.start)],
        states={
            AUDIENCE: [
                MessageHandler(_TEXT, flow.audience_text),
                MessageHandler(filters.Document.ALL, flow.audience_file),
                step(kinds.Audience, flow.audience_list),
            ],
            COLUMN: [
                step(kinds.Column, flow.column_button),
                MessageHandler(_TEXT, flow.column_text),
            ],
            CONTENT: [
                MessageHandler(_TEXT, flow.content_text),
                MessageHandler(_MEDIA, flow.content_media),
            ],
            CAPTION: [
                MessageHandler(_TEXT, flow.caption_text),
                step(kinds.NoCaption, flow.no_caption),
            ],
            CHANNEL: [step(kinds.Channel, flow.channel)],
            ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, flow.timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", flow.cancel),
            step(kinds.Quit, flow.cancel_button),
        ],
        allow_reentry=True,
        conversation_timeout=FLOW_TIMEOUT,
        name="mass",
    )


class Flow:
    def __init__(self, drafts: Drafts) -> None:
        self.drafts = drafts

    # --- helpers

    @staticmethod
    def _t(context: Context, update: Update, key: str, **values: Any) -> str:
        return context.services.t(key, user_of(update).id, **values)

    async def _prompt(
        self, update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        message = update.effective_message
        return await context.bot.send_message(
            chat_id=chat_id_of(update),
            text=text,
            reply_markup=markup or ForceReply(selective=True, input_field_placeholder=None),
            message_thread_id=message.message_thread_id if message and message.is_topic_message else None,
            reply_to_message_id=message.message_id if message and not update.callback_query else None,
        )

    async def _other_target(self, update: Update, context: Context) -> bool:
        """A reply to some other card or question (an inbox card, another prompt) is routed
        there instead of being taken as an answer of this flow."""
        message = update.effective_message
        target = message.reply_to_message if message else None
        if message is None or target is None or target.from_user is None or target.from_user.id != context.bot.id:
            return False
        if find_target(context.services.store, message.chat_id, target.message_id) is None:
            return False
        await route_reply(update, context)
        return True

    def _too_big(self, context: Context, update: Update, exc: mass_files.TooBig) -> str:
        lang = context.services.lang(user_of(update).id)
        return self._t(
            context, update, "mass.file_too_big", size=fmt_num(exc.size, lang), limit=fmt_num(exc.limit, lang)
        )

    def _cancel_button(self, context: Context, update: Update) -> InlineKeyboardButton:
        return button(self._t(context, update, "mass.btn_cancel"), kinds.Quit())

    # --- entry

    async def start(self, update: Update, context: Context) -> int:
        services = context.services
        user_id = user_of(update).id
        if services.miogram is None:
            await message_of(update).reply_text(services.t("mass.not_configured", user_id))
            return ConversationHandler.END
        drop_flow_media(context, update)
        begin(context, update)
        lists = saved_lists(services.store)
        buttons = [
            button(
                services.t("mass.btn_list", user_id, name=doc["name"][:30], count=len(doc["numbers"])),
                kinds.Audience(key),
            )
            for key, doc in lists[:MAX_LIST_BUTTONS]
        ]
        buttons.append(self._cancel_button(context, update))
        text = services.t("mass.ask_audience", user_id, region=services.config.phone_region)
        if lists:
            text += "\n" + services.t("mass.ask_audience_lists", user_id)
        # Replies to the bot's messages reach it even in a group with privacy mode on.
        await self._prompt(update, context, text, InlineKeyboardMarkup(rows(buttons, 1)))
        return AUDIENCE

    # --- audience

    async def audience_text(self, update: Update, context: Context) -> int | None:
        if await self._other_target(update, context):
            return None
        parsed = parse_numbers(message_of(update).text or "", context.services.config.phone_region)
        label = self._t(context, update, "mass.audience_pasted")
        return await self._audience_done(update, context, parsed, label)

    async def audience_file(self, update: Update, context: Context) -> int | None:
        if await self._other_target(update, context):
            return None
        services, message = context.services, message_of(update)
        attachment = mass_files.attachment_of(message)
        if attachment is None or not mass_files.is_numbers_file(attachment):
            await message.reply_text(self._t(context, update, "mass.audience_file_type"))
            return AUDIENCE
        try:
            data = await mass_files.download_bytes(context, attachment, mass_files.NUMBERS_FILE_MAX)
        except mass_files.TooBig as exc:
            await message.reply_text(self._too_big(context, update, exc))
            return AUDIENCE
        column = (message.caption or "").strip() or None
        label = self._t(context, update, "mass.audience_file", name=attachment.name[:60])  # escaped when shown
        try:
            parsed, _columns = parse_csv(data, services.config.phone_region, column)
        except PhoneFileError as exc:
            if not exc.columns:
                await message.reply_text(self._t(context, update, "mass.audience_none"))
                return AUDIENCE
            flow_of(context, update).file = NumbersFile(data, label, exc.columns)
            buttons = [button(col[:30], kinds.Column(i)) for i, col in enumerate(exc.columns[:24])]
            buttons.append(self._cancel_button(context, update))
            names = ", ".join(html.escape(c) for c in exc.columns[:24])
            await self._prompt(
                update,
                context,
                self._t(context, update, "mass.ask_column", columns=names),
                InlineKeyboardMarkup(rows(buttons, 3)),
            )
            return COLUMN
        return await self._audience_done(update, context, parsed, label)

    async def audience_list(self, update: Update, context: Context, data: kinds.Audience) -> int:
        query = query_of(update)
        services = context.services
        saved = saved_list(services.store, data.key)
        if saved is None:
            await query.answer(self._t(context, update, "mass.list_gone"), show_alert=True)
            return AUDIENCE
        await query.answer()
        audience = list_audience(services, user_of(update).id, saved)
        parsed = PhoneParse(valid=list(audience["valid"]))
        return await self._audience_done(update, context, parsed, audience["label"])

    async def column_button(self, update: Update, context: Context, data: kinds.Column) -> int:
        await query_of(update).answer()
        return await self._with_column(update, context, f"#{data.index + 1}")

    async def column_text(self, update: Update, context: Context) -> int | None:
        if await self._other_target(update, context):
            return None
        return await self._with_column(update, context, (message_of(update).text or "").strip())

    async def _with_column(self, update: Update, context: Context, column: str) -> int:
        flow = flow_of(context, update)
        file = flow.file
        if file is None:
            return AUDIENCE
        try:
            parsed, _ = parse_csv(file.data, context.services.config.phone_region, column)
        except PhoneFileError:
            await message_of(update).reply_text(
                self._t(context, update, "mass.column_unknown", column=html.escape(column[:40]))
            )
            return COLUMN
        flow.file = None
        return await self._audience_done(update, context, parsed, file.label)

    async def _audience_done(self, update: Update, context: Context, parsed: PhoneParse, label: str) -> int:
        services = context.services
        user_id = user_of(update).id
        if not parsed.valid:
            await message_of(update).reply_text(services.t("mass.audience_empty", user_id, invalid=len(parsed.invalid)))
            return AUDIENCE
        flow_of(context, update).audience = {
            "label": label,
            "valid": parsed.valid,
            "invalid": [list(item) for item in parsed.invalid],
            "duplicates": len(parsed.duplicates),
        }
        optout = services.store.table("optout")
        opted = sum(1 for n in parsed.valid if n in optout)
        await self._prompt(
            update,
            context,
            services.t(
                "mass.audience_ok",
                user_id,
                valid=len(parsed.valid),
                invalid=len(parsed.invalid),
                duplicates=len(parsed.duplicates),
                opted_out=opted,
            )
            + "\n\n"
            + services.t("mass.ask_content", user_id),
        )
        return CONTENT

    # --- content

    async def content_text(self, update: Update, context: Context) -> int | None:
        if await self._other_target(update, context):
            return None
        text = message_of(update).text or ""
        if not text.strip():
            return CONTENT
        flow_of(context, update).content = {"text": text, "media": None}
        return await self._ask_channel(update, context)

    async def content_media(self, update: Update, context: Context) -> int | None:
        if await self._other_target(update, context):
            return None
        services = context.services
        message = message_of(update)
        attachment = mass_files.attachment_of(message)
        if attachment is None:
            return CONTENT
        flow = flow_of(context, update)
        drop_flow_media(context, update)  # an earlier file of this flow, if any
        flow.content = None
        path = spool_dir(services.store.path) / f"{flow.job_id}.{attachment.extension}"
        try:
            await mass_files.download_to(context, attachment, path, mass_files.TELEGRAM_DOWNLOAD_MAX)
        except mass_files.TooBig as exc:
            await message.reply_text(self._too_big(context, update, exc))
            return CONTENT
        try:
            info = media_info(path, attachment.extension, name=attachment.name, file_id=attachment.file_id)
        except ValueError:  # empty file
            path.unlink(missing_ok=True)
            await message.reply_text(self._t(context, update, "mass.file_empty"))
            return CONTENT
        caption = (message.caption or "").strip()
        flow.content = {"text": caption or None, "media": info}
        if caption:
            return await self._preview(update, context, "messenger")
        return await self._ask_caption(update, context)

    async def _ask_caption(self, update: Update, context: Context) -> int:
        no_caption = button(self._t(context, update, "mass.btn_no_caption"), kinds.NoCaption())
        markup = InlineKeyboardMarkup([[no_caption, self._cancel_button(context, update)]])
        await self._prompt(update, context, self._t(context, update, "mass.ask_caption"), markup)
        return CAPTION

    async def caption_text(self, update: Update, context: Context) -> int | None:
        if await self._other_target(update, context):
            return None
        text = (message_of(update).text or "").strip()
        content = flow_of(context, update).content
        if content is not None:  # the caption step follows a file
            content["text"] = text or None
        return await self._preview(update, context, "messenger")

    async def no_caption(self, update: Update, context: Context, data: kinds.NoCaption) -> int:
        await query_of(update).answer()
        return await self._preview(update, context, "messenger")

    async def _ask_channel(self, update: Update, context: Context) -> int:
        markup = InlineKeyboardMarkup(
            [
                [
                    button(self._t(context, update, "mass.btn_messenger"), kinds.Channel("m")),
                    button(self._t(context, update, "mass.btn_whatsapp"), kinds.Channel("w")),
                ],
                [self._cancel_button(context, update)],
            ]
        )
        await self._prompt(update, context, self._t(context, update, "mass.ask_channel"), markup)
        return CHANNEL

    async def channel(self, update: Update, context: Context, data: kinds.Channel) -> int:
        await query_of(update).answer()
        return await self._preview(update, context, "whatsapp" if data.which == "w" else "messenger")

    async def _preview(self, update: Update, context: Context, channel: str) -> int:
        flow = end(context, update)
        user_id = user_of(update).id
        if flow is None or flow.audience is None or flow.content is None:
            return ConversationHandler.END
        job = self.drafts.build(
            job_id=flow.job_id,
            user_id=user_id,
            chat_id=flow.chat_id,
            thread_id=flow.thread_id,
            audience=flow.audience,
            content=flow.content,
            channel=channel,
        )
        await self.drafts.send(context, job, user_id)
        return ConversationHandler.END

    # --- leaving

    async def cancel(self, update: Update, context: Context) -> int:
        drop_flow_media(context, update)
        end(context, update)
        await message_of(update).reply_text(self._t(context, update, "mass.flow_cancelled"))
        return ConversationHandler.END

    async def cancel_button(self, update: Update, context: Context, data: kinds.Quit) -> int:
        drop_flow_media(context, update)
        end(context, update)
        query = query_of(update)
        await query.answer()
        text = self._t(context, update, "mass.flow_cancelled")
        await edit_quietly(query, text, what="close the /mass prompt")
        return ConversationHandler.END

    async def timed_out(self, update: Update, context: Context) -> None:
        drop_flow_media(context, update)
        end(context, update)

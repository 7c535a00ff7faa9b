"""Numbers that admins give for saved lists and the opt-out list: pasted or as a CSV/TXT file,
read, summarised, and the sub-command of ``/lists`` or ``/optout``."""

from __future__ import annotations

import html

from telegram import Update

from bot.clients.miogram.phones import PhoneFileError, PhoneParse, parse_csv, parse_numbers
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.update_parts import message_of, user_of
from handlers.mass import files as mass_files
from handlers.mass.common import fmt_num, reason_text


def rest_of_command(text: str | None) -> tuple[str, str]:
    """(sub-command, the rest) of ``/cmd sub rest…``."""
    parts = (text or "").split(None, 2)
    sub = parts[1].lower() if len(parts) > 1 else ""
    rest = parts[2] if len(parts) > 2 else ""
    return sub, rest


async def read_numbers(update: Update, context: Context) -> tuple[PhoneParse | None, str | None]:
    """Numbers from the message: pasted text or a CSV/TXT document (caption = column name).
    Returns (parse, None) or (None, the text telling the user what is wrong)."""
    services = context.services
    user_id = user_of(update).id
    message = message_of(update)
    region = services.config.phone_region
    attachment = mass_files.attachment_of(message)
    if attachment is not None:
        if not mass_files.is_numbers_file(attachment):
            return None, services.t("mass.audience_file_type", user_id)
        try:
            data = await mass_files.download_bytes(context, attachment, mass_files.NUMBERS_FILE_MAX)
        except mass_files.TooBig as exc:
            lang = services.lang(user_id)
            return None, services.t(
                "mass.file_too_big", user_id, size=fmt_num(exc.size, lang), limit=fmt_num(exc.limit, lang)
            )
        column = (message.caption or "").strip() or None
        try:
            parsed, _ = parse_csv(data, region, column)
        except PhoneFileError as exc:
            if not exc.columns:
                return None, services.t("mass.audience_none", user_id)
            names = ", ".join(html.escape(c) for c in exc.columns[:24])
            return None, services.t("mass.lists_column", user_id, columns=names)
        return parsed, None
    return parse_numbers(message.text or "", region), None


def summary(services: Services, user_id: int, parsed: PhoneParse) -> str:
    text = services.t(
        "mass.numbers_read",
        user_id,
        valid=len(parsed.valid),
        invalid=len(parsed.invalid),
        duplicates=len(parsed.duplicates),
    )
    if parsed.invalid:
        shown = [
            services.t(
                "mass.preview_invalid_line",
                user_id,
                raw=html.escape(raw[:40]),
                reason=html.escape(reason_text(services, user_id, reason)),
            )
            for raw, reason in parsed.invalid[:5]
        ]
        text += "\n" + "\n".join(shown)
    return text


def thread_of(update: Update) -> int | None:
    message = update.effective_message
    return message.message_thread_id if message is not None and message.is_topic_message else None

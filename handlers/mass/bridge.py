"""The Bridge: an approved post → a mass send of its caption and first media to a saved list,
through the usual preview card."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.massjobs import docs as md
from bot.massjobs.spool import drop_spool, spool_dir
from bot.massjobs.storage import new_id
from bot.runtime.context import Context
from bot.runtime.services import Services
from handlers.mass import files as mass_files
from handlers.mass.common import MAX_LIST_BUTTONS, button, list_audience, media_info, rows

if TYPE_CHECKING:
    from handlers.mass.wiring import Mass

log = logging.getLogger("handlers.mass.wiring")


async def start_from_post(
    context: Context,
    *,
    admin_id: int,
    chat_id: int,
    caption: str | None,
    media: bytes | str | None = None,
    media_ext: str | None = None,
    list_id: str | None = None,
    list_name: str | None = None,
    thread_id: int | None = None,
) -> str | None:
    """Start a mass send of a post's caption and first media through the usual preview.

    ``media`` is the file's bytes (then ``media_ext`` is required) or an http(s) URL (the
    extension comes from ``media_ext`` or the URL). With ``list_id``/``list_name`` the preview of
    that saved list is posted in ``chat_id``; without, a list picker. Returns the draft's job id,
    or None when MioGram is not configured or nothing can be sent (the admin is told why).
    """
    from handlers.mass.wiring import mass_of  # the feature module imports this one

    mass = mass_of(context)
    services = context.services
    if services.miogram is None:
        await context.bot.send_message(
            chat_id, services.t("mass.not_configured", admin_id), message_thread_id=thread_id
        )
        return None
    text = (caption or "").strip() or None
    job_id = new_id()
    content: dict[str, Any] = {"text": text, "media": None}
    if media is not None:
        try:
            content["media"] = await _bridge_media(mass, job_id, media, media_ext)
        except (mass_files.TooBig, ValueError, OSError, Exception) as exc:
            log.warning("bridge: the post's media cannot be used: %s", exc)
            await context.bot.send_message(
                chat_id,
                services.t("mass.bridge_media_failed", admin_id, error=html.escape(str(exc)[:200])),
                parse_mode="HTML",
                message_thread_id=thread_id,
            )
            if text is None:
                return None
            content["media"] = None
    if text is None and content["media"] is None:
        await context.bot.send_message(
            chat_id, services.t("mass.bridge_nothing", admin_id), message_thread_id=thread_id
        )
        return None
    saved = None
    lists = services.store.table("lists")
    if list_id is not None:
        saved = lists.get(list_id)
    elif list_name is not None:
        saved = next(
            (doc for _, doc in lists.items() if doc.get("name", "").lower() == list_name.strip().lower()), None
        )
    audience = list_audience(services, admin_id, saved) if saved else {"label": "", "valid": []}
    job = mass.build_draft(
        job_id=job_id,
        user_id=admin_id,
        chat_id=chat_id,
        thread_id=thread_id,
        audience=audience,
        content=content,
        channel="messenger",
        source="post",
    )
    if saved is not None:
        await mass.send_preview(context, job, admin_id)
        return job_id
    choices = sorted(lists.items(), key=lambda kv: kv[1].get("name", "").lower())[:MAX_LIST_BUTTONS]
    if not choices:
        mass.jobs.update(job_id, status=md.CANCELLED, report_sent=True)
        drop_spool(job)
        await context.bot.send_message(
            chat_id, services.t("mass.bridge_no_lists", admin_id), message_thread_id=thread_id
        )
        return None
    buttons = [
        button(
            services.t("mass.btn_list", admin_id, name=doc.get("name", "")[:30], count=len(doc.get("numbers", []))),
            f"mass:pick:{job_id}:{key}",
        )
        for key, doc in choices
    ]
    buttons.append(button(services.t("mass.btn_cancel", admin_id), f"mass:drop:{job_id}"))
    message = await context.bot.send_message(
        chat_id,
        services.t("mass.bridge_pick", admin_id),
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup(rows(buttons, 1)),
        message_thread_id=thread_id,
    )
    mass.jobs.update(job_id, preview={"chat_id": message.chat_id, "message_id": message.message_id})
    return job_id


async def _bridge_media(mass: Mass, job_id: str, media: bytes | str, media_ext: str | None) -> dict[str, Any]:
    directory = spool_dir(mass.services.store.path)
    if isinstance(media, (bytes, bytearray)):
        if not media_ext:
            raise ValueError("media_ext is needed with bytes")
        ext = media_ext.strip(".").lower()
        path = directory / f"{job_id}.{ext}"
        path.write_bytes(bytes(media))
        return media_info(path, ext, name=f"post.{ext}")
    url = str(media)
    if not url.startswith(("http://", "https://")):
        raise ValueError("the media is neither bytes nor an http(s) URL")
    ext = (media_ext or Path(urlsplit(url).path).suffix or ".jpg").strip(".").lower()
    path = directory / f"{job_id}.{ext}"
    await mass.download_url(url, path)
    return media_info(path, ext, url=url, name=Path(urlsplit(url).path).name or f"post.{ext}")


def bridge_button(services: Services, user_id: int | None, callback_data: str) -> InlineKeyboardButton:
    """The "Also send to a list…" button, labelled from this catalogue, for the posts card."""
    return button(services.t("mass.bridge_button", user_id), callback_data)

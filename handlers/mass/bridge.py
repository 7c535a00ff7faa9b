"""The Bridge: an approved post → a mass send of its caption and first media to a saved list,
through the usual preview card."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, Protocol, TypedDict, Unpack, runtime_checkable
from urllib.parse import urlsplit

from telegram import InlineKeyboardMarkup

from bot.massjobs import docs as md
from bot.massjobs.docs import ContentDoc, MediaDoc
from bot.massjobs.spool import drop_spool, spool_dir
from bot.massjobs.storage import new_id
from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.tg.buttons import button
from handlers.mass import buttons as kinds
from handlers.mass.common import MAX_LIST_BUTTONS, Audience, list_audience, media_info, rows
from handlers.mass.drafts import Drafts
from handlers.mass.media import JobMedia
from handlers.mass.runtime import MassRuntime
from handlers.mass.savedlists import SavedList, saved_list, saved_lists

log = logging.getLogger("handlers.mass")


@dataclass(frozen=True)
class PostToSend:
    """What an approved post gives a mass send: where to talk, its caption and first media
    (bytes with ``media_ext``, or an http(s) URL) and, optionally, the saved list to send to."""

    admin_id: int
    chat_id: int
    caption: str | None
    media: bytes | str | None = None
    media_ext: str | None = None
    list_id: str | None = None
    list_name: str | None = None
    thread_id: int | None = None


class PostFields(TypedDict):
    """The fields of a :class:`PostToSend`, as :func:`start_from_post` takes them."""

    admin_id: int
    chat_id: int
    caption: str | None
    media: NotRequired[bytes | str | None]
    media_ext: NotRequired[str | None]
    list_id: NotRequired[str | None]
    list_name: NotRequired[str | None]
    thread_id: NotRequired[int | None]


class Bridge:
    """Turns an approved post into a draft and its preview (or a list picker)."""

    def __init__(self, runtime: MassRuntime, drafts: Drafts, media: JobMedia) -> None:
        self.runtime = runtime
        self.drafts = drafts
        self.media = media

    async def _say(self, context: Context, post: PostToSend, key: str, **values: object) -> None:
        text = context.services.t(key, post.admin_id, **values)
        await context.bot.send_message(post.chat_id, text, message_thread_id=post.thread_id)

    async def start(self, context: Context, post: PostToSend) -> str | None:
        """Start a mass send of the post through the usual preview. Returns the draft's job id, or
        None when MioGram is not configured or nothing can be sent (the admin is told why)."""
        if context.services.miogram is None:
            await self._say(context, post, "mass.not_configured")
            return None
        job_id = new_id()
        content = await self._content(context, post, job_id)
        if content is None:
            return None
        saved = self._saved_list(context.services, post)
        audience: Audience = {"label": "", "valid": []}
        if saved is not None:
            audience = list_audience(context.services, post.admin_id, saved)
        job = self.drafts.build(
            job_id=job_id,
            user_id=post.admin_id,
            chat_id=post.chat_id,
            thread_id=post.thread_id,
            audience=audience,
            content=content,
            channel="messenger",
            source="post",
        )
        if saved is not None:
            await self.drafts.send(context, job, post.admin_id)
            return job_id
        return await self._pick_list(context, post, job)

    async def _content(self, context: Context, post: PostToSend, job_id: str) -> ContentDoc | None:
        """The draft's content; a media that cannot be used leaves the caption alone (said so)."""
        text = (post.caption or "").strip() or None
        content: ContentDoc = {"text": text, "media": None}
        if post.media is not None:
            try:
                content["media"] = await self._spool(job_id, post.media, post.media_ext)
            except Exception as exc:  # told to the admin: any failure of the download or the file
                log.warning("bridge: the post's media cannot be used: %s", exc)
                await self._say(context, post, "mass.bridge_media_failed", error=html.escape(str(exc)[:200]))
                if text is None:
                    return None
        if text is None and content["media"] is None:
            await self._say(context, post, "mass.bridge_nothing")
            return None
        return content

    @staticmethod
    def _saved_list(services: Services, post: PostToSend) -> SavedList | None:
        if post.list_id is not None:
            return saved_list(services.store, post.list_id)
        if post.list_name is not None:
            wanted = post.list_name.strip().lower()
            return next((doc for _, doc in saved_lists(services.store) if doc["name"].lower() == wanted), None)
        return None

    async def _pick_list(self, context: Context, post: PostToSend, job: md.JobDoc) -> str | None:
        """Offer the saved lists for the draft (none: the draft is dropped, the admin told)."""
        services, job_id = context.services, job["id"]
        choices = saved_lists(services.store)[:MAX_LIST_BUTTONS]
        if not choices:
            self.runtime.jobs.update(job_id, status=md.CANCELLED, report_sent=True)
            drop_spool(job)
            await self._say(context, post, "mass.bridge_no_lists")
            return None

        def t(key: str, **values: object) -> str:
            return services.t(key, post.admin_id, **values)

        buttons = [
            button(
                t("mass.btn_list", name=doc["name"][:30], count=len(doc["numbers"])),
                kinds.PickList(job_id, key),
            )
            for key, doc in choices
        ]
        buttons.append(button(t("mass.btn_cancel"), kinds.Drop(job_id)))
        markup = InlineKeyboardMarkup(rows(buttons, 1))
        message = await context.bot.send_message(
            post.chat_id,
            t("mass.bridge_pick"),
            reply_markup=markup,
            message_thread_id=post.thread_id,
        )
        self.runtime.jobs.update(job_id, preview={"chat_id": message.chat_id, "message_id": message.message_id})
        return job_id

    async def _spool(self, job_id: str, media: bytes | str, media_ext: str | None) -> MediaDoc:
        """The post's media as the job's spooled file (bytes written, a URL downloaded)."""
        directory = spool_dir(self.runtime.services.store.path)
        if isinstance(media, bytes | bytearray):
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
        await self.media.download_url(url, path)
        return media_info(path, ext, url=url, name=Path(urlsplit(url).path).name or f"post.{ext}")


@runtime_checkable
class HasBridge(Protocol):
    """A feature that carries the Bridge (the mass feature does)."""

    bridge: Bridge | None


async def start_from_post(context: Context, **post: Unpack[PostFields]) -> str | None:
    """The Bridge's public entry point for the posts feature: a mass send of an approved post
    through the usual preview (see :class:`PostToSend` for the fields)."""
    for item in context.bot_data.features:
        if isinstance(item, HasBridge) and item.bridge is not None:
            return await item.bridge.start(context, PostToSend(**post))
    raise LookupError("the mass feature is not installed")

"""The files of a /newpost proposal: which are taken, and their way from Telegram to Resont.

Files are checked before anything is uploaded: Telegram lets bots download at most 20 MB,
Resont's own per-file limit and free space (``me/files``) are checked at Submit, and unsupported
kinds (voice, stickers, audio, executables …) are refused with the reason. A file is uploaded
once: a Submit retried after a failure reuses what was uploaded.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

from telegram import Document, Message, PhotoSize, Video
from telegram.error import TelegramError

from bot.clients.resont.errors import ResontError, ResontMalformed
from bot.runtime.context import Context
from handlers.posts.cards import size_text

log = logging.getLogger(__name__)

#: Telegram's limit for files a bot downloads (getFile).
MAX_DOWNLOAD = 20 * 1024 * 1024
#: Document types accepted besides images and videos.
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/zip",
        "text/plain",
        "text/csv",
    }
)


class MediaItem(TypedDict):
    """A file of a proposal: what Telegram said of it, and its Resont id once uploaded."""

    file_id: str
    kind: str  # image, video or document
    size: int | None
    name: str
    mime: str
    resont_id: NotRequired[int]


class Refused(Exception):
    """A file cannot be taken (too big, not downloadable); ``str()`` is the user's message."""


@dataclass(frozen=True)
class Refusal:
    """Why a file is not taken: the message's key and its values (not yet escaped)."""

    key: str
    values: dict[str, str] = field(default_factory=dict)


def describe_media(message: Message) -> MediaItem | Refusal:
    """The item of an acceptable file, or why it is refused."""
    item: MediaItem | Refusal
    if message.photo:
        item = _photo_item(message.photo[-1])  # the largest size
    elif message.video:
        item = _video_item(message.video)
    elif message.document:
        item = _document_item(message.document)
        if isinstance(item, Refusal):
            return item
    else:
        return Refusal("posts.np_unsupported")
    if item["size"] is not None and item["size"] > MAX_DOWNLOAD:
        return Refusal("posts.np_too_big", {"size": size_text(item["size"]), "limit": size_text(MAX_DOWNLOAD)})
    return item


def _photo_item(photo: PhotoSize) -> MediaItem:
    return {
        "file_id": photo.file_id,
        "kind": "image",
        "size": photo.file_size,
        "name": f"photo_{photo.file_unique_id}.jpg",
        "mime": "image/jpeg",
    }


def _video_item(video: Video) -> MediaItem:
    mime = video.mime_type or "video/mp4"
    name = video.file_name or f"video_{video.file_unique_id}{mimetypes.guess_extension(mime) or '.mp4'}"
    return {"file_id": video.file_id, "kind": "video", "size": video.file_size, "name": name, "mime": mime}


def _document_item(document: Document) -> MediaItem | Refusal:
    """The document as an item, or its refusal when its type is not taken."""
    mime = (document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or "").lower()
    kind: str | None
    if mime.startswith("image/"):
        kind = "image"
    elif mime.startswith("video/"):
        kind = "video"
    else:
        kind = "document" if mime in DOCUMENT_TYPES else None
    if kind is None:
        return Refusal("posts.np_unsupported_type", {"name": document.file_name or "?", "mime": mime or "?"})
    return {
        "file_id": document.file_id,
        "kind": kind,
        "size": document.file_size,
        "name": document.file_name or f"file_{document.file_unique_id}",
        "mime": mime,
    }


def post_type(media: list[MediaItem]) -> str:
    """The Resont post type of a proposal with these files."""
    if not media:
        return "text"
    if len(media) > 1:
        return "album"
    return str(media[0]["kind"])


async def upload_all(context: Context, user_id: int, media: list[MediaItem]) -> list[int]:
    """The Resont file ids of ``media``, uploading what is not uploaded yet; raises
    :class:`Refused` (before any upload when Resont's limits are too small) or ResontError."""
    if media:
        await _check_storage(context, user_id, media)
    ids: list[int] = []
    for item in media:
        resont_id = item.get("resont_id")
        if resont_id is None:
            content = await _download(context, user_id, item)
            uploaded = await context.services.resont.files.upload(content, item["name"], item["mime"])
            if uploaded.id is None:
                raise ResontMalformed(f"Resont took {item['name']} but gave no file id for it")
            item["resont_id"] = resont_id = uploaded.id
        ids.append(resont_id)
    return ids


async def _check_storage(context: Context, user_id: int, media: list[MediaItem]) -> None:
    """Refuse when Resont's per-file limit or free space is too small (unknown limits pass)."""
    t = context.services.t
    try:
        storage = await context.services.resont.users.storage()
    except ResontError as exc:
        log.info("Resont storage limits unknown (%s): uploading without checking them", exc)
        return
    limit = storage.max_file_size
    for item in media:
        size = item["size"]
        if limit and size and size > limit:
            raise Refused(
                t(
                    "posts.np_too_big_resont",
                    user_id,
                    name=item["name"],
                    size=size_text(size),
                    limit=storage.max_file_size_readable or size_text(limit),
                )
            )
    total = sum(item.get("size") or 0 for item in media if not item.get("resont_id"))
    if storage.remaining_storage is not None and total > storage.remaining_storage:
        raise Refused(
            t(
                "posts.np_no_space",
                user_id,
                size=size_text(total),
                left=storage.remaining_storage_readable or size_text(storage.remaining_storage),
            )
        )


async def _download(context: Context, user_id: int, item: MediaItem) -> bytes:
    """The file's bytes from Telegram (refused above Telegram's download limit)."""
    t = context.services.t
    try:
        tg_file = await context.bot.get_file(item["file_id"])
        _check_size(context, user_id, tg_file.file_size)
        content = bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        raise Refused(t("posts.np_download_failed", user_id, name=item["name"], error=str(exc))) from exc
    _check_size(context, user_id, len(content))
    return content


def _check_size(context: Context, user_id: int, size: int | None) -> None:
    if size and size > MAX_DOWNLOAD:
        raise Refused(
            context.services.t("posts.np_too_big", user_id, size=size_text(size), limit=size_text(MAX_DOWNLOAD))
        )

"""Files that admins send for mass sends: what a message carries, checked and downloaded.

Shared by the /mass flow (audience files, media) and by /lists and /optout (number files).
Every file is hostile until checked: its size before it is downloaded, its extension and type.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from telegram import Message

from bot.runtime.context import Context

#: Telegram lets a bot download files up to 20 MB through getFile.
TELEGRAM_DOWNLOAD_MAX = 20 * 1024 * 1024
#: an audience or opt-out file larger than this is refused (about 100,000 numbers)
NUMBERS_FILE_MAX = 2 * 1024 * 1024
NUMBER_FILE_EXTENSIONS = frozenset({"csv", "txt", "tsv", "text"})

_EXT = re.compile(r"^[a-z0-9]{1,10}$")


@dataclass(frozen=True)
class Attachment:
    """The file a message carries: its Telegram id, size (None when Telegram did not say),
    extension (lower case, no dot), original name and kind (photo, video, audio, document)."""

    file_id: str
    size: int | None
    extension: str
    name: str
    kind: str
    mime: str = ""


def _extension(name: str | None, mime: str | None, default: str) -> str:
    if name and "." in name:
        ext = name.rsplit(".", 1)[1].strip().lower()
        if _EXT.match(ext):
            return ext
    if mime:
        guessed = mimetypes.guess_extension(mime.split(";")[0].strip()) or ""
        ext = guessed.lstrip(".").lower()
        if ext == "jpe":
            ext = "jpg"
        if _EXT.match(ext):
            return ext
    return default


def attachment_of(message: Message | None) -> Attachment | None:
    """The one file of ``message`` (the largest size of a photo), or None."""
    if message is None:
        return None
    if message.photo:
        photo = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        return Attachment(photo.file_id, photo.file_size, "jpg", "photo.jpg", "photo", "image/jpeg")
    if message.video:
        v = message.video
        ext = _extension(v.file_name, v.mime_type, "mp4")
        return Attachment(v.file_id, v.file_size, ext, v.file_name or f"video.{ext}", "video", v.mime_type or "")
    if message.animation:
        g = message.animation
        ext = _extension(g.file_name, g.mime_type, "mp4")
        return Attachment(g.file_id, g.file_size, ext, g.file_name or f"animation.{ext}", "video", g.mime_type or "")
    if message.audio:
        a = message.audio
        ext = _extension(a.file_name, a.mime_type, "mp3")
        return Attachment(a.file_id, a.file_size, ext, a.file_name or f"audio.{ext}", "audio", a.mime_type or "")
    if message.voice:
        vo = message.voice
        return Attachment(vo.file_id, vo.file_size, "ogg", "voice.ogg", "audio", vo.mime_type or "")
    if message.document:
        d = message.document
        ext = _extension(d.file_name, d.mime_type, "bin")
        return Attachment(d.file_id, d.file_size, ext, d.file_name or f"file.{ext}", "document", d.mime_type or "")
    return None


def is_numbers_file(attachment: Attachment) -> bool:
    return attachment.kind == "document" and (
        attachment.extension in NUMBER_FILE_EXTENSIONS or attachment.mime.startswith("text/")
    )


class TooBig(Exception):
    """The file is over ``limit`` bytes (``size`` is what it is)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes over {limit}")
        self.size = size
        self.limit = limit


async def download_bytes(context: Context, attachment: Attachment, limit: int) -> bytes:
    """The file's content; :class:`TooBig` before downloading when Telegram says it is too big,
    or after, when it lied."""
    if attachment.size is not None and attachment.size > limit:
        raise TooBig(attachment.size, limit)
    file = await context.bot.get_file(attachment.file_id)
    if file.file_size is not None and file.file_size > limit:
        raise TooBig(file.file_size, limit)
    data = bytes(await file.download_as_bytearray())
    if len(data) > limit:
        raise TooBig(len(data), limit)
    return data


async def download_to(context: Context, attachment: Attachment, path: Path, limit: int) -> int:
    """Save the file to ``path``; returns its size. :class:`TooBig` as for :func:`download_bytes`."""
    if attachment.size is not None and attachment.size > limit:
        raise TooBig(attachment.size, limit)
    file = await context.bot.get_file(attachment.file_id)
    if file.file_size is not None and file.file_size > limit:
        raise TooBig(file.file_size, limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    await file.download_to_drive(custom_path=path)
    size = path.stat().st_size
    if size > limit:
        path.unlink(missing_ok=True)
        raise TooBig(size, limit)
    return size

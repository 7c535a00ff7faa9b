"""Files to send: what a file is (:class:`MediaKind`, which decides its Func and its limit) and
:class:`Media`, read lazily and streamed as base64 into a form body."""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

CreditKind = Literal["message", "photo", "video", "file", "other"]
LimitKind = Literal["photo", "video", "file"]


class MediaKind(str, enum.Enum):
    """What a file is, which decides the Func that sends it and the limit it is checked against."""

    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"
    DOCUMENT = "document"
    FILE = "file"

    @property
    def limit_kind(self) -> LimitKind:
        """APIGetLimits has Photo, Video and File: everything else counts as a file."""
        if self is MediaKind.PHOTO:
            return "photo"
        return "video" if self is MediaKind.VIDEO else "file"

    @property
    def credit_kind(self) -> CreditKind:
        return self.limit_kind


_KIND_BY_EXTENSION: Mapping[str, MediaKind] = MappingProxyType(
    {
        **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp", "bmp", "heic"), MediaKind.PHOTO),
        **dict.fromkeys(("mp4", "mov", "avi", "mkv", "webm", "3gp", "m4v", "mpeg", "mpg"), MediaKind.VIDEO),
        **dict.fromkeys(("mp3", "ogg", "oga", "wav", "m4a", "aac", "opus", "flac", "amr"), MediaKind.AUDIO),
        **dict.fromkeys(("txt",), MediaKind.TEXT),
        **dict.fromkeys(
            ("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "csv"), MediaKind.DOCUMENT
        ),
    }
)

# A chunk of the source is read, base64-encoded and percent-encoded at a time; a multiple of 3
# so that chunks encode without padding and simply concatenate.
DEFAULT_CHUNK = 3 * 128 * 1024


def _form_escape(b64: bytes) -> bytes:
    # The three base64 characters that are not safe in a form value.
    return b64.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")


class Media:
    """A file to send: from a path (read lazily, in chunks) or from bytes, plus its extension.

    ``size`` is known without reading the file; :meth:`form_chunks` streams the base64 of the
    content already percent-encoded for a form body, one chunk at a time, so a 50 MB video is
    never held whole in memory (let alone as base64 and as an encoded body besides).
    """

    def __init__(
        self,
        source: bytes | str | os.PathLike[str],
        extension: str | None = None,
        *,
        kind: MediaKind | str | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._data: bytes | None = bytes(source)
            self._path: Path | None = None
            self._size = len(self._data)
        else:
            self._data = None
            self._path = Path(source)
            self._size = self._path.stat().st_size
            if extension is None:
                extension = self._path.suffix
        self.extension = _clean_extension(extension)
        self.kind = MediaKind(kind) if kind is not None else _KIND_BY_EXTENSION.get(self.extension, MediaKind.FILE)
        if self._size == 0:
            raise ValueError("the file is empty")
        if chunk_size < 3:
            raise ValueError("chunk_size must be at least 3")
        self._chunk = chunk_size - chunk_size % 3
        self._form_length: int | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], extension: str | None = None, **kwargs: Any) -> Media:
        return cls(path, extension, **kwargs)

    @classmethod
    def from_bytes(cls, data: bytes, extension: str, **kwargs: Any) -> Media:
        return cls(data, extension, **kwargs)

    @property
    def size(self) -> int:
        """The size of the content in bytes."""
        return self._size

    @property
    def base64_length(self) -> int:
        return 4 * ((self._size + 2) // 3)

    @property
    def name(self) -> str:
        return self._path.name if self._path is not None else f"data.{self.extension}"

    def __repr__(self) -> str:
        return f"Media({self.name!r}, {self.kind.value}, {self._size:,} bytes)"

    async def form_length(self) -> int:
        """The length of :meth:`form_chunks` in total (one pass over the content, then cached):
        the request needs a Content-Length, and '+' and '/' grow to three characters each."""
        if self._form_length is None:
            extra = 0
            async for b64 in self._base64_chunks():
                extra += 2 * (b64.count(b"+") + b64.count(b"/") + b64.count(b"="))
            self._form_length = self.base64_length + extra
        return self._form_length

    async def sha256(self) -> str:
        """The SHA-256 of the content, in hex (one pass over it, chunk by chunk)."""
        digest = hashlib.sha256()
        async for raw in self._raw_chunks():
            digest.update(raw)
        return digest.hexdigest()

    async def form_chunks(self) -> AsyncIterator[bytes]:
        """The base64 of the content, percent-encoded for a form body, chunk by chunk."""
        async for b64 in self._base64_chunks():
            yield _form_escape(b64)

    async def _base64_chunks(self) -> AsyncIterator[bytes]:
        total = 0
        async for raw in self._raw_chunks():
            total += len(raw)
            yield base64.b64encode(raw)
        if total != self._size:
            raise ValueError(f"{self.name} changed while it was being sent ({total:,} bytes, not {self._size:,})")

    async def _raw_chunks(self) -> AsyncIterator[bytes]:
        if self._data is not None:
            for chunk in _slices(self._data, self._chunk):
                yield chunk
            return
        assert self._path is not None
        handle = await asyncio.to_thread(self._path.open, "rb")
        try:
            carry = b""
            while True:
                # Reads run in a thread so a slow disk does not stall the event loop.
                block = await asyncio.to_thread(handle.read, self._chunk)
                if not block:
                    break
                block = carry + block
                cut = len(block) - len(block) % 3
                carry = block[cut:]
                if cut:
                    yield block[:cut]
            if carry:
                yield carry
        finally:
            await asyncio.to_thread(handle.close)


def _slices(data: bytes, size: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])


def _clean_extension(extension: str | None) -> str:
    text = (extension or "").strip().lstrip(".").lower()
    if not text or not text.isascii() or not text.isalnum() or len(text) > 10:
        raise ValueError(f"a file extension such as 'jpg' is needed (got {extension!r})")
    return text

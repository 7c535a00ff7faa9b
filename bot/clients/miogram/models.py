"""MioGram data: the exception tree, typed results, media files and the table of functions.

Imported by :mod:`bot.clients.miogram.client` (which re-exports every public name): callers import from there.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

MAX_MASS = 100  # numbers per *Mass request: the provider's own advice, and the batch ceiling
MIB = 1_048_576


# --- exceptions


class MioGramError(Exception):
    """Base of every MioGram failure. ``code`` is the service's numeric code (None when the
    failure is not an answer of the service); ``str()`` is short, human and never holds the secret."""

    code: int | None = None
    title: str = "MioGram error"

    def __init__(
        self,
        detail: str = "",
        *,
        code: int | None = None,
        func: str | None = None,
        numbers: Sequence[str] = (),
    ) -> None:
        if code is not None:
            self.code = code
        self.detail = " ".join(detail.split())[:200]
        self.func = func
        self.numbers: tuple[str, ...] = tuple(numbers)
        super().__init__(self.describe())

    def describe(self) -> str:
        """The one-line text of ``str()``."""
        head = f"MioGram {self.code} {self.title}" if self.code is not None else f"MioGram {self.title}"
        detail = self.detail.strip()
        if detail and detail.rstrip(" .").lower() != self.title.lower():
            head = f"{head}: {detail}"
        return f"{head} ({self.func})" if self.func else head


class MioGramTransportError(MioGramError):
    """The answer never came: connection refused or dropped, timeout, or a non-200 status from
    something between us and the service (the service itself always answers 200)."""

    title = "transport error"

    def __init__(self, detail: str = "", *, status: int | None = None, timeout: bool = False, **kwargs: Any) -> None:
        self.status = status
        self.timeout = timeout
        super().__init__(detail, **kwargs)

    @property
    def retryable(self) -> bool:
        """True when repeating a read may help (not for a 4xx from a proxy)."""
        return self.status is None or self.status >= 500 or self.status == 429


class MioGramMalformed(MioGramError):
    """The body is not a usable answer: empty, not JSON, ``null``, a PHP warning, a wrong shape."""

    title = "malformed answer"


class MioGramOutcomeUnknown(MioGramError):
    """A send may or may not have gone out (999, lost connection, timeout, garbled answer).
    ``numbers`` are the numbers of that request; they must not be resent without a human's word."""

    title = "send outcome unknown"

    def __init__(self, detail: str = "", *, cause: MioGramError | None = None, **kwargs: Any) -> None:
        self.cause = cause
        kwargs.setdefault("code", cause.code if cause is not None else None)
        if not detail and cause is not None:
            detail = cause.detail or cause.title
        super().__init__(detail, **kwargs)

    def describe(self) -> str:
        head = f"MioGram {self.title}"
        if self.detail:
            head = f"{head}: {self.detail}"
        if self.func:
            head = f"{head} ({self.func}, {len(self.numbers)} numbers)"
        return head


class MioGramServiceError(MioGramError):
    """The service answered with an error; subclasses name each documented code."""

    title = "service error"


class MioGramAccessError(MioGramServiceError):
    """The account or its settings refuse the call: fix the configuration, retrying won't help."""


class MioGramGatewayError(MioGramServiceError):
    """A fault between the web service and its sending gateway: report it to the provider."""


class MioGramRequestError(MioGramServiceError):
    """The request itself was refused (bad Func, bad input, bad number or file)."""


class MioGramLimitError(MioGramServiceError):
    """Content over the account's limits. ``limit``/``actual`` are bytes when the client found it
    (None when the service refused it)."""

    unit = "bytes"

    def __init__(self, detail: str = "", *, limit: int | None = None, actual: int | None = None, **kwargs: Any) -> None:
        self.limit = limit
        self.actual = actual
        if not detail and limit is not None and actual is not None:
            detail = f"{actual:,} {self.unit} against a limit of {limit:,}"
        super().__init__(detail, **kwargs)


class MioGramCreditError(MioGramServiceError):
    """Not enough credit: nothing of the request went out."""


class MioGramEmptySecret(MioGramAccessError):
    code, title = 800, "Empty Secret"


class MioGramInvalidSecret(MioGramAccessError):
    code, title = 801, "Invalid Secret"


class MioGramInvalidIP(MioGramAccessError):
    code, title = 802, "Invalid IP Address"


class MioGramBadRequest(MioGramRequestError):
    code, title = 812, "Bad Request"


class MioGramGatewayToken(MioGramGatewayError):
    code, title = 813, "Invalid Token"


class MioGramGatewayIP(MioGramGatewayError):
    code, title = 814, "Invalid IP Address (gateway)"


class MioGramSessionBlocked(MioGramAccessError):
    code, title = 815, "Session Blocked"


class MioGramAccountNotActivated(MioGramAccessError):
    code, title = 826, "Account Not Activated"


class MioGramNoRobot(MioGramAccessError):
    code, title = 827, "No Robot Has Been Set Yet"


class MioGramNoUserId(MioGramRequestError):
    code, title = 301, "No UserID"


class MioGramBadFunc(MioGramRequestError):
    code, title = 302, "Bad Request of Func"


class MioGramFileTooBig(MioGramLimitError):
    code, title = 303, "File Size is Too High"


class MioGramMessageTooLong(MioGramLimitError):
    code, title = 304, "Message Length is Too High"

    def __init__(self, detail: str = "", *, footer: int = 0, **kwargs: Any) -> None:
        self.footer = footer
        limit, actual = kwargs.get("limit"), kwargs.get("actual")
        if not detail and limit is not None and actual is not None:
            extra = f" (ad footer {footer:,} included)" if footer else ""
            detail = f"{actual:,} UTF-8 bytes{extra} against a limit of {limit:,}"
        super().__init__(detail, **kwargs)


class MioGramNoCredit(MioGramCreditError):
    code, title = 305, "No Credit"


class MioGramLowCredit(MioGramCreditError):
    code, title = 306, "Low Credit"


class MioGramNumberWrong(MioGramRequestError):
    code, title = 307, "Number Not Exist or Wrong"


class MioGramPermissionDenied(MioGramAccessError):
    code, title = 309, "Permission Denied"


class MioGramNoInput(MioGramRequestError):
    code, title = 330, "No Input"


class MioGramInvalidFile(MioGramRequestError):
    code, title = 400, "No Valid File"


class MioGramWhatsAppNotSupported(MioGramRequestError):
    code, title = 101, "WhatsApp Not Supported"


class MioGramSecretChanged(MioGramServiceError):
    """407: the success answer of APIChangeSecret, an error only when it comes elsewhere."""

    code, title = 407, "Secret Changed"


class MioGramIPSet(MioGramServiceError):
    """409: the success answer of APISetIP, an error only when it comes elsewhere."""

    code, title = 409, "Allow IP Sets"


class MioGramNoData(MioGramServiceError):
    code, title = 111, "No DATA"


class MioGramNoResponse(MioGramServiceError):
    code, title = 999, "No Response From Server"


ERRORS_BY_CODE: Mapping[int, type[MioGramServiceError]] = MappingProxyType(
    {
        cls.code: cls
        for cls in (
            MioGramEmptySecret,
            MioGramInvalidSecret,
            MioGramInvalidIP,
            MioGramBadRequest,
            MioGramGatewayToken,
            MioGramGatewayIP,
            MioGramSessionBlocked,
            MioGramAccountNotActivated,
            MioGramNoRobot,
            MioGramNoUserId,
            MioGramBadFunc,
            MioGramFileTooBig,
            MioGramMessageTooLong,
            MioGramNoCredit,
            MioGramLowCredit,
            MioGramNumberWrong,
            MioGramPermissionDenied,
            MioGramNoInput,
            MioGramInvalidFile,
            MioGramWhatsAppNotSupported,
            MioGramSecretChanged,
            MioGramIPSet,
            MioGramNoData,
            MioGramNoResponse,
        )
        if cls.code is not None
    }
)

# The Message texts of the error table (and the server's own variants), for answers without a code.
CODES_BY_TEXT: Mapping[str, int] = MappingProxyType(
    {
        "empty secret": 800,
        "invalid secret": 801,
        "invalid ip address": 802,
        "bad request": 812,
        "invalid token": 813,
        "session blocked": 815,
        "account not activated": 826,
        "no robot has been set yet": 827,
        "no userid": 301,
        "bad request of func": 302,
        "file size is too high": 303,
        "message length is too high": 304,
        "no credit": 305,
        "low credit": 306,
        "number not exist or wrong": 307,
        "permission denied": 309,
        "no input": 330,
        "no valid file": 400,
        "not valid file": 400,
        "secret changed": 407,
        "allow ip sets": 409,
        "no data": 111,
        "no response from server": 999,
        "whatsapp not supported": 101,
    }
)


def error_for(
    code: int | None, detail: str = "", *, func: str | None = None, numbers: Sequence[str] = ()
) -> MioGramServiceError:
    """The typed exception for a service error ``code`` (a generic one for unknown codes)."""
    cls = ERRORS_BY_CODE.get(code) if code is not None else None
    if cls is None:
        return MioGramServiceError(detail, code=code, func=func, numbers=numbers)
    return cls(detail, func=func, numbers=numbers)


# --- secrets


class Secret:
    """A secret value that shows as ``***`` in ``repr``/``str``; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


# --- results


class Outcome(str, enum.Enum):
    """What happened to one number of a send."""

    SENT = "sent"  # the service reported delivery (true)
    NOT_DELIVERED = "not_delivered"  # the service reported false: not delivered, not charged
    INVALID = "invalid"  # refused before sending, or "Number Not Exist or Wrong"
    SKIPPED = "skipped"  # never attempted (an earlier batch stopped the send)
    UNKNOWN = "unknown"  # may or may not have gone out: never resend without a human's word


CreditKind = Literal["message", "photo", "video", "file", "other"]
LimitKind = Literal["photo", "video", "file"]


@dataclass(frozen=True)
class Limits:
    """The account's limits (APIGetLimits): the message limit counts UTF-8 bytes."""

    message_bytes: int
    photo_bytes: int
    video_bytes: int
    file_bytes: int
    can_get: bool
    is_super: bool

    def for_kind(self, kind: str) -> int:
        """The size limit in bytes for a ``photo``, ``video`` or ``file``."""
        return {"photo": self.photo_bytes, "video": self.video_bytes, "file": self.file_bytes}[kind]


@dataclass(frozen=True)
class Credits:
    """Credit left per kind (APIGetCredits); 0 or -1 means exhausted (a single send still goes
    out at 0, a Mass needs at least one credit per number)."""

    message: int
    photo: int
    video: int
    file: int
    other: int

    def for_kind(self, kind: str) -> int:
        return int(getattr(self, kind))


@dataclass
class BatchResult:
    """The outcome of one *Mass request: an :class:`Outcome` for every input number (keyed by
    the number as given), the reason of each INVALID one, and the service's Status."""

    func: str
    numbers: tuple[str, ...]
    outcomes: dict[str, Outcome]
    reasons: dict[str, str] = field(default_factory=dict)
    status: str | None = None

    def with_outcome(self, outcome: Outcome) -> list[str]:
        """The input numbers whose outcome is ``outcome``, in input order."""
        return [n for n in self.numbers if self.outcomes.get(n) is outcome]

    @property
    def sent(self) -> list[str]:
        return self.with_outcome(Outcome.SENT)

    @property
    def not_delivered(self) -> list[str]:
        return self.with_outcome(Outcome.NOT_DELIVERED)

    @property
    def invalid(self) -> list[str]:
        return self.with_outcome(Outcome.INVALID)

    @property
    def unknown(self) -> list[str]:
        return self.with_outcome(Outcome.UNKNOWN)


@dataclass
class MassResult:
    """A whole mass send split into batches: one outcome per distinct input number (invalid ones
    keyed by their raw text), the duplicates dropped, each batch, and the error that stopped it."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)
    error: MioGramError | None = None

    def counts(self) -> dict[Outcome, int]:
        """How many numbers ended in each outcome (every outcome present, zeros included)."""
        counts = dict.fromkeys(Outcome, 0)
        for outcome in self.outcomes.values():
            counts[outcome] += 1
        return counts

    def with_outcome(self, outcome: Outcome) -> list[str]:
        return [n for n, o in self.outcomes.items() if o is outcome]


# --- media


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


# --- the functions of the web service (v1.2)

FuncKind = Literal["send", "write", "read"]
PhoneArity = Literal["none", "one", "many"]


@dataclass(frozen=True)
class FuncSpec:
    """One Func: whether it sends to numbers (never repeated), changes state (not repeated
    either) or only reads (repeated on 999 / transport errors), how many numbers it takes, the
    permission it needs and the credit a send uses."""

    name: str
    kind: FuncKind
    phone: PhoneArity = "none"
    permission: Literal["", "isSuper", "canGet"] = ""
    credit: CreditKind | None = None


FUNCTIONS: Mapping[str, FuncSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            FuncSpec("SetStatusOnline", "write", permission="isSuper"),
            FuncSpec("SendTyping", "write", "one", "isSuper"),
            FuncSpec("SendMessage", "send", "one", credit="message"),
            FuncSpec("SendMessageMass", "send", "many", credit="message"),
            FuncSpec("SendMessageWhatsApp", "send", "one", credit="message"),
            FuncSpec("SendMessageWhatsAppMass", "send", "many", credit="message"),
            FuncSpec("CreateGroupChat", "write", "many", "isSuper"),
            FuncSpec("ChatInfo", "read", permission="canGet"),
            FuncSpec("RenameChat", "write", permission="isSuper"),
            FuncSpec("ChatAddUser", "write", "one", "isSuper"),
            FuncSpec("ChatDeleteUser", "write", "one", "isSuper"),
            FuncSpec("SetProfileName", "write", permission="isSuper"),
            FuncSpec("BlockUser", "write", "one", "isSuper"),
            FuncSpec("UnBlockUser", "write", "one", "isSuper"),
            FuncSpec("MarkRead", "write", "one", "isSuper"),
            FuncSpec("GetUserInfo", "read", "one", "canGet"),
            FuncSpec("GetDialogList", "read", permission="canGet"),
            FuncSpec("GetHistory", "read", "one", "canGet"),
            FuncSpec("SetUsername", "write", permission="isSuper"),
            FuncSpec("SetProfilePhoto", "write", permission="isSuper"),
            FuncSpec("SendPhoto", "send", "one", credit="photo"),
            FuncSpec("SendVideo", "send", "one", credit="video"),
            FuncSpec("SendAudio", "send", "one", credit="file"),
            FuncSpec("SendText", "send", "one", credit="file"),
            FuncSpec("SendFile", "send", "one", credit="file"),
            FuncSpec("SendDocument", "send", "one", credit="file"),
            FuncSpec("SendPhotoMass", "send", "many", credit="photo"),
            FuncSpec("SendVideoMass", "send", "many", credit="video"),
            FuncSpec("SendFileMass", "send", "many", credit="file"),
            FuncSpec("SendLocation", "send", "one", credit="other"),
            FuncSpec("SendContact", "send", "one", credit="other"),
            FuncSpec("APIGetLimits", "read"),
            FuncSpec("APIGetCredits", "read"),
            FuncSpec("APIGetIP", "read"),
            FuncSpec("APISetIP", "write"),
            FuncSpec("APIChangeSecret", "write"),
            FuncSpec("APIGetRobot", "read"),
            FuncSpec("APIGetActive", "read"),
            FuncSpec("APIGetUsername", "read"),
            FuncSpec("APIisSuper", "read"),
            FuncSpec("APIcanGet", "read"),
            FuncSpec("APIGetAds", "read"),
            FuncSpec("APIGetReport", "read"),
        )
    }
)

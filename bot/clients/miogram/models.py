"""MioGram data: what a send came to (:class:`Outcome`, :class:`BatchResult`,
:class:`MassResult`), the account's :class:`Limits` and :class:`Credits`, the :class:`Secret`
wrapper and the table of the service's functions (:data:`FUNCTIONS`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from bot.clients.miogram.errors import MioGramError
from bot.clients.miogram.media import CreditKind

MAX_MASS = 100  # numbers per *Mass request: the provider's own advice, and the batch ceiling
MIB = 1_048_576


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

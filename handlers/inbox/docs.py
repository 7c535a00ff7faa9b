"""The typed documents of the ``inbox`` table, and the one place a stored document becomes one.

Keys and life cycle: :mod:`handlers.inbox.records`. The documents:

* :class:`CommentRecord` and :class:`DmRecord` – an item with a card (a comment; a burst of
  direct messages from one person): :data:`ItemRecord`
* :class:`MessageRecord` – one inbound direct message, until it is grouped into a DM card
* :class:`ConversationPointer` – the DM card a conversation's next message may join
* :class:`DigestRecord` – a digest message and the items it lists
* :class:`OwnMarker` – a comment or message the bot itself wrote (never forwarded)

The item snapshots inside them are :mod:`handlers.inbox.snapshots`'. Records written by older
versions may lack keys: the readers here (:func:`item_record`, :func:`message_record`,
:func:`digest_record`, :func:`pointer_record`) give them the defaults the code always assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, TypeVar, cast

from handlers.inbox.snapshots import (
    COMMENT_DEFAULTS,
    HOLDER_DEFAULTS,
    MESSAGE_DEFAULTS,
    CommentItem,
    ConversationItem,
    Holder,
    MessageItem,
)


class LogEntry(TypedDict):
    """One action on an item, as its card lists it."""

    a: str  # replied, liked, unliked, tagged, deleted, done
    by: str  # who (a Telegram user's name)
    text: NotRequired[str]  # a reply's excerpt, or the tags set
    file: NotRequired[str]  # a reply's attachment


class Claimed(TypedDict):
    """What every claimed item records: its delivery state, when and how it was claimed."""

    status: str
    at: float
    seq: int  # claim order (nanoseconds): cards go out in it
    updated: float
    source: str | None  # poll, webhook or backfill
    attempts: int  # Telegram refusals of its card
    log: list[LogEntry]


class CardRecord(Claimed):
    """An item that gets a card: where its card (or digest line) is, and who closed it."""

    account_id: int | None
    card: NotRequired[str]  # "<chat id>:<message id>"
    card_chat: NotRequired[int]
    card_message: NotRequired[int]
    stale: NotRequired[bool]  # the card shows less than the record (a DM card that grew)
    delivered_at: NotRequired[float]
    digest: NotRequired[str]  # the digest listing it
    by: NotRequired[str]  # who acted on it last
    error: NotRequired[str]  # Telegram's last refusal


class CommentRecord(CardRecord):
    type: Literal["comment"]
    item: CommentItem
    enriched: bool  # its post and commenter were asked for


class DmItem(TypedDict):
    conversation: ConversationItem
    messages: list[MessageItem]  # oldest first


class DmRecord(CardRecord):
    type: Literal["dm"]
    item: DmItem
    last_at: float  # when its newest message joined


#: An item with a card.
ItemRecord = CommentRecord | DmRecord


class MessageRecord(Claimed):
    """One inbound direct message: its dedupe key, then a pointer to the DM card it joined."""

    type: Literal["msg"]
    message: MessageItem
    conversation_id: int | None
    conversation: ConversationItem | None  # None until Resont was asked (a webhook push)
    outbound: bool | None
    check_direction: bool  # whether the conversation must tell who sent it
    record: NotRequired[str]  # the key of the DM card it was grouped into


class ConversationPointer(TypedDict):
    type: Literal["conv"]
    record: str  # the conversation's current DM card
    updated: float


class DigestRecord(TypedDict):
    type: Literal["digest"]
    kind: str  # comment or dm
    items: list[str]  # the record keys it lists, in its order
    chat: int
    message_id: int
    part: int
    parts: int
    at: float
    updated: float
    status: str
    by: NotRequired[str]


class OwnMarker(TypedDict):
    type: Literal["own"]
    status: Literal["own"]
    at: float
    updated: float


#: Every document of the ``inbox`` table.
InboxDoc = CommentRecord | DmRecord | MessageRecord | ConversationPointer | DigestRecord | OwnMarker


def holder_of(record: ItemRecord) -> Holder:
    """The part of an item that says who wrote it on which account and carries its tags: the
    comment itself, or a DM card's conversation."""
    if record["type"] == "dm":
        return record["item"]["conversation"]
    return record["item"]


D = TypeVar("D", CommentRecord, DmRecord, MessageRecord, ConversationPointer, DigestRecord)


def stored(kind: type[D], doc: dict[str, Any]) -> D:
    """The boundary: a stored document (already given the defaults of the keys older versions
    did not write) read as its :class:`TypedDict`, ``kind``."""
    return cast(D, doc)


def _claimed(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"seq": 0, "at": 0.0, "updated": raw.get("at", 0.0), "source": None, "attempts": 0, "log": [], **raw}


def _holder(raw: Mapping[str, Any], defaults: Mapping[str, object]) -> dict[str, Any]:
    return {**defaults, "tags": [], **raw}


def item_record(raw: Mapping[str, Any]) -> ItemRecord | None:
    """A stored comment or DM card as its record; None for any other document."""
    if raw.get("type") == "comment":
        comment = {"account_id": None, "enriched": False, **_claimed(raw)}
        comment["item"] = _holder(raw["item"], COMMENT_DEFAULTS)
        return stored(CommentRecord, comment)
    if raw.get("type") == "dm":
        dm = {"account_id": None, "last_at": 0.0, **_claimed(raw)}
        messages = [{**MESSAGE_DEFAULTS, **m} for m in raw["item"].get("messages", [])]
        dm["item"] = {"conversation": _holder(raw["item"]["conversation"], HOLDER_DEFAULTS), "messages": messages}
        return stored(DmRecord, dm)
    return None


def message_record(raw: Mapping[str, Any]) -> MessageRecord | None:
    """A stored message record; None for any other document."""
    if raw.get("type") != "msg":
        return None
    doc = {"conversation_id": None, "conversation": None, "outbound": None, "check_direction": False, **_claimed(raw)}
    doc["message"] = {**MESSAGE_DEFAULTS, **raw["message"]}
    if doc["conversation"] is not None:
        doc["conversation"] = _holder(doc["conversation"], HOLDER_DEFAULTS)
    return stored(MessageRecord, doc)


def digest_record(raw: Mapping[str, Any]) -> DigestRecord:
    """A stored digest (a missing kind, part or count read as the code always read them)."""
    defaults = {"kind": "comment", "items": [], "part": 1, "parts": 1, "at": 0.0, "updated": raw.get("at", 0.0)}
    return stored(DigestRecord, {**defaults, **raw})


def pointer_record(raw: Mapping[str, Any]) -> ConversationPointer | None:
    """A conversation's pointer to its DM card; None when it names none."""
    if not raw.get("record"):
        return None
    return stored(ConversationPointer, {"type": "conv", "updated": 0.0, **raw})


def to_doc(doc: InboxDoc) -> dict[str, Any]:
    """What the store keeps of a document (a plain dict)."""
    return dict(doc)

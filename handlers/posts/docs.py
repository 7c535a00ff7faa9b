"""The typed documents of the ``approvals`` table, and the table read and written through them.

The table holds two kinds of document:

* an :class:`ApprovalDoc` per carded post group, keyed by the post group id: the card's state
  (one of the names below), the :class:`ViewDoc` the card shows, the fingerprint of the content
  the admins saw, the approvals so far, the decision and where the card is;
* a :class:`RetryDoc` per failure alert, keyed ``retry:<post group id>``: the alert's text and
  whether a Retry is under way.

:class:`ApprovalTable` is the only reader and writer of the table: what it reads goes through
:func:`approval_from_doc` or :func:`retry_from_doc`, which fill the keys that documents written
by older versions of the bot lack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NotRequired, Required, TypedDict, cast

from bot.store.state import Table

#: Card states (an :class:`ApprovalDoc`'s ``state``).
SENDING: Final = "sending"  # claimed by a poll, card not yet sent
PENDING: Final = "pending"  # waiting for a decision
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
GONE: Final = "gone"  # deleted in Resont
FINAL_STATES: Final = frozenset({APPROVED, REJECTED, GONE})

#: Failure alert states (a :class:`RetryDoc`'s ``state``).
ALERT_OPEN: Final = "open"
RETRYING: Final = "retrying"
RETRY_GONE: Final = "gone"

RETRY_PREFIX: Final = "retry:"

#: An account on a card: [account id, name, network].
AccountItem = list[int | str]
#: Account id -> [name, network]: the accounts the last poll saw (kept in the ``cursors`` table
#: as ``posts.accounts``), for drawing cards, alerts and lists.
AccountNames = Mapping[int, Sequence[str]]


class ViewDoc(TypedDict, total=False):
    """A stored :class:`~handlers.posts.postview.PostView` (keys it lacks take its defaults)."""

    id: Required[int]
    kind: Required[str]  # "draft" or "scheduled"
    type: str
    caption: str
    custom_captions: dict[str, str]
    accounts: list[AccountItem]
    media_ids: list[int]
    schedule_ts: float | None
    author: str
    photo_url: str
    first_media: str


class ApprovalMark(TypedDict):
    """One admin's approval of what the card showed."""

    id: int
    name: str
    at: float


class DecisionDoc(TypedDict, total=False):
    """The decision on a card: an admin's (approved, scheduled, published, cancelled, deleted) or
    Resont's (``gone``, with the post's ``status`` when Resont closed it)."""

    by: Required[int | str]
    at: Required[float]
    outcome: Required[str]
    name: str
    names: str
    schedule_ts: float | None
    reason: str | None
    status: str | None


class ErrorDoc(TypedDict):
    """The last Resont error shown on a card."""

    message: str
    trace_id: str | None
    status: int | None


class CaptionDraft(TypedDict):
    """A new caption an admin typed, previewed with Save / Discard."""

    text: str
    by: int
    at: float


class ApprovalDoc(TypedDict):
    """The approval card of post group ``pg``. A poll's claim (state ``sending``) has no
    ``view`` yet; a card that was sent has ``chat_id``, ``message_id`` and ``card`` (photo or
    text). ``override_ts`` is a time the bot keeps for a draft while Resont does not hold it;
    ``missed_ts`` and ``reminded_ts`` the times the card was marked missed and reminded for."""

    pg: int
    state: str
    approvals: list[ApprovalMark]
    asking: bool  # the card asks "publish now, or pick a time?"
    error: ErrorDoc | None
    override_ts: float | None
    view: NotRequired[ViewDoc]
    fp: NotRequired[str]
    created: NotRequired[float]
    at: NotRequired[float]  # when a poll claimed it
    chat_id: NotRequired[int]
    message_id: NotRequired[int]
    card: NotRequired[str]
    note: NotRequired[str]
    decision: NotRequired[DecisionDoc]
    caption_drafts: NotRequired[dict[str, CaptionDraft]]
    missed_ts: NotRequired[float | None]
    reminded_ts: NotRequired[float | None]
    required: NotRequired[int]  # older documents: the approvals needed when it was carded


class RetryDoc(TypedDict, total=False):
    """A failure alert: its text, and who asked for a Retry when (``state`` ``retrying``)."""

    state: Required[str]
    text: Required[str]
    at: float
    by: int
    name: str


def approval_from_doc(raw: Mapping[str, Any]) -> ApprovalDoc:
    """A stored approval document as an :class:`ApprovalDoc` (keys that older documents lack
    are filled with their defaults)."""
    doc = dict(raw)
    for name, default in (("approvals", []), ("asking", False), ("error", None), ("override_ts", None)):
        doc.setdefault(name, default)
    return cast(ApprovalDoc, doc)


def retry_from_doc(raw: Mapping[str, Any]) -> RetryDoc:
    """A stored failure alert document as a :class:`RetryDoc`."""
    doc = dict(raw)
    doc.setdefault("state", ALERT_OPEN)
    doc.setdefault("text", "")
    return cast(RetryDoc, doc)


def new_approval(pg: int, state: str) -> ApprovalDoc:
    """An approval document with nothing on it yet."""
    return {"pg": pg, "state": state, "approvals": [], "asking": False, "error": None, "override_ts": None}


class ApprovalTable:
    """The ``approvals`` table, typed: cards by post group id, failure alerts by
    ``retry:<post group id>``."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, pg: int) -> ApprovalDoc | None:
        raw = self.table.get(str(pg))
        return None if raw is None else approval_from_doc(raw)

    def put(self, doc: ApprovalDoc) -> None:
        self.table.put(str(doc["pg"]), dict(doc))

    def claim(self, doc: ApprovalDoc) -> bool:
        """Write ``doc`` unless the post group has a document already; True when written."""
        return self.table.insert_new(str(doc["pg"]), dict(doc))

    def delete(self, pg: int) -> None:
        self.table.delete(str(pg))

    def find(self, predicate: Callable[[ApprovalDoc], bool]) -> list[ApprovalDoc]:
        """Every approval document that ``predicate`` holds for."""
        docs = (approval_from_doc(raw) for key, raw in self.table.items() if not key.startswith(RETRY_PREFIX))
        return [doc for doc in docs if predicate(doc)]

    def prune(self, state: str) -> int:
        """Delete the approval documents in ``state``; returns how many."""
        return self.table.prune(lambda raw: raw.get("state") == state and "pg" in raw)

    def retry(self, pg: int) -> RetryDoc | None:
        """The failure alert of post group ``pg``, if one was raised."""
        raw = self.table.get(f"{RETRY_PREFIX}{pg}")
        return None if raw is None else retry_from_doc(raw)

    def put_retry(self, pg: int, doc: RetryDoc) -> None:
        self.table.put(f"{RETRY_PREFIX}{pg}", dict(doc))

    def delete_retry(self, pg: int) -> None:
        self.table.delete(f"{RETRY_PREFIX}{pg}")

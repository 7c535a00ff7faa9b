"""A conversation's cursor: which of its messages the DM poll has already handled.

The document gives a conversation's messages no order and no paging ("an array of Message"), so
the poll reads the whole list every time (the client orders it oldest first) and never stops at
the first message it knows. The cursor (``inbox:conv:<id>`` in the ``cursors`` table) holds

* ``mark`` – the newest message date handled (ISO 8601), and
* ``seen`` – the ids of the handled messages dated within :data:`SEEN_WINDOW` before ``mark``
  (and of undated ones), the newest :data:`SEEN_CAP` at most.

A message is new when its id is not in ``seen`` and it is not older than ``mark`` minus the
window (a message synced late, or dated by a skewed clock, still counts within the window).
Cursors written before marks existed use their write time (``at``) as the mark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from bot.clients.resont.inbox_models import Message

#: How far before the newest handled message the cursor still remembers ids.
SEEN_WINDOW = timedelta(days=1)
#: Ids a cursor keeps at most (the newest ones).
SEEN_CAP = 1000


class ConversationCursor(TypedDict):
    """A conversation's cursor as stored (see the module docstring)."""

    seen: list[str]
    mark: str | None
    at: float | None  # when it was written (None only in a cursor that never said)


def read(raw: Mapping[str, Any]) -> ConversationCursor:
    """A stored cursor, whatever version wrote it (ids as strings, a missing mark as None)."""
    mark, at = raw.get("mark"), raw.get("at")
    return {
        "seen": [str(i) for i in raw.get("seen") or []],
        "mark": mark if isinstance(mark, str) else None,
        "at": float(at) if isinstance(at, int | float) else None,
    }


def unseen(messages: Sequence[Message], cursor: ConversationCursor) -> list[Message]:
    """The messages (the whole list, oldest first) the conversation's cursor has not handled."""
    seen = set(cursor["seen"])
    floor = _floor(_mark_of(cursor))
    return [m for m in messages if m.id is not None and str(m.id) not in seen and _within(m, floor)]


def handled(messages: Sequence[Message], cursor: ConversationCursor | None, at: float) -> ConversationCursor:
    """The conversation's cursor once every one of ``messages`` (its whole list) is handled."""
    dates = [m.date for m in messages if m.date is not None]
    previous = _mark_of(cursor) if cursor is not None else None
    mark = max([*dates, previous] if previous is not None else dates, default=None)
    floor = _floor(mark)
    kept = [str(m.id) for m in messages if m.id is not None and _within(m, floor)]
    return {"seen": kept[-SEEN_CAP:], "mark": mark.isoformat() if mark else None, "at": at}


def _within(message: Message, floor: datetime | None) -> bool:
    return floor is None or message.date is None or message.date >= floor


def _floor(mark: datetime | None) -> datetime | None:
    return None if mark is None else mark - SEEN_WINDOW


def _mark_of(cursor: ConversationCursor) -> datetime | None:
    text = cursor["mark"]
    if text:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    at = cursor["at"]
    return datetime.fromtimestamp(at, UTC) if at is not None else None

"""MioGram's send report (``APIGetReport``) as its server writes it, and what it proves about a send.

What the provider's server code does (``docs/miogram-client.md`` has the whole reading):

- a record is ``{Username, DATE, TIME, IP, DATA, Number, Delivered}``, all strings;
  ``DATA`` is the message text, or the base64 of the file of a media send;
- a ``*Mass`` request is logged once, whatever its outcome: ``Number`` is the comma-joined list
  of the numbers as sent, ``Delivered`` those whose result was ``true`` (empty when none);
- a single send is logged only when delivered (``Number`` = ``Delivered`` = the number);
- records come newest first, at most ``Misc`` of them, but the server reads only the first
  1,000 records of the account's log: on a busy account the newest sends never appear;
- a request answered 999 writes no record, although the gateway may still be sending it.

So a record can prove what happened to a request; a missing record proves nothing.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.clients.miogram.phones import from_service

#: the most records the document lets a client ask for ("a number from 1 to 999")
MAX_RECORDS = 999
#: the server reads no more than this many records of an account's log
SERVER_WINDOW = 1000
#: the fields of a record, as the server names them
FIELDS = ("Username", "DATE", "TIME", "IP", "DATA", "Number", "Delivered")

_SPACE = re.compile(r"\s+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


@dataclass(frozen=True)
class ReportRow:
    """One record of the report: the account (``username``), the server's ``date`` and
    ``time`` (its own clock and zone), the caller's ``ip``, the content (``data``), the numbers
    of the request as sent (``numbers``) and those that got it (``delivered``)."""

    username: str
    date: str
    time: str
    ip: str
    data: str
    numbers: tuple[str, ...]
    delivered: tuple[str, ...]

    @property
    def when(self) -> str:
        """``DATE TIME`` as the server wrote them."""
        return f"{self.date} {self.time}".strip()

    @property
    def not_delivered(self) -> tuple[str, ...]:
        """The numbers of the request that are not in ``Delivered``."""
        got = set(self.delivered)
        return tuple(number for number in self.numbers if number not in got)

    @property
    def file_size(self) -> int | None:
        """The size in bytes of the file whose base64 ``data`` is, or None for a text. A record
        does not say which it is: 64 or more base64 characters without a space are read as a
        file (a message of that length always holds a space or a punctuation mark)."""
        b64 = self.data.strip()
        if len(b64) < 64 or len(b64) % 4 or not _BASE64.fullmatch(b64):
            return None
        return len(b64) // 4 * 3 - (len(b64) - len(b64.rstrip("=")))


@dataclass(frozen=True)
class Report:
    """The records the server answered (newest first), how many could not be read, and how
    many were asked for."""

    rows: tuple[ReportRow, ...]
    unreadable: int = 0
    asked: int = MAX_RECORDS

    @property
    def filled(self) -> bool:
        """True when the answer holds as many records as were asked for: the account's log may
        then be longer than the server's 1,000-record window, and newer sends may be missing."""
        return len(self.rows) + self.unreadable >= self.asked

    @property
    def delivered_count(self) -> int:
        """Numbers delivered, over every record."""
        return sum(len(row.delivered) for row in self.rows)

    @property
    def not_delivered_count(self) -> int:
        """Numbers of Mass requests that did not get the message, over every record."""
        return sum(len(row.not_delivered) for row in self.rows)


def parse_report(items: Iterable[object], asked: int) -> Report:
    """The :class:`Report` of the server's list of records; a record that is not an object with
    a ``Number`` is counted as unreadable, not guessed at."""
    rows: list[ReportRow] = []
    unreadable = 0
    for item in items:
        row = parse_row(item)
        if row is None:
            unreadable += 1
        else:
            rows.append(row)
    return Report(tuple(rows), unreadable, asked)


def parse_row(item: object) -> ReportRow | None:
    """One record as a :class:`ReportRow`, or None when it is not a record."""
    if not isinstance(item, Mapping):
        return None
    by_lower = {str(key).lower(): value for key, value in item.items()}
    text = {name: _text(item[name] if name in item else by_lower.get(name.lower())) for name in FIELDS}
    numbers = _split(text["Number"])
    if not numbers:
        return None
    return ReportRow(
        username=text["Username"],
        date=text["DATE"],
        time=text["TIME"],
        ip=text["IP"],
        data=text["DATA"],
        numbers=numbers,
        delivered=_split(text["Delivered"]),
    )


def _text(value: object) -> str:
    """A field's text: MySQL gives strings; a number is read as its digits, null as empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return ""


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


# --- what a request carried


@dataclass(frozen=True)
class SentContent:
    """What one request carried, as ``DATA`` would show it: the message text (alone, or with the
    account's ad footer appended, since the document does not say which one is logged), or the
    SHA-256 and size of a file."""

    texts: frozenset[str] = frozenset()
    file_sha256: str | None = None
    file_size: int = 0

    @classmethod
    def of_text(cls, text: str, ad_footer: str = "") -> SentContent:
        """The content of a text send (and of a caption sent after a file)."""
        texts = {_clean_text(text)}
        if ad_footer:
            texts.add(_clean_text(f"{text}\n{ad_footer}"))
        return cls(texts=frozenset(texts))

    @classmethod
    def of_file(cls, sha256: str, size: int) -> SentContent:
        """The content of a file send: the digest and size of the file's bytes."""
        return cls(file_sha256=sha256, file_size=size)

    def matches(self, data: str) -> bool:
        """True when a record's ``DATA`` is this content."""
        if self.file_sha256 is not None:
            return _file_digest(data, self.file_size) == self.file_sha256
        return _clean_text(data) in self.texts


def _clean_text(text: str) -> str:
    # Line ends may come back as \r\n and a trailing newline may be trimmed on the way.
    return text.replace("\r\n", "\n").strip()


def _file_digest(data: str, size: int) -> str | None:
    """The SHA-256 of the file in a record's base64 ``DATA``; None when it cannot be that file."""
    b64 = _SPACE.sub("", data)
    if len(b64) != 4 * ((size + 2) // 3):  # cheap: a file of another size cannot match
        return None
    try:
        content = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    return hashlib.sha256(content).hexdigest()


# --- what the report proves about one request


class Verdict(str, enum.Enum):
    """What the report says about a request."""

    FOUND = "found"  # exactly one record has its numbers and its content
    NOT_FOUND = "not_found"  # no record has: the report cannot tell
    AMBIGUOUS = "ambiguous"  # several records have: the report cannot tell which one it was


@dataclass(frozen=True)
class RequestCheck:
    """The report's word on one request: ``delivered`` and ``not_delivered`` (E.164, in the
    request's order) are filled only when the verdict is FOUND; ``row`` is that record."""

    verdict: Verdict
    numbers: tuple[str, ...]
    delivered: tuple[str, ...] = ()
    not_delivered: tuple[str, ...] = ()
    row: ReportRow | None = None
    matches: int = 0
    report_filled: bool = False

    @property
    def proven(self) -> bool:
        return self.verdict is Verdict.FOUND


def find_request(report: Report, numbers: Sequence[str], content: SentContent, region: str) -> RequestCheck:
    """Look a request (its E.164 ``numbers`` and its ``content``) up in ``report``.

    A record is the request's when its ``Number`` holds exactly the request's numbers and its
    ``DATA`` is the request's content. One such record proves which numbers got the message
    (``Delivered``) and which did not; none, or several, prove nothing."""
    wanted = tuple(dict.fromkeys(numbers))
    wanted_set = frozenset(wanted)
    found = [
        (row, mapped)
        for row in report.rows
        if len(set(row.numbers)) == len(wanted_set)
        and (mapped := _as_request_numbers(row.numbers, wanted_set, region)) is not None
        and content.matches(row.data)
    ]
    if len(found) != 1:
        verdict = Verdict.NOT_FOUND if not found else Verdict.AMBIGUOUS
        return RequestCheck(verdict, wanted, matches=len(found), report_filled=report.filled)
    row, mapped = found[0]
    # Delivered may write a number otherwise than Number does (without "+", say): map each.
    got = {mapped.get(text) or from_service(text, region, wanted_set) for text in row.delivered}
    return RequestCheck(
        Verdict.FOUND,
        wanted,
        delivered=tuple(n for n in wanted if n in got),
        not_delivered=tuple(n for n in wanted if n not in got),
        row=row,
        matches=1,
        report_filled=report.filled,
    )


def _as_request_numbers(written: Sequence[str], wanted: frozenset[str], region: str) -> dict[str, str] | None:
    """Each number of a record mapped to the request's E.164 number, or None when the record's
    numbers are not exactly the request's."""
    mapped: dict[str, str] = {}
    for text in written:
        number = from_service(text, region, wanted)
        if number is None or number not in wanted:
            return None
        mapped[text] = number
    return mapped if set(mapped.values()) == wanted else None

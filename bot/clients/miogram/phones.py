"""Phone numbers from hostile input: pasted text, lists and uploaded CSV/TXT files.

Every number goes through the ``phonenumbers`` library with a default region (the config's
``phone_region``) and comes out in E.164 (``+989121234567``), deduplicated in first-seen order.
Whatever cannot be a number is reported with a short human reason and never sent.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

# Persian (U+06F0…), Arabic-Indic (U+0660…) and full-width digits become ASCII; the bidi marks and
# zero-width joiners that copy-paste from Persian text carries along are dropped.
_TRANSLATE: Mapping[int, str | None] = MappingProxyType(
    {
        **{0x06F0 + i: str(i) for i in range(10)},
        **{0x0660 + i: str(i) for i in range(10)},
        **{0xFF10 + i: str(i) for i in range(10)},
        **dict.fromkeys(
            (
                0x200B,
                0x200C,
                0x200D,
                0x200E,
                0x200F,
                0x202A,
                0x202B,
                0x202C,
                0x202D,
                0x202E,
                0x2066,
                0x2067,
                0x2068,
                0x2069,
                0xFEFF,
            ),
            None,
        ),
        **dict.fromkeys((0x00A0, 0x2009, 0x202F, 0x3000), " "),  # exotic spaces are spaces
        0xFF0B: "+",
    }
)

# Strong separators split numbers outright; whitespace may also sit inside one number.
_STRONG_SEPARATORS = re.compile(r"[,;|\n\r\t\u060C\u061B\uFF0C\uFF1B]+")
_ALLOWED = re.compile(r"^[0-9+\-().\s/]+$")
_MAX_TOKENS_PER_NUMBER = 6
_MAX_TEXT = 64
_MAX_DIGITS = 17

_REASONS: Mapping[int, str] = MappingProxyType(
    {
        NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        NumberParseException.NOT_A_NUMBER: "not a number",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_LONG: "too long",
    }
)

_HEADER_WORDS = (
    "phone",
    "mobile",
    "tel",
    "number",
    "cell",
    "msisdn",
    "whatsapp",
    "contact",
    "شماره",
    "موبایل",
    "تلفن",
    "همراه",
    "تماس",
)


class InvalidPhone(ValueError):
    """One text that is not a usable phone number; ``reason`` is short and human."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


class PhoneFileError(ValueError):
    """An uploaded file has no usable phone column (``columns`` lists what was found)."""

    def __init__(self, message: str, columns: list[str]) -> None:
        super().__init__(message)
        self.columns = columns


@dataclass
class PhoneParse:
    """The outcome of reading numbers: valid E.164 numbers (first-seen order, each once), invalid
    texts with their reason, and the repeats that were dropped (one entry per dropped repeat)."""

    valid: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many numbers the input held, repeats and invalid ones included."""
        return len(self.valid) + len(self.invalid) + len(self.duplicates)


def check_region(region: str) -> str:
    """``region`` upper-cased, or ValueError when phonenumbers does not know it."""
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    return code


def clean_text(text: str) -> str:
    """``text`` with Persian/Arabic digits made ASCII and invisible marks removed."""
    return text.translate(_TRANSLATE)


def normalize(raw: str, region: str) -> str:
    """One number as E.164, or :class:`InvalidPhone` with the reason."""
    region = check_region(region)
    text = " ".join(clean_text(raw).split())
    if not text or not any(ch.isdigit() for ch in text):
        raise InvalidPhone(raw, "not a number")
    if len(text) > _MAX_TEXT or not _ALLOWED.match(text):
        # Letters would otherwise be read as a keypad word (1-800-FLOWERS) by phonenumbers.
        raise InvalidPhone(raw, "not a number")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(raw, _REASONS.get(exc.error_type, "not a number")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw, _invalid_reason(number, region))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def from_service(text: str, region: str, known: frozenset[str] = frozenset()) -> str | None:
    """A number as the service writes it back (as sent, without ``+``, or national) in E.164,
    or None. ``known`` are the numbers expected (a request's): those need no parse."""
    value = text.strip()
    for direct in (value, f"+{value}"):
        if direct in known:
            return direct
    for candidate in [value] if value.startswith("+") else [f"+{value}", value]:
        try:
            return normalize(candidate, region)
        except InvalidPhone:
            continue
    return None


def _invalid_reason(number: phonenumbers.PhoneNumber, region: str) -> str:
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        return "too short"
    if possible == ValidationResult.TOO_LONG:
        return "too long"
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return "unknown country code"
    number_region = phonenumbers.region_code_for_number(number) or region
    # Compare with the lengths a mobile number may have there: the usual mistake is a digit too few.
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(number_region)
    lengths = metadata.mobile.possible_length if metadata and metadata.mobile else ()
    digits = len(phonenumbers.national_significant_number(number))
    if lengths and digits < min(lengths):
        return "too short"
    if lengths and digits > max(lengths):
        return "too long"
    return f"invalid for region {number_region}"


def parse_numbers(raw: str | Iterable[str], region: str) -> PhoneParse:
    """Read numbers from ``raw`` (one text, or several texts such as lines or CSV cells), with any
    separators: commas, semicolons, whitespace, newlines (Persian ones too)."""
    region = check_region(region)
    texts = [raw] if isinstance(raw, str) else raw
    result = PhoneParse()
    seen: set[str] = set()
    for text in texts:
        for segment in _STRONG_SEPARATORS.split(clean_text(str(text))):
            for item in _segment_numbers(segment, region):
                _add(result, seen, item)
    return result


def _add(result: PhoneParse, seen: set[str], item: tuple[str, str | None, str]) -> None:
    raw, number, reason = item
    if number is None:
        result.invalid.append((raw, reason))
    elif number in seen:
        result.duplicates.append(number)
    else:
        seen.add(number)
        result.valid.append(number)


def _segment_numbers(segment: str, region: str) -> Iterator[tuple[str, str | None, str]]:
    """(raw, E.164 or None, reason) for each number in one separator-free piece of text.

    Whitespace is ambiguous (``0912 123 4567`` is one number, ``09121234567 09351234567`` two):
    the whole piece is tried first, then the longest runs of words that make a valid number;
    words left over are reported together as one invalid text.
    """
    words = segment.split()
    if not words:
        return
    whole = " ".join(words)
    try:
        yield whole, normalize(whole, region), ""
        return
    except InvalidPhone as exc:
        whole_reason = exc.reason
    if len(words) == 1:
        yield whole, None, whole_reason
        return
    pending: list[str] = []
    i = 0
    while i < len(words):
        if not _ALLOWED.match(words[i]):
            # A word with letters is never part of a number: report it on its own.
            yield from _flush(pending, region)
            pending = []
            yield words[i], None, "not a number"
            i += 1
            continue
        found = _longest_valid(words, i, region)
        if found is None:
            pending.append(words[i])
            i += 1
            continue
        end, number = found
        yield from _flush(pending, region)
        pending = []
        yield " ".join(words[i:end]), number, ""
        i = end
    yield from _flush(pending, region)


def _longest_valid(words: list[str], start: int, region: str) -> tuple[int, str] | None:
    # No number has more than 17 digits (15 in E.164 plus a 00 prefix): longer runs are not tried.
    ends, digits = [], 0
    for end in range(start + 1, min(len(words), start + _MAX_TOKENS_PER_NUMBER) + 1):
        digits += sum(ch.isdigit() for ch in words[end - 1])
        if digits > _MAX_DIGITS:
            break
        ends.append(end)
    for end in reversed(ends):
        try:
            return end, normalize(" ".join(words[start:end]), region)
        except InvalidPhone:
            continue
    return None


def _flush(pending: list[str], region: str) -> Iterator[tuple[str, str | None, str]]:
    if not pending:
        return
    text = " ".join(pending)
    try:
        yield text, normalize(text, region), ""
    except InvalidPhone as exc:
        yield text, None, exc.reason


# --- files


def decode_text(data: bytes) -> str:
    """Bytes of an uploaded text file as str: UTF-8 (with or without BOM), UTF-16 with a BOM,
    else Windows-1256 (Persian Excel exports), else Latin-1 (never fails)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1256"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_csv(data: bytes, region: str, column: str | None = None) -> tuple[PhoneParse, list[str]]:
    """Numbers from an uploaded CSV or TXT file, and the columns found in it.

    The phone column is ``column`` (a header name, case-insensitive, or a 1-based position such
    as ``"2"``/``"#2"``), else the column whose header names a phone, else the column whose cells
    are most often valid numbers. Columns of a file without a header row are named ``#1``, ``#2``…
    Raises :class:`PhoneFileError` when ``column`` is not in the file or no column holds a number.
    """
    region = check_region(region)
    rows = _read_rows(clean_text(decode_text(data)))
    if not rows:
        return PhoneParse(), []
    width = max(len(row) for row in rows)
    header = _header(rows[0], region)
    columns = [cell.strip() or f"#{i + 1}" for i, cell in enumerate(header)] if header else []
    columns += [f"#{i + 1}" for i in range(len(columns), width)]
    body = rows[1:] if header else rows
    index = _pick_column(columns, body, region, column)
    cells = [_clean_cell(row[index]) for row in body if index < len(row)]
    return parse_numbers([cell for cell in cells if cell], region), columns


def _read_rows(text: str) -> list[list[str]]:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    return [row for row in rows if any(cell.strip() for cell in row)]


def _header(row: list[str], region: str) -> list[str] | None:
    """``row`` when it is a header: no cell in it is a phone number and some cell has letters."""
    if any(_is_number(cell, region) for cell in row):
        return None
    if not any(re.search(r"[^\W\d_]", cell) for cell in row):
        return None
    return row


def _pick_column(columns: list[str], body: list[list[str]], region: str, wanted: str | None) -> int:
    if wanted is not None:
        return _named_column(columns, wanted)
    for i, name in enumerate(columns):
        lowered = name.lower()
        if any(word in lowered for word in _HEADER_WORDS):
            return i
    scores = [0] * len(columns)
    for row in body[:200]:
        for i, cell in enumerate(row):
            if _is_number(_clean_cell(cell), region):
                scores[i] += 1
    if not columns or max(scores) == 0:
        raise PhoneFileError("no column holds a phone number", columns)
    return scores.index(max(scores))


def _named_column(columns: list[str], wanted: str) -> int:
    key = wanted.strip().lower()
    for i, name in enumerate(columns):
        if name.lower() == key:
            return i
    position = key.lstrip("#")
    if position.isdigit() and 1 <= int(position) <= len(columns):
        return int(position) - 1
    raise PhoneFileError(f"column {wanted!r} is not in the file", columns)


def _clean_cell(cell: str) -> str:
    # Spreadsheets export numeric cells as "9121234567.0".
    text = cell.strip()
    return text[:-2] if re.fullmatch(r"\+?\d+\.0", text) else text


def _is_number(cell: str, region: str) -> bool:
    try:
        normalize(cell, region)
    except InvalidPhone:
        return False
    return True


__all__ = [
    "InvalidPhone",
    "PhoneFileError",
    "PhoneParse",
    "check_region",
    "clean_text",
    "decode_text",
    "normalize",
    "parse_csv",
    "parse_numbers",
]

"""Reading the service's answers: the body parsed into a :class:`Reply` or the typed exception of
any of its three error shapes, and the readers of a ``Result`` (booleans, objects, numbers,
comma lists, a Mass's per-number object).

The service always answers HTTP 200 and reports errors three ways: a ``Code`` field (a string),
``"Error 302 : …"`` inside ``Message``, or a plain-text body (``docs/miogram-client.md``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.clients.miogram.errors import CODES_BY_TEXT, MioGramError, MioGramMalformed, error_for
from bot.clients.miogram.models import MIB, Outcome
from bot.clients.miogram.phones import from_service

_ERROR_IN_TEXT = re.compile(r"^\s*Error\s*(\d{2,4})\s*:\s*(.*)$", re.S | re.I)
_PHP_NOISE = re.compile(
    r"<b>\s*(warning|notice|fatal error|deprecated|parse error)|^(warning|notice|fatal error|"
    r"deprecated|parse error)\s*:",
    re.I | re.M,
)
_TAGS = re.compile(r"<[^>]*>")
# "fail" is a success shape too (the call worked, the message was not delivered), unless a code
# or an error text comes with it.
_OK_STATUSES = frozenset({"success", "checking", "sent"})
_INFORMATIONAL = frozenset({407, 409})  # the "error" codes that are the success answer of a write
_TRUE = frozenset({"1", "true", "yes", "ok", "success", "sent"})
_FALSE = frozenset({"0", "false", "no", "", "fail", "null"})

#: a JSON value as the service sends it (its objects are not described by the document)
JSONValue = Any
Redact = Callable[[str], str]


@dataclass(frozen=True)
class Reply:
    """A successful answer: its ``Result``, ``Status``, ``Message`` and ``Code`` (if any)."""

    result: JSONValue
    status: str | None = None
    message: str | None = None
    code: int | None = None


def _identity(text: str) -> str:
    return text


def parse_reply(body: bytes | str, func: str, *, redact: Redact = _identity) -> Reply:
    """The :class:`Reply` in ``body``, or the typed exception for any of the three error shapes,
    or :class:`MioGramMalformed` for an empty, non-JSON, ``null`` or PHP-warning body."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise MioGramMalformed("empty body", func=func)
    try:
        payload = json.loads(text)
    except ValueError:
        raise _text_error(text, func, redact) from None
    if payload is None:
        raise MioGramMalformed("the body is null", func=func)
    if isinstance(payload, str):
        raise _text_error(payload, func, redact)
    if isinstance(payload, list):  # APIGetReport answers a bare list of records
        return Reply(payload)
    if not isinstance(payload, dict):
        raise MioGramMalformed(f"unexpected JSON {type(payload).__name__}", func=func)
    return _dict_reply(payload, func, redact)


def _text_error(text: str, func: str, redact: Redact) -> MioGramError:
    """The error for a plain-text body: ``Error NNN : …``, a known error text, or malformed."""
    match = _ERROR_IN_TEXT.match(text)
    if match:
        return error_for(int(match.group(1)), redact(match.group(2)), func=func)
    code = CODES_BY_TEXT.get(text.strip().rstrip(".").lower())
    if code is not None and code not in _INFORMATIONAL:
        return error_for(code, func=func)
    what = "a PHP warning" if _PHP_NOISE.search(text) else "not JSON"
    excerpt = " ".join(_TAGS.sub(" ", text).split())[:80]
    return MioGramMalformed(f"{what}: {redact(excerpt)}", func=func)


def _dict_reply(payload: Mapping[str, Any], func: str, redact: Redact) -> Reply:
    status_raw = payload.get("Status")
    status = status_raw.strip().lower() if isinstance(status_raw, str) else None
    raw_message = payload.get("Message")
    message = str(raw_message) if raw_message is not None and not isinstance(raw_message, (dict, list)) else None
    code = _as_code(payload.get("Code"))
    detail = message or ""
    in_text = _ERROR_IN_TEXT.match(message) if message else None
    if code is None and in_text:
        code, detail = int(in_text.group(1)), in_text.group(2)
    if code is None and message and status not in _OK_STATUSES:
        code = CODES_BY_TEXT.get(message.strip().rstrip(".").lower())
    if code in _INFORMATIONAL:
        return Reply(payload.get("Result"), status, message, code)
    if status == "error" or (status not in _OK_STATUSES and code is not None):
        raise error_for(code, redact(detail), func=func)
    return Reply(payload.get("Result"), status, message, code)


def _as_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# --- readers of a Result


def truth(value: object) -> bool | None:
    """True/False for the service's booleans (``true``, ``1``, ``"1"``…), None when unclear."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def as_int(value: object, what: str, func: str) -> int:
    """An integer from a number or numeric string (credits and limits come as strings)."""
    if isinstance(value, bool):
        return int(value)
    try:
        if isinstance(value, str):
            return int(float(value)) if "." in value else int(value)
        if isinstance(value, (int, float)):
            return int(value)
    except ValueError:
        pass
    raise MioGramMalformed(f"{what} is not a number", func=func)


def size_bytes(value: object, what: str, func: str) -> int:
    """A size limit in bytes. The document says MB, the server answers bytes (MB × 1,048,576):
    a figure under 1 KiB can only be megabytes."""
    number = as_int(value, what, func)
    return number * MIB if 0 < number <= 1024 else number


def as_bool(reply: Reply) -> bool:
    """The ``Result`` of a yes/no Func; no ``Result`` at all: nothing says it worked."""
    if reply.result is None:
        return False
    value = truth(reply.result)
    if value is None:
        raise MioGramMalformed("the result is not true or false")
    return value


def as_object(reply: Reply) -> JSONValue | None:
    """The ``Result`` of a read as the service gives it; None for ``false`` or nothing."""
    if reply.result is False or reply.result is None:
        return None
    return reply.result


def as_mapping(reply: Reply, func: str) -> Mapping[str, Any]:
    """The ``Result`` that must be an object (limits, credits)."""
    if not isinstance(reply.result, dict):
        raise MioGramMalformed("the result is not an object", func=func)
    return reply.result


def as_csv(reply: Reply) -> list[str]:
    """The ``Result`` as a comma-separated list (robots, addresses)."""
    if reply.result in (None, False, ""):
        return []
    return [part.strip() for part in str(reply.result).split(",") if part.strip()]


def mass_outcomes(reply: Reply, numbers: Sequence[str], region: str) -> dict[str, Outcome]:
    """Each sent number's outcome from a Mass answer: an object keyed by the numbers (as sent, or
    without '+', or even national; a number missing from it is UNKNOWN), or ``true`` (WhatsApp
    "sent"), or ``false``."""
    result = reply.result
    if isinstance(result, dict):
        sent = frozenset(numbers)
        by_number: dict[str, Outcome] = {}
        for key, value in result.items():
            number = from_service(str(key), region, sent)
            if number is not None:
                by_number[number] = _outcome(truth(value))
        return {n: by_number.get(n, Outcome.UNKNOWN) for n in numbers}
    value = truth(result) if not isinstance(result, list) and result is not None else None
    return dict.fromkeys(numbers, _outcome(value))


def _outcome(value: bool | None) -> Outcome:
    if value is None:
        return Outcome.UNKNOWN
    return Outcome.SENT if value else Outcome.NOT_DELIVERED

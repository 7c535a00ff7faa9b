"""The Resont client's exception tree and the decoding of error answers.

Every failure of a Resont call is a :class:`ResontError`: the HTTP status picks the subclass, and
``message``, ``type`` and ``trace_id`` come from the documented ``ErrorResponse`` body. A body with
an ``error`` key is an error whatever the status (the official SDK checks it on 2xx too).
``str(exc)`` is one short sentence for an admin, with the trace id support asks for, and never a
URL (the token travels in the query string).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from bot.text.redact import redact


class ResontError(Exception):
    """A Resont call failed. ``status`` is the HTTP status (None when there was no answer)."""

    default_message = "Resont request failed"

    def __init__(
        self,
        message: str | None = None,
        *,
        type: str | None = None,
        trace_id: str | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.type = type
        self.trace_id = trace_id
        self.status = status
        self.details = dict(details or {})
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.trace_id:
            return f"{self.message} (trace id {self.trace_id})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, status={self.status}, trace_id={self.trace_id!r})"


class ResontValidationError(ResontError):
    """400: Resont refused the request's parameters."""

    default_message = "Resont rejected the request as invalid"


class ResontAuthError(ResontError):
    """401: the token is wrong or expired, or OAuth could not obtain a valid one."""

    default_message = "Resont refused the access token"


class ResontForbidden(ResontError):
    """403: the token may not use this resource."""

    default_message = "Resont denied access to this resource"


class ResontNotFound(ResontError):
    """404: the item (or path) does not exist."""

    default_message = "Resont could not find the requested item"


class ResontRateLimited(ResontError):
    """429: the usage limit is reached; ``retry_after`` is in seconds when Resont said so."""

    default_message = "Resont usage limit reached"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ResontServerError(ResontError):
    """5xx: Resont failed internally (the body may not even be JSON)."""

    default_message = "Resont had an internal error"


class ResontTransportError(ResontError):
    """No usable answer: connection refused, timeout, dropped connection, protocol error.

    ``sent`` is False when the request certainly never reached Resont (connection not
    established), which makes even a non-idempotent request safe to repeat.
    """

    default_message = "Resont could not be reached"

    def __init__(self, message: str | None = None, *, sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.sent = sent


class ResontMalformed(ResontError):
    """The answer is not JSON, is cut short, or does not have the documented shape."""

    default_message = "Resont sent an answer that cannot be understood"


_BY_STATUS: Mapping[int, type[ResontError]] = MappingProxyType(
    {
        400: ResontValidationError,
        401: ResontAuthError,
        403: ResontForbidden,
        404: ResontNotFound,
        422: ResontValidationError,
        429: ResontRateLimited,
    }
)

_BY_TYPE: Mapping[str, type[ResontError]] = MappingProxyType(
    {
        "validationexception": ResontValidationError,
        "authenticationexception": ResontAuthError,
        "authorizationexception": ResontForbidden,
        "modelnotfoundexception": ResontNotFound,
        "notfoundhttpexception": ResontNotFound,
        "throttlerequestsexception": ResontRateLimited,
    }
)


def error_class(status: int, error_type: str | None = None) -> type[ResontError]:
    """The exception class for an HTTP status (and, on a 2xx error body, the error type)."""
    if status >= 500:
        return ResontServerError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return _BY_TYPE.get((error_type or "").lower(), ResontError)


def error_from_body(
    status: int,
    error: Any,
    *,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    now: float | None = None,
) -> ResontError:
    """Build the exception for an ``error`` value (an ErrorResponse object, or a bare string as
    OAuth token endpoints send) answered with ``status``."""
    fields = _error_fields(error)
    cls = error_class(status, fields.get("type"))
    message = redact(fields.get("message") or cls.default_message, secrets)
    kwargs: dict[str, Any] = {
        "type": fields.get("type"),
        "trace_id": fields.get("trace_id"),
        "status": status,
        "details": error if isinstance(error, Mapping) else {},
    }
    if cls is ResontRateLimited:
        kwargs["retry_after"] = parse_retry_after((headers or {}).get("retry-after"), now)
    return cls(message, **kwargs)


def error_for_status(status: int, headers: Mapping[str, str] | None = None, now: float | None = None) -> ResontError:
    """The exception for an error status whose body carries no ``error`` (e.g. an HTML page)."""
    cls = error_class(status)
    message = f"{cls.default_message} (HTTP {status})"
    if cls is ResontRateLimited:
        retry_after = parse_retry_after((headers or {}).get("retry-after"), now)
        return ResontRateLimited(message, status=status, retry_after=retry_after)
    return cls(message, status=status)


def _error_fields(error: Any) -> dict[str, str | None]:
    if isinstance(error, Mapping):
        message = error.get("message") or error.get("error_description") or error.get("error")
        trace = error.get("trace_id") or error.get("traceId")
        return {
            "message": _text(message),
            "type": _text(error.get("type")),
            "trace_id": _text(trace),
        }
    if isinstance(error, str):
        return {"message": error, "type": None, "trace_id": None}
    return {"message": _text(error), "type": None, "trace_id": None}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta seconds or an HTTP date; None if absent
    or unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)

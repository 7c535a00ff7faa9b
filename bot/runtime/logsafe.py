"""Logging that never prints a secret.

httpx logs every request URL at INFO, and the Resont token travels in the query string; exception
messages may quote URLs too. A filter on the root handlers rewrites each record's final message:
configured secret values become ``***`` and any ``token=``/``access_token=``/``secret``-like query
parameter is masked whatever its value.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

_QUERY_SECRET = re.compile(r"(?i)((?:access_token|refresh_token|token|secret|client_secret|code)=)[^&\s\"'<>]+")
_BOT_PATH = re.compile(r"(?i)(/bot)\d+(?::|%3A)[A-Za-z0-9_-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret value and secret-looking URL part masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        # URLs carry secrets percent-encoded too (httpx logs "/bot123%3Aabc/…" for file paths).
        for form in {secret, quote(secret, safe=""), quote(secret, safe="/:")}:
            text = text.replace(form, "***")
    text = _QUERY_SECRET.sub(r"\1***", text)
    return _BOT_PATH.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    """Renders the record's message once, redacts it, and freezes it (args cleared)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        record.msg = redact(message, self.secrets)
        record.args = None
        return True


class RedactingRecordFactory:
    """A LogRecord factory that redacts each record's message as it is created.

    Handler filters only protect the handlers they are attached to; a record factory protects
    every handler, including ones added later by an operator (Sentry, a file handler) and by test
    tools. Installed once per process (see :func:`install_redaction`); secrets accumulate.
    """

    def __init__(self, base: Callable[..., logging.LogRecord]) -> None:
        self.base = base
        self.secrets: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it for logging to report
            return record
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is redacted once here.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
        return record


def install_redaction(secrets: Iterable[str] = ()) -> RedactingRecordFactory:
    """Make every log record of this process redacted, adding ``secrets`` to the masked values."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, RedactingRecordFactory):
        factory = RedactingRecordFactory(factory)
        logging.setLogRecordFactory(factory)
    factory.secrets.update(s for s in secrets if s)
    return factory


class DropCancelled(logging.Filter):
    """Drops APScheduler's "job raised an exception" records for jobs cancelled at shutdown:
    a poll interrupted by a stop is not an error, and its traceback only alarms the operator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def setup_logging(level: str, secrets: Iterable[str]) -> RedactingFilter:
    """Configure the root logger: one stream handler to stderr, with redaction."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(level.upper())
    install_redaction(secrets)
    # httpx logs each request at INFO; keep it at WARNING unless debugging.
    logging.getLogger("apscheduler.executors.default").addFilter(DropCancelled())
    if level.upper() != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return redactor

"""Logging that never prints a secret.

httpx logs every request URL at INFO, and the Resont token travels in the query string; exception
messages may quote URLs too. A filter on the root handlers rewrites each record's final message:
configured secret values become ``***`` and any ``token=``/``access_token=``/``secret``-like query
parameter is masked whatever its value.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from bot.text.redact import RedactingFilter, redact


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

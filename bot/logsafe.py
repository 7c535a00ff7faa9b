"""Logging that never prints a secret.

httpx logs every request URL at INFO, and the Resont token travels in the query string; exception
messages may quote URLs too. A filter on the root handlers rewrites each record's final message:
configured secret values become ``***`` and any ``token=``/``access_token=``/``secret``-like query
parameter is masked whatever its value.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_QUERY_SECRET = re.compile(
    r"(?i)((?:access_token|refresh_token|token|secret|client_secret|code)=)[^&\s\"'<>]+"
)
_BOT_PATH = re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret value and secret-looking URL part masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
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
    # httpx logs each request at INFO; keep it at WARNING unless debugging.
    if level.upper() != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return redactor

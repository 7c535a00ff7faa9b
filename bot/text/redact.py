"""Masking secrets in text: configured secret values and secret-looking URL parts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
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

"""A log capture over the whole test suite: no configured secret may reach the log.

Registered from ``tests/conftest.py`` (``pytest_configure``). One handler on the root logger, at
DEBUG, sees every record of the suite (httpx, python-telegram-bot, APScheduler, the bot's own
loggers; httpcore and a few other chatty libraries stay at INFO) with its formatted message,
exception text and stack. The watched secrets are those of every :class:`bot.config.Config`
built during the session (values of 8 characters or more) and the fixed ones of the harness,
the conftest, the fakes, the benchmarks and the drills (:data:`KNOWN`).

Each record is judged twice:

* **as the bot logs it** – the record's text after the redaction of the bot's own log pipeline
  (``bot.runtime.logsafe.redact`` with the configured secrets, as ``setup_logging`` installs on the
  root handler of ``python -m bot``). That output must hold no secret in any form: not the
  value, not URL-encoded, not base64, no bot token in a Bot API path (``/bot123:abc…``), no
  unmasked ``token=``/``secret=``-style query parameter. Any such leak fails the run.
* **raw** – the record as created, before any handler. A secret there is masked only by the
  handler that ``setup_logging`` installs: any other handler (an error tracker, a syslog or
  journald handler added by an operator) would see it in clear. These are listed in the
  terminal summary; ``LOG_CAPTURE_STRICT=1`` makes them fail the run too.

Records are not stored, only counted by logger, so the capture costs little memory.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

#: fixed secrets of the test harness, conftest, fakes and benchmarks
KNOWN = frozenset(
    {
        "123456:TEST-token",  # tests.botapi.DEFAULT_TOKEN (conftest TEST_TOKEN, harness TOKEN)
        "resont-secret-token",  # harness RESONT_TOKEN
        "mio-secret-key",  # harness MIOGRAM_SECRET
        "mio-secret",  # the start-up probe of tests/text/test_chart_loading.py
        "test-token",  # FakeResont's default token, tests' TOKEN
        "test-secret",  # FakeResont's default OAuth client secret
        "fake-secret-3c9e1f",  # FakeMioGram's default secret
        "hook-s3cret",  # webhook secret of the inbox tests
        "123456:BENCH-token",
        "bench-resont-token",
        "bench-mio-secret",  # bench.common
        "drill-resont-token",
        "drill-mio-secret",
        "drill-hook-secret",  # the drills
    }
)
MIN_SECRET = 8

_PATTERNS = (
    re.compile(r"/bot\d{3,}:[A-Za-z0-9_-]{4,}"),
    re.compile(r"(?i)\b(?:access_token|refresh_token|client_secret|token|secret)=(?!\*\*\*)[^&\s\"'<>]{6,}"),
)

#: loggers far too chatty at DEBUG that never see a URL or a credential in clear
QUIET = {
    "httpcore": logging.INFO,
    "hpack": logging.INFO,
    "matplotlib": logging.INFO,
    "PIL": logging.INFO,
    "asyncio": logging.INFO,
    "urllib3": logging.INFO,
    "aiohttp": logging.INFO,
}


@dataclass
class Hit:
    test: str
    logger: str
    level: str
    what: str
    excerpt: str
    template: str = ""


def _variants(secret: str) -> set[str]:
    """The secret as it may appear in a log line: as is, URL-encoded, base64."""
    out = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    out.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return out


class SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.secrets: set[str] = set()
        self._needles: dict[str, str] = {}  # form → secret
        self.hits: list[Hit] = []  # leaks in the output of the bot's log pipeline
        self.raw_hits: list[Hit] = []  # secrets in records before any redaction
        self.counts: Counter[str] = Counter()
        self.test = "(collection)"
        self._formatter = logging.Formatter()
        self._lock2 = threading.Lock()
        for secret in KNOWN:
            self.add_secret(secret)

    def add_secret(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET and value not in self.secrets:
            with self._lock2:
                self.secrets.add(value)
                for form in _variants(value):
                    self._needles[form] = value

    def text_of(self, record: logging.LogRecord) -> str:
        try:
            parts = [record.getMessage()]
        except Exception:  # a broken format string: check what there is
            parts = [str(record.msg), repr(record.args)]
        if record.exc_info and not record.exc_text:
            try:
                parts.append(self._formatter.formatException(record.exc_info))
            except Exception:
                pass
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        return "\n".join(parts)

    def emit(self, record: logging.LogRecord) -> None:
        from bot.text.redact import redact

        self.counts[record.name.split(".", 1)[0]] += 1
        raw = self.text_of(record)
        with self._lock2:
            secrets = list(self.secrets)
            needles = dict(self._needles)
        template = str(record.msg)[:60]
        for secret in secrets:
            if secret in raw:
                self.raw_hits.append(
                    Hit(self.test, record.name, record.levelname, _mask(secret), _excerpt(raw, secret), template)
                )
        logged = redact(raw, secrets)
        found = [form for form in needles if form in logged]
        found += [m.group(0) for p in _PATTERNS for m in p.finditer(logged)]
        for what in found:
            self.hits.append(
                Hit(self.test, record.name, record.levelname, _mask(what), _excerpt(logged, what), template)
            )

    def attach(self) -> None:
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)
        if root.level > logging.DEBUG or root.level == logging.NOTSET:
            root.setLevel(logging.DEBUG)


def _mask(secret: str) -> str:
    return secret[:3] + "…" + f"({len(secret)} chars)"


def _excerpt(text: str, what: str) -> str:
    at = text.find(what)
    start = max(0, at - 60)
    return (
        text[start:at].replace("\n", " ") + "<SECRET>" + text[at + len(what) : at + len(what) + 40].replace("\n", " ")
    )


WATCH = SecretWatch()


def _register_configs() -> None:
    """Every Config built during the session adds its secrets to the watch list."""
    from bot.config import Config

    if getattr(Config.__init__, "_watched", False):
        return
    original = Config.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for value in self.secrets():
            WATCH.add_secret(value)

    init._watched = True  # type: ignore[attr-defined]
    Config.__init__ = init  # type: ignore[method-assign]


class LogCapturePlugin:
    """The pytest side: attach the handler, follow the running test, judge at the end."""

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        for name, level in QUIET.items():
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET or logger.level < level:
                logger.setLevel(level)
        _register_configs()
        WATCH.attach()

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        WATCH.test = nodeid
        WATCH.attach()  # a test may have reset the root logger's handlers

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if failing(WATCH) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total = sum(WATCH.counts.values())
        top = ", ".join(f"{k}: {v:,}" for k, v in WATCH.counts.most_common(6))
        if WATCH.hits:
            terminalreporter.section("secrets in the log output", sep="=", red=True, bold=True)
            _report(terminalreporter, WATCH.hits)
        if WATCH.raw_hits:
            terminalreporter.section(
                "secrets in raw log records (masked only by the handler of setup_logging)",
                sep="-",
                red=strict(),
                yellow=not strict(),
            )
            _report(terminalreporter, WATCH.raw_hits)
        terminalreporter.write_line(
            f"log capture: {total:,} records ({top}); {len(WATCH.secrets)} secrets watched; "
            f"{len(WATCH.hits)} leak(s) in the log output, {len(WATCH.raw_hits)} raw record(s) with a secret"
            + (" (strict)" if strict() else "")
        )


def strict() -> bool:
    return os.environ.get("LOG_CAPTURE_STRICT", "").strip() not in ("", "0")


def failing(watch: SecretWatch) -> bool:
    return bool(watch.hits or (strict() and watch.raw_hits))


def _report(terminalreporter: Any, hits: list[Hit]) -> None:
    groups: dict[tuple[str, str, str], list[Hit]] = {}
    for hit in hits:
        groups.setdefault((hit.test.split("::")[0], hit.logger, hit.template), []).append(hit)
    for (module, logger, _), found in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:40]:
        first = found[0]
        terminalreporter.line(
            f"{len(found):>5} x {module} {logger} {first.level}: {first.what}: "
            f"…{first.excerpt}… (first in {first.test})"
        )


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("suite-log-capture"):
        config.pluginmanager.register(LogCapturePlugin(), "suite-log-capture")
    # The root logger now runs at DEBUG for the capture; keep pytest's own per-test capture (the
    # "Captured log" of a failure report, and caplog unless a test sets its level) at WARNING,
    # what it showed before, unless the user chose a level.
    if config.getoption("log_level", None) is None and not config.getini("log_level"):
        config.option.log_level = "WARNING"

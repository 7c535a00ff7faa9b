"""Shared machinery of the benchmarks: a bot wired to loopback servers, printing, measuring.

Every benchmark runs the real bot code (``bot.app.build_application`` + ``running``) against the
in-repo fakes served on 127.0.0.1 (``FakeService.serve()``) and the Bot API emulator
(``tests.botapi.BotApiEmulator``), in its own event loop. Figures are printed beside their limit
as a ratio; nothing here asserts a time.

Environment knobs (all optional):

* ``BENCH_LATENCY`` – seconds of latency of every Resont answer (default 0.01)
* ``BENCH_GROUP_WINDOW`` – the Telegram group window in seconds, on the emulator *and* on the
  bot's rate limiter (default 6.0: Telegram's 20/min scaled ten times faster; 60 is real time)
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psutil

from bot.app import build_application, running
from bot.config import Config
from bot.store.state import Store
from tests.botapi import BotApiEmulator, FloodLimits

TOKEN = "123456:BENCH-token"
RESONT_TOKEN = "bench-resont-token"
MIOGRAM_SECRET = "bench-mio-secret"
ADMIN_CHAT = -1001
ADMIN = 1

#: Telegram's documented group limit
TELEGRAM_GROUP_LIMIT = 20
TELEGRAM_GROUP_WINDOW = 60.0


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds (got {raw!r})") from None
    if not value >= 0:
        raise SystemExit(f"{name} must not be negative (got {raw!r})")
    return value


class Printer:
    """Collects the lines a benchmark reports (``run()`` returns them; ``python -m bench``
    prints them); ``echo=True`` also prints each line at once."""

    def __init__(self, echo: bool = False) -> None:
        self.lines: list[str] = []
        self.echo = echo

    def __call__(self, line: str = "") -> None:
        if self.echo:
            print(line, flush=True)
        self.lines.append(line)


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def bench_config(telegram_base_url: str, state_path: Path | str, **overrides: Any) -> Config:
    """A Config for the benchmarks: fixed ids and secrets; polls driven by the benchmark."""
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_base_url": telegram_base_url.rstrip("/"),
        "admin_chat_id": ADMIN_CHAT,
        "admin_ids": (ADMIN,),
        "resont_token": RESONT_TOKEN,
        "resont_base_url": "http://127.0.0.1:9/token/v1",
        "miogram_secret": MIOGRAM_SECRET,
        "miogram_url": "http://127.0.0.1:9/dojob.php",
        "state_path": str(state_path),
        "poll_seconds": 3600.0,
        "group_messages_per_minute": TELEGRAM_GROUP_LIMIT,
        "language": "en",
    }
    values.update(overrides)
    return Config(**values)


@contextmanager
def emulator(limits: FloodLimits) -> Iterator[BotApiEmulator]:
    emu = BotApiEmulator(TOKEN, limits=limits)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


@asynccontextmanager
async def bot(
    emu: BotApiEmulator,
    state_path: Path,
    *,
    resont: Any = None,
    miogram: Any = None,
    group_window: float | None = None,
    manual_jobs: bool = True,
    database_url: str = "",
    **overrides: Any,
) -> AsyncIterator[Any]:
    """The real application against ``emu`` and the fakes, served on 127.0.0.1.

    ``group_window`` rescales the bot's rolling group window (seconds) on its rate limiter;
    ``manual_jobs`` disables the repeating jobs so the benchmark runs poll cycles itself;
    ``database_url`` keeps the state in PostgreSQL instead of the file at ``state_path``."""
    async with AsyncExitStack() as stack:
        if resont is not None:
            server = stack.enter_context(resont.serve())
            overrides.setdefault("resont_base_url", f"{server.url}{resont.base_path}")
        if miogram is not None:
            server = stack.enter_context(miogram.serve())
            overrides.setdefault("miogram_url", f"{server.url}/dojob.php")
        config = bench_config(emu.base_url, state_path, **overrides)
        store = Store.configured(database_url, state_path, wait=30)
        app = build_application(config, store=store)
        limiter = app.bot.rate_limiter
        if group_window is not None and limiter is not None:
            limiter.group_window = group_window
        app = await stack.enter_async_context(running(app))
        if manual_jobs:
            for name in repeating_job_names(app):
                for job in app.job_queue.get_jobs_by_name(name):
                    job.enabled = False
        yield app


def repeating_job_names(app: Any) -> list[str]:
    """The names of the features' recurring jobs (a poll cycle runs each once)."""
    return [job.name for feature in app.bot_data.features for job in feature.jobs]


async def poll_cycle(app: Any, names: list[str] | None = None) -> None:
    """One poll cycle: every recurring job once, concurrently (as the job queue runs them)."""
    names = names or repeating_job_names(app)
    jobs = [job for name in names for job in app.job_queue.get_jobs_by_name(name)]
    await asyncio.gather(*(job.run(app) for job in jobs))


class RssSampler:
    """Peak resident memory of this process, sampled every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def mib(value: float) -> str:
    return f"{value / 1_048_576:,.1f} MiB"


async def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout:.0f} s")
        await asyncio.sleep(interval)

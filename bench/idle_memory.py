"""Idle resident memory of ``python -m bot`` after start-up, against the 80 MiB limit.

The bot runs as a real process started the way the README says (``python -m bot``, configured by
environment variables only), with every feature configured (Resont, MioGram, the weekly insights
digest), against the Bot API emulator and the Resont and MioGram fakes on 127.0.0.1. Once it has
started (commands registered, long polling Telegram, the posts poll run twice) its resident set
size is sampled for a few seconds while its polls keep running; the largest sample is the figure.
Whether matplotlib's and psycopg's compiled modules are mapped into the process is read from
``/proc`` (they should not be: charts load matplotlib on the first chart drawn, and psycopg is
loaded only when ``DATABASE_URL`` is set).

Knobs: ``BENCH_IDLE_SECONDS`` (how long to sample, default 5).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import (
    ADMIN,
    ADMIN_CHAT,
    MIOGRAM_SECRET,
    RESONT_TOKEN,
    Printer,
    emulator,
    env_float,
    mib,
    temp_dir,
    verdict,
)
from tests.botapi import FloodLimits
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont

LIMIT = 80 * 1_048_576
ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 20.0


def bot_env(emu: Any, resont_url: str, miogram_url: str, state: Path) -> dict[str, str]:
    """The operator's environment for one bot with every feature on."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(state.parent),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_TOKEN": emu.token,
        "TELEGRAM_BASE_URL": emu.base_url,
        "ADMIN_CHAT_ID": str(ADMIN_CHAT),
        "ADMIN_IDS": str(ADMIN),
        "RESONT_TOKEN": RESONT_TOKEN,
        "RESONT_BASE_URL": resont_url,
        "MIOGRAM_SECRET": MIOGRAM_SECRET,
        "MIOGRAM_URL": miogram_url,
        "INSIGHTS_DIGEST": "mon 09:00",
        "STATE_PATH": str(state),
        "POLL_SECONDS": "1",
    }


def wait_started(process: subprocess.Popen[bytes], emu: Any, resont: FakeResont, log: Path) -> float:
    """Seconds until the bot is up and idle: commands set, Telegram long-polled, two posts polls."""
    began = time.monotonic()
    while time.monotonic() - began < START_TIMEOUT:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"python -m bot exited with {process.returncode} during start-up: {tail}")
        polls = len(resont.requests_to(r"^GET post/draft$"))
        if emu.requests_of("setMyCommands") and emu.requests_of("getUpdates") and polls >= 2:
            return time.monotonic() - began
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:]
    raise TimeoutError(f"the bot did not start within {START_TIMEOUT:.0f} s: {tail}")


def sample(pid: int, seconds: float) -> tuple[int, int]:
    """(largest, last) resident set size of ``pid`` over ``seconds``."""
    process = psutil.Process(pid)
    peak = last = process.memory_info().rss
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        last = process.memory_info().rss
        peak = max(peak, last)
        time.sleep(0.05)
    return peak, last


def mapped(pid: int, *needles: str) -> bool:
    """Whether a file whose path contains one of ``needles`` is mapped into process ``pid``."""
    maps = Path(f"/proc/{pid}/maps")
    text = maps.read_text(errors="replace") if maps.exists() else ""
    return any(needle in text for needle in needles)


def measure() -> dict[str, Any]:
    seconds = env_float("BENCH_IDLE_SECONDS", 5.0)
    resont, mio = FakeResont(token=RESONT_TOKEN), FakeMioGram(secret=MIOGRAM_SECRET)
    resont.add_account("Brand IG", "instagram")
    resont.add_account("Brand TG", "telegram")
    with emulator(FloodLimits.relaxed()) as emu, temp_dir("bench-idle-") as tmp:
        with resont.serve() as resont_server, mio.serve() as mio_server:
            env = bot_env(
                emu, f"{resont_server.url}{resont.base_path}", f"{mio_server.url}/dojob.php", tmp / "state.json"
            )
            log = tmp / "bot.log"
            with log.open("wb") as sink:
                process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp, env=env, stdout=sink, stderr=sink)
            try:
                started = wait_started(process, emu, resont, log)
                peak, last = sample(process.pid, seconds)
                heavy = {
                    "matplotlib": mapped(process.pid, "matplotlib"),
                    "psycopg": mapped(process.pid, "psycopg", "libpq"),
                }
            finally:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    return {"started": started, "seconds": seconds, "peak": peak, "last": last, **heavy}


def run() -> list[str]:
    say = Printer()
    r = measure()
    ratio = r["peak"] / LIMIT
    say(
        f"Idle memory: python -m bot with Resont, MioGram and the insights digest configured, against the Bot API "
        f"emulator and the fakes on 127.0.0.1; up and idle after {r['started']:.1f} s"
    )
    say(
        f"resident set size over {r['seconds']:.0f} s of idle polling: peak {mib(r['peak'])}, last {mib(r['last'])} "
        f"vs limit {mib(LIMIT)} -> ratio {ratio:.2f} (goal < 1: {verdict(ratio < 1)})"
    )
    say(f"matplotlib loaded at rest: {'yes' if r['matplotlib'] else 'no'} (charts load it on the first chart drawn)")
    say(f"psycopg/libpq loaded at rest: {'yes' if r['psycopg'] else 'no'} (loaded only when DATABASE_URL is set)")
    return say.lines


if __name__ == "__main__":
    for line in run():
        print(line)

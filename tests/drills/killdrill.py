"""The real ``python -m bot`` as a subprocess, configured by environment variables only, for
the kill drills: start it, SIGKILL it, start it again on the same state file.

Every start appends to one log file; :meth:`BotProcess.log_text` reads it back (a drill checks
that no secret reached it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.harness import ADMIN, ADMIN_CHAT

ROOT = Path(__file__).resolve().parents[2]
#: environment variables kept from the test's own environment (nothing of the operator contract)
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


def bot_env(**settings: str | int | float) -> dict[str, str]:
    """A clean environment for ``python -m bot``: the interpreter's basics plus ``settings``
    (upper-case operator-contract names)."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update({key.upper(): str(value) for key, value in settings.items()})
    return env


def drill_env(botapi: Any, **settings: Any) -> dict[str, str]:
    """The environment of a drilled bot whose admin chat is in ``botapi`` (the emulator): 60
    group messages a minute, info logs, and ``settings`` (its state, upstreams, timings)."""
    return bot_env(
        telegram_token=botapi.token,
        telegram_base_url=botapi.base_url,
        admin_chat_id=ADMIN_CHAT,
        admin_ids=ADMIN,
        group_messages_per_minute=60,
        log_level="info",
        **settings,
    )


class BotProcess:
    """One bot at a time on a state directory; ``start`` / ``kill`` (SIGKILL) / ``stop``
    (SIGTERM, then SIGKILL after ``grace`` seconds)."""

    def __init__(self, env: dict[str, str], workdir: Path, *, fresh_cwd: bool = False) -> None:
        self.env = env
        self.workdir = workdir
        #: start every run in a new, empty working directory (a dyno whose disk is thrown away)
        self.fresh_cwd = fresh_cwd
        self.log = workdir / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills: list[float] = []  # time.monotonic() of each SIGKILL

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "the bot is already running"
        handle = self.log.open("ab")
        handle.write(f"\n===== start {self.starts + 1} =====\n".encode())
        handle.flush()
        cwd = self.workdir
        if self.fresh_cwd:
            cwd = self.workdir / f"run-{self.starts + 1}"
            cwd.mkdir()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            env=self.env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        handle.close()
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, the state file stays as the last write left it."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.kills.append(time.monotonic())
        self.proc.wait(10)

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]

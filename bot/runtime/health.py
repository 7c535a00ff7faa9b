"""What /status reports: each upstream's last outcome and each job's last run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    ok: bool
    at: float
    detail: str = ""


@dataclass
class Health:
    """In-memory board updated by clients' callers and jobs (it is rebuilt after a restart)."""

    upstreams: dict[str, Outcome] = field(default_factory=dict)
    jobs: dict[str, Outcome] = field(default_factory=dict)

    def upstream(self, name: str, ok: bool, detail: str = "") -> None:
        self.upstreams[name] = Outcome(ok, time.time(), detail)

    def job(self, name: str, ok: bool, detail: str = "") -> None:
        self.jobs[name] = Outcome(ok, time.time(), detail)

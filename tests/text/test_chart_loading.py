"""Charts load matplotlib on the first chart drawn, never at start-up (it is ~40 MiB of memory);
a bot on the state file never loads psycopg (~9 MiB)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, RESONT_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def test_start_up_does_not_import_matplotlib_and_the_first_chart_does(botapi, tmp_path):
    resont = FakeResont(token=RESONT_TOKEN)
    resont.add_account("Brand IG", "instagram")
    with resont.serve() as server:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_TOKEN": botapi.token,
            "TELEGRAM_BASE_URL": botapi.base_url,
            "ADMIN_CHAT_ID": str(ADMIN_CHAT),
            "ADMIN_IDS": str(ADMIN),
            "RESONT_TOKEN": RESONT_TOKEN,
            "RESONT_BASE_URL": f"{server.url}{resont.base_path}",
            "MIOGRAM_SECRET": "mio-secret",
            "INSIGHTS_DIGEST": "mon 09:00",
            "STATE_PATH": str(tmp_path / "state.json"),
            "POLL_SECONDS": "0.2",
        }
        result = subprocess.run(
            [sys.executable, "-m", "tests.text.startup_probe"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    started, drawn = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    assert started == {"started": True, "matplotlib": False, "numpy": False, "psycopg": False}
    assert drawn == {"png": True, "matplotlib": True, "numpy": True, "psycopg": False}

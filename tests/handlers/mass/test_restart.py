"""A mass send survives a crash: the real ``python -m bot`` killed (SIGKILL) during a batch.

The bot runs as a subprocess against a Bot API emulator, the MioGram fake and the Resont fake,
all on loopback, with its state file in ``tmp_path``. The fake holds the second batch's request
open; the process is killed while it is out, and the gateway then goes on sending that batch (as
the real one does after a 999). A new process on the same state file must show the admins that
batch as unknown with Resend/Skip, send nothing more until one is pressed, and then finish
without any number reaching MioGram twice.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from handlers.mass import buttons as kinds
from tests.botapi.emulator import button_datas, text_of
from tests.fakes.miogram import FakeMioGram
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, MIOGRAM_SECRET, RESONT_TOKEN

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.timeout(90)


class HoldingMioGram(FakeMioGram):
    """Holds the ``hold``-th Mass request until ``release`` is set, then sends it."""

    def __init__(self, hold: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hold = hold
        self.mass_requests = 0
        self.arrived = threading.Event()
        self.release = threading.Event()

    def _mass_send(self, fields):
        self.mass_requests += 1
        if self.mass_requests == self.hold:
            self.arrived.set()
            self.release.wait(30)
        return super()._mass_send(fields)


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bot"],
        env=env,
        cwd=log.parent,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def test_a_batch_in_flight_at_sigkill_is_unknown_and_never_sent_twice(botapi, tmp_path):
    fake = HoldingMioGram(hold=2, secret=MIOGRAM_SECRET)
    resont = FakeResont(token=RESONT_TOKEN)
    audience = [f"+98912{1000000 + i}" for i in range(250)]
    with fake.serve() as mio_server, resont.serve() as resont_server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME", "LANG", "TMPDIR")},
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_TOKEN": botapi.token,
            "TELEGRAM_BASE_URL": botapi.base_url,
            "ADMIN_CHAT_ID": str(ADMIN_CHAT),
            "ADMIN_IDS": str(ADMIN),
            "RESONT_TOKEN": RESONT_TOKEN,
            "RESONT_BASE_URL": f"{resont_server.url}{resont.base_path}",
            "MIOGRAM_SECRET": MIOGRAM_SECRET,
            "MIOGRAM_URL": f"{mio_server.url}/dojob.php",
            "STATE_PATH": str(tmp_path / "state.json"),
            "POLL_SECONDS": "3600",
            "MASS_BATCH_SIZE": "100",
            "GROUP_MESSAGES_PER_MINUTE": "60",
            "LOG_LEVEL": "info",
        }
        log = tmp_path / "bot.log"
        first = start_bot(env, log)
        second = None
        try:
            await botapi.wait_for(
                lambda: botapi.requests_of("getUpdates"),
                timeout=20,
                message=lambda: log.read_text(errors="replace")[-3000:],
            )
            botapi.user_sends(ADMIN, ADMIN_CHAT, "/mass")
            ask = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "step 1 of 3" in text_of(m), timeout=15)
            botapi.user_sends(ADMIN, ADMIN_CHAT, "\n".join(audience), reply_to=ask["message_id"])
            step2 = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Step 2 of 3" in text_of(m), timeout=15)
            botapi.user_sends(ADMIN, ADMIN_CHAT, "Our spring offer", reply_to=step2["message_id"])
            step3 = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Step 3 of 3" in text_of(m), timeout=15)
            botapi.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], kinds.Channel("m").encode())
            preview = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "preview" in text_of(m), timeout=15)
            go = next(d for d in button_datas(preview) if d.startswith("mass:go:"))
            job_id = go.split(":")[2]
            botapi.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], go)

            # The second batch is out: kill the process while MioGram works on it.
            await botapi.wait_for(fake.arrived.is_set, timeout=20)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            fake.release.set()  # the gateway sends the batch it received all the same
            await botapi.wait_for(lambda: len(fake.sent) == 200, timeout=10)
            assert fake.mass_requests == 2

            last_before = max(m["message_id"] for m in botapi.messages(ADMIN_CHAT))
            second = start_bot(env, log)
            card = await botapi.wait_for_bot_message(
                ADMIN_CHAT, lambda m: "outcome unknown" in text_of(m), timeout=20, after=last_before
            )
            assert f"Mass send #{job_id}: batch 2 of 3" in text_of(card) and "100 numbers" in text_of(card)
            assert {f"mass:resend:{job_id}:1", f"mass:skip:{job_id}:1"} <= set(button_datas(card))
            # Nothing is sent while the admins have not decided.
            time.sleep(1.0)
            assert fake.mass_requests == 2 and len(fake.sent) == 200

            botapi.user_presses(ADMIN, ADMIN_CHAT, card["message_id"], kinds.Skip(job_id, 1).encode())
            report = await botapi.wait_for_bot_message(
                ADMIN_CHAT, lambda m: (m.get("document") or {}).get("file_name") == f"mass-{job_id}.csv", timeout=20
            )
        finally:
            first.kill() if first.poll() is None else None
            if second is not None:
                stop(second)
    sent = fake.sent_numbers()
    assert len(sent) == len(set(sent)) == 250, "a number reached MioGram twice (or never)"
    assert fake.mass_requests == 3
    rows = list(csv.DictReader(io.StringIO(botapi.file_bytes(report["document"]["file_id"]).decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == audience
    outcomes = [r["outcome"] for r in rows]
    assert outcomes == ["sent"] * 100 + ["unknown"] * 100 + ["sent"] * 50
    assert "Unknown: 100" in text_of(report)
    log_text = log.read_text(errors="replace")
    assert "in flight at a restart" in log_text
    assert MIOGRAM_SECRET not in log_text and botapi.token not in log_text

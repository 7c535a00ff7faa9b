"""Mass-send benchmark: 10,000 numbers through the real ``/mass`` flow and runner.

``python -m bench mass`` (or ``python -m bench.mass``).

Setup: the MioGram fake on 127.0.0.1 in a process of its own (``bench.remote_fake``: as the real
MioGram, it takes no CPU time from the bot's interpreter) answering every request
``MASS_LATENCY`` (50 ms) after it arrived, the Bot API emulator, the real bot with a state file on
disk. An admin goes through ``/mass`` in the
emulator exactly as in Telegram: uploads ``numbers.csv`` (10,000 distinct numbers), writes the
text, picks the messenger channel, and presses the preview card's *Send now* button, which is
the code path of every confirmed mass send (``handlers.mass.wiring`` → ``bot.massjobs.runner.MassRunner``
driven by the job queue, one MioGram ``SendMessageMass`` of 100 numbers per step, every state
change written to the state file before the next step).

Figures:

* wall time from the button press to the job's end, against the bound
  ``ceil(N / 100) × latency ÷ allowed concurrency``. MioGram's gateway sends sequentially, so the
  allowed concurrency is 1 in-flight Mass request per account: the bound is 100 × 50 ms = 5 s.
  Goal: ≤ 1.1 × the bound.
* peak RSS of the process during the send (sampled every 20 ms), and its growth.
* state-file writes per batch (journal records, each one fdatasync'ed) and the bytes they carry.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench.common import (
    ADMIN,
    ADMIN_CHAT,
    MIOGRAM_SECRET,
    Printer,
    RssSampler,
    bot,
    emulator,
    env_float,
    mib,
    temp_dir,
    verdict,
    wait_until,
)
from bench.postgres import databases
from bench.remote_fake import RemoteMioGram
from bot.clients.miogram.client import MioGramClient
from bot.massjobs import docs as md
from bot.massjobs import storage
from bot.massjobs.counts import count
from tests.botapi import FloodLimits, button_datas, text_of

NUMBERS = 10_000
BATCH = 100
CONCURRENCY = 1  # in-flight Mass requests per MioGram sending agent (robot)
GOAL = 1.1
PG_GOAL = 1.15  # the same send with the state in PostgreSQL (issue 16)
#: the sending agents of the lanes run (MIOGRAM_ROBOTS) and its goal
ROBOTS = ("A", "B", "C")
LANES_GOAL = 1.15


class _WriteMeter:
    """Counts the state store's records and their bytes (wraps the storage backend's persist:
    a journal line on the file store, one committed statement on PostgreSQL) and the time of
    writing them, their fdatasync included (``Store.durably`` runs it in a worker thread)."""

    def __init__(self, store: Any) -> None:
        self.backend = store.storage.backend
        self.records = 0
        self.bytes = 0
        self.seconds = 0.0
        original = self.backend.persist

        def persist(record: Any, line: str) -> None:
            started = time.perf_counter()
            original(record, line)
            self.seconds += time.perf_counter() - started
            self.records += 1
            self.bytes += len(line) + 1

        self.backend.persist = persist

    @contextmanager
    def flushes(self) -> Iterator[None]:
        """Also count the fdatasync calls made meanwhile off the event loop's thread (those on it
        are inside ``persist`` and already counted)."""
        real = os.fdatasync
        lock = threading.Lock()

        def fdatasync(fd: int) -> None:
            started = time.perf_counter()
            real(fd)
            if threading.current_thread() is not threading.main_thread():
                with lock:
                    self.seconds += time.perf_counter() - started

        os.fdatasync = fdatasync
        try:
            yield
        finally:
            os.fdatasync = real


def _peek(table: Any, key: str, field: str) -> Any:
    """One field of a stored document without copying it (``Table.get`` deep-copies the whole
    job, which at 10,000 numbers would cost the event loop more than the bot's own work)."""
    return (table.peek(key) or {}).get(field)


def _job(store: Any, job_id: str) -> dict[str, Any]:
    """The job with its units, however the runner stores them."""
    job = storage.load(store, job_id)
    assert job is not None
    return job


def audience() -> list[str]:
    return [f"+98912{1_000_000 + i}" for i in range(NUMBERS)]


async def _flow_to_preview(emu: Any) -> tuple[dict[str, Any], str]:
    """/mass → CSV file → text → channel: returns the preview card and the Go callback data."""
    emu.user_sends(ADMIN, ADMIN_CHAT, "/mass")
    ask = await emu.wait_for_bot_message(ADMIN_CHAT, lambda m: "step 1 of 3" in text_of(m), timeout=30)
    csv_bytes = ("number\n" + "\n".join(audience()) + "\n").encode()
    emu.user_sends_document(
        ADMIN, ADMIN_CHAT, csv_bytes, filename="numbers.csv", reply_to=ask["message_id"], mime_type="text/csv"
    )
    step2 = await emu.wait_for_bot_message(ADMIN_CHAT, lambda m: "Step 2 of 3" in text_of(m), timeout=60)
    emu.user_sends(ADMIN, ADMIN_CHAT, "Our spring offer: 20% off everything this week.", reply_to=step2["message_id"])
    step3 = await emu.wait_for_bot_message(ADMIN_CHAT, lambda m: "Step 3 of 3" in text_of(m), timeout=30)
    emu.user_presses(ADMIN, ADMIN_CHAT, step3["message_id"], "mass:ch:m")
    preview = await emu.wait_for_bot_message(
        ADMIN_CHAT, lambda m: any(d.startswith("mass:go:") for d in button_datas(m)), timeout=60
    )
    go = next(d for d in button_datas(preview) if d.startswith("mass:go:"))
    return preview, go


async def bare_round_trip(latency: float, requests: int = 20) -> float:
    """The median time of one bare ``SendMessageMass`` of 100 numbers from the MioGram client to
    a second fake (in its own process, like the send's) with the same latency, measured in the
    same process as the send: the latency plus what the client and the loopback HTTP cost,
    without the bot."""
    fake = RemoteMioGram(secret=MIOGRAM_SECRET, credit=requests * BATCH, latency=latency)
    numbers = [f"+98913{1_000_000 + i}" for i in range(requests * BATCH)]
    times: list[float] = []
    with fake.serve() as server:
        async with httpx.AsyncClient() as http:
            client = MioGramClient(http, url=f"{server.url}/dojob.php", secret=MIOGRAM_SECRET)
            client.mass.remember_valid(numbers)
            await client.checks.limits()
            for start in range(0, len(numbers), BATCH):
                began = time.perf_counter()
                await client.mass.send_mass_batch(numbers[start : start + BATCH], text="Our spring offer: 20% off.")
                times.append(time.perf_counter() - began)
    return statistics.median(times)


async def _run(robots: tuple[str, ...] = (), database_url: str = "") -> dict[str, Any]:
    latency = env_float("MASS_LATENCY", 0.05)
    fake = RemoteMioGram(secret=MIOGRAM_SECRET, credit=NUMBERS * 2, robots=robots)
    with emulator(FloodLimits.telegram()) as emu, temp_dir("bench-mass-") as tmp:
        lanes = {"miogram_robots": robots} if robots else {}
        store = {"database_url": database_url}
        async with bot(emu, tmp / "state.json", miogram=fake, mass_batch_size=BATCH, **lanes, **store) as app:
            services = app.bot_data.services
            preview, go = await _flow_to_preview(emu)
            job_id = go.split(":")[2]
            table = services.store.table(md.TABLE)
            draft = _job(services.store, job_id)
            valid = len(draft.get("numbers") or []) or sum(len(u["numbers"]) for u in draft.get("units", []))
            round_trip = await bare_round_trip(latency)
            fake.set_latency(latency)
            before = fake.received()
            meter = _WriteMeter(services.store)
            compactions_before = getattr(services.store.storage.backend, "compactions", 0)
            with RssSampler() as rss, meter.flushes():
                started = time.monotonic()
                emu.user_presses(ADMIN, ADMIN_CHAT, preview["message_id"], go)
                await wait_until(lambda: _peek(table, job_id, "status") in md.FINISHED, timeout=600, interval=0.005)
                finished = time.monotonic()
                await wait_until(lambda: _peek(table, job_id, "report_sent"), timeout=60)
                reported = time.monotonic()
            received = fake.received()
            job = _job(services.store, job_id)
            counts = count(job)
            units = len(job["units"])
            result = {
                "latency": latency,
                "round_trip": round_trip,
                "valid": valid,
                "wall": finished - started,
                "report": reported - started,
                "status": job["status"],
                "sent": counts.sent,
                "units": units,
                "mass_requests": received.mass_requests - before.mass_requests,
                "numbers_sent": received.numbers_sent,
                "distinct_sent": received.distinct_sent,
                "writes": meter.records,
                "write_bytes": meter.bytes,
                "write_seconds": meter.seconds,
                "compactions": getattr(services.store.storage.backend, "compactions", 0) - compactions_before,
                "rss_peak": rss.peak,
                "rss_base": rss.baseline,
                "edits": len(emu.requests_of("editMessageText")),
                "lanes": max(1, len(robots)),
                "by_robot": {r: received.by_robot.get(r, 0) for r in robots},
            }
    return result


def run() -> list[str]:
    say = Printer()
    one = asyncio.run(_run())
    _report(say, one)
    three = asyncio.run(_run(ROBOTS))
    _report_lanes(say, three)
    with databases() as new_database:  # the same one-lane send with the state in PostgreSQL
        say("--- the same send, state in PostgreSQL (DATABASE_URL) instead of the state file:")
        pg = asyncio.run(_run(database_url=new_database()))
        _report(say, pg)
        _, _, ratio, _, trip_ratio = _ratios(pg)
        say(
            f"PostgreSQL store goal (<= {PG_GOAL} x the bound): {ratio:.2f} x the latency bound, {trip_ratio:.2f} x "
            f"the round-trip bound -> {verdict(trip_ratio <= PG_GOAL)} against the round trip"
        )
    return say.lines


def _ratios(r: dict[str, Any]) -> tuple[int, float, float, float, float]:
    """(batches, latency bound, its ratio, round-trip bound, its ratio) for ``r['lanes']`` lanes."""
    batches = math.ceil(r["valid"] / BATCH)
    bound = batches * r["latency"] / (CONCURRENCY * r["lanes"])
    trip_bound = batches * r["round_trip"] / (CONCURRENCY * r["lanes"])
    return batches, bound, r["wall"] / bound, trip_bound, r["wall"] / trip_bound


def _report(say: Printer, r: dict[str, Any]) -> None:
    latency, trip = r["latency"], r["round_trip"]
    batches, bound, ratio, trip_bound, trip_ratio = _ratios(r)
    say(
        f"Mass send: {r['valid']:,} numbers in batches of {BATCH} through the /mass flow; MioGram fake on "
        f"127.0.0.1 answering after {latency * 1000:.0f} ms; one lane: {CONCURRENCY} in-flight Mass request "
        "per sending agent"
    )
    say(
        f"job {r['status']}: {r['sent']:,} sent, {r['mass_requests']} Mass requests, {r['numbers_sent']:,} numbers "
        f"reached MioGram ({r['distinct_sent']:,} distinct)"
    )
    say(
        f"wall time (button press to job done): {r['wall']:.2f} s vs bound ceil({r['valid']:,}/{BATCH}) x "
        f"{latency * 1000:.0f} ms = {bound:.2f} s -> ratio {ratio:.2f} (goal <= {GOAL}: {verdict(ratio <= GOAL)})"
    )
    say(
        f"  against the measured round trip: a bare SendMessageMass of {BATCH} numbers from the client to the "
        f"fake takes {trip * 1000:.1f} ms here (median of 20: the latency plus the client, loopback HTTP and fake) "
        f"-> bound {trip_bound:.2f} s -> ratio {trip_ratio:.2f} (goal <= {GOAL}: {verdict(trip_ratio <= GOAL)})"
    )
    say(
        f"  per batch: {r['wall'] / max(1, r['units']) * 1000:.1f} ms for {latency * 1000:.0f} ms of MioGram latency; "
        f"report sent {r['report'] - r['wall']:.2f} s after the end"
    )
    say(f"peak RSS: {mib(r['rss_peak'])} (+{mib(r['rss_peak'] - r['rss_base'])} during the send)")
    per_batch = r["writes"] / max(1, r["units"])
    say(
        f"state writes: {r['writes']:,} records (journal lines or committed statements) for {r['units']} batches -> {per_batch:.2f} per batch, "
        f"{r['write_bytes'] / max(1, r['units']) / 1024:,.1f} KiB per batch, {r['write_seconds']:.2f} s of "
        f"write+fdatasync in all; {r['compactions']} compaction(s)"
    )
    say(f"progress message edits: {r['edits']}")


def _report_lanes(say: Printer, r: dict[str, Any]) -> None:
    batches, bound, ratio, trip_bound, trip_ratio = _ratios(r)
    lanes = r["lanes"]
    spread = ", ".join(f"{robot} {n}" for robot, n in r["by_robot"].items())
    say(
        f"Mass send on {lanes} lanes (MIOGRAM_ROBOTS={','.join(r['by_robot'])}): job {r['status']}, "
        f"{r['sent']:,} sent, {r['mass_requests']} Mass requests ({spread}), {r['numbers_sent']:,} numbers reached "
        f"MioGram ({r['distinct_sent']:,} distinct)"
    )
    say(
        f"wall time: {r['wall']:.2f} s vs bound ceil({r['valid']:,}/{BATCH}) x {r['latency'] * 1000:.0f} ms / "
        f"{lanes} = {bound:.2f} s -> ratio {ratio:.2f} (goal <= {LANES_GOAL}: {verdict(ratio <= LANES_GOAL)}); "
        f"against the measured round trip ({r['round_trip'] * 1000:.1f} ms) / {lanes} = {trip_bound:.2f} s -> "
        f"ratio {trip_ratio:.2f} (goal <= {LANES_GOAL}: {verdict(trip_ratio <= LANES_GOAL)})"
    )


if __name__ == "__main__":
    for line in run():
        print(line)

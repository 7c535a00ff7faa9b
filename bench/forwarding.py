"""Forwarding benchmark: a backlog of 1,000 comments and 200 DMs reaches the admin chat.

``python -m bench forwarding`` (or ``python -m bench.forwarding``).

Setup: the Resont fake on 127.0.0.1 (``BENCH_LATENCY`` per answer, 20 items per page), the Bot
API emulator with Telegram's flood control (20 messages per group window, 30/s overall, 429 with
``retry_after`` beyond that), the real bot with a state file. A first poll cycle establishes the
cursors over a small history; then 1,000 comments and 200 conversations with one inbound message
each arrive at once, and one poll cycle (every recurring job, concurrently, as the job queue runs
them) must deliver them all.

The group window is scaled (``BENCH_GROUP_WINDOW``, default 6 s instead of Telegram's 60 s) on
the emulator *and* on the bot's rate limiter, so the run takes seconds instead of minutes; the
ratio to the allowed rate does not depend on the scale.

Figures: wall time to deliver all (from the start of the poll cycle to Telegram's acceptance of
the last message), Telegram messages sent, 429s received (must be 0), Resont requests made, and
the achieved rate against the allowed one: with N messages per window W, M messages need at
least ``floor((M - 1) / N) × W`` between the first and the last (the first N go at once, then N
per window); ratio = that bound ÷ the measured span (goal ≥ 0.9, 0 flood errors).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.common import (
    ADMIN_CHAT,
    RESONT_TOKEN,
    TELEGRAM_GROUP_LIMIT,
    TELEGRAM_GROUP_WINDOW,
    Printer,
    bot,
    emulator,
    env_float,
    poll_cycle,
    temp_dir,
    verdict,
)
from tests.botapi import FloodLimits
from tests.fakes.resont import FakeResont

COMMENTS = 1_000
DMS = 200
HISTORY_COMMENTS = 100
HISTORY_CONVERSATIONS = 20
PAGE_SIZE = 20
GOAL = 0.9


def _seed_history(fake: FakeResont, account: int, post: int) -> None:
    for i in range(HISTORY_COMMENTS):
        fake.add_comment(account, f"old comment {i}", post_id=post, username=f"old{i % 20}")
    for i in range(HISTORY_CONVERSATIONS):
        conversation = fake.add_conversation(account, f"olddm{i}")
        fake.add_message(conversation["id"], f"old dm {i}")


def _seed_backlog(fake: FakeResont, account: int, post: int) -> None:
    for i in range(COMMENTS):
        fake.add_comment(account, f"backlog comment {i}", post_id=post, username=f"fan{i % 97}")
    for i in range(DMS):
        conversation = fake.add_conversation(account, f"customer{i}")
        fake.add_message(conversation["id"], f"backlog dm {i}")


async def _run() -> dict[str, Any]:
    latency = env_float("BENCH_LATENCY", 0.01)
    window = env_float("BENCH_GROUP_WINDOW", 6.0) or 6.0
    limit = TELEGRAM_GROUP_LIMIT
    fake = FakeResont(token=RESONT_TOKEN, page_size=PAGE_SIZE)
    account = fake.add_account("Brand Shop", "instagram")["id"]
    post = fake.add_account_post(account, "Our new collection")["id"]
    _seed_history(fake, account, post)
    limits = FloodLimits(group=limit, group_window=window, overall=30, overall_window=1.0)
    with emulator(limits) as emu, temp_dir("bench-forwarding-") as tmp:
        async with bot(
            emu, tmp / "state.json", resont=fake, group_window=window, group_messages_per_minute=limit
        ) as app:
            await poll_cycle(app)  # first start: cursors over the history, nothing forwarded
            fake.latency = latency
            _seed_backlog(fake, account, post)
            emu.clear_requests()
            requests_before = len(fake.requests)
            too_many_before = emu.too_many_requests
            started = time.monotonic()
            cycles = 0
            inbox = app.bot_data.services.store.table("inbox")

            def undelivered() -> int:
                return sum(
                    1
                    for _, d in inbox.items()
                    if d.get("status") == "pending" and d.get("type") in ("comment", "dm", "msg")
                )

            while True:
                cycles += 1
                await poll_cycle(app)
                if undelivered() == 0 or cycles >= 5:
                    break
            finished = time.monotonic()
            resont_requests = len(fake.requests) - requests_before
            records = [d for _, d in inbox.items()]
            delivered_comments = sum(1 for d in records if d.get("type") == "comment" and d.get("status") == "open")
            delivered_dms = sum(1 for d in records if d.get("type") == "dm" and d.get("status") == "open")
            dm_messages = sum(len(d["item"]["messages"]) for d in records if d.get("type") == "dm")
            sends = [
                r
                for r in emu.requests_of("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup")
                if r.ok and r.params.get("chat_id") == ADMIN_CHAT
            ]
            edits = [
                r
                for r in emu.requests_of("editMessageText", "editMessageReplyMarkup", "editMessageCaption")
                if r.ok and r.params.get("chat_id") == ADMIN_CHAT
            ]
            stats = app.bot.rate_limiter.stats()
        too_many = emu.too_many_requests - too_many_before
    return {
        "latency": latency,
        "window": window,
        "limit": limit,
        "started": started,
        "finished": finished,
        "cycles": cycles,
        "resont_requests": resont_requests,
        "sends": sends,
        "edits": edits,
        "too_many": too_many,
        "delivered_comments": delivered_comments,
        "delivered_dms": delivered_dms,
        "dm_messages": dm_messages,
        "limiter": stats,
    }


def run() -> list[str]:
    say = Printer()
    r = asyncio.run(_run())
    window, limit = r["window"], r["limit"]
    sends = sorted(r["sends"], key=lambda q: q.time)
    counted = sorted([q.time for q in sends] + [q.time for q in r["edits"]])
    scale = TELEGRAM_GROUP_WINDOW / window
    say(
        f"Backlog: {COMMENTS:,} comments + {DMS:,} DMs; Resont fake on 127.0.0.1 with "
        f"{r['latency'] * 1000:.0f} ms latency, {PAGE_SIZE} items per page"
    )
    say(
        f"Telegram limit: {limit} messages per {window:g} s per group on the emulator and the bot's limiter "
        f"(Telegram's {limit}/{TELEGRAM_GROUP_WINDOW:g} s scaled x{scale:g})"
    )
    say(
        f"delivered: {r['delivered_comments']:,} comments and {r['dm_messages']:,} DMs "
        f"({r['delivered_dms']:,} DM cards) in {r['cycles']} poll cycle(s)"
    )
    wall = (counted[-1] - r["started"]) if counted else math.nan
    say(f"wall time to deliver all: {wall:.2f} s (x{scale:g} = {wall * scale:.1f} s at Telegram's real window)")
    say(
        f"Telegram messages sent: {len(sends)} (+ {len(r['edits'])} edits) for {COMMENTS + DMS:,} items "
        f"-> {(COMMENTS + DMS) / max(1, len(sends)):.1f} items per message"
    )
    say(
        f"429 answers received: {r['too_many']} (must be 0: {verdict(r['too_many'] == 0)}); "
        f"limiter waited {r['limiter']['waited']} times, {r['limiter']['wait_seconds']:.1f} s in all"
    )
    say(
        f"Resont requests made: {r['resont_requests']:,} "
        f"({(COMMENTS + DMS) / max(1, r['resont_requests']):.1f} items per request)"
    )
    if len(counted) >= 2:
        span = counted[-1] - counted[0]
        bound = math.floor((len(counted) - 1) / limit) * window
        achieved = (len(counted) - 1) / span * window if span > 0 else math.inf
        if bound > 0:
            ratio = bound / span
            say(
                f"rate: {len(counted)} messages in {span:.2f} s from first to last; the limit allows them in "
                f"no less than {bound:.2f} s -> ratio to the allowed rate {ratio:.3f} "
                f"(goal >= {GOAL}: {verdict(ratio >= GOAL and r['too_many'] == 0)})"
            )
        else:
            say(f"rate: all {len(counted)} messages fit in one window ({span:.2f} s): the limit is not reached")
        say(f"  ({achieved:.1f} messages per window of {window:g} s after the first, allowed {limit})")
        first_wait = counted[0] - r["started"]
        say(f"  fetching before the first message: {first_wait:.2f} s")
    return say.lines


if __name__ == "__main__":
    for line in run():
        print(line)

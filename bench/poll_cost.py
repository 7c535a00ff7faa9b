"""Poll-cost benchmark: Resont requests per poll cycle against the number of new items.

``python -m bench poll_cost`` (or ``python -m bench.poll_cost``).

Setup: the Resont fake on 127.0.0.1 (20 items per page) holding a history of H comments and H
direct messages (H / 10 conversations of 10 messages), the Bot API emulator (flood control off:
this benchmark is about Resont), the real bot with a state file. A first poll cycle establishes
the cursors; then, for 0, 10 and 1,000 new comments (and separately 0, 10 and 1,000 new DMs, ten
per conversation), one poll cycle runs every recurring job of the bot once (inbox comments,
inbox DMs, posts) and the Resont requests it made are counted, by endpoint, from the fake's own
request log.

Limit: the fewest requests that can see the new items with cursor paging, newest first and
stopping at the remembered ids: ``max(1, ceil(new / page))`` pages of comments, ``max(1,
ceil(changed conversations / page))`` pages of conversations, and one page of messages per
changed conversation. Ratio = measured inbox requests (comments + conversations + messages) ÷
that minimum; the posts poll's requests (``post``, ``post/draft``, ``account``) are a fixed cost
per cycle, shown apart. The same cycle over a history of
5,000 and of 50,000 must cost the same: the cost grows with new items only.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import Counter
from typing import Any

from bench.common import (
    RESONT_TOKEN,
    Printer,
    bot,
    emulator,
    poll_cycle,
    temp_dir,
    verdict,
)
from tests.botapi import FloodLimits
from tests.fakes.resont import FakeResont

HISTORIES = (5_000, 50_000)
NEW = (0, 10, 1_000)
PAGE = 20
MESSAGES_PER_CONVERSATION = 10


def _kind(path: str) -> str:
    if re.fullmatch(r"comment", path):
        return "comments"
    if re.fullmatch(r"conversation", path):
        return "conversations"
    if re.fullmatch(r"conversation/\d+/messages", path):
        return "messages"
    if path.startswith("post"):
        return "posts"
    return "other"


def _seed(fake: FakeResont, history: int) -> tuple[int, int, list[int]]:
    account = fake.add_account("Brand Shop", "instagram")["id"]
    post = fake.add_account_post(account, "Our new collection")["id"]
    for i in range(history):
        fake.add_comment(account, f"history comment {i}", post_id=post, username=f"fan{i % 200}")
    conversations = []
    for c in range(history // MESSAGES_PER_CONVERSATION):
        conversation = fake.add_conversation(account, f"customer{c}")
        conversations.append(conversation["id"])
        for m in range(MESSAGES_PER_CONVERSATION):
            fake.add_message(conversation["id"], f"history dm {c}.{m}")
    return account, post, conversations


async def _cycle(app: Any, fake: FakeResont) -> Counter[str]:
    before = len(fake.requests)
    await poll_cycle(app)
    return Counter(_kind(r.path) for r in fake.requests[before:])


async def _measure(history: int) -> dict[str, Any]:
    fake = FakeResont(token=RESONT_TOKEN, page_size=PAGE)
    started = time.monotonic()
    account, post, conversations = _seed(fake, history)
    seeded = time.monotonic() - started
    rows: list[tuple[str, int, Counter[str], int]] = []
    with emulator(FloodLimits.off()) as emu, temp_dir("bench-poll-") as tmp:
        async with bot(
            emu, tmp / "state.json", resont=fake, group_window=0.01, group_messages_per_minute=60, digest_threshold=10
        ) as app:
            await poll_cycle(app)  # first start: cursors; no history is forwarded
            await _cycle(app, fake)  # settle (the first regular cycle may refresh caches)
            for new in NEW:
                for i in range(new):
                    fake.add_comment(account, f"new comment {new}.{i}", post_id=post, username=f"new{i % 50}")
                counts = await _cycle(app, fake)
                # the comment pages holding the new items (one to see there are none) + one page
                # of conversations to see no DM is new
                minimum = max(1, math.ceil(new / PAGE)) + 1
                rows.append(("comments", new, counts, minimum))
            for new in NEW:
                changed = conversations[-(new // MESSAGES_PER_CONVERSATION) :] if new else []
                for c in changed:
                    for m in range(MESSAGES_PER_CONVERSATION):
                        fake.add_message(c, f"new dm {new}.{c}.{m}")
                counts = await _cycle(app, fake)
                # one page of comments + the conversation pages holding the changed ones + one
                # page of messages per changed conversation
                minimum = 1 + max(1, math.ceil(len(changed) / PAGE)) + len(changed)
                rows.append(("DMs", new, counts, minimum))
            forwarded = sum(
                1 for _, d in app.bot_data.services.store.table("inbox").items() if d.get("status") == "open"
            )
    return {"history": history, "rows": rows, "seeded": seeded, "forwarded": forwarded}


def run() -> list[str]:
    say = Printer()
    results = [asyncio.run(_measure(h)) for h in HISTORIES]
    say(
        f"Resont fake on 127.0.0.1, {PAGE} items per page; history = H comments + H DMs "
        f"(H/{MESSAGES_PER_CONVERSATION} conversations); one cycle = every recurring poll once"
    )
    say("requests per poll cycle (comments / conversations / messages / posts / other) vs the minimum for the inbox:")
    say("  (posts + other: the posts poll, GET post, post/draft and account, a fixed cost per cycle)")
    worst = 0.0
    for result in results:
        say(f"--- history {result['history']:,} (+ {result['history']:,} DMs)")
        for kind, new, counts, minimum in result["rows"]:
            inbox = counts["comments"] + counts["conversations"] + counts["messages"]
            ratio = inbox / minimum
            worst = max(worst, ratio)
            say(
                f"  {new:>5,} new {kind:<8}: {sum(counts.values()):>4} requests "
                f"({counts['comments']} / {counts['conversations']} / {counts['messages']} / {counts['posts']} / "
                f"{counts['other']}); inbox {inbox} vs minimum {minimum} -> ratio {ratio:.2f}"
            )
    first, last = results[0]["rows"], results[-1]["rows"]
    same = all(sum(a[2].values()) == sum(b[2].values()) for a, b in zip(first, last, strict=True))
    zero = [sum(c.values()) for kind, new, c, _ in last if new == 0]
    say(
        f"cost with 0 new items: {zero} requests at history {HISTORIES[-1]:,}; same cost at history "
        f"{HISTORIES[0]:,} and {HISTORIES[-1]:,} for every row: {same} "
        f"(goal: grows with new items only: {verdict(same)})"
    )
    say(f"worst ratio to the minimum: {worst:.2f}")
    return say.lines


if __name__ == "__main__":
    for line in run():
        print(line)

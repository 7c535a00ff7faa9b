"""StrictRateLimiter against the emulator's flood control, and against PTB's AIORateLimiter.

Telegram's group limit (20 per 60 s) is scaled down to 20 per 2 s on both sides so the tests
run in seconds; the arithmetic is the same.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import InputMediaDocument
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.runtime.ratelimit import StrictRateLimiter
from tests.botapi import FloodLimits, wait_for
from tests.botapi.ptb import build_app
from tests.harness import test_config

GROUP = -1001
WINDOW = 2.0


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open interval of length ``window``."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def pooled() -> dict:
    """ApplicationBuilder options for many concurrent requests."""
    return {"connection_pool_size": 64}


async def test_strict_limiter_sends_45_to_a_group_without_a_single_429(botapi):
    botapi.set_limits(group=20, group_window=WINDOW, overall=30, overall_window=1.0)
    limiter = StrictRateLimiter(20, group_window=WINDOW, max_retries=0)
    app = build_app(botapi, rate_limiter=limiter, **pooled())
    started = time.monotonic()
    async with app:
        sent_before = limiter.sent  # getMe went through the limiter too (no chat: no slot)
        sends = [asyncio.create_task(app.bot.send_message(GROUP, f"card {i}")) for i in range(45)]
        await wait_for(lambda: limiter.backlog(GROUP) == 25, timeout=1.5)  # 20 went, 25 wait
        assert limiter.next_free_slots(GROUP) == 0
        await asyncio.sleep(0.2)
        assert limiter.backlog(GROUP) == 25  # and keep waiting for the window
        await asyncio.gather(*sends)
    elapsed = time.monotonic() - started
    assert botapi.too_many_requests == 0
    assert [m["text"] for m in botapi.bot_messages(GROUP)] == [f"card {i}" for i in range(45)]  # in order
    arrivals = [r.time for r in botapi.requests_of("sendMessage")]
    assert max_in_window(arrivals, WINDOW) == 20
    assert 2 * WINDOW <= elapsed < 2 * WINDOW + 3
    assert limiter.sent - sent_before == 45 and limiter.stats()["waited"] == 25 and limiter.backlog() == 0


async def test_aio_rate_limiter_with_the_same_settings_gets_429(botapi):
    """PTB's leaky bucket lets 20 through, then one every WINDOW/20 s: too many per window."""
    botapi.set_limits(group=20, group_window=WINDOW, overall=30, overall_window=1.0)
    limiter = AIORateLimiter(
        overall_max_rate=30, overall_time_period=1, group_max_rate=20, group_time_period=WINDOW, max_retries=0
    )
    app = build_app(botapi, rate_limiter=limiter, **pooled())
    async with app:
        results = await asyncio.gather(
            *(app.bot.send_message(GROUP, f"card {i}") for i in range(30)), return_exceptions=True
        )
    assert botapi.too_many_requests >= 1
    assert any(isinstance(r, RetryAfter) for r in results)


async def test_edits_count_and_other_groups_are_independent(botapi):
    botapi.set_limits(group=5, group_window=1.0)
    limiter = StrictRateLimiter(5, group_window=1.0)
    app = build_app(botapi, rate_limiter=limiter, **pooled())
    async with app:
        card = await app.bot.send_message(GROUP, "progress 0%")
        other = asyncio.gather(*(app.bot.send_message(-1002, f"other {i}") for i in range(5)))
        for pct in range(10, 100, 10):  # 9 edits + 1 send = 10 requests: two windows
            await app.bot.edit_message_text(f"progress {pct}%", chat_id=GROUP, message_id=card.message_id)
        await other
        assert limiter.next_free_slots(-1003) == 5  # an untouched group has its whole window
    assert botapi.too_many_requests == 0
    edits = [r.time for r in botapi.requests_of("sendMessage", "editMessageText") if r.params["chat_id"] == GROUP]
    assert max_in_window(edits, 1.0) <= 5 and edits[-1] - edits[0] >= 1.0
    other_times = [r.time for r in botapi.requests_of("sendMessage") if r.params["chat_id"] == -1002]
    assert other_times[-1] - other_times[0] < 0.9  # not held up by the busy group (window: 1 s)


async def test_overall_and_private_limits(botapi):
    botapi.set_limits(group=None, overall=30, overall_window=1.0, private=3, private_window=1.0)
    limiter = StrictRateLimiter(20, overall_per_second=30, private_limit=3, private_window=1.0)
    app = build_app(botapi, rate_limiter=limiter, **pooled())
    started = time.monotonic()
    async with app:
        await asyncio.gather(
            *(app.bot.send_message(1000 + i, "broadcast") for i in range(45)),  # 45 private chats
            *(app.bot.send_message(7, f"dm {i}") for i in range(5)),  # one busy private chat
        )
    assert botapi.too_many_requests == 0
    assert max_in_window([r.time for r in botapi.requests_of("sendMessage")], 1.0) <= 30
    assert [m["text"] for m in botapi.bot_messages(7)] == [f"dm {i}" for i in range(5)]
    assert time.monotonic() - started >= 1.0


async def test_an_album_uses_one_slot_per_item(botapi):
    botapi.set_limits(group=12, group_window=1.0)
    limiter = StrictRateLimiter(12, group_window=1.0, max_retries=0)
    app = build_app(botapi, rate_limiter=limiter, **pooled())
    async with app:
        first = [asyncio.create_task(app.bot.send_message(GROUP, f"m{i}")) for i in range(5)]
        album = asyncio.create_task(
            app.bot.send_media_group(
                GROUP, [InputMediaDocument(f"{i}".encode(), filename=f"{i}.txt") for i in range(10)]
            )
        )
        await asyncio.gather(*first, album)
    assert botapi.too_many_requests == 0
    times = [r.time for r in botapi.requests_of("sendMessage", "sendMediaGroup")]
    assert times[-1] - times[0] >= 1.0  # 5 + 10 > 12: the album waited for the window


async def test_retry_after_is_obeyed_and_order_kept(botapi):
    """The server is stricter than the limiter: the limiter waits retry_after and retries."""
    botapi.set_limits(group=2, group_window=1.0)
    limiter = StrictRateLimiter(10, group_window=1.0, max_retries=3)
    app = build_app(botapi, rate_limiter=limiter, **pooled())
    async with app:
        await asyncio.gather(*(app.bot.send_message(GROUP, f"m{i}") for i in range(4)))
    assert botapi.too_many_requests >= 1 and limiter.retried_after == botapi.too_many_requests
    assert [m["text"] for m in botapi.bot_messages(GROUP)] == ["m0", "m1", "m2", "m3"]


async def test_retries_exhausted_raise_retry_after(botapi):
    botapi.set_limits(group=1, group_window=30.0)
    limiter = StrictRateLimiter(10, max_retries=0)
    app = build_app(botapi, rate_limiter=limiter)
    async with app:
        await app.bot.send_message(GROUP, "fits")
        with pytest.raises(RetryAfter):
            await app.bot.send_message(GROUP, "flood")
        assert limiter.next_free_slots(GROUP) == 0  # the chat is blocked for retry_after


async def test_backlog_and_free_slots_without_http():
    """Bookkeeping with a fake callback: rolling window, FIFO order, backlog, free slots."""
    limiter = StrictRateLimiter(3, group_window=0.4, overall_per_second=100)
    starts: list[tuple[str, float]] = []

    async def call(label: str) -> dict:
        starts.append((label, time.monotonic()))
        await asyncio.sleep(0.01)
        return {"ok": label}

    def request(label: str, chat_id: object, endpoint: str = "sendMessage"):
        return limiter.process_request(call, (label,), {}, endpoint, {"chat_id": chat_id}, None)

    assert limiter.next_free_slots(GROUP) == 3 and limiter.next_free_slots("-1001") == 3
    tasks = [asyncio.create_task(request(f"r{i}", GROUP)) for i in range(7)]
    await asyncio.sleep(0.1)
    assert limiter.backlog(GROUP) == 4 and limiter.backlog() == 4
    assert limiter.next_free_slots(GROUP) == 0
    # exempt methods and requests without a chat are never held up
    assert await request("action", GROUP, "sendChatAction") == {"ok": "action"}
    assert await limiter.process_request(call, ("cb",), {}, "answerCallbackQuery", {}, None) == {"ok": "cb"}
    await asyncio.gather(*tasks)
    order = [label for label, _ in starts if label.startswith("r")]
    assert order == [f"r{i}" for i in range(7)]
    times = [t for label, t in starts if label.startswith("r")]
    assert max_in_window(times, 0.4) == 3
    assert limiter.backlog(GROUP) == 0 and limiter.stats()["sent"] == 9
    await asyncio.sleep(0.45)
    assert limiter.next_free_slots(GROUP) == 3


def test_limiter_from_config_and_validation(botapi):
    limiter = StrictRateLimiter.from_config(test_config(botapi, group_messages_per_minute=15))
    assert limiter.group_per_minute == 15 and limiter.group_window == 60.0
    with pytest.raises(ValueError):
        StrictRateLimiter(0)
    with pytest.raises(ValueError):
        StrictRateLimiter(20, group_window=0)
    assert FloodLimits.telegram().group == 20 and FloodLimits.telegram().group_window == 60.0

"""A strict rate limiter for python-telegram-bot: rolling windows, per chat and overall.

Telegram answers 429 to a bot that sends more than about 20 messages in any minute to one
group, or about 30 a second overall. PTB's ``AIORateLimiter`` is a leaky bucket: it lets a
burst of 20 through and then one every 3 s, so up to 39 requests reach one group in the first
minute. ``StrictRateLimiter`` counts every request that targets a chat (sends and edits alike)
in a rolling window instead, and never starts the (N+1)-th request to a group before the first
of the last N has been out for a full window.

A window slot is timed from the moment the request *finished* (the server saw it no later than
that), so network latency can never squeeze N+1 requests into the server's window.

Requests to one chat go one at a time, in the order they were made. A ``RetryAfter`` (429) is
obeyed: that chat waits ``retry_after`` seconds and the request is retried (keeping its place),
up to ``max_retries`` times.

asyncio only: the limiter must be used from the event loop that runs the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.runtime.ratewindows import Slot, Waiting, Window

_LOGGER = logging.getLogger(__name__)

#: Methods that target a chat but send nothing into it: they never use a slot.
EXEMPT_METHODS = frozenset(
    {
        "getChat",
        "getChatMember",
        "getChatMemberCount",
        "getChatAdministrators",
        "sendChatAction",
        "getUserChatBoosts",
        "getChatMenuButton",
        "leaveChat",
    }
)

_OVERALL = "overall"


#: What a Bot API call answers (PTB's ``BaseRateLimiter.process_request`` result).
Result = bool | dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class _Request:
    """One Bot API call to a chat, ready to be made (and made again after a 429)."""

    call: Callable[[], Coroutine[Any, Any, Result]]
    endpoint: str
    chat: int | str
    max_retries: int


class _Retry:
    """What an attempt answers when Telegram said 429 and the request may be tried again."""


_RETRY = _Retry()


def _check_settings(counts: dict[str, int], windows: dict[str, float], max_retries: int) -> None:
    """Refuse limits below one request, windows that are not positive, negative retries."""
    for name, value in counts.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1 (got {value})")
    for name, seconds in windows.items():
        if not seconds > 0:
            raise ValueError(f"{name} must be positive (got {seconds})")
    if max_retries < 0:
        raise ValueError(f"max_retries must not be negative (got {max_retries})")


class StrictRateLimiter(BaseRateLimiter[int]):
    """Rolling-window limits: ``group_per_minute`` requests per ``group_window`` seconds to one
    group/channel (negative chat id or ``@username``), ``private_limit`` per ``private_window``
    to one private chat (Telegram: about one a second, short bursts allowed), and
    ``overall_per_second`` per ``overall_window`` across all chats. Only requests with a
    ``chat_id`` are limited (answerCallbackQuery, getFile, getMe pass straight through);
    :data:`EXEMPT_METHODS` never use a slot; an album (sendMediaGroup) uses one per item.

    ``rate_limit_args`` (PTB's per-call ``rate_limit_args=``) overrides ``max_retries``.
    """

    def __init__(
        self,
        group_per_minute: int = 20,
        *,
        group_window: float = 60.0,
        overall_per_second: int = 30,
        overall_window: float = 1.0,
        private_limit: int = 3,
        private_window: float = 3.0,
        max_retries: int = 3,
        exempt_methods: frozenset[str] = EXEMPT_METHODS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_settings(
            counts={
                "group_per_minute": group_per_minute,
                "overall_per_second": overall_per_second,
                "private_limit": private_limit,
            },
            windows={"group_window": group_window, "overall_window": overall_window, "private_window": private_window},
            max_retries=max_retries,
        )
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.overall_per_second = overall_per_second
        self.overall_window = overall_window
        self.private_limit = private_limit
        self.private_window = private_window
        self.max_retries = max_retries
        self.exempt_methods = exempt_methods
        self._clock = clock
        self._windows: dict[Any, Window] = {}
        #: requests that went through (answered without a 429)
        self.sent = 0
        #: requests that found no free slot for their chat (or overall) and had to wait
        self.waited = 0
        #: 429 answers obeyed by sleeping and retrying
        self.retried_after = 0
        #: total seconds those requests waited before starting
        self.wait_seconds = 0.0

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> StrictRateLimiter:
        """Limits from :class:`bot.config.Config` (``group_messages_per_minute``)."""
        return cls(group_per_minute=config.group_messages_per_minute, **overrides)

    # --- BaseRateLimiter -------------------------------------------------------------------

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down: waiting requests are cancelled with their tasks."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Send one request when its chat (and the overall window) has room; obey a 429."""
        max_retries = self.max_retries if rate_limit_args is None else rate_limit_args
        chat = self._chat_key(endpoint, data)
        if chat is None:
            return await self._unlimited(callback, args, kwargs, endpoint, max_retries)
        request = _Request(functools.partial(callback, *args, **kwargs), endpoint, chat, max_retries)
        window = self._window(chat)
        overall = self._window(_OVERALL)
        count = min(self._cost(endpoint, data), window.limit, overall.limit)
        delayed = self.next_free_slots(chat) < count  # no room for it now: it will have to wait
        entered = self._clock()
        waiting = Waiting((window, overall))
        try:
            # One request per chat at a time: requests to a chat start in the order they were
            # made, and a retried request keeps its place. (A chat's limit is at most a few
            # messages a second, far below what one request at a time can carry.)
            async with window.lock:
                attempt = 0
                while True:
                    slots = await self._reserve(window, overall, count)
                    if waiting.leave() and delayed:
                        self.waited += 1
                        self.wait_seconds += self._clock() - entered
                    outcome = await self._attempt(request, window, slots, attempt)
                    if not isinstance(outcome, _Retry):
                        return outcome
                    attempt += 1
        finally:
            waiting.leave()

    async def _attempt(self, request: _Request, window: Window, slots: list[Slot], attempt: int) -> Result | _Retry:
        """Send ``request`` once on its reserved ``slots``; :data:`_RETRY` after a 429 that may
        be retried (the chat is blocked for the time Telegram asked)."""
        try:
            result = await request.call()
        except RetryAfter as exc:
            self._release(slots)
            retry = self._seconds(exc.retry_after)
            window.blocked_until = max(window.blocked_until, self._clock() + retry)
            if attempt >= request.max_retries:
                _LOGGER.warning(
                    "Telegram flood control on %s to chat %s: giving up after %d retries",
                    request.endpoint,
                    request.chat,
                    attempt,
                )
                raise
            self.retried_after += 1
            _LOGGER.info(
                "Telegram flood control on %s to chat %s: retrying in %.1f s", request.endpoint, request.chat, retry
            )
            return _RETRY
        except BaseException:
            self._release(slots)
            raise
        self._release(slots)
        self.sent += 1
        return result

    async def _unlimited(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        max_retries: int,
    ) -> Result:
        """A request without a chat: no slots, but a 429 is still obeyed."""
        attempt = 0
        while True:
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= max_retries:
                    raise
                attempt += 1
                self.retried_after += 1
                await asyncio.sleep(self._seconds(exc.retry_after))
                continue
            self.sent += 1
            return result

    # --- introspection ---------------------------------------------------------------------

    def backlog(self, chat_id: int | str | None = None) -> int:
        """Requests waiting for a slot: to ``chat_id``, or to every chat when None."""
        if chat_id is None:
            return sum(w.backlog for key, w in self._windows.items() if key != _OVERALL)
        window = self._windows.get(self._normalize(chat_id))
        return window.backlog if window else 0

    def next_free_slots(self, chat_id: int | str) -> int:
        """How many messages could go to ``chat_id`` right now without waiting (after the
        requests already waiting for it)."""
        now = self._clock()
        key = self._normalize(chat_id)
        window = self._windows.get(key)
        chat_free = window.free(now) - window.backlog if window else self._limit_for(key)[0]
        overall = self._windows.get(_OVERALL)
        overall_free = overall.free(now) - overall.backlog if overall else self.overall_per_second
        return max(0, min(chat_free, overall_free))

    def stats(self) -> dict[str, Any]:
        """Counters for /status and benchmarks."""
        return {
            "sent": self.sent,
            "waited": self.waited,
            "retried_after": self.retried_after,
            "wait_seconds": round(self.wait_seconds, 3),
            "backlog": self.backlog(),
        }

    # --- internals -------------------------------------------------------------------------

    @staticmethod
    def _seconds(value: Any) -> float:
        if hasattr(value, "total_seconds"):
            return float(value.total_seconds())
        return float(value)

    @staticmethod
    def _normalize(chat_id: int | str) -> int | str:
        if isinstance(chat_id, str):
            with contextlib.suppress(ValueError):
                return int(chat_id)
        return chat_id

    def _chat_key(self, endpoint: str, data: dict[str, Any]) -> int | str | None:
        chat_id = data.get("chat_id")
        if chat_id is None or chat_id == "" or endpoint in self.exempt_methods:
            return None
        return self._normalize(chat_id)

    @staticmethod
    def _cost(endpoint: str, data: dict[str, Any]) -> int:
        """Messages a request puts in the chat: an album is one message per item."""
        items = (
            data.get("media")
            if endpoint == "sendMediaGroup"
            else (data.get("message_ids") if endpoint in ("copyMessages", "forwardMessages") else None)
        )
        if isinstance(items, (list, tuple)) and items:
            return len(items)
        return 1

    def _limit_for(self, key: Any) -> tuple[int, float]:
        if key == _OVERALL:
            return self.overall_per_second, self.overall_window
        if isinstance(key, int) and key > 0:
            return self.private_limit, self.private_window
        return self.group_per_minute, self.group_window

    def _window(self, key: Any) -> Window:
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) > 2048:
                now = self._clock()
                for k in [k for k, w in self._windows.items() if k != _OVERALL and w.idle(now)]:
                    del self._windows[k]
            limit, period = self._limit_for(key)
            window = self._windows[key] = Window(limit, period)
        return window

    async def _wait_for_room(self, window: Window, count: int = 1) -> None:
        """Sleep until ``window`` has room for ``count`` more messages."""
        while True:
            delay = window.wait_time(self._clock(), count)
            if delay <= 0:
                return
            # inf: the slot that would free up is still in flight; look again shortly
            await asyncio.sleep(min(delay, 0.02) if math.isinf(delay) else delay)

    async def _reserve(self, window: Window, overall: Window, count: int = 1) -> list[Slot]:
        """Wait for room for ``count`` messages in the chat's window and the overall one, then
        take the slots in both. The caller holds ``window.lock``, so nobody else reserves in this
        chat meanwhile."""
        await self._wait_for_room(window, count)
        async with overall.lock:
            await self._wait_for_room(overall, count)
            chat_slots = [Slot() for _ in range(count)]
            overall_slots = [Slot() for _ in range(count)]
            window.slots.extend(chat_slots)
            overall.slots.extend(overall_slots)
        return chat_slots + overall_slots

    def _release(self, slots: list[Slot]) -> None:
        now = self._clock()
        for slot in slots:
            slot.end = now


__all__ = ["EXEMPT_METHODS", "StrictRateLimiter"]

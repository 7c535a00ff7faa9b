"""Telegram Bot API test doubles: a home-made loopback emulator (:mod:`tests.botapi.emulator`)
and a wrapper around the npm package telegram-test-api (:mod:`tests.botapi.tta`), both driven
through the same user-side API."""

from tests.botapi.emulator import (
    COUNTED_METHODS,
    DEFAULT_TOKEN,
    ApiError,
    BotApiEmulator,
    FloodLimits,
    RecordedRequest,
    User,
    as_user,
    button_datas,
    text_of,
    wait_for,
    wait_for_sync,
)

__all__ = [
    "COUNTED_METHODS",
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiEmulator",
    "FloodLimits",
    "RecordedRequest",
    "User",
    "as_user",
    "button_datas",
    "text_of",
    "wait_for",
    "wait_for_sync",
]

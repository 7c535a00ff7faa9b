"""Small helpers to run a python-telegram-bot Application against a test backend.

For tests that build their own tiny Application (the real bot has ``bot.app.running``)::

    app = build_app(botapi)
    app.add_handler(CommandHandler("echo", echo))
    async with polling(app) as errors:
        botapi.user_sends(alice, None, "/echo hi")
        await botapi.wait_for_bot_message(alice.id, lambda m: m["text"] == "hi")
    # leaving the block raises if a handler raised (``errors`` lists them)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes


def build_app(backend: Any, *, rate_limiter: BaseRateLimiter | None = None, **builder_options: Any) -> Application:
    """An Application whose bot talks to ``backend`` (BotApiEmulator or TtaEmulator) over HTTP."""
    builder = ApplicationBuilder().token(backend.token).base_url(backend.api_url).base_file_url(backend.file_url)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    for name, value in builder_options.items():
        builder = getattr(builder, name)(value)
    return builder.build()


@contextlib.asynccontextmanager
async def polling(
    app: Application, *, poll_timeout: float = 1.0, fail_on_handler_error: bool = True, **start_polling: Any
) -> AsyncIterator[list[BaseException]]:
    """Initialize, start polling and start ``app``; stop and shut it down on exit.

    Yields the list of exceptions raised by handlers (collected by an error handler); unless
    ``fail_on_handler_error`` is False, leaving the block with a non-empty list fails the test.
    """
    errors: list[BaseException] = []

    async def collect(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            errors.append(context.error)

    app.add_error_handler(collect)
    await app.initialize()
    try:
        await app.updater.start_polling(timeout=poll_timeout, poll_interval=0.0, **start_polling)
        await app.start()
        yield errors
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        app.remove_error_handler(collect)
    if errors and fail_on_handler_error:
        raise AssertionError(f"handlers raised {len(errors)} error(s): {errors!r}") from errors[0]

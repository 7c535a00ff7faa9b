"""``python -m bot``: load the configuration, open the state, run the bot until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.config import ConfigError, load_config
from bot.runtime.logsafe import setup_logging
from bot.store.state import Store, StoreError
from bot.text.redact import redact

log = logging.getLogger("bot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--config",
        help="YAML config file (default: ./config.yaml if present); environment variables override it",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the bot; returns the process exit code (2: configuration, 3: cannot start)."""
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, config.secrets())
    try:
        store = Store.open(config.state_path)
    except StoreError as exc:
        print(f"State error: {exc}", file=sys.stderr)
        return 2
    # Imported here so that a configuration error is reported before the heavier imports run.
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.app import build_application

    app = build_application(config, store=store)
    log.info("starting: Bot API %s, admin chat %s", config.telegram_base_url, config.admin_chat_id)
    try:
        # Check the token and the server once, quietly, so that a wrong setting ends with one
        # clear line rather than PTB's retry-loop tracebacks.
        asyncio.run(preflight(config))
        app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=3, close_loop=False)
    except InvalidToken:
        print(
            f"Start-up error: the Bot API at {config.telegram_base_url} rejected TELEGRAM_TOKEN; check it.",
            file=sys.stderr,
        )
        return 3
    except NetworkError as exc:
        reason = redact(str(exc), config.secrets())
        print(f"Start-up error: cannot reach the Bot API at {config.telegram_base_url}: {reason}", file=sys.stderr)
        return 3
    except TelegramError as exc:
        print(f"Start-up error: {redact(str(exc), config.secrets())}", file=sys.stderr)
        return 3
    return 0


async def preflight(config) -> None:
    """getMe against the configured Bot API (a few tries); raises PTB's error if it fails."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    root = config.telegram_base_url
    bot = Bot(config.telegram_token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")
    for attempt in range(3):
        try:
            async with bot:
                return
        except InvalidToken:
            raise
        except NetworkError:
            if attempt == 2:
                raise
            await asyncio.sleep(1 + attempt)


if __name__ == "__main__":
    sys.exit(main())

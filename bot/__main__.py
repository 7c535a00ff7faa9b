"""``python -m bot``: load the configuration, open the state, run the bot until stopped.

``python -m bot state export FILE`` / ``python -m bot state import FILE [--replace]`` move the
state (every table, as JSON) out of and into the configured store — the file at ``STATE_PATH``
or the PostgreSQL database at ``DATABASE_URL`` — so it can move between them in either
direction. They need no Telegram or Resont settings, and wait like the bot while another
process holds the state (stop the bot first).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.app import build_application
from bot.config import Config, ConfigError, load_config, load_state_location
from bot.runtime.logsafe import setup_logging
from bot.store.errors import StoreError
from bot.store.state import Store
from bot.store.transfer import ImportRefused, export_bytes, export_state, import_state, parse_export, summary
from bot.text.redact import redact

log = logging.getLogger("bot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        help="YAML config file (default: ./config.yaml if present); environment variables override it",
    )
    commands = parser.add_subparsers(dest="command", metavar="state")
    state = commands.add_parser("state", help="export or import the bot's state as JSON")
    actions = state.add_subparsers(dest="action", required=True, metavar="export|import")
    export = actions.add_parser("export", help="write every table of the state to FILE (JSON)")
    export.add_argument("file", help="where to write the export ('-': standard output)")
    export.add_argument("--no-secrets", action="store_true", help="leave the OAuth tokens out")
    load = actions.add_parser("import", help="replace the state with an export read from FILE")
    load.add_argument("file", help="an export written by 'state export' or /backup")
    load.add_argument("--replace", action="store_true", help="overwrite a store that already holds state")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the bot or a state command; returns the exit code (2: configuration or state, 3:
    cannot start)."""
    args = parse_args(argv)
    if args.command == "state":
        return state_command(args)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, config.secrets())
    try:
        store = Store.configured(config.database_url, config.state_path)
    except StoreError as exc:
        print(f"State error: {redact(str(exc), config.secrets())}", file=sys.stderr)
        return 2
    return run(config, store)


def run(config: Config, store: Store) -> int:
    """Run the bot on ``store`` until it is stopped."""
    app = build_application(config, store=store)
    log.info(
        "starting: Bot API %s, admin chat %s, state: %s",
        config.telegram_base_url,
        config.admin_chat_id,
        store.health().where,
    )
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


async def preflight(config: Config) -> None:
    """getMe against the configured Bot API (a few tries); raises PTB's error if it fails."""
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


def state_command(args: argparse.Namespace) -> int:
    """``state export`` / ``state import``: one line on success, one on failure."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        database_url, state_path = load_state_location(args.config)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    secrets = [database_url] if database_url else []
    try:
        store = Store.configured(database_url, state_path, wait=30)
    except StoreError as exc:
        print(f"State error: {redact(str(exc), secrets)}", file=sys.stderr)
        return 2
    try:
        return (
            export_to(store, args.file, not args.no_secrets)
            if args.action == "export"
            else import_from(store, args.file, args.replace)
        )
    except StoreError as exc:
        print(f"State error: {redact(str(exc), secrets)}", file=sys.stderr)
        return 2
    finally:
        store.close()


def export_to(store: Store, file: str, secrets: bool) -> int:
    export = export_state(store, secrets=secrets)
    payload = export_bytes(export)
    if file == "-":
        sys.stdout.buffer.write(payload)
    else:
        try:
            Path(file).write_bytes(payload)
        except OSError as exc:
            print(f"Cannot write {file}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    tables, documents = summary(export)
    left_out = f"; left out: {', '.join(export['left_out'])}" if export["left_out"] else ""
    print(
        f"exported {documents} documents in {tables} tables from {export['source']} to {file}{left_out}",
        file=sys.stderr,
    )
    return 0


def import_from(store: Store, file: str, replace: bool) -> int:
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        print(f"Cannot read {file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        export = parse_export(raw)
        count = import_state(store, export, replace=replace)
    except ImportRefused as exc:
        print(f"Import refused: {exc}", file=sys.stderr)
        return 2
    print(
        f"imported {count} documents in {len(export['tables'])} tables from {file} into {store.health().where}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run by ``test_chart_loading`` in a fresh interpreter: start the real bot, report what it imported.

Configured by environment variables exactly as ``python -m bot`` is (``load_config``); starts the
application with every feature on the state file (``build_application`` + ``running``, the same
start-up as ``run_polling``), waits until the posts poll has run once, and prints one JSON line
with which of matplotlib, numpy and psycopg are in ``sys.modules``; then draws one chart through
the bot's renderer and prints a second line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date

from bot.app import build_application, running
from bot.config import load_config
from tests.botapi import wait_for

HEAVY = ("matplotlib", "numpy", "psycopg")


def loaded() -> dict[str, bool]:
    return {name: name in sys.modules for name in HEAVY}


async def main() -> None:
    app = build_application(load_config(None))
    async with running(app):
        services = app.bot_data.services
        await wait_for(lambda: "posts" in services.health.jobs, 30)
        print(json.dumps({"started": "posts" in services.health.jobs, **loaded()}), flush=True)
        png = services.charts.render(
            {"reach": [(date(2026, 1, 1), 1), (date(2026, 1, 2), 3)]},
            title="t",
            x_label="x",
            y_label="y",
            size_px=(300, 200),
            catalogue=services.i18n,
        )
        print(json.dumps({"png": png.startswith(b"\x89PNG"), **loaded()}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Connecting Resont by OAuth from Telegram: ``/connect``, ``/disconnect``, the web callback, the
/status lines. Who may do it (admins) is declared here and enforced by ``handlers.guard`` and
the reply router.

* :mod:`handlers.connect.commands` – the commands, the confirmation buttons, the pasted redirect
  address and the ``GET /oauth/callback`` route;
* :mod:`handlers.connect.flow` – the checks and the code exchange, shared by both paths;
* :mod:`handlers.connect.attempts` – the single-use states, kept in the store;
* :mod:`handlers.connect.answers` – the browser page and the admin chat note;
* :mod:`handlers.connect.status` – auth mode, token expiry and the last webhook push; an hourly
  job that alerts the admins two weeks before the refresh token ends.
"""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.config import Config
from bot.runtime.feature import Command, Feature, RepeatingJob, ReplyRoute
from bot.runtime.roles import ADMINS
from bot.runtime.tg.buttons import Buttons
from handlers.connect.commands import (
    OAUTH,
    PASTE_KIND,
    ForgetTokens,
    KeepTokens,
    callback_routes,
    on_button,
    on_connect,
    on_disconnect,
    on_paste,
)
from handlers.connect.status import status_lines, watch_refresh_token


def feature(config: Config) -> Feature:
    """The connect feature (its commands are in the menu when OAuth is configured)."""
    return Feature(
        name="connect",
        handlers=[
            CommandHandler("connect", on_connect),
            CommandHandler("disconnect", on_disconnect),
        ],
        commands=[
            Command("connect", ADMINS, "connect.cmd_connect", in_menu=config.resont_oauth),
            Command("disconnect", ADMINS, "connect.cmd_disconnect", in_menu=config.resont_oauth),
        ],
        buttons=[Buttons(OAUTH, ADMINS, {ForgetTokens: on_button, KeepTokens: on_button})],
        replies={PASTE_KIND: ReplyRoute(ADMINS, on_paste)},
        jobs=[RepeatingJob("connect-expiry", watch_refresh_token, interval=3600.0, first=5.0)],
        status_lines=[status_lines],
        web_routes=[callback_routes],
    )

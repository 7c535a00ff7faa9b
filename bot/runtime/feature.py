"""What a feature module in ``handlers/`` hands to ``build_application``.

Each module exposes ``feature(config) -> Feature``: its Telegram handlers, the commands it adds
(with who may use them and their help text key), its buttons (one :class:`~bot.runtime.tg.buttons.Buttons`
per callback-data namespace: who may press them and which handler takes each kind), the reply
targets it answers, its recurring jobs and its one-off job kinds.
The guard, the reply router, the help text and setMyCommands are all derived from these
declarations, so access rules live in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import BaseHandler

from bot.runtime.roles import Role
from bot.runtime.scheduler import ScheduledCallback
from bot.runtime.web import WebRoute

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import Application

    from bot.runtime.services import Services
    from bot.runtime.tg.buttons import Buttons

# The callbacks receive the bot's typed ``bot.runtime.context.Context``; it is ``Any`` here
# because the context module sits above this one (it carries the declared features).
JobCallback = Callable[[Any], Coroutine[Any, Any, None]]
ReplyCallback = Callable[["Update", Any, dict[str, Any]], Awaitable[None]]
WebRoutes = Callable[["Application[Any, Any, Any, Any, Any, Any]"], Sequence[WebRoute]]


@dataclass(frozen=True)
class Command:
    """A slash command: ``name`` without the slash, who may use it, and its help text key."""

    name: str
    roles: frozenset[Role]
    help_key: str
    in_menu: bool = True  # listed by setMyCommands


@dataclass(frozen=True)
class ReplyRoute:
    """Who may answer a reply target of this kind, and what handles the answer.

    The callback receives the target's stored document (a prompt or a card)."""

    roles: frozenset[Role]
    callback: ReplyCallback


@dataclass(frozen=True)
class RepeatingJob:
    """A recurring job. ``interval`` None means the configured POLL_SECONDS."""

    name: str
    callback: JobCallback
    interval: float | None = None
    first: float = 1.0


@dataclass
class Feature:
    name: str
    handlers: Sequence[BaseHandler[Any, Any, Any]] = ()
    commands: Sequence[Command] = ()
    #: button namespaces: each gets one CallbackQueryHandler, added after ``handlers``
    buttons: Sequence[Buttons] = ()
    replies: Mapping[str, ReplyRoute] = field(default_factory=dict)
    jobs: Sequence[RepeatingJob] = ()
    scheduled: Mapping[str, ScheduledCallback] = field(default_factory=dict)
    on_start: Sequence[Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]] = ()
    #: called at shutdown, before the services close (stop servers, flush what is pending)
    on_stop: Sequence[Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]] = ()
    #: lines this feature adds to /status (queue sizes and the like), in the user's language
    status_lines: Sequence[Callable[[Services, int | None], list[str]]] = ()
    #: HTTP routes served in web mode (``PORT`` set), built once the services are open
    web_routes: Sequence[WebRoutes] = ()

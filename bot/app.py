"""Wiring: one ``build_application(config)`` that adds every feature explicitly.

Services (HTTP clients, API clients, the store) are opened in ``post_init`` and closed in
``post_shutdown``; ``running(app)`` does the same start/stop sequence as ``run_polling`` for
tests and benchmarks that drive the bot inside their own event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, ContextTypes

from bot.clients.miogram.client import MioGramClient
from bot.clients.resont.auth import OAuthSettings, OAuthTokens
from bot.clients.resont.client import ResontClient, oauth_base_url
from bot.config import Config
from bot.runtime.context import AnyApplication, BotData, Context, Setup
from bot.runtime.feature import Feature
from bot.runtime.i18n import Catalogue
from bot.runtime.logsafe import install_redaction
from bot.runtime.ratelimit import StrictRateLimiter
from bot.runtime.scheduler import Scheduler
from bot.runtime.services import Services, utc_now
from bot.runtime.tg.quiet import defaults
from bot.runtime.updates import PerUserOrderedUpdates
from bot.runtime.web import start_web
from bot.store.state import Store
from handlers import core, guard, lang, replies, state
from handlers.connect import wiring as connect
from handlers.inbox import wiring as inbox
from handlers.insights import wiring as insights
from handlers.mass import wiring as mass
from handlers.posts import wiring as posts

log = logging.getLogger(__name__)

#: Timeout for Resont and MioGram calls (MioGram Mass calls may take long: the gateway sends
#: about one number a second, so its read timeout is generous).
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=150.0)


def build_features(config: Config) -> list[Feature]:
    """Every feature of the bot, in handler priority order (conversations before replies)."""
    return [
        core.feature(config),
        connect.feature(config),
        posts.feature(config),
        inbox.feature(config),
        mass.feature(config),
        insights.feature(config),
        lang.feature(config),
        state.feature(config),
        replies.feature(config),  # last: plain replies to cards and prompts
    ]


def build_application(
    config: Config,
    *,
    store: Store | None = None,
    resont_transport: httpx.AsyncBaseTransport | None = None,
    miogram_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
    features: Sequence[Feature] | None = None,
) -> AnyApplication:
    """Build the PTB Application for ``config``. Nothing touches the network until it starts.

    ``store``, the transports and ``clock`` are for tests and benchmarks; by default the store is
    chosen by the configuration (``DATABASE_URL``, else the file at ``STATE_PATH``) and the
    clients reach the configured URLs.
    """
    # Whatever logging the host process sets up, no record may carry a secret (httpx logs every
    # URL, and the bot token is in the Bot API path, the Resont token in the query string).
    install_redaction(config.secrets())
    features = list(features) if features is not None else build_features(config)
    app = _new_application(config)
    app.bot_data.setup = Setup(
        config=config,
        features=features,
        clock=clock or utc_now,
        store=store,
        resont_transport=resont_transport,
        miogram_transport=miogram_transport,
    )
    guard.install(app, features)
    for feature in features:
        for handler in feature.handlers:
            app.add_handler(handler)
        for buttons in feature.buttons:  # after the feature's conversations, which see their steps first
            app.add_handler(buttons.handler())
    app.add_error_handler(core.on_error)
    return app


def _new_application(config: Config) -> AnyApplication:
    """The PTB application for the configured Bot API, typed context and rate limits, with the
    services' start and stop hooks (and no handlers yet)."""
    root = config.telegram_base_url
    return (
        ApplicationBuilder()
        .token(config.telegram_token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(ContextTypes(context=Context, bot_data=BotData))
        .defaults(defaults())
        .rate_limiter(StrictRateLimiter.from_config(config))
        .concurrent_updates(PerUserOrderedUpdates())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )


class StoredTokens:
    """The Resont client's OAuth token store over the bot's store (table ``oauth``, key
    ``resont``), so that a connection survives restarts.

    ``RESONT_REFRESH_TOKEN`` (``seed``) stands in for stored tokens until the first save; once
    tokens were saved or forgotten, that configured token is marked used (by a digest, never the
    token itself) and is not picked up again — /disconnect stays disconnected across restarts.
    """

    KEY = "resont"
    SEED_KEY = "seed"

    def __init__(self, store: Store, seed: str = "") -> None:
        self._table = store.table("oauth")
        self._seed = seed
        self._seed_mark = hashlib.sha256(seed.encode()).hexdigest()[:16] if seed else ""

    def load(self) -> OAuthTokens | None:
        doc = self._table.get(self.KEY)
        if doc is not None:
            return OAuthTokens.from_doc(doc)
        if self._seed and (self._table.get(self.SEED_KEY) or {}).get("mark") != self._seed_mark:
            return OAuthTokens(refresh_token=self._seed)
        return None

    def save(self, tokens: OAuthTokens) -> None:
        docs = {self.KEY: tokens.to_doc()}
        if self._seed:
            docs[self.SEED_KEY] = {"mark": self._seed_mark}
        self._table.put_many(docs)

    def forget(self) -> None:
        if self._seed:
            self._table.put(self.SEED_KEY, {"mark": self._seed_mark})
        self._table.delete(self.KEY)


def resont_client(config: Config, http: httpx.AsyncClient, store: Store) -> ResontClient:
    """Token mode when ``RESONT_TOKEN`` is set, else OAuth2 with its tokens kept in ``store``."""
    if config.resont_token:
        return ResontClient(http, config.resont_base_url, token=config.resont_token, default_tz=config.timezone)
    settings = OAuthSettings(
        client_id=config.resont_client_id,
        client_secret=config.resont_client_secret,
        redirect_uri=config.resont_redirect_uri,
        oauth_url=config.resont_oauth_url,
    )
    tokens = StoredTokens(store, config.resont_refresh_token)
    base = oauth_base_url(config.resont_base_url)
    return ResontClient(http, base, oauth=settings, tokens=tokens, default_tz=config.timezone)


def miogram_client(config: Config, http: httpx.AsyncClient) -> MioGramClient:
    """The MioGram client of the configured account: its URL, secret, robot, phone region, Mass
    batch size and the ad footer the service appends to every message."""
    return MioGramClient(
        http,
        url=config.miogram_url,
        secret=config.miogram_secret,
        robot=config.miogram_robot,
        region=config.phone_region,
        batch_size=config.mass_batch_size,
        ad_footer=config.miogram_ad_footer,
    )


async def _post_init(app: AnyApplication) -> None:
    """Open the services, restore one-off jobs, start recurring jobs, register commands."""
    setup: Setup = app.bot_data.setup
    config, features = setup.config, setup.features
    store = setup.store or Store.configured(config.database_url, config.state_path)
    loop = asyncio.get_running_loop()

    def taken_over() -> None:  # called from the store's thread
        loop.call_soon_threadsafe(_taken_over, app)

    store.on_taken_over(taken_over)
    resont_http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=setup.resont_transport)
    mio_http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, transport=setup.miogram_transport)
    kinds = {kind: cb for feature in features for kind, cb in feature.scheduled.items()}
    services = Services(
        config=config,
        store=store,
        i18n=Catalogue.load(config.language),
        scheduler=Scheduler(store, kinds),
        http=resont_http,
        resont=resont_client(config, resont_http, store),
        miogram=miogram_client(config, mio_http) if config.miogram_enabled else None,
        clock=setup.clock,
    )
    services.owned_http.append(mio_http)
    app.bot_data.services = services
    app.bot_data.features = features
    _start_jobs(app, services, features)
    for feature in features:
        for hook in feature.on_start:
            await hook(app)
    if config.port is not None:  # web mode
        routes = [route for feature in features for make in feature.web_routes for route in make(app)]
        app.bot_data.web = await start_web(app, services, routes)
    await _register_commands(app, services, features)


def _start_jobs(app: AnyApplication, services: Services, features: list[Feature]) -> None:
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    for feature in features:
        for job in feature.jobs:
            interval = job.interval or services.config.poll_seconds
            app.job_queue.run_repeating(
                job.callback,
                interval=interval,
                first=job.first,
                name=job.name,
                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            )
    restored = services.scheduler.attach(app.job_queue)
    if restored:
        log.info("restored %d scheduled job(s) from the state", restored)


async def _register_commands(app: AnyApplication, services: Services, features: list[Feature]) -> None:
    """setMyCommands: the menu by default and in the admin chat, in both interface languages
    (the configured one without a language code, the other for users whose Telegram is set to it)."""
    commands = [c for f in features for c in f.commands if c.in_menu]
    scopes = (BotCommandScopeDefault(), BotCommandScopeChat(services.config.admin_chat_id))
    try:
        for lang in ("en", "fa"):
            menu = [BotCommand(c.name, services.i18n.t(c.help_key, lang)[:256]) for c in commands]
            code = None if lang == services.config.language else lang
            for scope in scopes:
                await app.bot.set_my_commands(menu, scope=scope, language_code=code)
    except TelegramError as exc:
        # A menu is a convenience: the bot works without it (some Bot API servers lack it).
        log.warning("could not register the command menu: %s", exc)


def _taken_over(app: AnyApplication) -> None:
    """Another bot got the database while this one was disconnected: this one must stop (both
    polling Telegram would end in 409 Conflict, both writing in a mixed-up state)."""
    log.critical("another bot took over the state database; stopping this one")
    app.stop_running()


async def _post_shutdown(app: AnyApplication) -> None:
    services: Services | None = getattr(app.bot_data, "services", None)
    if services is None:
        return
    web = getattr(app.bot_data, "web", None)
    if web is not None:  # first: no push or callback may arrive while the rest closes
        await web.aclose()
    for feature in app.bot_data.features:
        for hook in feature.on_stop:
            try:
                await hook(app)
            except Exception:  # one failing hook must not keep the others from cleaning up
                log.exception("shutdown hook of %s failed", feature.name)
    for client in [services.http, *services.owned_http]:
        await client.aclose()
    services.store.close()


@asynccontextmanager
async def running(
    app: AnyApplication, *, poll_interval: float = 0.0, timeout: int = 1
) -> AsyncIterator[AnyApplication]:
    """Run ``app`` inside the caller's event loop (what ``run_polling`` does, minus the loop)."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=poll_interval, timeout=timeout, drop_pending_updates=False)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)

"""The /status lines of the connection: Resont's auth mode, when the tokens expire, the webhook.

The refresh token lives a year; from :data:`WARN_BEFORE` before its end the line turns into a
warning, because then every Resont call and every webhook push stops until someone runs
/connect again. Since nobody reads /status every day, an hourly job also tells the admins once
(an alert), and says so when a new connection has pushed the end back.
"""

from __future__ import annotations

import time
from datetime import datetime

from bot.runtime.context import Context
from bot.runtime.services import Services
from bot.runtime.web import ALERT_KEY
from bot.runtime.webhook import PushJournal

#: How long before the refresh token's end /status warns.
WARN_BEFORE = 14 * 86400.0
#: Incident key of "the refresh token ends soon".
EXPIRY_ALERT = "connect:expiring"


async def watch_refresh_token(context: Context) -> None:
    """A RepeatingJob: one alert from WARN_BEFORE before the refresh token ends (or once it
    has ended); resolved, with a notice, when a new connection moved the end away."""
    services = context.services
    oauth = services.resont.oauth
    if oauth is None:
        return
    tokens = oauth.tokens()
    expires, now = tokens.refresh_expires_at, time.time()
    if tokens.refresh_token and expires is not None and expires - now <= WARN_BEFORE:
        left = span(services, None, max(expires - now, 0))
        text = services.t("connect.alert_expiring", None, when=when(services, expires), left=left)
        await services.alerts.raise_(context.bot, EXPIRY_ALERT, text)
        return
    renewed = services.t("connect.alert_renewed", None) if oauth.connected else None
    await services.alerts.resolve(context.bot, EXPIRY_ALERT, renewed)


def status_lines(services: Services, user_id: int | None) -> list[str]:
    """Feature.status_lines: the auth lines and the webhook line."""
    return [*auth_lines(services, user_id, time.time()), webhook_line(services, user_id, time.time())]


def auth_lines(services: Services, user_id: int | None, now: float) -> list[str]:
    t = services.t
    oauth = services.resont.oauth
    if oauth is None:
        return [t("connect.status_token", user_id)]
    if not oauth.connected:
        return [t("connect.status_off", user_id)]
    tokens = oauth.tokens()
    lines = [t("connect.status_oauth", user_id, scopes=tokens.scope or t("connect.scopes_unstated", user_id))]
    if not tokens.access_token:
        lines.append(t("connect.status_access_none", user_id))
    elif tokens.expires_at is not None:
        key = "connect.status_access" if tokens.expires_at > now else "connect.status_access_expired"
        lines.append(
            t(
                key,
                user_id,
                when=when(services, tokens.expires_at),
                left=span(services, user_id, tokens.expires_at - now),
            )
        )
    lines.append(refresh_line(services, user_id, tokens.refresh_token, tokens.refresh_expires_at, now))
    return lines


def refresh_line(services: Services, user_id: int | None, token: str, expires: float | None, now: float) -> str:
    t = services.t
    if not token:
        return t("connect.status_no_refresh", user_id)
    if expires is None:
        return t("connect.status_refresh_unknown", user_id)
    values = {"when": when(services, expires), "left": span(services, user_id, expires - now)}
    if expires <= now:
        return t("connect.status_refresh_expired", user_id, when=values["when"])
    key = "connect.status_refresh_soon" if expires - now <= WARN_BEFORE else "connect.status_refresh"
    return t(key, user_id, **values)


def webhook_line(services: Services, user_id: int | None, now: float) -> str:
    t = services.t
    port = services.config.port
    if port is None:
        return t("connect.status_webhook_off", user_id)
    if services.alerts.is_open(ALERT_KEY):
        return t("connect.status_webhook_down", user_id, port=str(port))
    last = PushJournal(services.store).last()
    if last is None:
        return t("connect.status_webhook_none", user_id)
    ago = span(services, user_id, now - last.at)
    return t(
        "connect.status_webhook_last",
        user_id,
        type=last.type or "?",
        ago=ago,
        when=when(services, last.at),
        count=last.count,
    )


def when(services: Services, moment: float) -> str:
    """A unix time in the configured time zone, to the minute."""
    return datetime.fromtimestamp(moment, services.tz).strftime("%Y-%m-%d %H:%M")


def span(services: Services, user_id: int | None, seconds: float) -> str:
    """A duration in its largest whole unit (days, hours, minutes, seconds)."""
    seconds = abs(seconds)
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return services.t(f"connect.span_{unit}", user_id, n=int(seconds // size))
    return services.t("connect.span_seconds", user_id, n=int(seconds))

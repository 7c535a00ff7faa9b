"""Finishing a connection: what Resont's redirect brought back → tokens, or a clear reason.

The same checks run whether the redirect reached the bot's ``/oauth/callback`` (web mode) or an
admin pasted its address in the chat: the ``state`` must be one the bot made, unused and not
stale; Resont must not have answered with an ``error`` (``access_denied``: the user said no);
there must be a ``code``, and Resont's token endpoint must trade it for an access token at once
(a code lives 30 seconds and works once). Only then are tokens stored; any failure stores
nothing. Values of ``code`` and ``state`` never reach the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bot.clients.resont.auth import SCOPES
from bot.clients.resont.errors import ResontAuthError, ResontError, ResontMalformed, ResontValidationError
from bot.runtime.services import Services
from bot.text.redact import redact
from handlers.connect import attempts
from handlers.connect.attempts import Attempt, Verdict

log = logging.getLogger(__name__)

#: Reasons (text keys ``connect.why_<reason>``) that are an upstream failure, not bad input.
UPSTREAM = frozenset({"garbage", "unreachable"})


@dataclass(frozen=True)
class Outcome:
    """How a callback ended. ``reason`` names the text (``connected`` on success)."""

    reason: str
    attempt: Attempt | None = None
    detail: str = ""  # Resont's own words (redacted), for the chat note
    account: str = ""  # who Resont says is connected
    scopes: tuple[str, ...] = ()  # granted
    missing: tuple[str, ...] = ()  # asked for, not granted

    @property
    def ok(self) -> bool:
        return self.reason == "connected"


async def complete(services: Services, params: Mapping[str, str]) -> Outcome:
    """Check the redirect's parameters and, when they hold, exchange the code and store the
    tokens. Never raises for bad input or a failing Resont."""
    if services.resont.oauth is None:
        return Outcome("not_oauth")
    state = params.get("state", "")
    if not state:
        return Outcome("no_state")
    verdict, attempt = attempts.claim(services.store, state, time.time())
    if verdict is not Verdict.OK:
        log.info("OAuth callback refused: %s state", verdict.value)
        return Outcome(f"{verdict.value}_state", attempt)
    error = params.get("error", "")
    if error:
        log.info("OAuth callback: Resont answered error %r", error[:40])
        reason = "denied" if error == "access_denied" else "error"
        return Outcome(reason, attempt, _safe(services, f"{error} {params.get('error_description', '')}".strip()))
    code = params.get("code", "")
    if not code:
        return Outcome("no_code", attempt)
    return await _exchange(services, attempt, code)


async def _exchange(services: Services, attempt: Attempt | None, code: str) -> Outcome:
    try:
        tokens = await services.resont.exchange_code(code)
    except (ResontAuthError, ResontValidationError) as exc:
        log.info("OAuth callback: Resont refused the code: %s", exc)
        return Outcome("refused", attempt, _safe(services, str(exc.details.get("reason") or exc)))
    except ResontMalformed as exc:
        log.warning("OAuth callback: the token endpoint answered garbage: %s", exc)
        return Outcome("garbage", attempt, _safe(services, str(exc)))
    except ResontError as exc:
        log.warning("OAuth callback: the token endpoint failed: %s", exc)
        return Outcome("unreachable", attempt, _safe(services, str(exc)))
    granted = tuple(tokens.scope.split())
    missing = tuple(s for s in SCOPES if granted and s not in granted)
    by = attempt.by if attempt else "oauth"
    services.store.audit(by, "resont.connect", "resont", scopes=tokens.scope)
    log.info("OAuth: Resont connected (scopes: %s)", tokens.scope or "not stated")
    return Outcome("connected", attempt, account=await _who(services), scopes=granted, missing=missing)


async def _who(services: Services) -> str:
    """The connected Resont user as people know it (name and e-mail), or "" when unknown."""
    try:
        me = await services.resont.users.me()
    except ResontError as exc:
        log.warning("OAuth: connected, but reading the user failed: %s", exc)
        return ""
    parts = [p for p in (me.name, f"<{me.email}>" if me.email else None) if p]
    return " ".join(parts)


def _safe(services: Services, text: str) -> str:
    """Resont's words fit for a page or the chat: secrets masked, kept short."""
    return redact(text, services.config.secrets() + services.resont.secrets())[:300]

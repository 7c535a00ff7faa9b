"""What the client checks before anything is sent: numbers (through :mod:`phones`, invalid ones
never leave), message length in UTF-8 bytes with the ad footer, and file sizes, against the
account's limits (``APIGetLimits``, cached)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from bot.clients.miogram import phones
from bot.clients.miogram.errors import MioGramFileTooBig, MioGramMessageTooLong
from bot.clients.miogram.media import Media, MediaKind
from bot.clients.miogram.models import Limits
from bot.clients.miogram.replies import as_int, as_mapping, size_bytes, truth
from bot.clients.miogram.transport import Transport

#: how many validated numbers are remembered (a mass job re-sends the same ones)
CHECKED_CACHE_SIZE = 200_000


class SendChecks:
    """Checks before sending for one account: its phone ``region``, its ``ad_footer``, and its
    limits cached for ``limits_ttl`` seconds of the injected ``clock``."""

    def __init__(
        self,
        transport: Transport,
        *,
        region: str = "IR",
        ad_footer: str = "",
        limits_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self.region = phones.check_region(region)
        self.ad_footer = ad_footer
        self.limits_ttl = limits_ttl
        self._clock = clock
        self._checked: dict[str, str] = {}  # raw number → E.164, already validated
        self._limits: Limits | None = None
        self._limits_at = 0.0
        self._limits_lock = asyncio.Lock()

    # --- limits

    async def limits(self, *, refresh: bool = False) -> Limits:
        """The account's limits, cached for ``limits_ttl`` seconds of the injected clock."""
        cached = None if refresh else self._fresh_limits()
        if cached is not None:
            return cached
        async with self._limits_lock:
            cached = None if refresh else self._fresh_limits()
            return cached if cached is not None else await self.fetch_limits()

    async def fetch_limits(self) -> Limits:
        """APIGetLimits, always asked (and the cache refreshed). Sizes come in bytes, the message
        limit in UTF-8 bytes, permissions as 1/0."""
        data = as_mapping(await self._transport.read("APIGetLimits"), "APIGetLimits")
        limits = Limits(
            message_bytes=as_int(data.get("Message"), "Message", "APIGetLimits"),
            photo_bytes=size_bytes(data.get("Photo"), "Photo", "APIGetLimits"),
            video_bytes=size_bytes(data.get("Video"), "Video", "APIGetLimits"),
            file_bytes=size_bytes(data.get("File"), "File", "APIGetLimits"),
            can_get=bool(truth(data.get("canGet"))),
            is_super=bool(truth(data.get("isSuper"))),
        )
        self._limits, self._limits_at = limits, self._clock()
        return limits

    def _fresh_limits(self) -> Limits | None:
        if self._limits is not None and self._clock() - self._limits_at < self.limits_ttl:
            return self._limits
        return None

    # --- content

    def message_bytes(self, text: str) -> tuple[int, int]:
        """(bytes counted against the limit, of which the ad footer): the service appends
        ``"\\n" + footer`` before it checks, and counts UTF-8 bytes, not characters."""
        footer = len(("\n" + self.ad_footer).encode("utf-8")) if self.ad_footer else 0
        return len(text.encode("utf-8")) + footer, footer

    async def check_message(self, text: str) -> None:
        """Raise :class:`MioGramMessageTooLong` (with the figures) when ``text`` is over the limit."""
        if not text or not text.strip():
            raise ValueError("the message is empty")
        limit = (await self.limits()).message_bytes
        actual, footer = self.message_bytes(text)
        if actual > limit:
            raise MioGramMessageTooLong(limit=limit, actual=actual, footer=footer)

    async def check_media(self, media: Media, kind: str | MediaKind | None = None) -> None:
        """Raise :class:`MioGramFileTooBig` (with the figures) when ``media`` is over the limit of
        ``kind`` (``photo``, ``video`` or ``file``; by default the media's own kind)."""
        limit_kind = MediaKind(kind or media.kind).limit_kind
        limit = (await self.limits()).for_kind(limit_kind)
        if media.size > limit:
            raise MioGramFileTooBig(
                f"{limit_kind}: {media.size:,} bytes against a limit of {limit:,}", limit=limit, actual=media.size
            )

    # --- numbers

    def number(self, phone: str) -> str:
        """``phone`` as E.164, or :class:`~bot.clients.miogram.phones.InvalidPhone` (it is then
        never sent)."""
        # Mass jobs pass the same already-normalised numbers batch after batch; parsing each with
        # phonenumbers again costs ~0.2 ms a number, so remember the ones already checked.
        known = self._checked.get(phone)
        if known is not None:
            return known
        number = phones.normalize(phone, self.region)
        if len(self._checked) >= CHECKED_CACHE_SIZE:
            self._checked.clear()
        self._checked[phone] = number
        return number

    def remember_valid(self, numbers: Iterable[str]) -> None:
        """Record ``numbers`` as already valid E.164 numbers, so a send does not parse them again.

        Only for numbers that came out of :func:`bot.clients.miogram.phones.normalize` with this
        region (a mass job's audience, validated at its preview): each is remembered as itself.
        A number not starting with ``+`` is ignored (it is parsed as usual when sent)."""
        if len(self._checked) >= CHECKED_CACHE_SIZE:
            self._checked.clear()
        for number in numbers:
            if number.startswith("+"):
                self._checked.setdefault(number, number)

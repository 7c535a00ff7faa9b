"""One unit's Mass request: the file loaded, the request made, every failure turned into an
answer the runner can record (nothing raised)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.clients.miogram.errors import MioGramError, MioGramOutcomeUnknown, MioGramServiceError
from bot.clients.miogram.media import Media
from bot.massjobs.docs import MEDIA_PART, JobDoc
from bot.massjobs.ports import Locks, MassClient, MediaLoader, NotDurable
from bot.massjobs.transitions import Answer

log = logging.getLogger(__name__)
#: awaited before a unit's request goes out (its in-flight mark reaching the disk)
Ready = Callable[[], Awaitable[None]]


class UnitSender:
    """Sends units through the MioGram client, one request at a time per account."""

    def __init__(self, client: MassClient | None, load_media: MediaLoader, locks: Locks) -> None:
        self.client = client
        self.load_media = load_media
        self.locks = locks

    async def send(
        self, job: JobDoc, index: int, numbers: list[str], robot: str = "", ready: Ready | None = None
    ) -> tuple[Answer, dict[str, str]]:
        """Unit ``index`` through agent ``robot`` (``""``: the account's default): (number →
        outcome, or the error) and the reasons of invalid numbers. ``ready`` is awaited once the
        request is built, before it goes out; :class:`NotDurable` from it is raised as it is."""
        if self.client is None:
            return MioGramServiceError("MioGram is not configured"), {}
        part = job["units"][index]["part"]
        try:
            media = await self.load_media(job) if part == MEDIA_PART else None
        except Exception as exc:  # the file is gone and cannot be fetched again: nothing was sent
            log.warning("mass job %s: media unavailable: %s", job["id"], exc)
            return MioGramServiceError(f"media unavailable: {exc}"), {}
        return await self._request(self.client, job, numbers, media, robot, ready)

    async def _request(
        self, client: MassClient, job: JobDoc, numbers: list[str], media: Media | None, robot: str, ready: Ready | None
    ) -> tuple[Answer, dict[str, str]]:
        # the numbers were normalised when the audience was read: no second parse
        client.remember_valid(numbers)
        whatsapp = job.get("channel") == "whatsapp"
        try:
            async with self.locks(f"miogram:send:{robot}"):  # one request in flight per agent
                if media is not None:
                    result = await client.send_mass_batch(numbers, media=media, robot=robot or None, before_send=ready)
                else:
                    text = job["content"]["text"]
                    result = await client.send_mass_batch(
                        numbers, text=text, whatsapp=whatsapp, robot=robot or None, before_send=ready
                    )
        except MioGramError as exc:
            return exc, {}
        except NotDurable:
            raise  # nothing went out: not an unknown outcome
        except Exception as exc:  # anything unexpected after the request may have left: unknown
            log.exception("mass job %s: unexpected failure during a send", job["id"])
            return MioGramOutcomeUnknown(f"{type(exc).__name__}: {exc}"), {}
        return {n: o.value for n, o in result.outcomes.items()}, dict(result.reasons)

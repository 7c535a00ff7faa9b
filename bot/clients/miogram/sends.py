"""Sends to one number (``SendMessage``, ``SendPhoto``, … ``SendContact``): checked before they
leave, never repeated, each answered with an :class:`Outcome`."""

from __future__ import annotations

from bot.clients.miogram.checks import SendChecks
from bot.clients.miogram.errors import MioGramNumberWrong
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import Outcome
from bot.clients.miogram.replies import truth
from bot.clients.miogram.transport import Transport, misc_part


class SingleSends:
    """The ``Send*`` functions that take exactly one number. ``true`` → SENT, ``false`` →
    NOT_DELIVERED, "Number Not Exist or Wrong" → INVALID, anything else → UNKNOWN. There is no
    credit check here: the server sends a single message while credit ≥ 0."""

    def __init__(self, transport: Transport, checks: SendChecks) -> None:
        self._transport = transport
        self._checks = checks

    async def _send_one(self, func: str, phone: str, media: Media | None = None, **fields: str) -> Outcome:
        number = self._checks.number(phone)
        try:
            reply = await self._transport.send(func, [number], media, fields)
        except MioGramNumberWrong:
            return Outcome.INVALID
        value = truth(reply.result)
        if value is None:
            return Outcome.UNKNOWN
        return Outcome.SENT if value else Outcome.NOT_DELIVERED

    async def send_message(self, phone: str, text: str) -> Outcome:
        """SendMessage: ``text`` to one number."""
        await self._checks.check_message(text)
        return await self._send_one("SendMessage", phone, Message=text)

    async def send_message_whatsapp(self, phone: str, text: str) -> Outcome:
        """SendMessageWhatsApp (beta): always reported SENT, there is no delivery report."""
        await self._checks.check_message(text)
        return await self._send_one("SendMessageWhatsApp", phone, Message=text)

    async def _send_media_one(self, func: str, phone: str, media: Media, limit_kind: str) -> Outcome:
        await self._checks.check_media(media, limit_kind)
        return await self._send_one(func, phone, media, Misc=media.extension)

    async def send_photo(self, phone: str, media: Media) -> Outcome:
        """SendPhoto: an image (checked against the Photo limit)."""
        return await self._send_media_one("SendPhoto", phone, media, "photo")

    async def send_video(self, phone: str, media: Media) -> Outcome:
        """SendVideo: a video (checked against the Video limit)."""
        return await self._send_media_one("SendVideo", phone, media, "video")

    async def send_audio(self, phone: str, media: Media) -> Outcome:
        """SendAudio: an audio file (checked against the File limit)."""
        return await self._send_media_one("SendAudio", phone, media, "file")

    async def send_text(self, phone: str, media: Media) -> Outcome:
        """SendText: a text file (checked against the File limit)."""
        return await self._send_media_one("SendText", phone, media, "file")

    async def send_file(self, phone: str, media: Media) -> Outcome:
        """SendFile: any file (checked against the File limit)."""
        return await self._send_media_one("SendFile", phone, media, "file")

    async def send_document(self, phone: str, media: Media) -> Outcome:
        """SendDocument: a document (checked against the File limit)."""
        return await self._send_media_one("SendDocument", phone, media, "file")

    async def send_location(self, phone: str, latitude: float, longitude: float) -> Outcome:
        """SendLocation: a map point (``Misc`` = ``latitude,longitude``)."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must be within ±90 and longitude within ±180")
        return await self._send_one("SendLocation", phone, Misc=f"{latitude:.6f},{longitude:.6f}")

    async def send_contact(self, phone: str, name: str, contact_phone: str) -> Outcome:
        """SendContact: a contact card (``Misc`` = ``name,phone``). The provider's server is known
        to send the recipient's own number as the contact."""
        contact = self._checks.number(contact_phone)
        return await self._send_one("SendContact", phone, Misc=f"{misc_part(name)},{contact}")

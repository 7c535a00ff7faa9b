"""The account's own functions (``API*``): limits, credit, allowed addresses, the secret, agents,
permissions, ads, and the send report (``APIGetReport``) with the look-up of one request in it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from bot.clients.miogram.checks import SendChecks
from bot.clients.miogram.errors import MioGramMalformed, MioGramNoData
from bot.clients.miogram.media import Media
from bot.clients.miogram.models import Credits, Limits, Secret
from bot.clients.miogram.replies import as_bool, as_csv, as_int, as_mapping
from bot.clients.miogram.report import MAX_RECORDS, Report, RequestCheck, SentContent, find_request, parse_report
from bot.clients.miogram.transport import Transport

_CREDIT_KEYS = (("message", "Message"), ("photo", "Photo"), ("video", "Video"), ("file", "File"), ("other", "Other"))


class AccountFunctions:
    """The ``API*`` Funcs. Most answer ``{"Result": …}`` without a ``Status``; 407 and 409 are
    the success answers of APIChangeSecret and APISetIP."""

    def __init__(self, transport: Transport, checks: SendChecks) -> None:
        self._transport = transport
        self._checks = checks

    async def api_get_limits(self) -> Limits:
        """APIGetLimits, always asked (and the client's cache of limits refreshed)."""
        return await self._checks.fetch_limits()

    async def credits(self) -> Credits:
        """APIGetCredits: the credit left per kind (the service sends numbers as strings)."""
        data = as_mapping(await self._transport.read("APIGetCredits"), "APIGetCredits")
        values = {kind: as_int(data.get(key, 0), key, "APIGetCredits") for kind, key in _CREDIT_KEYS}
        return Credits(**values)

    async def api_get_ip(self) -> list[str]:
        """APIGetIP: the addresses the service reports (the server answers the caller's own)."""
        return as_csv(await self._transport.read("APIGetIP"))

    async def api_set_ip(self, addresses: Sequence[str] | str) -> list[str]:
        """APISetIP: allow ``addresses`` (or ``"*"`` for every address); answers the allowed list
        (the server adds its own address unless ``*``)."""
        items = [addresses] if isinstance(addresses, str) else list(addresses)
        misc = "*" if items == ["*"] else ",".join(_ip(item) for item in items)
        if not misc:
            raise ValueError("at least one address (or '*') is needed")
        return as_csv(await self._transport.write("APISetIP", Misc=misc))

    async def api_change_secret(self) -> Secret:
        """APIChangeSecret: a new secret, used by this client from now on. The old one is dead at
        once: the caller must store the new one (``reveal()``) in the configuration."""
        reply = await self._transport.write("APIChangeSecret")
        if not isinstance(reply.result, str) or not reply.result.strip():
            raise MioGramMalformed("no new secret in the answer", func="APIChangeSecret")
        self._transport.secret = Secret(reply.result.strip())
        return self._transport.secret

    async def api_get_robot(self) -> list[str]:
        """APIGetRobot: the names of the active agents."""
        return as_csv(await self._transport.read("APIGetRobot"))

    async def api_get_active(self) -> bool:
        """APIGetActive: whether the account is active."""
        return as_bool(await self._transport.read("APIGetActive"))

    async def api_get_username(self) -> str:
        """APIGetUsername: the account's username."""
        result = (await self._transport.read("APIGetUsername")).result
        return "" if result in (None, False) else str(result)

    async def api_is_super(self) -> bool:
        """APIisSuper: whether the account has the control permission."""
        return as_bool(await self._transport.read("APIisSuper"))

    async def api_can_get(self) -> bool:
        """APIcanGet: whether the account has the read-data permission."""
        return as_bool(await self._transport.read("APIcanGet"))

    async def api_get_ads(self) -> bool:
        """APIGetAds: whether an ad footer is appended to messages."""
        return as_bool(await self._transport.read("APIGetAds"))

    async def report(self, count: int = 100) -> Report:
        """APIGetReport: the newest ``count`` (1–999, as the document allows) send-report records
        as :class:`~bot.clients.miogram.report.Report` (empty when the service has none, 111).
        The server reads only the first 1,000 records of an account's log: a send missing from
        the report may still have gone out."""
        if not 1 <= count <= MAX_RECORDS:
            raise ValueError(f"count must be between 1 and {MAX_RECORDS}")
        try:
            reply = await self._transport.read("APIGetReport", Misc=str(int(count)))
        except MioGramNoData:
            return Report((), 0, count)
        if not isinstance(reply.result, list):
            raise MioGramMalformed("the report is not a list", func="APIGetReport")
        return parse_report(reply.result, count)

    async def find_request(
        self, numbers: Sequence[str], *, text: str | None = None, media: Media | None = None
    ) -> RequestCheck:
        """Look one send request (its ``numbers`` and its ``text`` or ``media``) up in the newest
        999 records of the send report: see :func:`bot.clients.miogram.report.find_request`."""
        if (text is None) == (media is None):
            raise ValueError("a request carried either a text or a file")
        if media is not None:
            content = SentContent.of_file(await media.sha256(), media.size)
        else:
            content = SentContent.of_text(text or "", self._checks.ad_footer)
        report = await self.report(MAX_RECORDS)
        wanted = [self._checks.number(number) for number in numbers]
        return find_request(report, wanted, content, self._checks.region)


def _ip(text: str) -> str:
    value = text.strip()
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
    return value

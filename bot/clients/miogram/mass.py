"""Mass sends (``*Mass``): one request of at most 100 numbers with an :class:`Outcome` for every
input number, and a whole send cut into batches for callers that keep no state.

The answer is an object keyed by each number as sent; a number missing from it is UNKNOWN.
307 on a request of several numbers is raised (it does not say which number); 305/306 mean
nothing went out; a lost answer is :class:`MioGramOutcomeUnknown` and is never repeated.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.clients.miogram import phones
from bot.clients.miogram.checks import SendChecks
from bot.clients.miogram.errors import MioGramError, MioGramNumberWrong, MioGramOutcomeUnknown
from bot.clients.miogram.media import Media, MediaKind
from bot.clients.miogram.models import MAX_MASS, BatchResult, MassResult, Outcome
from bot.clients.miogram.phones import InvalidPhone
from bot.clients.miogram.replies import mass_outcomes
from bot.clients.miogram.transport import BeforeSend, Transport

OnBatch = Callable[[BatchResult], Any]


@dataclass
class BatchPlan:
    """A batch's input numbers normalised: which E.164 to send, the inputs behind each, and
    which inputs are invalid (with the reason)."""

    to_send: list[str]
    inputs_by_number: dict[str, list[str]]
    invalid: dict[str, str]


class MassSends:
    """The ``*Mass`` functions; ``batch_size`` is the default size of a batch of :meth:`send_mass`."""

    def __init__(self, transport: Transport, checks: SendChecks, *, batch_size: int = MAX_MASS) -> None:
        if not 1 <= batch_size <= MAX_MASS:
            raise ValueError(f"batch_size must be between 1 and {MAX_MASS}")
        self._transport = transport
        self._checks = checks
        self.batch_size = batch_size

    def remember_valid(self, numbers: Iterable[str]) -> None:
        """Numbers already validated (a job's audience): see :meth:`SendChecks.remember_valid`."""
        self._checks.remember_valid(numbers)

    async def send_message_mass(self, numbers: Sequence[str], text: str) -> BatchResult:
        """SendMessageMass: one request of at most 100 numbers."""
        return await self.send_mass_batch(list(numbers), text=text)

    async def send_message_whatsapp_mass(self, numbers: Sequence[str], text: str) -> BatchResult:
        """SendMessageWhatsAppMass (beta): every number is reported SENT."""
        return await self.send_mass_batch(list(numbers), text=text, whatsapp=True)

    async def send_photo_mass(self, numbers: Sequence[str], media: Media) -> BatchResult:
        """SendPhotoMass: one image to at most 100 numbers."""
        return await self._media_mass("SendPhotoMass", list(numbers), media, "photo")

    async def send_video_mass(self, numbers: Sequence[str], media: Media) -> BatchResult:
        """SendVideoMass: one video to at most 100 numbers."""
        return await self._media_mass("SendVideoMass", list(numbers), media, "video")

    async def send_file_mass(self, numbers: Sequence[str], media: Media) -> BatchResult:
        """SendFileMass: one file to at most 100 numbers."""
        return await self._media_mass("SendFileMass", list(numbers), media, "file")

    async def send_mass_batch(
        self,
        numbers: list[str],
        *,
        text: str | None = None,
        media: Media | None = None,
        whatsapp: bool = False,
        robot: str | None = None,
        before_send: BeforeSend | None = None,
    ) -> BatchResult:
        """ONE *Mass request of at most 100 numbers, with an :class:`Outcome` for every input number.

        ``robot`` sends through that agent instead of the configured one (a mass send's lanes).
        ``before_send`` is awaited once the request is built, before any of it goes out (see
        :data:`~bot.clients.miogram.transport.BeforeSend`); what it raises, nothing having been
        sent, reaches the caller as it is.
        Invalid numbers are reported INVALID and not sent, repeats are sent once. Raises
        :class:`MioGramOutcomeUnknown` (never retried) when the answer is lost, and
        :class:`MioGramNoCredit` / :class:`MioGramLowCredit` when nothing went out for credit.
        """
        if media is not None:
            if text is not None or whatsapp:
                raise ValueError("a Mass carries either a text or a file, and WhatsApp only text")
            func, limit_kind = media_mass_func(media)
            return await self._media_mass(func, numbers, media, limit_kind, robot, before_send)
        if text is None:
            raise ValueError("a text or a file is needed")
        plan = self._plan_batch(numbers)
        await self._checks.check_message(text)
        func = "SendMessageWhatsAppMass" if whatsapp else "SendMessageMass"
        return await self._run_batch(func, numbers, plan, None, before_send, Message=text, Robot=robot or "")

    async def _media_mass(
        self,
        func: str,
        numbers: list[str],
        media: Media,
        limit_kind: str,
        robot: str | None = None,
        before_send: BeforeSend | None = None,
    ) -> BatchResult:
        plan = self._plan_batch(numbers)
        await self._checks.check_media(media, limit_kind)
        fields = {"Misc": media.extension, "Robot": robot or ""}
        return await self._run_batch(func, numbers, plan, media, before_send, **fields)

    def _plan_batch(self, numbers: Sequence[str]) -> BatchPlan:
        if isinstance(numbers, str):
            raise TypeError("numbers must be a list of numbers, not one string")
        plan = BatchPlan([], {}, {})
        for raw in numbers:
            try:
                number = self._checks.number(raw)
            except InvalidPhone as exc:
                plan.invalid[raw] = exc.reason
                continue
            if number not in plan.inputs_by_number:
                plan.to_send.append(number)
            plan.inputs_by_number.setdefault(number, []).append(raw)
        if len(plan.to_send) > MAX_MASS:
            raise ValueError(f"one Mass request takes at most {MAX_MASS} numbers (got {len(plan.to_send)})")
        return plan

    async def _run_batch(
        self,
        func: str,
        numbers: Sequence[str],
        plan: BatchPlan,
        media: Media | None = None,
        before_send: BeforeSend | None = None,
        **fields: str,
    ) -> BatchResult:
        outcomes: dict[str, Outcome] = dict.fromkeys(plan.invalid, Outcome.INVALID)
        status = None
        if plan.to_send:
            by_number, status = await self._request(func, plan, media, fields, before_send)
            for number, outcome in by_number.items():
                for raw in plan.inputs_by_number[number]:
                    outcomes[raw] = outcome
        ordered = {raw: outcomes[raw] for raw in numbers}
        reasons = {raw: plan.invalid[raw] for raw in numbers if raw in plan.invalid}
        return BatchResult(func, tuple(numbers), ordered, reasons, status)

    async def _request(
        self,
        func: str,
        plan: BatchPlan,
        media: Media | None,
        fields: dict[str, str],
        before_send: BeforeSend | None = None,
    ) -> tuple[dict[str, Outcome], str | None]:
        """The request of a planned batch: each sent number's outcome, and the answer's Status."""
        try:
            reply = await self._transport.send(func, plan.to_send, media, fields, before_send)
        except MioGramNumberWrong:
            if len(plan.to_send) > 1:
                raise  # the service did not say which number: nothing to attribute
            for raw in plan.inputs_by_number[plan.to_send[0]]:
                plan.invalid[raw] = "number does not exist or is wrong"
            return {plan.to_send[0]: Outcome.INVALID}, None
        return mass_outcomes(reply, plan.to_send, self._checks.region), reply.status

    async def send_mass(
        self,
        numbers: str | Iterable[str],
        *,
        text: str | None = None,
        media: Media | None = None,
        whatsapp: bool = False,
        batch_size: int | None = None,
        on_batch: OnBatch | None = None,
    ) -> MassResult:
        """A whole mass send for callers that keep no state: numbers parsed (invalid reported,
        duplicates dropped), content checked once, then batches of ``batch_size`` (default the
        configured one, at most 100) one after the other. ``on_batch`` (sync or async) sees each
        :class:`BatchResult`. The first error stops the send: that batch is UNKNOWN if the answer
        was lost (SKIPPED otherwise) and every later number SKIPPED; ``result.error`` says why."""
        size = self._batch_size(batch_size)
        parsed = phones.parse_numbers(numbers, self._checks.region)
        result = MassResult(duplicates=list(parsed.duplicates))
        for raw, reason in parsed.invalid:
            result.outcomes[raw], result.reasons[raw] = Outcome.INVALID, reason
        await self._check_content(text, media, whatsapp)
        batches = [parsed.valid[i : i + size] for i in range(0, len(parsed.valid), size)]
        for index, batch in enumerate(batches):
            try:
                outcome = await self.send_mass_batch(batch, text=text, media=media, whatsapp=whatsapp)
            except MioGramError as exc:
                _stop(result, exc, batch, batches[index + 1 :])
                break
            result.batches.append(outcome)
            result.outcomes.update(outcome.outcomes)
            await _notify(on_batch, outcome)
        return result

    def _batch_size(self, batch_size: int | None) -> int:
        size = self.batch_size if batch_size is None else batch_size
        if not 1 <= size <= MAX_MASS:
            raise ValueError(f"batch_size must be between 1 and {MAX_MASS}")
        return size

    async def _check_content(self, text: str | None, media: Media | None, whatsapp: bool) -> None:
        if media is not None:
            if text is not None or whatsapp:
                raise ValueError("a Mass carries either a text or a file, and WhatsApp only text")
            await self._checks.check_media(media, media_mass_func(media)[1])
        elif text is not None:
            await self._checks.check_message(text)
        else:
            raise ValueError("a text or a file is needed")


def media_mass_func(media: Media) -> tuple[str, str]:
    """The Mass Func of a file and the limit it is checked against: only photos, videos and
    other files have a Mass Func."""
    if media.kind is MediaKind.PHOTO:
        return "SendPhotoMass", "photo"
    if media.kind is MediaKind.VIDEO:
        return "SendVideoMass", "video"
    return "SendFileMass", "file"


async def _notify(callback: OnBatch | None, batch: BatchResult) -> None:
    if callback is None:
        return
    result = callback(batch)
    if inspect.isawaitable(result):
        await result


def _stop(result: MassResult, exc: MioGramError, batch: list[str], later: list[list[str]]) -> None:
    """Record the error that stopped a mass send: the batch in flight and everything after."""
    result.error = exc
    in_flight = Outcome.UNKNOWN if isinstance(exc, MioGramOutcomeUnknown) else Outcome.SKIPPED
    for number in batch:
        result.outcomes[number] = in_flight
    for numbers in later:
        for number in numbers:
            result.outcomes[number] = Outcome.SKIPPED

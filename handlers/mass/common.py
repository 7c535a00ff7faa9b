"""Formatting and job helpers shared by the mass modules, the ``/mass`` flow, ``/lists`` and the Bridge."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from telegram import InlineKeyboardButton

from bot.clients.miogram.media import Media
from bot.massjobs.docs import JobDoc, MediaDoc
from bot.runtime.services import Services
from bot.text.digits import to_persian_digits
from bot.text.timeparse import format_when
from handlers.mass.savedlists import SavedList

#: the most saved lists offered as buttons
MAX_LIST_BUTTONS = 12
MIB = 1_048_576


# --- formatting helpers


@dataclass(frozen=True)
class Speech:
    """The catalogue in the reader's language, for the pure renderers: ``t(key, **values)``, the
    language code, and a translation of the phone parser's (English) reasons."""

    t: Callable[..., str]
    lang: str
    reason: Callable[[str], str]
    when: Callable[[float], str] = str  # a UTC timestamp as a time in the bot's zone


def speech(services: Services, user_id: int | None) -> Speech:
    """The catalogue in ``user_id``'s language (the chat's default for None)."""
    lang = services.lang(user_id)
    return Speech(
        t=lambda key, **values: services.t(key, user_id, **values),
        lang=lang,
        reason=lambda reason: reason_text(services, user_id, reason),
        when=lambda ts: format_when(datetime.fromtimestamp(ts, tz=UTC), tz=services.tz, lang=lang),
    )


def lang_of(services: Services, user_id: int | None) -> str:
    return services.lang(user_id)


def fmt_num(value: int | float, lang: str) -> str:
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    return to_persian_digits(text) if lang == "fa" else text


def fmt_size(size: int, lang: str) -> str:
    """``1.2 MB`` / ``340 KB`` / ``900 B`` (binary units, as MioGram counts)."""
    if size >= MIB:
        text = f"{size / MIB:.1f} MB"
    elif size >= 1024:
        text = f"{size / 1024:.0f} KB"
    else:
        text = f"{size} B"
    return to_persian_digits(text) if lang == "fa" else text


def fmt_duration(seconds: float, lang: str) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return to_persian_digits(text) if lang == "fa" else text


def rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def csv_bytes(header: list[str], lines: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue().encode("utf-8-sig")


# --- helpers shared with the flow and the Bridge


class Audience(TypedDict):
    """Who a draft is for: a label for the card, the numbers read and, when read from text or a
    file, the inputs that are not numbers (with their reasons) and how many repeated."""

    label: str
    valid: list[str]
    invalid: NotRequired[list[list[str]]]
    duplicates: NotRequired[int]


def set_audience(services: Services, job: JobDoc, audience: Audience) -> None:
    """Put an audience on a draft: opted-out numbers are set aside (and counted)."""
    optout = services.store.table("optout")
    valid = list(dict.fromkeys(audience.get("valid", [])))
    job["audience"] = str(audience.get("label", ""))
    job["numbers"] = [n for n in valid if n not in optout]
    job["opted_out"] = [n for n in valid if n in optout]
    job["invalid"] = [list(item) for item in audience.get("invalid", [])]
    job["duplicates"] = int(audience.get("duplicates", 0))


def list_audience(services: Services, user_id: int | None, saved: SavedList) -> Audience:
    return {
        "label": services.t("mass.audience_list", user_id, name=saved["name"]),
        "valid": list(saved["numbers"]),
        "invalid": [],
        "duplicates": 0,
    }


def reason_text(services: Services, user_id: int | None, reason: str) -> str:
    """A phone-parse reason in the user's language (the parser speaks English)."""
    key = "mass.reason_" + reason.replace(" ", "_")
    if reason.startswith("invalid for region"):
        return services.t("mass.reason_invalid_for_region", user_id, region=reason.rsplit(" ", 1)[-1])
    return services.t(key, user_id) if services.i18n.has(key) else reason


def utc(timestamp: Any) -> datetime:
    return datetime.fromtimestamp(float(timestamp or 0), tz=UTC)


def media_info(
    path: Path, extension: str, *, name: str, file_id: str | None = None, url: str | None = None
) -> MediaDoc:
    """The job's record of a spooled file (kind decided by its extension), with how to fetch it
    again: its Telegram ``file_id`` or its ``url``."""
    media = Media(path, extension)
    doc: MediaDoc = {
        "spool": str(path),
        "ext": media.extension,
        "size": media.size,
        "kind": media.kind.value,
        "name": name,
    }
    if file_id is not None:
        doc["file_id"] = file_id
    if url is not None:
        doc["url"] = url
    return doc

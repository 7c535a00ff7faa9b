"""What the client sends: form encoding, uploads, and the post forms of "Create post" and "Edit post".

Bodies are PHP/Laravel bracket forms (:func:`encode_fields`). :class:`PostInput` is a post to
create; :class:`PostEdit` is the whole post an edit sends: "Edit post" and "Edit post after
publish" mark only ``custom_captions``, ``hashtag`` and ``photo_tags`` as optional, so every edit
carries ``caption``, ``type``, ``account_ids``, ``media_ids``, ``is_scheduled``,
``schedule_date``, ``is_draft`` (and ``location`` when the post has one) with their current
values. :meth:`PostEdit.of` reads them from a post group as Resont returned it (media and location
live on each Post, not on the group); its ``with_…``/``rescheduled``/``approved`` methods change
only what an admin changed, and a draft stays a draft until :meth:`PostEdit.approved`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.post_models import PostGroup


@dataclass(frozen=True)
class Upload:
    """A file to send as multipart/form-data (media upload, DM or ticket attachment)."""

    content: bytes = field(repr=False)
    filename: str
    content_type: str = "application/octet-stream"

    def as_httpx(self) -> tuple[str, bytes, str]:
        return (self.filename, self.content, self.content_type)


@dataclass(frozen=True)
class PostInput:
    """Every documented field of "Create post" (edits send a :class:`PostEdit`).

    The fields the document does not mark optional are always sent (``caption``, ``type``,
    ``account_ids``, ``media_ids``, ``is_scheduled``, ``schedule_date``, ``is_draft``): an
    empty caption or list as ``key=``, no time as ``schedule_date=``, the flags as 0 when not
    given; ``location`` only when there is one. Other None fields are not sent.
    ``schedule_date`` is an aware datetime or unix seconds (sent as UTC seconds; setting it
    implies ``is_scheduled`` unless that is given). ``photo_tags`` maps a file id to a list of
    ``{"locationX", "locationY", "text", "id"}``; ``thumbnail_second`` a file id to a second;
    ``telegram_buttons`` are ``"title:link"`` strings or ``(title, link)`` pairs. ``extra`` is
    sent as is, for fields Resont adds later.
    """

    caption: str | None = None
    type: str | None = None
    account_ids: Sequence[int] | None = None
    media_ids: Sequence[int] | None = None
    custom_captions: Mapping[str, str] | None = None
    is_scheduled: bool | None = None
    schedule_date: datetime | int | None = None
    is_draft: bool | None = None
    location: str | None = None
    hashtags: Sequence[str] | None = None
    photo_tags: Mapping[Any, Any] | None = None
    thumbnail_second: Mapping[Any, float] | None = None
    reels: bool | None = None
    reels_sharetofeed: bool | None = None
    linkedin_title: str | None = None
    pinterest_url: str | None = None
    telegram_buttons: Sequence[str | tuple[str, str]] | None = None
    tweets: Sequence[str] | None = None
    youtube_category: str | None = None
    youtube_title: str | None = None
    youtube_privacy: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_form(self) -> dict[str, Any]:
        """The wire fields (before bracket encoding)."""
        is_scheduled = self.is_scheduled
        if is_scheduled is None and self.schedule_date is not None:
            is_scheduled = True
        seconds = _unix_seconds(self.schedule_date)
        fields: dict[str, Any] = {
            "caption": self.caption or "",
            "type": self.type,
            "account_ids": list(self.account_ids or ()),
            "media_ids": list(self.media_ids or ()),
            "custom_captions": self.custom_captions,
            "is_scheduled": bool(is_scheduled),
            "schedule_date": "" if seconds is None else seconds,
            "is_draft": bool(self.is_draft),
            "location": self.location,
            "hashtag": self.hashtags,
            "photo_tags": self.photo_tags,
            "thumbnail_second": self.thumbnail_second,
            "reels": self.reels,
            "reels_sharetofeed": self.reels_sharetofeed,
            "linkedin_title": self.linkedin_title,
            "pinterest_url": self.pinterest_url,
            "telegram_buttons": _buttons(self.telegram_buttons),
            "tweets": self.tweets,
            "youtube_category": self.youtube_category,
            "youtube_title": self.youtube_title,
            "youtube_privacy": self.youtube_privacy,
        }
        fields.update(self.extra)
        return {k: v for k, v in fields.items() if v is not None}


def _unix_seconds(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise ValueError("schedule_date must be timezone-aware (Resont expects UTC seconds)")
    return int(value.timestamp())


def _buttons(buttons: Sequence[str | tuple[str, str]] | None) -> list[str] | None:
    if buttons is None:
        return None
    return [b if isinstance(b, str) else f"{b[0]}:{b[1]}" for b in buttons]


def encode_fields(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """PHP/Laravel form encoding: lists as ``key[]``, objects as ``key[sub]``, bools as 1/0.

    An empty list is sent as ``key=`` (an explicit "none"); None values are left out.
    """
    out: list[tuple[str, str]] = []
    for key, value in fields.items():
        _flatten(str(key), value, out)
    return out


def _flatten(key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append((key, "1" if value else "0"))
    elif isinstance(value, Mapping):
        for sub, item in value.items():
            _flatten(f"{key}[{sub}]", item, out)
    elif isinstance(value, (list, tuple, set, frozenset)):
        _flatten_list(key, list(value), out)
    else:
        out.append((key, str(value)))


def _flatten_list(key: str, items: list[Any], out: list[tuple[str, str]]) -> None:
    if not items:
        out.append((key, ""))
        return
    for index, item in enumerate(items):
        nested = isinstance(item, (Mapping, list, tuple))
        _flatten(f"{key}[{index}]" if nested else f"{key}[]", item, out)


def expansion(expand: str | Sequence[str] | None) -> str | None:
    """The ``with`` parameter (field expansion): names joined by commas, or None."""
    if expand is None or isinstance(expand, str):
        return expand or None
    return ",".join(expand) or None


#: Post types that carry media (the edit is refused when Resont listed none).
MEDIA_TYPES = frozenset({"image", "album", "video", "document", "story"})


@dataclass(frozen=True)
class PostEdit:
    """One post group's content as an edit sends it (see the module docstring)."""

    caption: str
    type: str
    account_ids: tuple[int, ...]
    media_ids: tuple[int, ...]
    is_scheduled: bool
    schedule_date: int | None
    is_draft: bool
    location: str | None = None
    custom_captions: Mapping[str, str] = field(default_factory=dict)
    hashtags: tuple[str, ...] = ()

    @classmethod
    def of(cls, group: PostGroup) -> PostEdit:
        """The post group as Resont has it; :class:`ResontMalformed` when the answer lacks
        something an edit must send (sending less could drop it in Resont)."""
        media = tuple(group.media_ids)
        kind = (group.type or "").lower()
        if not kind:
            raise ResontMalformed(f"Resont did not say the type of post {group.id}; it was not edited")
        if kind in MEDIA_TYPES and not media:
            raise ResontMalformed(f"Resont did not list the media of post {group.id}; it was not edited")
        if not group.account_ids:
            raise ResontMalformed(f"Resont did not list the accounts of post {group.id}; it was not edited")
        when = _seconds(group.schedule_date)
        return cls(
            caption=group.caption if group.caption is not None else "",
            type=kind,
            account_ids=tuple(group.account_ids),
            media_ids=media,
            is_scheduled=group.is_scheduled and when is not None,
            schedule_date=when,
            is_draft=group.is_draft,
            location=group.location,
            custom_captions=dict(group.custom_captions),
            hashtags=tuple(group.hashtags),
        )

    def with_caption(self, caption: str) -> PostEdit:
        """A new caption; everything else as it is."""
        return dataclasses.replace(self, caption=caption)

    def rescheduled(self, when: int) -> PostEdit:
        """A new time (unix seconds); a draft stays a draft waiting for its approval."""
        return dataclasses.replace(self, is_scheduled=True, schedule_date=int(when))

    def approved(self, when: int | None) -> PostEdit:
        """The draft goes out: scheduled for ``when`` (unix seconds), or published now when None
        (its time is then sent as it was)."""
        if when is None:
            return dataclasses.replace(self, is_draft=False, is_scheduled=False)
        return dataclasses.replace(self, is_draft=False, is_scheduled=True, schedule_date=int(when))

    def to_form(self) -> dict[str, Any]:
        """The wire fields (before bracket encoding). Every required field is present: an empty
        list is sent as ``key=`` and a post without a time sends ``schedule_date=``."""
        form: dict[str, Any] = {
            "caption": self.caption,
            "type": self.type,
            "account_ids": list(self.account_ids),
            "media_ids": list(self.media_ids),
            "is_scheduled": self.is_scheduled,
            "schedule_date": "" if self.schedule_date is None else self.schedule_date,
            "is_draft": self.is_draft,
        }
        if self.location:
            form["location"] = self.location
        if self.custom_captions:
            form["custom_captions"] = dict(self.custom_captions)
        if self.hashtags:
            form["hashtag"] = list(self.hashtags)
        return form


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())

"""The whole post an edit sends: every field of "Edit post" the document does not mark optional.

Resont's "Edit post" and "Edit post after publish" mark only ``custom_captions``, ``hashtag`` and
``photo_tags`` as optional, so every edit carries ``caption``, ``type``, ``account_ids``,
``media_ids``, ``is_scheduled``, ``schedule_date``, ``is_draft`` (and ``location`` when the post
has one) with their current values. :meth:`PostEdit.of` reads them from a post group as Resont
returned it (media and location live on each :class:`Post`, not on the group); the ``with_…``
methods change only what an admin changed, and a draft stays a draft until :meth:`approved`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clients.resont.errors import ResontMalformed
from bot.clients.resont.models import PostGroup

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

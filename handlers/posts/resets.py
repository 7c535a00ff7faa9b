"""Approvals that reset: what changed in a post, and whether the approvals given so far still hold.

An approval is given to what the card showed. When the caption (or a per-network caption), the
media (or the post type) or the accounts change afterwards — through Edit caption, or in
Resont itself, seen by the poll — the approvals gathered so far are cleared and the card says
why; a new time alone keeps them (Reschedule is not a new content). Pure: no Telegram or Resont
calls; :func:`handlers.posts.state.apply_fresh` applies the result and writes the audit record.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handlers.posts.docs import ApprovalMark
from handlers.posts.postview import PostView

if TYPE_CHECKING:
    from bot.runtime.services import Services

#: Parts of a post whose change clears the approvals.
RESETTING = frozenset({"caption", "media", "accounts"})
#: How much of a caption the audit record keeps, before and after.
AUDIT_CAPTION = 1000


@dataclass(frozen=True)
class Change:
    """The parts of a post that differ between two views: caption, media, accounts, time."""

    parts: tuple[str, ...] = ()

    @property
    def resets(self) -> bool:
        """Whether the approvals given before this change no longer hold."""
        return any(part in RESETTING for part in self.parts)


def compare(old: PostView, new: PostView) -> Change:
    """What changed from ``old`` to ``new`` (in a fixed order)."""
    parts = []
    if (old.caption, old.custom_captions) != (new.caption, new.custom_captions):
        parts.append("caption")
    if (list(old.media_ids), old.type) != (list(new.media_ids), new.type):
        parts.append("media")
    if sorted(old.account_ids) != sorted(new.account_ids):
        parts.append("accounts")
    if _minute(old.schedule_ts) != _minute(new.schedule_ts):
        parts.append("time")
    return Change(tuple(parts))


def _minute(ts: float | None) -> int | None:
    return None if ts is None else int(ts // 60)


def content_of(view: PostView) -> dict[str, Any]:
    """What the audit log keeps of a version of the post."""
    return {
        "caption": view.caption[:AUDIT_CAPTION],
        "custom_captions": {k: v[:AUDIT_CAPTION] for k, v in view.custom_captions.items()},
        "type": view.type,
        "media_ids": list(view.media_ids),
        "account_ids": view.account_ids,
        "schedule_ts": view.schedule_ts,
    }


def parts_text(services: Services, parts: Sequence[str], lang: str) -> str:
    """ "the caption and the media" — the changed parts, for people."""
    t = services.i18n.t
    return t("posts.parts_and", lang).join(t(f"posts.part_{part}", lang) for part in parts)


def reset_note(services: Services, change: Change, cleared: Sequence[ApprovalMark]) -> str:
    """The card's line saying whose approvals were cleared, and why."""
    lang = services.config.language
    names = ", ".join(html.escape(str(a.get("name") or a.get("id"))) for a in cleared)
    parts = [part for part in change.parts if part in RESETTING]
    return services.i18n.t("posts.note_reset", lang, parts=parts_text(services, parts, lang), names=names)

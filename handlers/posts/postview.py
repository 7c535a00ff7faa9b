"""The part of a Resont post group an approval card shows (:class:`PostView`), read from the
group (:func:`view_of`), and the fingerprint that tells when its content changed.

Pure: kept in the ``approvals`` table so a card can be redrawn after a decision without asking
Resont again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clients.resont.post_models import PostGroup
from handlers.posts.docs import AccountItem, AccountNames, ViewDoc

__all__ = ["PostView", "custom_captions_of", "fingerprint_of", "media_kind", "view_of"]


def media_kind(file_type: str | None, ext: str | None = None) -> str:
    """``image``, ``video`` or ``document`` for a Resont file type (or extension)."""
    value = (file_type or "").lower()
    if value.startswith("image") or value in ("photo", "picture"):
        return "image"
    if value.startswith("video"):
        return "video"
    if value:
        return "document"
    ext = (ext or "").lower().lstrip(".")
    if ext in ("jpg", "jpeg", "png", "gif", "webp", "bmp", "heic"):
        return "image"
    if ext in ("mp4", "mov", "avi", "mkv", "webm", "m4v"):
        return "video"
    return "document"


@dataclass
class PostView:
    """What an approval card shows about one post group."""

    id: int
    kind: str  # "draft" or "scheduled"
    type: str = ""
    caption: str = ""
    custom_captions: dict[str, str] = field(default_factory=dict)
    accounts: list[AccountItem] = field(default_factory=list)  # [account id, name, network]
    media_ids: list[int] = field(default_factory=list)
    schedule_ts: float | None = None
    author: str = ""
    photo_url: str = ""  # the first image, sent as the card's photo
    first_media: str = ""  # image / video / document

    # --- persistence
    def to_doc(self) -> ViewDoc:
        return {
            "id": self.id,
            "kind": self.kind,
            "type": self.type,
            "caption": self.caption,
            "custom_captions": dict(self.custom_captions),
            "accounts": [list(item) for item in self.accounts],
            "media_ids": list(self.media_ids),
            "schedule_ts": self.schedule_ts,
            "author": self.author,
            "photo_url": self.photo_url,
            "first_media": self.first_media,
        }

    @classmethod
    def from_doc(cls, doc: ViewDoc) -> PostView:
        """The view a document stores (a key it lacks takes its default)."""
        defaults = cls(id=doc["id"], kind=doc["kind"])
        return cls(
            id=doc["id"],
            kind=doc["kind"],
            type=doc.get("type", defaults.type),
            caption=doc.get("caption", defaults.caption),
            custom_captions=doc.get("custom_captions", defaults.custom_captions),
            accounts=doc.get("accounts", defaults.accounts),
            media_ids=doc.get("media_ids", defaults.media_ids),
            schedule_ts=doc.get("schedule_ts", defaults.schedule_ts),
            author=doc.get("author", defaults.author),
            photo_url=doc.get("photo_url", defaults.photo_url),
            first_media=doc.get("first_media", defaults.first_media),
        )

    # --- derived
    @property
    def account_ids(self) -> list[int]:
        return [int(a[0]) for a in self.accounts if a and a[0] is not None]

    @property
    def schedule(self) -> datetime | None:
        if self.schedule_ts is None:
            return None
        return datetime.fromtimestamp(self.schedule_ts, UTC)


def fingerprint_of(group: PostGroup) -> str:
    """Changes when the post's content changes in Resont: caption (and per-network captions),
    accounts, media, type or time (to the minute). Status changes do not count."""
    custom = group.raw.get("custom_captions")
    custom_items = sorted((str(k), str(v)) for k, v in custom.items()) if isinstance(custom, Mapping) else []
    per_post = sorted(
        (p.account_id or 0, p.caption or "") for p in group.posts if p.caption and p.caption != group.caption
    )
    minute = int(group.schedule_date.timestamp() // 60) if group.schedule_date is not None else None
    payload = json.dumps(
        [
            (group.type or "").lower(),
            group.caption or "",
            custom_items,
            sorted(group.account_ids),
            list(group.media_ids),
            per_post,
            minute,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def custom_captions_of(group: PostGroup, networks: Mapping[int, str]) -> dict[str, str]:
    """Per-network captions: ``custom_captions`` when Resont sends it, and any post of the group
    whose caption differs from the group's."""
    out: dict[str, str] = {}
    raw = group.raw.get("custom_captions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if isinstance(raw, Mapping):
        for network, text in raw.items():
            if isinstance(text, str) and text.strip() and text != (group.caption or ""):
                out[str(network)] = text
    for post in group.posts:
        if post.caption and post.caption != (group.caption or "") and post.account_id is not None:
            network = networks.get(post.account_id) or str(post.account_id)
            out.setdefault(network, post.caption)
    return out


def view_of(
    group: PostGroup,
    accounts: AccountNames,
    *,
    author: str = "",
    photo_url: str = "",
    first_media: str = "",
) -> PostView:
    """The view of ``group``; ``accounts`` maps an account id to ``(name, network)``."""
    networks = {aid: str(info[1] or "") for aid, info in accounts.items()}
    listed: list[AccountItem] = []
    for aid in group.account_ids:
        name, network = (accounts.get(aid) or (None, None))[:2]
        listed.append([aid, name or f"#{aid}", network or ""])
    media_ids = list(group.media_ids) or _post_media(group)
    kind = "draft" if group.is_draft else "scheduled"
    schedule = group.schedule_date
    return PostView(
        id=int(group.id or 0),
        kind=kind,
        type=(group.type or "").lower(),
        caption=group.caption or "",
        custom_captions=custom_captions_of(group, networks),
        accounts=listed,
        media_ids=media_ids,
        schedule_ts=schedule.timestamp() if schedule is not None else None,
        author=author or (group.from_user or ""),
        photo_url=photo_url,
        first_media=first_media,
    )


def _post_media(group: PostGroup) -> list[int]:
    for post in group.posts:
        if post.media_ids:
            return list(post.media_ids)
    return []

"""Rendering for the posts feature: approval cards, their keyboards, alert texts and lists.

Everything here is pure (no Telegram or Resont calls): a card is drawn from a
:class:`~handlers.posts.postview.PostView` (the part of a Resont post group a card shows). Texts are HTML; every value that comes from Resont or a
user is escaped here.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup

from bot.clients.resont.models import Account
from bot.clients.resont.post_models import PostGroup
from bot.runtime.tg.buttons import button
from bot.runtime.tg.callback import ButtonData
from bot.text.timeparse import format_when
from handlers.posts import buttons
from handlers.posts.docs import APPROVED, FINAL_STATES, PENDING, AccountNames, ApprovalDoc
from handlers.posts.postview import PostView
from handlers.posts.slots import is_missed, missed_keyboard

if TYPE_CHECKING:
    from bot.runtime.services import Services

#: Telegram's limits: a photo caption and a text message.
MAX_PHOTO_CARD = 1024
MAX_TEXT_CARD = 4096
#: How much of a caption a list line shows.
EXCERPT = 60

#: Statuses that mean a post group is no longer waiting to go out.
PUBLISHED_STATUSES = frozenset({"published", "success", "successful", "done", "sent", "posted"})
CLOSED_STATUSES = frozenset({"cancelled", "canceled", "deleted", "rejected"})


# --------------------------------------------------------------------------- texts


def when_text(services: Services, ts: float | None, lang: str) -> str:
    """A UTC timestamp in the configured zone, for people."""
    if ts is None:
        return services.i18n.t("posts.no_time", lang)
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{format_when(moment, tz=services.tz, lang=lang)} ({services.config.timezone})"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def media_line(services: Services, view: PostView, lang: str) -> str | None:
    t = services.i18n.t
    count = len(view.media_ids)
    if view.type == "album" or count > 1:
        return t("posts.media_album", lang, count=count)
    kind = view.first_media or {"image": "image", "video": "video", "document": "document"}.get(view.type, "")
    if kind == "video" or view.type in ("video", "story") and kind != "image":
        return t("posts.media_video", lang)
    if kind == "document":
        return t("posts.media_document", lang)
    if kind == "image" or view.type == "image":
        return t("posts.media_image", lang) if not view.photo_url else None
    if count:
        return t("posts.media_files", lang, count=count)
    return None


def card_text(services: Services, doc: ApprovalDoc, *, limit: int | None = None) -> str:
    """The HTML text of the approval card for ``doc`` (an ``approvals`` document): the head, the
    captions (cut to what fits ``limit``), the details and the notes."""
    lang = services.config.language
    view = PostView.from_doc(doc["view"])
    limit = limit or (MAX_PHOTO_CARD if doc.get("card") == "photo" else MAX_TEXT_CARD)
    head = "\n".join(_head_lines(services, doc, view, lang))
    meta = "\n".join(_meta_lines(services, doc, view, lang))
    tail = _tail_lines(services, doc, view, lang)
    notes = "\n\n" + "\n".join(tail) if tail else ""
    room = max(40, limit - len(head + "\n\n" + meta + notes) - 4)
    body = _fit(_caption_block(services, view, lang), room)
    return head + "\n\n" + body + "\n\n" + meta + notes


def _head_lines(services: Services, doc: ApprovalDoc, view: PostView, lang: str) -> list[str]:
    """The card's title, whether it waits for a decision, and its media."""
    t = services.i18n.t
    head_key = "posts.card_title_draft" if view.kind == "draft" else "posts.card_title_scheduled"
    head = [t(head_key, lang, id=str(view.id))]
    if doc.get("state") == PENDING:
        head.append(t("posts.card_waiting", lang))
    line = media_line(services, view, lang)
    if line:
        head.append(line)
    return head


def _meta_lines(services: Services, doc: ApprovalDoc, view: PostView, lang: str) -> list[str]:
    """Accounts, time, author and, while several approvals are needed, who gave theirs."""
    t = services.i18n.t
    accounts = ", ".join(
        t("posts.account_item", lang, name=html.escape(str(a[1])), network=html.escape(str(a[2] or "?")))
        for a in view.accounts
    ) or t("posts.no_accounts", lang)
    meta = [t("posts.card_accounts", lang, accounts=accounts)]
    meta.append(t("posts.card_time", lang, when=html.escape(when_text(services, view.schedule_ts, lang))))
    if view.author:
        meta.append(t("posts.card_author", lang, author=html.escape(view.author)))
    approvals = doc.get("approvals") or []
    required = int(doc.get("required") or services.config.approvals_required)
    if doc.get("state") == PENDING and required > 1:
        names = ", ".join(html.escape(a.get("name") or str(a.get("id"))) for a in approvals) or "—"
        meta.append(t("posts.card_approvals", lang, count=len(approvals), required=required, names=names))
    return meta


def _tail_lines(services: Services, doc: ApprovalDoc, view: PostView, lang: str) -> list[str]:
    """A missed slot, the card's note, the decision taken and the last error."""
    tail = []
    if is_missed(doc):
        when = html.escape(when_text(services, view.schedule_ts, lang))
        tail.append(services.i18n.t("posts.note_missed", lang, when=when))
    note = doc.get("note")
    if note:
        tail.append(note)
    outcome = outcome_text(services, doc, lang)
    if outcome:
        tail.append(outcome)
    err = doc.get("error")
    if err and doc.get("state") == PENDING:
        tail.append(error_text(services, err.get("message", ""), err.get("trace_id"), lang))
    return tail


def _caption_block(services: Services, view: PostView, lang: str) -> list[tuple[str, str]]:
    """(label HTML, raw text) pairs: the caption, then each custom caption."""
    t = services.i18n.t
    parts = [(t("posts.card_caption", lang), view.caption or t("posts.no_caption", lang))]
    for network, text in sorted(view.custom_captions.items()):
        parts.append((t("posts.card_custom_caption", lang, network=html.escape(network)), text))
    return parts


def _fit(parts: list[tuple[str, str]], room: int) -> str:
    """The caption block within ``room`` characters of HTML; long texts are cut with "…"."""
    budget = max(20, room - sum(len(label) + 2 for label, _ in parts))
    out = []
    for index, (label, text) in enumerate(parts):
        share = max(10, budget // (len(parts) - index))
        escaped = _cut(text, share)
        budget -= len(escaped)
        out.append(f"{label}\n{escaped}")
    return "\n".join(out)


def _cut(text: str, room: int) -> str:
    """``text`` escaped, cut to at most ``room`` characters (never inside an entity)."""
    if len(html.escape(text)) <= room:
        return html.escape(text)
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if len(html.escape(text[:mid])) <= room - 1:
            low = mid
        else:
            high = mid - 1
    return html.escape(text[:low]) + "…"


def outcome_text(services: Services, doc: ApprovalDoc, lang: str) -> str | None:
    """The decision line of a decided card: who, when, outcome."""
    decision = doc.get("decision")
    state = doc.get("state")
    if not decision or state not in FINAL_STATES:
        return None
    t = services.i18n.t
    at = datetime.fromtimestamp(float(decision.get("at", 0)), UTC)
    when = html.escape(format_when(at, tz=services.tz, lang=lang))
    who = html.escape(decision.get("names") or decision.get("name") or "")
    outcome = decision.get("outcome")
    if outcome == "scheduled":
        return t(
            "posts.outcome_scheduled",
            lang,
            who=who,
            at=when,
            when=html.escape(when_text(services, decision.get("schedule_ts"), lang)),
        )
    if outcome == "published":
        return t("posts.outcome_published", lang, who=who, at=when)
    if outcome == "approved":
        return t("posts.outcome_approved", lang, who=who, at=when)
    if outcome in ("cancelled", "deleted"):
        key = "posts.outcome_rejected_cancel" if outcome == "cancelled" else "posts.outcome_rejected_delete"
        line = t(key, lang, who=who, at=when)
        reason = decision.get("reason")
        if reason:
            line += "\n" + t("posts.outcome_reason", lang, reason=html.escape(reason))
        return line
    if outcome == "gone":
        if decision.get("status"):
            return t("posts.outcome_closed", lang, at=when, status=html.escape(str(decision["status"])))
        return t("posts.outcome_gone", lang, at=when)
    return None


def error_text(services: Services, message: str, trace_id: str | None, lang: str) -> str:
    t = services.i18n.t
    if trace_id:
        return t("posts.resont_error_trace", lang, error=html.escape(message), trace=html.escape(trace_id))
    return t("posts.resont_error", lang, error=html.escape(message))


# --------------------------------------------------------------------------- keyboards


def card_keyboard(services: Services, doc: ApprovalDoc) -> InlineKeyboardMarkup | None:
    """The buttons of a card: none once decided (but "Also send to a list…" on an approved one
    when MioGram is configured); the "time has passed" question while asking; Publish now and
    Reschedule once a draft missed its slot."""
    lang = services.config.language
    t = services.i18n.t
    pg = doc["pg"]
    if doc.get("state") == APPROVED and services.miogram is not None:
        return InlineKeyboardMarkup([[button(t("mass.bridge_button", lang), buttons.SendToList(pg))]])
    if doc.get("state") != PENDING:
        return None
    if doc.get("asking"):
        return InlineKeyboardMarkup(
            [
                [
                    button(t("posts.btn_publish_now", lang), buttons.PublishNow(pg)),
                    button(t("posts.btn_pick_time", lang), buttons.PickTime(pg)),
                ],
                [button(t("posts.btn_back", lang), buttons.Back(pg))],
            ]
        )
    if is_missed(doc):
        return missed_keyboard(services, pg)
    required = int(doc.get("required") or services.config.approvals_required)
    count = len(doc.get("approvals") or [])
    approve = t("posts.btn_approve", lang)
    if required > 1:
        approve = t("posts.btn_approve_count", lang, count=count, required=required)
    return InlineKeyboardMarkup(
        [
            [
                button(approve, buttons.Approve(pg)),
                button(t("posts.btn_reject", lang), buttons.Reject(pg)),
            ],
            [
                button(t("posts.btn_reschedule", lang), buttons.Reschedule(pg)),
                button(t("posts.btn_edit_caption", lang), buttons.EditCaption(pg)),
            ],
        ]
    )


def confirm_keyboard(
    services: Services, lang: str, yes: ButtonData, no: ButtonData, yes_key: str, no_key: str
) -> InlineKeyboardMarkup:
    t = services.i18n.t
    return InlineKeyboardMarkup([[button(t(yes_key, lang), yes), button(t(no_key, lang), no)]])


def retry_keyboard(services: Services, pg: int) -> InlineKeyboardMarkup:
    t = services.i18n.t
    return InlineKeyboardMarkup([[button(t("posts.btn_retry", services.config.language), buttons.Retry(pg))]])


# --------------------------------------------------------------------------- alerts and lists


def failed_text(services: Services, group: PostGroup, accounts: AccountNames) -> str:
    lang = services.config.language
    t = services.i18n.t
    failed_accounts = []
    for post in group.posts:
        if (post.status or "").lower() in ("failed", "error", "fail") and post.account_id is not None:
            name, network = (accounts.get(post.account_id) or (f"#{post.account_id}", ""))[:2]
            failed_accounts.append(
                t("posts.account_item", lang, name=html.escape(str(name)), network=html.escape(str(network or "?")))
            )
    errors = [html.escape(e) for e in group.errors] or [html.escape(str(group.raw.get("log") or "—"))]
    lines = [t("posts.failed_title", lang, id=str(group.id))]
    if group.caption:
        lines.append(t("posts.failed_caption", lang, caption=html.escape(excerpt(group.caption, 200))))
    if failed_accounts:
        lines.append(t("posts.failed_accounts", lang, accounts=", ".join(failed_accounts)))
    lines.append(t("posts.failed_log", lang, log="\n".join(errors)[:1500]))
    return "\n".join(lines)


def relogin_text(services: Services, account: Account) -> str:
    lang = services.config.language
    return services.i18n.t(
        "posts.relogin_alert",
        lang,
        name=html.escape(account.name or f"#{account.id}"),
        network=html.escape(account.type or "?"),
        reason=html.escape(account.relogin_reason or services.i18n.t("posts.relogin_no_reason", lang)),
    )


def pending_line(services: Services, doc: ApprovalDoc, lang: str) -> str:
    view = PostView.from_doc(doc["view"])
    required = int(doc.get("required") or services.config.approvals_required)
    link = card_link(doc.get("chat_id"), doc.get("message_id"))
    label = f'<a href="{link}">#{view.id}</a>' if link else f"#{view.id}"
    return services.i18n.t(
        "posts.pending_line",
        lang,
        id=label,
        when=html.escape(when_text(services, view.schedule_ts, lang)),
        caption=html.escape(excerpt(view.caption)) or "—",
        count=len(doc.get("approvals") or []),
        required=required,
    )


def scheduled_line(services: Services, group: PostGroup, accounts: AccountNames, lang: str) -> str:
    names = ", ".join(html.escape(str((accounts.get(aid) or (f"#{aid}",))[0])) for aid in group.account_ids) or "—"
    ts = group.schedule_date.timestamp() if group.schedule_date else None
    return services.i18n.t(
        "posts.scheduled_line",
        lang,
        id=str(group.id),
        when=html.escape(when_text(services, ts, lang)),
        accounts=names,
        caption=html.escape(excerpt(group.caption or "")) or "—",
    )


def card_link(chat_id: int | None, message_id: int | None) -> str | None:
    """A t.me link to a message in a supergroup (``-100…`` chat ids), else None."""
    text = str(chat_id or "")
    if not text.startswith("-100") or not message_id or len(text) <= 4:
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


def size_text(size: int | float) -> str:
    """Bytes as a short figure: 25.3 MB, 700 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{int(size)} B"

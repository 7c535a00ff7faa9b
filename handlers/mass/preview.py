"""The preview card of a draft, drawn from its :class:`~handlers.mass.check.PreviewCheck`. Pure
(no Telegram or MioGram calls), like the inbox and posts card renderers: texts are HTML and
every value from a user or MioGram is escaped here."""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.massjobs.docs import JobDoc
from bot.runtime.tg.buttons import button
from handlers.mass import buttons as kinds
from handlers.mass.check import Issue, PreviewCheck
from handlers.mass.common import Speech, fmt_num, fmt_size, rows

#: the invalid inputs a card lists by name
INVALID_SHOWN = 5


def _audience(job: JobDoc, say: Speech) -> list[str]:
    t, invalid = say.t, job["invalid"]
    lines = [
        t("mass.preview_title", job=job["id"]),
        t("mass.preview_audience", label=html.escape(job["audience"])),
        t(
            "mass.preview_counts",
            valid=len(job["numbers"]),
            invalid=len(invalid),
            duplicates=job["duplicates"],
            opted_out=len(job["opted_out"]),
        ),
    ]
    for raw, reason in invalid[:INVALID_SHOWN]:
        lines.append(t("mass.preview_invalid_line", raw=html.escape(raw[:40]), reason=html.escape(say.reason(reason))))
    if len(invalid) > INVALID_SHOWN:
        lines.append(t("mass.preview_invalid_more", count=len(invalid) - INVALID_SHOWN))
    return lines


def _content(check: PreviewCheck, say: Speech) -> list[str]:
    t, lang, lines = say.t, say.lang, []
    media, text = check.media, check.text
    if media is not None:
        kind = t(f"mass.kind_{media.kind.value}")
        lines.append(t("mass.preview_media", kind=kind, ext=html.escape(media.ext), size=fmt_size(media.size, lang)))
        if media.limit is not None and media.size <= media.limit:
            lines.append(t("mass.preview_within", limit=fmt_size(media.limit, lang)))
    if text is not None:
        key = "mass.preview_caption" if text.caption else "mass.preview_text"
        limit = fmt_num(text.limit, lang) if text.limit is not None else "?"
        lines.append(t(key, bytes=fmt_num(text.used, lang), limit=limit))
        if text.footer:
            lines.append(t("mass.preview_footer", footer=fmt_num(text.footer, lang)))
    return lines


def _sending(job: JobDoc, check: PreviewCheck, say: Speech) -> list[str]:
    t = say.t
    whatsapp = job["channel"] == "whatsapp"
    lines = [t("mass.preview_channel_whatsapp" if whatsapp else "mass.preview_channel_messenger")]
    for credit in check.credits:
        key = "mass.preview_credit_ok" if credit.left >= credit.needed else "mass.preview_credit_short"
        lines.append(t(key, needed=credit.needed, left=max(credit.left, 0), kind=t(f"mass.credit_{credit.kind}")))
    lines.append(
        t(
            "mass.preview_batches",
            batches=check.batches,
            size=job["batch_size"],
            requests=check.requests,
            minutes=check.minutes,
        )
    )
    if check.quiet is not None:
        lines.append(t("mass.preview_quiet", window=check.quiet.window, when=say.when(check.quiet.finish_at)))
    return lines


def issue_text(issue: Issue, say: Speech) -> str:
    """One blocking issue as a line of the card (sizes and counts formatted, errors escaped)."""
    t, lang, v = say.t, say.lang, issue.values
    values: dict[str, Any] = {}
    if issue.key == "mass.preview_media_over":
        values = {
            "size": fmt_num(v["size"], lang),
            "limit": fmt_num(v["limit"], lang),
            "kind": t(f"mass.kind_{v['kind'].limit_kind}"),
            "human": fmt_size(v["size"], lang),
            "human_limit": fmt_size(v["limit"], lang),
        }
    elif issue.key == "mass.preview_text_over":
        values = {name: fmt_num(v[name], lang) for name in ("bytes", "limit", "over")}
    elif "error" in v:
        values = {"error": html.escape(str(v["error"]))}
    return t(issue.key, **values)


def _buttons(job: JobDoc, check: PreviewCheck, say: Speech) -> list[InlineKeyboardButton]:
    t, job_id = say.t, job["id"]
    buttons: list[InlineKeyboardButton] = []
    if not check.blocked:
        buttons += [
            button(t("mass.btn_send"), kinds.Go(job_id)),
            button(t("mass.btn_schedule"), kinds.Schedule(job_id)),
        ]
        if check.quiet is not None and check.quiet.delays:
            buttons.append(button(t("mass.btn_send_anyway"), kinds.GoAnyway(job_id)))
    elif check.recheck:
        buttons.append(button(t("mass.btn_recheck"), kinds.Recheck(job_id)))
    if job["invalid"]:
        buttons.append(button(t("mass.btn_invalid"), kinds.InvalidList(job_id)))
    buttons.append(button(t("mass.btn_cancel"), kinds.Drop(job_id)))
    return buttons


def render_preview(job: JobDoc, check: PreviewCheck, say: Speech) -> tuple[str, InlineKeyboardMarkup]:
    """The preview card: counts, content against the limits, credit, batches, and what blocks
    the send (then only Recheck, the invalid list and Cancel are offered)."""
    lines = _audience(job, say) + _content(check, say) + _sending(job, check, say)
    lines += [issue_text(issue, say) for issue in check.issues]
    if check.blocked:
        lines.append(say.t("mass.preview_refused"))
    return "\n".join(lines), InlineKeyboardMarkup(rows(_buttons(job, check, say)))

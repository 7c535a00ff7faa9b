"""The preview check and card of a draft, pure: facts in, verdict and card out (no Telegram,
no MioGram)."""

from __future__ import annotations

from typing import Any

from bot.clients.miogram.media import MediaKind
from bot.clients.miogram.models import Credits, Limits
from bot.massjobs import docs as md
from bot.massjobs.docs import JobDoc
from handlers.mass.check import PreviewFacts, check_preview
from handlers.mass.common import Speech
from handlers.mass.preview import render_preview

MIB = 1_048_576
LIMITS = Limits(
    message_bytes=100, photo_bytes=MIB, video_bytes=10 * MIB, file_bytes=2 * MIB, can_get=True, is_super=True
)
CREDITS = Credits(message=250, photo=10, video=10, file=10, other=10)


def draft(
    numbers: int = 250, *, text: str | None = "Hello", media: dict[str, Any] | None = None, channel: str = "messenger"
) -> JobDoc:
    return {
        "id": "j1",
        "status": md.DRAFT,
        "content": {"text": text, "media": media},  # type: ignore[typeddict-item]
        "channel": channel,
        "batch_size": 100,
        "numbers": [f"+98912{1_000_000 + i}" for i in range(numbers)],
        "opted_out": [],
        "invalid": [["12", "too short"]],
        "duplicates": 1,
        "audience": "test <list>",
        "created_by": 1,
        "created_at": 0.0,
        "chat_id": -1,
        "thread_id": None,
    }


def say() -> Speech:
    """Catalogue keys with their values, so the card's lines can be read back."""

    def t(key: str, **values: Any) -> str:
        return key + "".join(f" {k}={v}" for k, v in sorted(values.items()))

    return Speech(t=t, lang="en", reason=lambda reason: reason)


def keys(check: Any) -> list[str]:
    return [issue.key for issue in check.issues]


def test_a_draft_within_every_limit_can_be_sent():
    check = check_preview(draft(), PreviewFacts(True, LIMITS, CREDITS, None, (60, 10)))
    assert not check.blocked and (check.batches, check.requests) == (3, 3)
    assert [(c.kind, c.needed, c.left) for c in check.credits] == [("message", 250, 250)]
    text, markup = render_preview(draft(), check, say())
    assert "mass.preview_text bytes=60 limit=100" in text and "mass.preview_footer footer=10" in text
    assert "test &lt;list&gt;" in text  # the audience's label is escaped
    datas = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert datas == ["mass:go:j1", "mass:sched:j1", "mass:inv:j1", "mass:drop:j1"]


def test_a_text_over_the_limit_blocks_with_the_figures():
    check = check_preview(draft(), PreviewFacts(True, LIMITS, CREDITS, None, (130, 10)))
    assert keys(check) == ["mass.preview_text_over"] and check.issues[0].values["over"] == 30
    text, markup = render_preview(draft(), check, say())
    assert text.endswith("mass.preview_refused")
    assert [b.callback_data for row in markup.inline_keyboard for b in row] == ["mass:inv:j1", "mass:drop:j1"]


def test_a_file_over_its_kind_limit_and_on_whatsapp_is_refused():
    media = {"ext": "jpg", "size": 2 * MIB, "kind": MediaKind.PHOTO.value}
    check = check_preview(draft(media=media, channel="whatsapp"), PreviewFacts(True, LIMITS, CREDITS, None, (5, 0)))
    assert keys(check) == ["mass.preview_media_over", "mass.preview_whatsapp_media"]
    assert check.text is not None and check.text.caption and check.requests == 6


def test_without_miogram_or_numbers_nothing_can_be_sent():
    check = check_preview(draft(0), PreviewFacts(False))
    assert keys(check) == ["mass.preview_no_numbers", "mass.not_configured"] and not check.recheck
    assert check.credits == [] and check.batches == 0


def test_an_unreachable_miogram_offers_a_recheck_and_shows_the_unknown_limit():
    check = check_preview(draft(), PreviewFacts(True, None, None, "timed out <999>", (60, 0)))
    assert keys(check) == ["mass.preview_unchecked"] and check.recheck
    text, markup = render_preview(draft(), check, say())
    assert "limit=?" in text and "timed out &lt;999&gt;" in text
    assert [b.callback_data for row in markup.inline_keyboard for b in row][0] == "mass:prev:j1"


def test_short_credit_is_shown_not_blocking():
    short = Credits(message=100, photo=0, video=0, file=0, other=0)
    check = check_preview(draft(), PreviewFacts(True, LIMITS, short, None, (60, 0)))
    assert not check.blocked
    assert "mass.preview_credit_short" in render_preview(draft(), check, say())[0]

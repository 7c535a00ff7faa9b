"""Rendering of approval cards (handlers.posts.cards): escaping, limits, languages, fingerprints."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.clients.resont.dates import DateParser
from bot.clients.resont.post_models import PostGroup
from bot.runtime.i18n import Catalogue
from handlers.posts.cards import card_keyboard, card_link, card_text, size_text
from handlers.posts.docs import APPROVED, PENDING
from handlers.posts.postview import PostView, fingerprint_of, view_of
from tests.botapi.formatting import parse
from tests.harness import test_config

CATALOGUE = Catalogue.load()
ACCOUNTS = {1: ["Brand <IG>", "instagram"], 2: ["Brand TG", "telegram"]}


def services(language: str = "en", approvals_required: int = 1, miogram: object | None = None) -> SimpleNamespace:
    config = test_config("http://telegram.test", language=language, approvals_required=approvals_required)
    return SimpleNamespace(config=config, i18n=CATALOGUE, tz=ZoneInfo(config.timezone), miogram=miogram)


def group(media_ids: list[int] | None = None, **raw) -> PostGroup:
    """A post group as Resont answers it: media live on each post, not on the group."""
    media = list(media_ids or [])
    base = {
        "id": 5001,
        "type": "text",
        "caption": "Hello & <welcome>",
        "is_draft": 1,
        "status": "draft",
        "schedule_date": "2026-12-01 18:30",
        "from_user": "Sara <S>",
        "custom_captions": {},
        "posts": [
            {"id": 1, "account_id": 1, "caption": "Hello & <welcome>", "media_ids": media},
            {"id": 2, "account_id": 2, "caption": "Hello & <welcome>", "media_ids": media},
        ],
    }
    base.update(raw)
    return PostGroup.from_raw(base, DateParser(tz=ZoneInfo("Asia/Tehran"), dateformat="Y-m-d", timeformat="H:i"))


def doc_of(view: PostView, **extra) -> dict:
    return {"pg": view.id, "state": PENDING, "view": view.to_doc(), "approvals": [], **extra}


def test_card_escapes_everything_from_resont_and_shows_the_time_in_the_zone():
    svc = services()
    text = card_text(svc, doc_of(view_of(group(), ACCOUNTS)))
    plain, _ = parse(text, "HTML")  # valid Telegram HTML
    assert "Hello & <welcome>" in plain
    assert "Brand <IG> (instagram), Brand TG (telegram)" in plain
    assert "Author: Sara <S>" in plain
    # Resont answers in the user's zone (Tehran by default): 18:30 there
    assert "2026-12-01 18:30 (Tue) (Asia/Tehran)" in plain
    assert plain.startswith("📝 Draft #5001\n⏳ Waiting for approval")


def test_custom_captions_per_network_are_shown():
    g = group(
        custom_captions={"telegram": "Only on Telegram"},
        posts=[
            {"id": 1, "account_id": 1, "caption": "Insta version"},
            {"id": 2, "account_id": 2, "caption": "Hello & <welcome>"},
        ],
    )
    plain, _ = parse(card_text(services(), doc_of(view_of(g, ACCOUNTS))), "HTML")
    assert "Caption for telegram:\nOnly on Telegram" in plain
    assert "Caption for instagram:\nInsta version" in plain


@pytest.mark.parametrize("card, limit", [("photo", 1024), ("text", 4096)])
def test_long_captions_are_cut_to_telegram_limits(card, limit):
    g = group(caption="<&>" * 3000, custom_captions={"telegram": "x" * 3000})
    text = card_text(services(), doc_of(view_of(g, ACCOUNTS), card=card))
    plain, _ = parse(text, "HTML")
    assert len(plain) <= limit and plain.count("…") == 2
    assert "Accounts:" in plain and "Time:" in plain  # the facts always fit


def test_media_markers():
    svc = services()
    album = view_of(
        group(type="album", media_ids=[1, 2, 3]), ACCOUNTS, photo_url="https://x/1.jpg", first_media="image"
    )
    assert "🖼 Album: 3 files" in card_text(svc, doc_of(album, card="photo"))
    video = view_of(group(type="video", media_ids=[7]), ACCOUNTS, first_media="video")
    assert "🎬 Video" in card_text(svc, doc_of(video))
    document = view_of(group(type="document", media_ids=[8]), ACCOUNTS, first_media="document")
    assert "📄 Document" in card_text(svc, doc_of(document))
    image = view_of(group(type="image", media_ids=[9]), ACCOUNTS, photo_url="https://x/9.jpg", first_media="image")
    assert "🖼" not in card_text(svc, doc_of(image, card="photo"))  # the photo itself is the preview


def test_n_of_m_card_shows_who_approved_and_the_count_on_the_button():
    svc = services(approvals_required=2)
    doc = doc_of(view_of(group(), ACCOUNTS), approvals=[{"id": 1, "name": "Ali <A>"}])
    plain, _ = parse(card_text(svc, doc), "HTML")
    assert "Approvals: 1 of 2 — Ali <A>" in plain
    buttons = card_keyboard(svc, doc).inline_keyboard
    assert buttons[0][0].text == "✅ Approve (1/2)" and buttons[0][0].callback_data == "post:ok:5001"
    assert all(len(b.callback_data.encode()) <= 64 for row in buttons for b in row)


def test_decided_card_has_outcome_and_no_buttons():
    svc = services()
    decided_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
    doc = doc_of(
        view_of(group(), ACCOUNTS),
        state=APPROVED,
        decision={
            "names": "Ali",
            "at": decided_at,
            "outcome": "scheduled",
            "schedule_ts": datetime(2026, 12, 1, 15, 0, tzinfo=UTC).timestamp(),
        },
    )
    plain, _ = parse(card_text(svc, doc), "HTML")
    assert "✅ Approved by Ali (2026-11-30 15:30 (Mon)): scheduled for 2026-12-01 18:30 (Tue) (Asia/Tehran)." in plain
    assert "Waiting for approval" not in plain
    assert card_keyboard(svc, doc) is None  # no MioGram: nothing to offer
    bridged = card_keyboard(services(miogram=object()), doc)
    assert [b.callback_data for row in bridged.inline_keyboard for b in row] == ["post:mass:5001"]


def test_persian_card_uses_jalali_dates_and_persian_labels():
    plain, _ = parse(card_text(services("fa"), doc_of(view_of(group(), ACCOUNTS))), "HTML")
    assert "پیش‌نویس" in plain and "آذر" in plain and "۱۴۰۵" in plain
    assert "Hello & <welcome>" in plain


def test_error_line_keeps_the_trace_id():
    doc = doc_of(view_of(group(), ACCOUNTS), error={"message": "Busy <now>", "trace_id": "abc-1"})
    plain, _ = parse(card_text(services(), doc), "HTML")
    assert "Resont refused: Busy <now> (trace id abc-1)" in plain


def test_fingerprint_follows_content_not_status():
    base = fingerprint_of(group())
    assert fingerprint_of(group(status="scheduled", is_draft=0)) == base
    assert fingerprint_of(group(schedule_date="2026-12-01 18:30")) == base
    assert fingerprint_of(group(caption="Other")) != base
    assert fingerprint_of(group(posts=[{"id": 1, "account_id": 1, "caption": "Hello & <welcome>"}])) != base
    assert fingerprint_of(group(media_ids=[4])) != base
    assert fingerprint_of(group(schedule_date="2026-12-01 19:30")) != base
    assert fingerprint_of(group(custom_captions={"telegram": "x"})) != base


def test_view_round_trips_through_the_store_document():
    view = view_of(group(), ACCOUNTS, author="Me")
    assert PostView.from_doc(view.to_doc()) == view
    assert view.account_ids == [1, 2] and view.schedule == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_small_helpers():
    assert size_text(21 * 1024 * 1024) == "21.0 MB" and size_text(2048) == "2 KB" and size_text(5) == "5 B"
    assert card_link(-1001234, 7) == "https://t.me/c/1234/7"
    assert card_link(-42, 7) is None
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint_of(group()))

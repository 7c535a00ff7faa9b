"""/insights: charts from the Resont fake through the Bot API emulator, captions in both languages,
the plain answers (no data, Resont errors), custom ranges typed in Jalali, and the weekly digest.

(The done-when "a Jalali date typed in Persian digits schedules the right UTC moment" is
tests/text/test_timeparse.py::test_jalali_date_in_persian_digits_schedules_the_right_utc_moment.)
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.clients.resont.dates import DateParser
from bot.runtime.i18n import Catalogue
from bot.text.digits import FSI, PDI
from handlers.insights import wiring as insights
from handlers.insights.wiring import (
    PickAccount,
    PickPeriod,
    Report,
    caption_of,
    digest_schedule,
    points_of,
    read_insights,
)
from tests.fakes.resont import FakeResont
from tests.harness import ADMIN, ADMIN_CHAT, AGENT, AUTHOR, RESONT_TOKEN, bot_running

TEHRAN = ZoneInfo("Asia/Tehran")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # Tuesday; 10 Azar 1405 in Tehran
DATES = DateParser(tz=TEHRAN)
CATALOGUE = Catalogue.load()


def clock() -> datetime:
    return NOW


def running(botapi, fake: FakeResont, **overrides):
    """The bot against the emulator (its token) and the fake, at the fixed ``NOW``."""
    return bot_running(botapi.base_url, resont=fake, clock=clock, telegram_token=botapi.token, **overrides)


def week_of(values: list[int]) -> list[dict[str, object]]:
    first = date(2026, 11, 25)
    return [{"date": (first + timedelta(days=i)).isoformat(), "value": v} for i, v in enumerate(values)]


FOLLOWERS = [1200, 1210, 1215, 1230, 1240, 1245, 1250]
IMPRESSIONS = [400, 500, 450, 600, 550, 500, 600]  # sum 3,600


def seeded_fake() -> tuple[FakeResont, dict]:
    fake = FakeResont(token=RESONT_TOKEN)
    account = fake.add_account("Brand Shop", "instagram")
    fake.add_account("Quiet Page", "telegram")
    fake.set_insights(
        "account",
        account["id"],
        {"followers": week_of(FOLLOWERS), "impressions": week_of(IMPRESSIONS), "reach": None},
    )
    return fake, account


class FakeServices:
    """Just what the caption needs: the catalogue."""

    i18n = CATALOGUE


# --- reading Resont's data -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (None, None),
        (42, [(date(2026, 12, 1), 42)]),
        ("۱٬۲۳۴", [(date(2026, 12, 1), 1234)]),
        ("n/a", None),
        ([{"date": "2026-11-30", "value": 5}, {"end_time": "2026-12-01", "count": "6"}],
         [(date(2026, 11, 30), 5), (date(2026, 12, 1), 6)]),
        ([["2026-11-30", 1], ["2026-12-01", None]], [(date(2026, 11, 30), 1), (date(2026, 12, 1), None)]),
        ({"2026-11-30": 3, "2026-12-01": 4}, [(date(2026, 11, 30), 3), (date(2026, 12, 1), 4)]),
        ({"values": [{"date": "2026-12-01", "value": 9}]}, [(date(2026, 12, 1), 9)]),
        ({"total": 77}, [(date(2026, 12, 1), 77)]),
        ([1, 2, 3], [(date(2026, 11, 29), 1), (date(2026, 11, 30), 2), (date(2026, 12, 1), 3)]),
        ([], None),
        ({"something": "else"}, None),
    ],
)  # fmt: skip
def test_points_of_reads_the_shapes_resont_may_send(data, expected):
    assert points_of(data, dates=DATES, tz=TEHRAN, end=date(2026, 12, 1)) == expected


def test_metrics_without_values_are_missing_not_zero():
    series, missing = read_insights(
        {"followers": [1, 2], "reach": None, "likes": [None, None], "extra": 5},
        ("followers", "reach", "impressions"),
        dates=DATES,
        tz=TEHRAN,
        end=date(2026, 12, 1),
    )
    assert list(series) == ["followers", "extra"]
    assert missing == ["reach", "impressions", "likes"]


def test_digest_schedule_uses_ptb_day_numbers_and_the_zone():
    when, days = digest_schedule("mon 09:00", "Asia/Tehran")
    assert days == (1,)  # PTB: 0 = Sunday
    assert (when.hour, when.minute, when.tzinfo) == (9, 0, TEHRAN)
    assert digest_schedule("sun 23:30", "UTC")[1] == (0,)


# --- the same card in English and Persian --------------------------------------------------


def sample_report(lang: str) -> Report:
    from bot.text.charts import headline_figures

    series, missing = read_insights(
        {"followers": week_of(FOLLOWERS), "impressions": week_of(IMPRESSIONS), "reach": None},
        insights.ACCOUNT_METRICS,
        dates=DATES,
        tz=TEHRAN,
        end=date(2026, 12, 1),
    )
    label = CATALOGUE.t("insights.period.week", lang)
    report = Report(name="Brand Shop (instagram)", period_label=label, series=series, missing=missing)
    report.figures = headline_figures(series, cumulative=insights.CUMULATIVE)
    return report


def test_caption_in_english_has_the_figures():
    text = caption_of(FakeServices(), sample_report("en"), "en")
    assert "<b>Brand Shop (instagram)</b> — last week" in text
    assert "• Followers: 1,250 now (+50, +4.2%)" in text
    assert "• Impressions: 3,600" in text
    assert "Not reported by Resont: Reach, Engagement, Profile views" in text
    assert "{" not in text and "}" not in text


def test_caption_in_persian_is_complete_and_rtl_safe():
    text = caption_of(FakeServices(), sample_report("fa"), "fa")
    assert "{" not in text and "}" not in text
    assert f"{FSI}Brand Shop (instagram){PDI}" in text  # a Latin name isolated in RTL text
    assert "دنبال‌کنندگان" in text and "نمایش‌ها" in text
    assert f"{FSI}۱,۲۵۰{PDI}" in text and f"{FSI}۳,۶۰۰{PDI}" in text  # Persian digits, isolated
    assert f"{FSI}+۵۰{PDI}" in text
    assert "گزارش‌نشده از سوی رزونت" in text and "دسترسی" in text
    outside = re.sub(f"{FSI}[^{PDI}]*{PDI}", "", text)
    assert not re.search(r"[0-9]", outside), "an ASCII digit outside an isolate"
    # the English and Persian cards carry the same figures
    english = caption_of(FakeServices(), sample_report("en"), "en")
    assert english.count("\n") == text.count("\n")


def test_every_insights_and_lang_key_exists_in_both_languages():
    for namespace in ("insights.", "lang."):
        en = {k for k in CATALOGUE.keys("en") if k.startswith(namespace)}
        fa = {k for k in CATALOGUE.keys("fa") if k.startswith(namespace)}
        assert en and en == fa
    for metric in (*insights.ACCOUNT_METRICS, *insights.POST_METRICS):
        assert CATALOGUE.has(f"insights.metric.{metric}", "fa")
    for period in insights.PERIODS:
        assert CATALOGUE.has(f"insights.period.{period}", "fa")
        assert CATALOGUE.has(f"insights.period_button.{period}", "fa")


# --- end to end through the Bot API emulator -----------------------------------------------


async def open_periods(botapi, user: int = ADMIN, account_id: int = 1) -> dict:
    botapi.user_sends(user, ADMIN_CHAT, "/insights")
    picker = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "reply_markup" in m)
    botapi.user_presses(user, ADMIN_CHAT, picker["message_id"], PickAccount(str(account_id)).encode())
    return await botapi.wait_for_bot_message(
        ADMIN_CHAT,
        lambda m: any(
            b.get("callback_data", "").startswith("ins:period:")
            for row in m.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ),
    )


def text_of(botapi, message_id: int) -> str:
    return (botapi.message(ADMIN_CHAT, message_id) or {}).get("text", "")


def photo_of(botapi, message: dict) -> Image.Image:
    data = botapi.file_bytes(message["photo"][-1]["file_id"])
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_insights_request_produces_a_chart_and_a_caption(botapi):
    fake, account = seeded_fake()
    async with running(botapi, fake):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/insights")
        picker = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "reply_markup" in m)
        labels = [b["text"] for row in botapi.buttons(ADMIN_CHAT, picker["message_id"]) for b in row]
        assert labels == ["Brand Shop (instagram)", "Quiet Page (telegram)"]
        botapi.user_presses(ADMIN, ADMIN_CHAT, picker["message_id"], PickAccount(str(account["id"])).encode())
        await botapi.wait_for(lambda: "pick a period" in text_of(botapi, picker["message_id"]))
        data = PickPeriod(str(account["id"]), "week").encode()
        callback = botapi.user_presses(ADMIN, ADMIN_CHAT, picker["message_id"], data)
        photo = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "photo" in m)
        assert botapi.callback_answer(callback) is not None

    image = photo_of(botapi, photo)
    assert image.format == "PNG" and image.size == (1280, 720)
    caption = photo["caption"]
    assert "Brand Shop (instagram) — last week" in caption
    assert "Followers: 1,250 now (+50, +4.2%)" in caption
    assert "Impressions: 3,600" in caption
    assert "Not reported by Resont: Reach, Engagement, Profile views" in caption
    # the progress message made way for the chart
    assert botapi.message(ADMIN_CHAT, picker["message_id"]) is None
    # what Resont was asked
    request = fake.requests_to(r"GET insights/account/")[-1]
    assert request.arg("period") == "week"
    assert request.args("metric") == list(insights.ACCOUNT_METRICS)
    sent = botapi.requests_of("sendPhoto")[-1]
    assert sent.files["photo"]["content_type"] in ("image/png", "application/octet-stream")


async def test_empty_insights_are_said_plainly(botapi):
    fake = FakeResont(token=RESONT_TOKEN)
    fake.add_account("Silent", "linkedin")
    async with running(botapi, fake):
        periods = await open_periods(botapi)
        botapi.user_presses(ADMIN, ADMIN_CHAT, periods["message_id"], PickPeriod("1", "month").encode())
        answer = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "no insights" in m.get("text", ""))
    assert answer["text"] == "Resont has no insights for Silent (linkedin) over last month: nothing to chart."
    assert not botapi.requests_of("sendPhoto")


async def test_a_resont_error_is_said_with_its_trace_id(botapi):
    fake, account = seeded_fake()
    body = {"error": {"message": "Insights are not available on your plan.", "type": "Forbidden", "trace_id": "tr-77"}}
    fake.faults.add("status", status=403, body=body, match=r"insights/account")
    async with running(botapi, fake):
        periods = await open_periods(botapi, account_id=account["id"])
        botapi.user_presses(
            ADMIN, ADMIN_CHAT, periods["message_id"], PickPeriod(str(account["id"]), "lifetime").encode()
        )
        await botapi.wait_for(lambda: "tr-77" in text_of(botapi, periods["message_id"]))
    text = botapi.message(ADMIN_CHAT, periods["message_id"])["text"]
    assert text == "❌ Resont could not give the insights: Insights are not available on your plan. (trace id tr-77)"
    assert fake.requests_to(r"insights/account")[-1].arg("period") == "lifetime"


async def test_custom_range_typed_in_jalali_with_persian_digits(botapi):
    fake, account = seeded_fake()
    async with running(botapi, fake):
        periods = await open_periods(botapi, account_id=account["id"])
        botapi.user_presses(ADMIN, ADMIN_CHAT, periods["message_id"], PickPeriod(str(account["id"]), "custom").encode())
        prompt = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "Which dates?" in m.get("text", ""))
        asked = [r for r in botapi.requests_of("sendMessage") if "Which dates?" in str(r.params.get("text"))]
        assert "force_reply" in str(asked[-1].params.get("reply_markup"))
        # selective force-reply: the prompt replies to the asker's /insights command
        assert prompt["reply_to_message"]["text"] == "/insights"

        # a bad answer is explained and the question asked again
        botapi.user_sends(ADMIN, ADMIN_CHAT, "soon-ish", reply_to=prompt["message_id"])
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "as a date range" in m.get("text", ""))
        again = await botapi.wait_for_bot_message(
            ADMIN_CHAT, lambda m: "Which dates?" in m.get("text", ""), after=prompt["message_id"]
        )

        botapi.user_sends(ADMIN, ADMIN_CHAT, "۱۴۰۵/۰۸/۱۰ تا ۱۴۰۵/۰۸/۳۰", reply_to=again["message_id"])
        photo = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "photo" in m)
    request = fake.requests_to(r"GET insights/account/")[-1]
    assert (request.arg("period"), request.arg("date_from"), request.arg("date_to")) == (
        "custom", "2026-11-01", "2026-11-21",
    )  # fmt: skip
    assert "2026-11-01 to 2026-11-21" in photo["caption"]
    assert photo_of(botapi, photo).size == (1280, 720)


async def test_post_group_insights_and_roles(botapi):
    fake, account = seeded_fake()
    group = fake.add_post_group("Launch", [account["id"]], status="published")
    fake.set_insights("post", group["id"], {"likes": 40, "comments": "7", "impressions": [100, 250]})
    async with running(botapi, fake):
        botapi.user_sends(AGENT, ADMIN_CHAT, f"/insights {group['id']}")
        periods = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "reply_markup" in m)
        assert f"Post group {group['id']}" in periods["text"]
        botapi.user_presses(
            AGENT, ADMIN_CHAT, periods["message_id"], PickPeriod(f"p{group['id']}", "lifetime").encode()
        )
        photo = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "photo" in m)

        # an author may neither ask nor press
        botapi.user_sends(AUTHOR, ADMIN_CHAT, "/insights")
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "You may not use /insights" in m.get("text", ""))
        refused = botapi.user_presses(AUTHOR, ADMIN_CHAT, photo["message_id"], "ins:acct:1", force=True)
        await botapi.wait_for(lambda: botapi.callback_answer(refused))
    caption = photo["caption"]
    assert "Likes: 40" in caption and "Comments: 7" in caption and "Impressions: 350" in caption
    assert "Not reported by Resont: Reach, Shares, Saves" in caption
    assert fake.requests_to(r"GET insights/post/")[-1].arg("period") == "lifetime"
    assert botapi.callback_answer(refused)["show_alert"] is True


async def test_persian_user_gets_a_persian_card(botapi):
    fake, account = seeded_fake()
    async with running(botapi, fake) as app:
        app.bot_data.services.store.table("users").put(str(ADMIN), {"lang": "fa"})
        periods = await open_periods(botapi, account_id=account["id"])
        labels = [b["text"] for row in botapi.buttons(ADMIN_CHAT, periods["message_id"]) for b in row]
        assert labels[0] == "هفته"
        botapi.user_presses(ADMIN, ADMIN_CHAT, periods["message_id"], PickPeriod(str(account["id"]), "week").encode())
        photo = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "photo" in m)
    caption = photo["caption"]
    assert "هفتهٔ گذشته" in caption and "۱,۲۵۰" in caption and "دنبال‌کنندگان" in caption
    assert photo_of(botapi, photo).size == (1280, 720)


async def test_forged_insights_button_is_refused(botapi):
    fake, _ = seeded_fake()
    async with running(botapi, fake):
        botapi.user_sends(ADMIN, ADMIN_CHAT, "/insights")
        picker = await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "reply_markup" in m)
        forged = botapi.user_presses(ADMIN, ADMIN_CHAT, picker["message_id"], "ins:period:1:forever", force=True)
        await botapi.wait_for(lambda: botapi.callback_answer(forged))
    assert botapi.callback_answer(forged)["show_alert"] is True
    assert not fake.requests_to(r"insights/")


async def test_a_double_press_draws_one_chart(botapi):
    fake, account = seeded_fake()
    async with running(botapi, fake):
        periods = await open_periods(botapi, account_id=account["id"])
        fake.latency = 0.3  # the first press is still fetching when the second arrives
        data = PickPeriod(str(account["id"]), "week").encode()
        first = botapi.user_presses(ADMIN, ADMIN_CHAT, periods["message_id"], data)
        await botapi.wait_for(lambda: botapi.callback_answer(first))
        second = botapi.user_presses(ADMIN, ADMIN_CHAT, periods["message_id"], data, force=True)
        await botapi.wait_for(lambda: botapi.callback_answer(second))
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "photo" in m)
    assert botapi.callback_answer(second)["text"] == "Already on it: the chart is being drawn."
    assert len(botapi.requests_of("sendPhoto")) == 1


# --- the weekly digest ---------------------------------------------------------------------


async def test_digest_is_off_by_default(botapi):
    fake, _ = seeded_fake()
    async with running(botapi, fake) as app:
        assert not app.job_queue.get_jobs_by_name(insights.DIGEST_JOB)


async def test_weekly_digest_sends_one_chart_per_account(botapi):
    fake, account = seeded_fake()
    async with running(botapi, fake, insights_digest="mon 09:00") as app:
        (job,) = app.job_queue.get_jobs_by_name(insights.DIGEST_JOB)
        next_run = job.next_t.astimezone(TEHRAN)
        assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 9, 0)  # Monday 09:00 Tehran
        await job.run(app)
        await botapi.wait_for_bot_message(ADMIN_CHAT, lambda m: "no data this week" in m.get("text", ""))
    photos = [m for m in botapi.bot_messages(ADMIN_CHAT) if "photo" in m]
    assert len(photos) == 1  # Brand Shop has data; Quiet Page is named in the note
    assert "Brand Shop (instagram) — last week" in photos[0]["caption"]
    note = [m for m in botapi.bot_messages(ADMIN_CHAT) if "no data this week" in m.get("text", "")][0]
    assert "Quiet Page (telegram)" in note["text"]
    assert app.bot_data.services.health.jobs[insights.DIGEST_JOB].ok

"""Typed times in English/Persian, Jalali dates, zones, and formatting back (bot.text.timeparse,
timeparts, timewords) and typed date ranges (bot.text.dateranges)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime.i18n import Catalogue
from bot.text.dateranges import parse_date_range
from bot.text.timeparse import DEFAULT_TIME, format_date, format_when, parse_when
from bot.text.timewords import TimeParseError

TEHRAN = ZoneInfo("Asia/Tehran")  # UTC+03:30 all year since 2022
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 2026-11-30 12:00 UTC = 15:30 in Tehran (= Jalali Monday 9 Azar 1405)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def parse(text: str, **kwargs) -> datetime:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("tz", TEHRAN)
    return parse_when(text, **kwargs)


# --- the done-when ----------------------------------------------------------------------------


def test_jalali_date_in_persian_digits_schedules_the_right_utc_moment():
    # Hand-checked: 1 Farvardin 1405 = 21 March 2026 (the equinox fell on 20 March at 18:16
    # Tehran time, after noon, so Nowruz is the 21st). Months 1–6 have 31 days and 7–8 have 30,
    # so 10 Azar is 6*31 + 2*30 + 9 = 255 days later: 21 March + 255 days = 1 December 2026.
    # Tehran has been UTC+03:30 all year since 2022, so 18:30 there is 15:00 UTC.
    assert parse("۱۴۰۵/۰۹/۱۰ ۱۸:۳۰") == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_jalali_new_year_constant():
    assert parse("۱۴۰۵/۰۱/۰۱ ۰۰:۰۰", now=utc(2026, 1, 1)) == datetime(2026, 3, 20, 20, 30, tzinfo=UTC)


# --- accepted forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # absolute Gregorian
        ("2026-12-01 18:30", utc(2026, 12, 1, 15, 0)),
        ("2026/12/01 18:30", utc(2026, 12, 1, 15, 0)),
        ("2026.12.01 6:30pm", utc(2026, 12, 1, 15, 0)),
        ("2026-12-01T18:30", utc(2026, 12, 1, 15, 0)),
        ("2026-12-01 18:30:15", utc(2026, 12, 1, 15, 0, 15)),
        ("2026-12-01 18:30 (Tue)", utc(2026, 12, 1, 15, 0)),
        ("1 dec 2026 18:30", utc(2026, 12, 1, 15, 0)),
        ("Dec 1, 2026 9am", utc(2026, 12, 1, 5, 30)),
        ("2026-12-01", utc(2026, 12, 1, 5, 30)),  # date alone → 09:00 local
        ("2026-12-01 18:30 UTC", utc(2026, 12, 1, 18, 30)),
        ("2026-12-01T15:00:00+00:00", utc(2026, 12, 1, 15, 0)),
        ("2026-12-01T18:30:00+03:30", utc(2026, 12, 1, 15, 0)),
        # absolute Jalali
        ("1405-09-10 18:30", utc(2026, 12, 1, 15, 0)),
        ("۱۴۰۵/۰۹/۱۰ ۱۸:۳۰", utc(2026, 12, 1, 15, 0)),
        ("١٤٠٥/٠٩/١٠ ١٨:٣٠", utc(2026, 12, 1, 15, 0)),  # Arabic-Indic digits
        ("۱۰ آذر ۱۴۰۵، ۱۸:۳۰", utc(2026, 12, 1, 15, 0)),
        ("سه‌شنبه ۱۰ آذر ۱۴۰۵، ۱۸:۳۰", utc(2026, 12, 1, 15, 0)),
        ("۱۰ آذر ساعت ۱۸:۳۰", utc(2026, 12, 1, 15, 0)),  # no year: the next 10 Azar
        ("10 آذر", utc(2026, 12, 1, 5, 30)),
        ("۵ مرداد", utc(2027, 7, 27, 5, 30)),  # Mordad 1405 has passed → 1406
        # time only: today if ahead, else tomorrow
        ("18:30", utc(2026, 11, 30, 15, 0)),
        ("10:00", utc(2026, 12, 1, 6, 30)),
        ("9pm", utc(2026, 11, 30, 17, 30)),
        ("۱۸:۳۰", utc(2026, 11, 30, 15, 0)),
        ("ساعت ۵ عصر", utc(2026, 11, 30, 13, 30)),
        ("۱۲ شب", utc(2026, 11, 30, 20, 30)),  # midnight
        ("at noon", utc(2026, 12, 1, 8, 30)),
        # day words
        ("today 18:00", utc(2026, 11, 30, 14, 30)),
        ("tomorrow 9:00", utc(2026, 12, 1, 5, 30)),
        ("tomorrow 9am", utc(2026, 12, 1, 5, 30)),
        ("Tomorrow at 9", utc(2026, 12, 1, 5, 30)),
        ("tomorrow", utc(2026, 12, 1, 5, 30)),
        ("day after tomorrow 10:00", utc(2026, 12, 2, 6, 30)),
        ("فردا ۹:۰۰", utc(2026, 12, 1, 5, 30)),
        ("امروز ۱۸:۳۰", utc(2026, 11, 30, 15, 0)),
        ("پس‌فردا ۱۰:۰۰", utc(2026, 12, 2, 6, 30)),
        ("پس فردا ساعت ۱۰", utc(2026, 12, 2, 6, 30)),
        ("فردا صبح ساعت ۸:۳۰", utc(2026, 12, 1, 5, 0)),
        ("فردا ساعت ۹ شب", utc(2026, 12, 1, 17, 30)),
        ("فردا ساعت ۲۱:۰۰ شب", utc(2026, 12, 1, 17, 30)),
        # weekdays (today is Monday 15:30)
        ("mon 10:00", utc(2026, 12, 7, 6, 30)),  # this Monday's 10:00 has passed
        ("monday 18:00", utc(2026, 11, 30, 14, 30)),  # still ahead today
        ("friday 9:00", utc(2026, 12, 4, 5, 30)),
        ("next friday", utc(2026, 12, 4, 5, 30)),
        ("Fri 9pm", utc(2026, 12, 4, 17, 30)),
        ("جمعه ۱۰:۰۰", utc(2026, 12, 4, 6, 30)),
        ("سه‌شنبه ساعت ۹ شب", utc(2026, 12, 1, 17, 30)),
        ("یکشنبه ۹ صبح", utc(2026, 12, 6, 5, 30)),
        ("یک شنبه", utc(2026, 12, 6, 5, 30)),
        ("شنبه ساعت ۱۰", utc(2026, 12, 5, 6, 30)),
        ("پنج‌شنبه ۱۸:۰۰", utc(2026, 12, 3, 14, 30)),
        ("روز جمعه آینده ساعت ۱۰", utc(2026, 12, 4, 6, 30)),
        # relative
        ("+2h", utc(2026, 11, 30, 14, 0)),
        ("+90m", utc(2026, 11, 30, 13, 30)),
        ("+1d", utc(2026, 12, 1, 12, 0)),
        ("+1d 3h", utc(2026, 12, 1, 15, 0)),
        ("+1d3h", utc(2026, 12, 1, 15, 0)),
        ("+1.5h", utc(2026, 11, 30, 13, 30)),
        ("+1w", utc(2026, 12, 7, 12, 0)),
        ("in 2 hours", utc(2026, 11, 30, 14, 0)),
        ("in 30 minutes", utc(2026, 11, 30, 12, 30)),
        ("in an hour", utc(2026, 11, 30, 13, 0)),
        ("half an hour later", utc(2026, 11, 30, 12, 30)),
        ("2 hours and 15 minutes from now", utc(2026, 11, 30, 14, 15)),
        ("۲ ساعت دیگر", utc(2026, 11, 30, 14, 0)),
        ("دو ساعت دیگر", utc(2026, 11, 30, 14, 0)),
        ("نیم ساعت دیگر", utc(2026, 11, 30, 12, 30)),
        ("۱ روز و ۳ ساعت بعد", utc(2026, 11, 30, 12, 0) + timedelta(days=1, hours=3)),
        ("+۲h", utc(2026, 11, 30, 14, 0)),
        # now
        ("now", NOW),
        ("الان", NOW),
        ("  NOW  ", NOW),
    ],
)
def test_accepted_forms(text, expected):
    result = parse(text)
    assert result == expected
    assert result.tzinfo is UTC


def test_default_time_is_nine_and_configurable():
    assert DEFAULT_TIME.hour == 9 and DEFAULT_TIME.minute == 0
    assert parse("2026-12-01", default_time=DEFAULT_TIME.replace(hour=12)) == utc(2026, 12, 1, 8, 30)


def test_bidi_marks_and_arabic_letters_are_ignored():
    typed = "\u2068فردا\u2069 \u200f۹:۰۰\u200e"
    assert parse(typed) == utc(2026, 12, 1, 5, 30)
    assert parse("يكشنبه ۹ صبح") == utc(2026, 12, 6, 5, 30)  # Arabic yeh and kaf


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "time.err_empty"),
        ("   ", "time.err_empty"),
        ("blah", "time.err_unknown_format"),
        ("yesterday", "time.err_unknown_format"),
        ("2 2", "time.err_unknown_format"),
        ("tomorrow today", "time.err_unknown_format"),
        ("2026-12-01 2026-12-02", "time.err_unknown_format"),
        ("2026-12-01 18:30 xyz", "time.err_unknown_format"),
        ("-2h", "time.err_unknown_format"),
        ("01.12.2026 18:30", "time.err_ambiguous_date"),
        ("12/01/2026", "time.err_ambiguous_date"),
        ("2026-02-30", "time.err_invalid_date"),
        ("1405/12/30", "time.err_invalid_date"),  # 1405 is not a Jalali leap year
        ("31 آذر", "time.err_invalid_date"),  # Azar has 30 days
        ("1000-01-01", "time.err_invalid_date"),
        ("1600-01-01", "time.err_invalid_date"),
        ("25:00", "time.err_invalid_time"),
        ("18:61", "time.err_invalid_time"),
        ("13am", "time.err_invalid_time"),
        ("2026-11-30 10:00", "time.err_in_past"),
        ("today 9:00", "time.err_in_past"),
        ("۱۴۰۵/۰۹/۰۱", "time.err_in_past"),
        ("tue 2026-12-02", "time.err_weekday_mismatch"),
        ("جمعه فردا", "time.err_weekday_mismatch"),
        ("+9999999d", "time.err_too_far"),
        ("2099-01-01", "time.err_too_far"),
        ("9999-12-31 23:59", "time.err_too_far"),
    ],
)
def test_refusals_have_specific_reasons(text, key):
    with pytest.raises(TimeParseError) as caught:
        parse(text)
    assert caught.value.reason_key == key
    assert caught.value.key == key


def test_error_values_are_ready_for_the_catalogue():
    catalogue = Catalogue.load()
    with pytest.raises(TimeParseError) as caught:
        parse("2026-11-30 10:00", lang="fa")
    assert caught.value.values == {"when": "دوشنبه ۹ آذر ۱۴۰۵، ۱۰:۰۰"}
    text = caught.value.render(catalogue, "fa")
    assert "\u2068دوشنبه ۹ آذر ۱۴۰۵، ۱۰:۰۰\u2069" in text
    with pytest.raises(TimeParseError) as caught:
        parse("Nonsense at 18:30", lang="en")
    assert "“Nonsense at 18:30”" in caught.value.render(catalogue, "en")  # as typed


def test_allow_past_and_unlimited_future():
    assert parse("2026-11-30 10:00", allow_past=True) == utc(2026, 11, 30, 6, 30)
    assert parse("2099-01-01", max_ahead=None) == utc(2099, 1, 1, 5, 30)


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        parse_when("now", now=datetime(2026, 1, 1), tz=TEHRAN)


def test_every_reason_key_the_module_can_raise_is_in_the_catalogue():
    text_dir = Path(__file__).resolve().parents[2].joinpath("bot", "text")
    modules = ("timewords.py", "timeparts.py", "timeparse.py", "dateranges.py")
    source = "".join(text_dir.joinpath(name).read_text(encoding="utf-8") for name in modules)
    keys = set(re.findall(r'"(time\.[a-z_.]+)"', source))
    assert "time.err_unknown_format" in keys
    catalogue = Catalogue.load()
    for lang in ("en", "fa"):
        assert keys <= catalogue.keys(lang), f"{lang}: {sorted(keys - catalogue.keys(lang))}"


# --- time zones -------------------------------------------------------------------------------


def test_interpreted_in_the_configured_zone():
    assert parse("2026-12-01 18:30", tz=ZoneInfo("UTC")) == utc(2026, 12, 1, 18, 30)
    assert parse("2026-12-01 18:30", tz=NEW_YORK) == utc(2026, 12, 1, 23, 30)
    # "today"/"tomorrow" are the configured zone's: 23:00 UTC on 30 Nov is already 1 Dec in Tehran
    late = utc(2026, 11, 30, 23, 0)
    assert parse("tomorrow 9:00", now=late) == utc(2026, 12, 2, 5, 30)
    assert parse("tomorrow 9:00", now=late, tz=ZoneInfo("UTC")) == utc(2026, 12, 1, 9, 0)


def test_skipped_local_time_is_refused():
    with pytest.raises(TimeParseError) as caught:
        parse("2026-03-29 02:30", tz=BERLIN, now=utc(2026, 3, 1))
    assert caught.value.reason_key == "time.err_nonexistent"
    assert caught.value.values == {"when": "2026-03-29 02:30 (Sun)", "zone": "Europe/Berlin"}


def test_repeated_local_time_means_the_first_unless_the_zone_says_otherwise():
    now = utc(2026, 3, 1)
    assert parse("2026-10-25 02:30", tz=BERLIN, now=now) == utc(2026, 10, 25, 0, 30)  # CEST
    assert parse("2026-10-25 02:30 CEST", tz=BERLIN, now=now) == utc(2026, 10, 25, 0, 30)
    assert parse("2026-10-25 02:30 CET", tz=BERLIN, now=now) == utc(2026, 10, 25, 1, 30)
    with pytest.raises(TimeParseError):
        parse("2026-10-25 02:30 EST", tz=BERLIN, now=now)


def test_relative_durations_are_exact_across_a_dst_change():
    now = utc(2026, 3, 28, 11, 0)  # 12:00 CET; Berlin springs forward the next night
    assert parse("+1d", tz=BERLIN, now=now) == now + timedelta(hours=24)
    # a wall-clock "tomorrow 12:00" is only 23 hours later
    assert parse("tomorrow 12:00", tz=BERLIN, now=now) == now + timedelta(hours=23)


# --- formatting -------------------------------------------------------------------------------


def test_format_when():
    moment = utc(2026, 12, 1, 15, 0)
    assert format_when(moment, tz=TEHRAN, lang="en") == "2026-12-01 18:30 (Tue)"
    assert format_when(moment, tz=TEHRAN, lang="fa") == "سه‌شنبه ۱۰ آذر ۱۴۰۵، ۱۸:۳۰"
    assert format_when(moment, tz=NEW_YORK, lang="en") == "2026-12-01 10:00 (Tue)"


def test_format_when_names_the_zone_only_for_repeated_hours():
    assert format_when(utc(2026, 10, 25, 0, 30), tz=BERLIN, lang="en") == "2026-10-25 02:30 (Sun) CEST"
    assert format_when(utc(2026, 10, 25, 1, 30), tz=BERLIN, lang="en") == "2026-10-25 02:30 (Sun) CET"
    assert format_when(utc(2026, 10, 25, 1, 30), tz=BERLIN, lang="fa").endswith("\u2068CET\u2069")
    assert format_when(utc(2026, 10, 25, 3, 30), tz=BERLIN, lang="en") == "2026-10-25 04:30 (Sun)"


def test_format_when_requires_aware():
    with pytest.raises(ValueError):
        format_when(datetime(2026, 1, 1), tz=TEHRAN)


def test_format_date():
    assert format_date(date(2026, 12, 1)) == "2026-12-01"
    assert format_date(date(2026, 12, 1), lang="fa") == "۱۰ آذر ۱۴۰۵"
    assert format_date(date(2026, 3, 21), lang="fa", weekday=True) == "شنبه ۱ فروردین ۱۴۰۵"
    assert format_date(date(2026, 12, 1), weekday=True) == "2026-12-01 (Tue)"


# --- date ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01..2026-11-20", (date(2026, 11, 1), date(2026, 11, 20))),
        ("2026-11-01 2026-11-20", (date(2026, 11, 1), date(2026, 11, 20))),
        ("2026-11-01 - 2026-11-20", (date(2026, 11, 1), date(2026, 11, 20))),
        ("2026-11-01 to 2026-11-20", (date(2026, 11, 1), date(2026, 11, 20))),
        ("from 1 nov 2026 to 20 nov 2026", (date(2026, 11, 1), date(2026, 11, 20))),
        ("۱۴۰۵/۰۸/۱۰ تا ۱۴۰۵/۰۸/۳۰", (date(2026, 11, 1), date(2026, 11, 21))),
        ("1405-08-10..1405-08-30", (date(2026, 11, 1), date(2026, 11, 21))),
        ("از ۱۰ آبان تا ۳۰ آبان", (date(2026, 11, 1), date(2026, 11, 21))),
        ("2026-11-05", (date(2026, 11, 5), date(2026, 11, 5))),
        ("last 7 days", (date(2026, 11, 24), date(2026, 11, 30))),
        ("past 2 weeks", (date(2026, 11, 17), date(2026, 11, 30))),
        ("۷ روز گذشته", (date(2026, 11, 24), date(2026, 11, 30))),
        ("1 dec", (date(2025, 12, 1), date(2025, 12, 1))),  # no year: the latest one so far
    ],
)
def test_parse_date_range(text, expected):
    assert parse_date_range(text, now=NOW, tz=TEHRAN) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "time.err_range_format"),
        ("foo", "time.err_range_format"),
        ("2026-11-01 x 2026-11-02", "time.err_range_format"),
        ("2026-11-01 2026-11-02 2026-11-03", "time.err_range_format"),
        ("2026-11-20..2026-11-01", "time.err_range_order"),
        ("2026-11-01..2026-12-20", "time.err_range_future"),
        ("2025-01-01..2026-11-01", "time.err_range_too_long"),
        ("last 900 days", "time.err_range_too_long"),
        ("2026-02-30..2026-03-01", "time.err_invalid_date"),
        ("01.11.2026..20.11.2026", "time.err_ambiguous_date"),
    ],
)
def test_parse_date_range_refusals(text, key):
    with pytest.raises(TimeParseError) as caught:
        parse_date_range(text, now=NOW, tz=TEHRAN)
    assert caught.value.reason_key == key


def test_parse_date_range_future_allowed_on_request():
    got = parse_date_range("2026-11-01..2026-12-20", now=NOW, tz=TEHRAN, allow_future=True)
    assert got == (date(2026, 11, 1), date(2026, 12, 20))


# --- properties -------------------------------------------------------------------------------

ZONES = [TEHRAN, BERLIN, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Lord_Howe")]
PROPERTY_NOW = utc(2026, 6, 15, 8, 7, 30)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    offset=st.integers(min_value=2, max_value=4 * 365 * 24 * 60),  # minutes ahead
    seconds=st.integers(min_value=0, max_value=59),
    zone=st.sampled_from(ZONES),
    lang=st.sampled_from(["en", "fa"]),
)
def test_format_then_parse_round_trips(offset, seconds, zone, lang):
    moment = PROPERTY_NOW + timedelta(minutes=offset, seconds=seconds)
    shown = format_when(moment, tz=zone, lang=lang)
    parsed = parse_when(shown, now=PROPERTY_NOW, tz=zone, lang=lang)
    assert parsed.tzinfo is UTC
    assert timedelta(0) <= moment - parsed < timedelta(minutes=1), shown


@settings(deadline=None, max_examples=300)
@given(
    day=st.dates(min_value=date(2026, 6, 16), max_value=date(2030, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    separator=st.sampled_from(["/", "-", "."]),
)
def test_typed_jalali_dates_in_persian_digits(day, hour, minute, separator):
    import jdatetime

    from bot.text.digits import to_persian_digits

    j = jdatetime.date.fromgregorian(date=day)
    typed = to_persian_digits(f"{j.year}{separator}{j.month:02d}{separator}{j.day:02d} {hour}:{minute:02d}")
    expected = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TEHRAN).astimezone(UTC)
    assert parse_when(typed, now=PROPERTY_NOW, tz=TEHRAN) == expected


_ALPHABET = st.sampled_from(
    list("0123456789۰۱۲۳۴۵۶۷۸۹:/-.+ ,()hmdwapt")
    + ["tomorrow", "today", "fri", "dec", "in ", "hours", " ", "فردا", "ساعت", "دیگر", "شب", "آذر", "۱۴۰۵", "\u200c"]
)


@settings(deadline=None, max_examples=500)
@given(
    text=st.one_of(st.text(max_size=30), st.lists(_ALPHABET, max_size=8).map("".join)),
    zone=st.sampled_from(ZONES),
)
def test_any_input_gives_an_aware_utc_future_time_or_a_catalogued_error(text, zone):
    try:
        result = parse_when(text, now=PROPERTY_NOW, tz=zone)
    except TimeParseError as err:
        assert err.reason_key.startswith("time.err_")
        return
    assert result.tzinfo is UTC
    assert result >= PROPERTY_NOW


@settings(deadline=None)
@given(minutes=st.integers(min_value=0, max_value=100_000))
def test_relative_minutes_are_exact(minutes):
    assert parse_when(f"+{minutes}m", now=PROPERTY_NOW, tz=TEHRAN) == PROPERTY_NOW + timedelta(minutes=minutes)

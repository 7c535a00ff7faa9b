"""bot.clients.miogram.phones: numbers from pasted text and uploaded files, through the phonenumbers library."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clients.miogram.phones import InvalidPhone, PhoneFileError, normalize, parse_csv, parse_numbers

A = "+989121234567"
B = "+989351112222"
C = "+989191234567"


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "989121234567",
        "+989121234567",
        "00989121234567",
        "0098 912 123 4567",
        "+98 (912) 123-4567",
        "۰۹۱۲۱۲۳۴۵۶۷",  # Persian digits
        "٠٩١٢١٢٣٤٥٦٧",  # Arabic-Indic digits
        "\u200f+۹۸۹۱۲۱۲۳۴۵۶۷\u200e",  # bidi marks from a copy-paste
    ],
)
def test_every_iranian_form_becomes_e164(raw: str) -> None:
    assert normalize(raw, "IR") == A


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12345", "too short"),
        ("+98912123456", "too short"),
        ("0912123456789", "too long"),
        ("hello", "not a number"),
        ("0912-ABC-4567", "not a number"),  # letters would otherwise be read as a keypad word
        ("+999 123456", "unknown country code"),
        ("", "not a number"),
    ],
)
def test_invalid_numbers_carry_a_human_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize(raw, "IR")
    assert caught.value.reason == reason
    assert caught.value.raw == raw


def test_invalid_for_region_reason() -> None:
    # Right length for an Iranian mobile, but no such prefix: the reason names the region.
    with pytest.raises(InvalidPhone) as caught:
        normalize("+98 599 123 4567", "IR")
    assert caught.value.reason == "invalid for region IR"


def test_foreign_numbers_keep_their_own_country() -> None:
    assert normalize("+44 20 7946 0958", "IR") == "+442079460958"
    assert normalize("(202) 555-0143", "US") == "+12025550143"


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_numbers("09121234567", "XX")


def test_any_separator_and_first_seen_order() -> None:
    text = f"0935 111 2222, {A}; 09191234567\n\t۰۹۱۲۱۲۳۴۵۶۷،{B}؛ 09121234567 12345 hello"
    parsed = parse_numbers(text, "IR")
    assert parsed.valid == [B, A, C]
    assert parsed.duplicates == [A, B, A]
    assert parsed.invalid == [("12345", "too short"), ("hello", "not a number")]
    assert parsed.total == 8


def test_spaces_inside_a_number_and_between_numbers() -> None:
    parsed = parse_numbers("0912 123 4567 0935 111 2222 0912 345 67", "IR")
    assert parsed.valid == [A, B]
    assert parsed.invalid == [("0912 345 67", "too short")]


def test_non_breaking_spaces_separate_like_spaces() -> None:
    parsed = parse_numbers("09121234567\u00a009351112222\u202f0919\u00a0123\u00a04567", "IR")
    assert parsed.valid == [A, B, C]


def test_iterable_input_each_item_parsed() -> None:
    parsed = parse_numbers([A, "09351112222, 09191234567", "x"], "IR")
    assert parsed.valid == [A, B, C]
    assert parsed.invalid == [("x", "not a number")]


def test_csv_by_header_name() -> None:
    data = b"name,Mobile,city\nali,09121234567,Tehran\nreza,9351112222.0,Shiraz\nsara,bad,Yazd\n"
    parsed, columns = parse_csv(data, "IR")
    assert columns == ["name", "Mobile", "city"]
    assert parsed.valid == [A, B]
    assert parsed.invalid == [("bad", "not a number")]


def test_csv_persian_header_and_semicolons() -> None:
    data = "نام;شماره موبایل\nعلی;۰۹۱۲۱۲۳۴۵۶۷\nرضا;09351112222\n".encode("utf-8-sig")
    parsed, columns = parse_csv(data, "IR")
    assert columns == ["نام", "شماره موبایل"]
    assert parsed.valid == [A, B]


def test_csv_column_found_by_content_without_header() -> None:
    data = b"1,ali,09121234567\n2,reza,09351112222\n3,sara,09121234567\n"
    parsed, columns = parse_csv(data, "IR")
    assert columns == ["#1", "#2", "#3"]
    assert parsed.valid == [A, B]
    assert parsed.duplicates == [A]


def test_csv_named_column_and_position() -> None:
    data = b"home,work\n09121234567,09351112222\n"
    assert parse_csv(data, "IR", column="WORK")[0].valid == [B]
    assert parse_csv(data, "IR", column="#1")[0].valid == [A]
    with pytest.raises(PhoneFileError) as caught:
        parse_csv(data, "IR", column="fax")
    assert caught.value.columns == ["home", "work"]


def test_csv_without_any_number_is_refused() -> None:
    with pytest.raises(PhoneFileError):
        parse_csv(b"name,city\nali,Tehran\n", "IR")


def test_txt_file_utf16_one_number_per_line() -> None:
    parsed, columns = parse_csv("09121234567\r\n09351112222\r\n".encode("utf-16"), "IR")
    assert parsed.valid == [A, B]
    assert columns == ["#1"]


def test_empty_file() -> None:
    parsed, columns = parse_csv(b"", "IR")
    assert parsed.valid == [] and columns == []


_iran_mobile = st.builds(
    lambda prefix, rest: f"{prefix}{rest:07d}", st.sampled_from(["912", "935", "919", "901"]), st.integers(0, 9_999_999)
)


@settings(max_examples=60, deadline=None)
@given(_iran_mobile, st.sampled_from(["+98{}", "0{}", "0098{}", "98{}", "{}"]))
def test_written_any_way_one_number_is_one_e164(national: str, form: str) -> None:
    parsed = parse_numbers(f"{form.format(national)}, +98{national}", "IR")
    assert parsed.valid == [f"+98{national}"]
    assert parsed.duplicates == [f"+98{national}"]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_hostile_text_never_raises_and_everything_is_accounted(text: str) -> None:
    parsed = parse_numbers(text, "IR")
    assert len(set(parsed.valid)) == len(parsed.valid)
    assert all(number.startswith("+") and number[1:].isdigit() for number in parsed.valid)

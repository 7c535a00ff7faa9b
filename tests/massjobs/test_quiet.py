"""Quiet-hours arithmetic (pure): which window a time falls in, and when work ends with the
windows counted."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.massjobs.quiet import QuietHours
from bot.text.window import parse_window

TEHRAN = ZoneInfo("Asia/Tehran")


def ts(*parts: int, tz=UTC) -> float:
    return datetime(*parts, tzinfo=tz).timestamp()


def test_a_window_across_midnight():
    quiet = QuietHours.parse("21:00-09:00", TEHRAN)
    assert quiet.window_at(ts(2026, 12, 6, 20, 59, tz=TEHRAN)) is None
    start, end = quiet.window_at(ts(2026, 12, 6, 23, 30, tz=TEHRAN))
    assert (start, end) == (ts(2026, 12, 6, 21, 0, tz=TEHRAN), ts(2026, 12, 7, 9, 0, tz=TEHRAN))
    assert quiet.window_at(ts(2026, 12, 7, 8, 59, tz=TEHRAN)) == (start, end)  # the morning side
    assert quiet.window_at(ts(2026, 12, 7, 9, 0, tz=TEHRAN)) is None
    assert quiet.next_start(ts(2026, 12, 7, 9, 0, tz=TEHRAN)) == ts(2026, 12, 7, 21, 0, tz=TEHRAN)


def test_work_stops_for_every_window_it_meets():
    quiet = QuietHours.parse("12:00-13:00", UTC)
    # 2 h of work from 11:00: 1 h before noon, the window, 1 h after
    assert quiet.finish_time(ts(2026, 12, 6, 11, 0), 7200) == ts(2026, 12, 6, 14, 0)
    # started inside the window: nothing happens before 13:00
    assert quiet.finish_time(ts(2026, 12, 6, 12, 30), 60) == ts(2026, 12, 6, 13, 1)
    # 30 h of work meets the window twice
    assert quiet.finish_time(ts(2026, 12, 6, 13, 0), 30 * 3600) == ts(2026, 12, 7, 20, 0)
    assert quiet.finish_time(ts(2026, 12, 6, 8, 0), 600) == ts(2026, 12, 6, 8, 10)  # not touched


@pytest.mark.parametrize("text", ["", "21:00", "21-09", "25:00-09:00", "21:60-09:00", "09:00-09:00"])
def test_a_window_that_is_not_one_is_refused_with_the_reason(text):
    with pytest.raises(ValueError, match="HH:MM|hours are|same time"):
        parse_window(text)

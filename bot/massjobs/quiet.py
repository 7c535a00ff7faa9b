"""Quiet hours: a daily window (``21:00-09:00`` in the bot's time zone) in which no batch of a
mass send starts. Pure arithmetic on UTC timestamps; the runner asks, it never waits here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from bot.text.window import parse_window


@dataclass(frozen=True)
class QuietHours:
    """A daily window from ``start`` to ``end`` (wall-clock times in ``tz``; it may cross
    midnight)."""

    start: time
    end: time
    tz: tzinfo

    @classmethod
    def parse(cls, text: str, tz: tzinfo) -> QuietHours:
        start, end = parse_window(text)
        return cls(start, end, tz)

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def _windows_around(self, ts: float) -> list[tuple[float, float]]:
        """The windows that start on the day before, the day of and the day after ``ts``."""
        day = datetime.fromtimestamp(ts, self.tz).date()
        windows = []
        for offset in (-1, 0, 1):
            date = day + timedelta(days=offset)
            start = datetime.combine(date, self.start, self.tz)
            end_date = date + timedelta(days=1) if self.end <= self.start else date
            end = datetime.combine(end_date, self.end, self.tz)
            windows.append((start.timestamp(), end.timestamp()))
        return windows

    def window_at(self, ts: float) -> tuple[float, float] | None:
        """(start, end) of the window ``ts`` falls in, or None outside quiet hours."""
        return next(((s, e) for s, e in self._windows_around(ts) if s <= ts < e), None)

    def next_start(self, ts: float) -> float:
        """When the next window after ``ts`` begins."""
        starts = [s for s, _ in self._windows_around(ts) if s > ts]
        return min(starts) if starts else self.next_start(ts + 86400.0)

    def finish_time(self, begin: float, seconds: float) -> float:
        """When work of ``seconds`` started at ``begin`` ends if it stops for every window."""
        now, left = begin, max(0.0, seconds)
        for _ in range(10_000):  # a bound, not a limit: a year of daily windows
            window = self.window_at(now)
            if window is not None:
                now = window[1]
                continue
            start = self.next_start(now)
            if now + left <= start:
                return now + left
            left -= start - now
            now = start
        return now + left

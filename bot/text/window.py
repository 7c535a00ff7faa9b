"""Daily time windows written ``HH:MM-HH:MM`` (``21:00-09:00`` crosses midnight)."""

from __future__ import annotations

import re
from datetime import time

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> tuple[time, time]:
    """``"21:00-09:00"`` → (21:00, 09:00). ValueError saying what is wrong otherwise."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"expected HH:MM-HH:MM such as 21:00-09:00 (got {text!r})")
    sh, sm, eh, em = (int(part) for part in match.groups())
    if sh > 23 or eh > 23 or sm > 59 or em > 59:
        raise ValueError(f"hours are 00-23 and minutes 00-59 (got {text!r})")
    if (sh, sm) == (eh, em):
        raise ValueError(f"the window starts and ends at the same time (got {text!r})")
    return time(sh, sm), time(eh, em)

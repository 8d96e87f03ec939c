"""Durations as people write them in settings and queries: 90s, 5m, 4h, 1d, 1h30m."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|w|wk)s?", re.IGNORECASE)
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400,
            "w": 604800, "wk": 604800}


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError naming the text when it is not a duration."""
    cleaned = text.strip().replace(" ", "")
    parts = list(_PART.finditer(cleaned))
    if not parts or "".join(p.group(0) for p in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 5m, 4h, 1d or 1h30m")
    return sum(float(p.group(1)) * _SECONDS[p.group(2).lower()] for p in parts)

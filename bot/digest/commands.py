"""`/deskpulse digest …`: the words that set a channel's digests (pure: text in, a command out).

    digest daily 09:00 [filters] [tz:Europe/Berlin]
    digest weekly monday 9am [filters]
    digest off [daily|weekly]
    digest list
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.grammar import WEEKDAYS, QueryError, parse_filters, split_zone

CADENCES = ("daily", "weekly")
USAGE = ("`/deskpulse digest daily 09:00` posts yesterday's numbers here every morning; "
         "`/deskpulse digest weekly monday 09:00` last week's. Add filters such as `channel:chat` or "
         "`tag:shipping`, and `tz:Europe/Berlin` for another time zone. "
         "`/deskpulse digest list` shows this channel's digests, `/deskpulse digest off` stops them.")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


class DigestCommandError(ValueError):
    """What could not be read, in a sentence for the person who typed it."""


@dataclass(frozen=True)
class SetDigest:
    cadence: str
    at_time: str  # HH:MM
    weekday: int | None
    filters: str
    timezone: str | None  # None: the workspace's


@dataclass(frozen=True)
class DigestOff:
    cadence: str | None


@dataclass(frozen=True)
class DigestList:
    pass


DigestCommand = SetDigest | DigestOff | DigestList


def is_digest_command(text: str) -> bool:
    return text.lower().split()[:1] == ["digest"]


def parse_digest_command(text: str) -> DigestCommand:
    """Read the words after `/deskpulse`; raises DigestCommandError saying what to type instead."""
    words = text.split()[1:]
    first = words[0].lower() if words else "list"
    if first in ("list", "show", "status"):
        return DigestList()
    if first in ("off", "stop", "remove"):
        cadence = words[1].lower() if len(words) > 1 else None
        if (cadence is not None and cadence not in CADENCES) or len(words) > 2:
            raise DigestCommandError(f"Say `digest off`, `digest off daily` or `digest off weekly`. {USAGE}")
        return DigestOff(cadence)
    if first not in CADENCES:
        raise DigestCommandError(f"I couldn't read `{words[0]}`: say `daily` or `weekly`. {USAGE}")
    rest = words[1:]
    weekday = None
    if first == "weekly":
        if not rest or rest[0].lower() not in WEEKDAYS:
            raise DigestCommandError("Say which day the weekly digest comes, e.g. "
                                     "`/deskpulse digest weekly monday 09:00`.")
        weekday = WEEKDAYS.index(rest.pop(0).lower())
    if not rest:
        raise DigestCommandError(f"Say at what time, e.g. `/deskpulse digest {first} 09:00`.")
    at_time = _time(rest.pop(0))
    try:
        zone, kept = split_zone(rest)
    except QueryError as problem:
        raise DigestCommandError(problem.problem) from None
    filters = " ".join(kept)
    try:
        parse_filters(filters)
    except QueryError as problem:
        hint = f" Did you mean `{problem.suggestion}`?" if problem.suggestion else ""
        raise DigestCommandError(f"{problem.problem}{hint} A digest takes filters such as "
                                 f"`channel:chat` or `tag:shipping`.") from None
    return SetDigest(first, at_time, weekday, filters, zone)


def _time(word: str) -> str:
    match = _TIME.match(word.lower())
    hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (99, 99)
    if match and match.group(3):
        if not 1 <= hour <= 12:
            hour = 99
        hour = hour % 12 + (12 if match.group(3) == "pm" else 0)
    if hour > 23 or minute > 59:
        raise DigestCommandError(f"I couldn't read the time `{word}`: say `09:00`, `9am` or `17:30`.")
    return f"{hour:02d}:{minute:02d}"

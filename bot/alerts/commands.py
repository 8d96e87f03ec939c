"""`/deskpulse alerts …`: switch a channel's anomaly alerts on or off, or mute them (pure).

    alerts on [filters] [tz:Zone]      alerts off      alerts mute 2h [signal]      alerts
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.alerts.evaluate import SIGNALS
from bot.grammar import QueryError, parse_filters, split_zone

SIGNAL_NAMES = tuple(s.name for s in SIGNALS)
USAGE = ("`/deskpulse alerts on` pings this channel when first response time, volume, backlog, resolution "
         "time, CSAT or SLA breaches are far from usual for the hour (add filters such as `channel:chat`, and "
         "`tz:America/New_York` to read the hours in another time zone); "
         "`/deskpulse alerts mute 2h [frt]` pauses them, `/deskpulse alerts off` stops them.")
_DURATION = re.compile(r"^(\d{1,3})(m|min|h|d)$")


class AlertCommandError(ValueError):
    pass


@dataclass(frozen=True)
class AlertsOn:
    filters: str
    timezone: str | None = None  # None: the workspace's; "this hour of the week" is read in it


@dataclass(frozen=True)
class AlertsOff:
    pass


@dataclass(frozen=True)
class AlertsMute:
    length: timedelta
    signal: str  # "" = every signal


@dataclass(frozen=True)
class AlertsStatus:
    pass


AlertCommand = AlertsOn | AlertsOff | AlertsMute | AlertsStatus


def is_alert_command(text: str) -> bool:
    return text.lower().split()[:1] in (["alerts"], ["alert"])


def parse_alert_command(text: str) -> AlertCommand:
    words = text.split()[1:]
    first = words[0].lower() if words else "status"
    if first in ("status", "list", "show"):
        return AlertsStatus()
    if first == "off":
        return AlertsOff()
    if first == "on":
        try:
            zone, rest = split_zone(words[1:])
            filters = " ".join(rest)
            parse_filters(filters)
        except QueryError as problem:
            hint = f" Did you mean `{problem.suggestion}`?" if problem.suggestion else ""
            raise AlertCommandError(f"{problem.problem}{hint} Alerts take filters such as `channel:chat` "
                                    "and a time zone such as `tz:America/New_York`.") from None
        return AlertsOn(filters, zone)
    if first == "mute":
        return _mute(words[1:])
    raise AlertCommandError(f"I couldn't read `{words[0]}`. {USAGE}")


def _mute(words: list[str]) -> AlertsMute:
    match = _DURATION.match(words[0].lower()) if words else None
    if match is None:
        raise AlertCommandError("Say for how long, e.g. `/deskpulse alerts mute 2h` or `mute 30m frt`.")
    amount, unit = int(match.group(1)), match.group(2)
    length = timedelta(minutes=amount) if unit in ("m", "min") else \
        timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
    if not timedelta(minutes=1) <= length <= timedelta(days=30):
        raise AlertCommandError("Mute for between a minute and 30 days.")
    signal = words[1].lower() if len(words) > 1 else ""
    if (signal and signal not in SIGNAL_NAMES) or len(words) > 2:
        raise AlertCommandError(f"Mute one of {', '.join(f'`{s}`' for s in SIGNAL_NAMES)}, or all of them.")
    return AlertsMute(length, signal)

"""The words after a slash command: `<metric> [period] [by <dimension>] [filters] [vs <comparison>]`.

Pure: `now`, the time zone and the first day of the week are arguments. The tables below drive
both the parser and the help text, so the help cannot promise what the parser refuses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metrics.catalog import METRICS, Compare, MetricQuery, find_metric
from metrics.dimensions import Dimension, Filter
from metrics.model import Channel, Priority
from metrics.periods import Period, Unit, calendar_period, day_range, last_units, local, start_of

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_PERIOD = "last 7 days"
EXAMPLE = "csat last week"


class QueryError(ValueError):
    """An unreadable query: the word, a close match and an example, phrased once for every surface."""

    def __init__(self, word: str, problem: str, *, suggestion: str | None = None, example: str | None = None):
        self.word, self.problem, self.suggestion, self.example = word, problem, suggestion, example
        hint = f" Did you mean `{suggestion}`?" if suggestion else ""
        tail = f" For example: `{example}`." if example else ""
        super().__init__(f"{problem}{hint}{tail}")


@dataclass(frozen=True)
class Clock:
    now: datetime  # aware
    tz: ZoneInfo
    week_start: int = 0  # 0 = Monday

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.tz)


PeriodBuilder = Callable[[Clock], Period]


def _calendar(unit: Unit, back: int, label: str) -> PeriodBuilder:
    return lambda c: calendar_period(c.local_now, unit, back=back, label=label, week_start=c.week_start)


# Fixed phrases -> periods. Order matters only for the help text.
PERIODS: dict[str, PeriodBuilder] = {
    "today": _calendar(Unit.DAY, 0, "today"),
    "yesterday": _calendar(Unit.DAY, 1, "yesterday"),
    "this week": _calendar(Unit.WEEK, 0, "this week"),
    "last week": _calendar(Unit.WEEK, 1, "last week"),
    "this month": _calendar(Unit.MONTH, 0, "this month"),
    "last month": _calendar(Unit.MONTH, 1, "last month"),
    "this quarter": _calendar(Unit.QUARTER, 0, "this quarter"),
    "last quarter": _calendar(Unit.QUARTER, 1, "last quarter"),
    "this year": _calendar(Unit.YEAR, 0, "this year"),
    "last year": _calendar(Unit.YEAR, 1, "last year"),
    "last hour": lambda c: last_units(c.local_now, Unit.HOUR, 1, label="the last hour"),
}
_LAST_N = re.compile(r"^(?:last|past) (\d{1,4}) ?(hour|day|week|month)s?$")
_DATE = r"\d{4}-\d{2}-\d{2}"
_RANGE = re.compile(rf"^({_DATE}) ?(?:\.\.|to) ?({_DATE})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PERIOD_EXAMPLES = ("last 24 hours", "last 7 days", "last 4 weeks", "since 2026-11-01", "2026-10-01..2026-10-31",
                   "2026-10-15", "2026-10", "monday", "last friday")

DIMENSIONS: dict[str, Dimension | Unit] = {
    "channel": Dimension.CHANNEL, "agent": Dimension.AGENT, "assignee": Dimension.AGENT,
    "group": Dimension.GROUP, "team": Dimension.GROUP, "tag": Dimension.TAG, "type": Dimension.TAG,
    "priority": Dimension.PRIORITY, "segment": Dimension.SEGMENT, "helpdesk": Dimension.HELPDESK,
    "hour": Unit.HOUR, "day": Unit.DAY, "week": Unit.WEEK, "month": Unit.MONTH,
}
FILTERS: dict[str, Dimension] = {
    "channel": Dimension.CHANNEL, "agent": Dimension.AGENT, "group": Dimension.GROUP, "team": Dimension.GROUP,
    "tag": Dimension.TAG, "priority": Dimension.PRIORITY, "segment": Dimension.SEGMENT,
    "helpdesk": Dimension.HELPDESK,
}
COMPARISONS: dict[str, Compare] = {
    "previous": Compare.PREVIOUS, "last period": Compare.PREVIOUS, "last week": Compare.WEEK,
    "last month": Compare.MONTH, "last year": Compare.YEAR, "none": Compare.NONE, "nothing": Compare.NONE,
}


@dataclass(frozen=True)
class CustomerQuery:
    customer: str  # an email, a helpdesk id or a name


def parse_query(text: str, *, now: datetime, tz: ZoneInfo, week_start: int = 0) -> MetricQuery | CustomerQuery:
    """Read one question; raises QueryError naming the first word it could not read."""
    clock = Clock(now, tz, week_start)
    words = text.replace("\u2026", "..").split()
    if not words:
        raise QueryError("", "Ask for a metric.", example=EXAMPLE)
    if words[0].lower() in ("customer", "client", "requester"):
        if len(words) < 2:
            raise QueryError(words[0], "Say which customer.", example="customer jane@example.com")
        return CustomerQuery(" ".join(words[1:]))
    metric = find_metric(words[0])
    if metric is None:
        raise QueryError(words[0], f"I don't know the metric `{words[0]}`.",
                         suggestion=_close(words[0], _metric_words()), example=EXAMPLE)
    return _Reader(words[1:], clock, metric.name).read()


def split_zone(words: list[str]) -> tuple[str | None, list[str]]:
    """A `tz:Europe/Berlin` word among a subscription's words, and the other words."""
    zone, rest = None, []
    for word in words:
        if word.lower().startswith("tz:"):
            zone = word[3:]
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise QueryError(word, f"`{zone}` is not a time zone I know; use an IANA name such as "
                                       "`tz:Europe/Berlin` or `tz:America/New_York`.") from None
        else:
            rest.append(word)
    return zone, rest


def parse_filters(text: str, *, metric: str = "volume") -> tuple[Filter, ...]:
    """Only filters (`channel:chat tag:shipping`), as a subscription keeps them; QueryError otherwise."""
    reader = _Reader(text.split(), Clock(_NO_TIME, ZoneInfo("UTC"), 0), metric)  # filters never read the clock
    while reader.words:
        if not reader._filter():
            raise QueryError(reader.words[0], f"`{reader.words[0]}` is not a filter.",
                             suggestion=_close(reader.words[0], [f"{f}:" for f in FILTERS]),
                             example="channel:chat tag:shipping")
    return tuple(reader.filters)


_NO_TIME = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))


class _Reader:
    def __init__(self, words: list[str], clock: Clock, metric: str) -> None:
        self.words, self.clock, self.metric = words, clock, metric
        self.period: Period | None = None
        self.group: Dimension | Unit | None = None
        self.filters: list[Filter] = []
        self.compare = Compare.PREVIOUS

    def read(self) -> MetricQuery:
        while self.words:
            if not (self._by() or self._vs() or self._filter() or self._period()):
                self._fail(self.words[0])
        period = self.period or self._default_period()
        self._check_customer_metric()
        return MetricQuery(METRICS[self.metric], period, self.group, tuple(self.filters), self.compare)

    def _check_customer_metric(self) -> None:
        """Retention counts the shop's customers: a ticket's channel or tag does not apply to it."""
        if not METRICS[self.metric].of_customers:
            return
        if self.filters:
            raise QueryError(f"{self.filters[0].dimension.value}:{self.filters[0].value}",
                             f"`{self.metric}` counts the shop's customers, not tickets: it takes no filter.",
                             example=f"{self.metric} last quarter")
        if isinstance(self.group, Dimension):
            raise QueryError(f"by {self.group.value}",
                             f"`{self.metric}` counts the shop's customers, not tickets: break it down by "
                             "day, week or month only.", example=f"{self.metric} this year by month")

    def _default_period(self) -> Period:
        if METRICS[self.metric].at_end:
            return PERIODS["today"](self.clock)  # backlog now, against this time yesterday
        return _phrase_period(DEFAULT_PERIOD, self.clock) or PERIODS["today"](self.clock)

    def _by(self) -> bool:
        if self.words[0].lower() != "by":
            return False
        if len(self.words) < 2:
            raise QueryError("by", "Say what to break it down by.", example=f"{self.metric} last week by channel")
        word = self.words[1].lower()
        word = word if word in DIMENSIONS else word.removesuffix("s")  # by channels, by days
        if word not in DIMENSIONS:
            raise QueryError(self.words[1], f"I can't break down by `{self.words[1]}`.",
                             suggestion=_close(self.words[1], list(DIMENSIONS)),
                             example=f"{self.metric} last week by channel")
        self.group = DIMENSIONS[word]
        del self.words[:2]
        return True

    def _vs(self) -> bool:
        if self.words[0].lower() not in ("vs", "vs.", "versus", "compared"):
            return False
        for size in (2, 1):
            phrase = " ".join(self.words[1:1 + size]).lower()
            if phrase in COMPARISONS and len(self.words) > size:
                self.compare = COMPARISONS[phrase]
                del self.words[:1 + size]
                return True
        rest = " ".join(self.words[1:3])
        raise QueryError(rest or "vs", f"I can't compare with `{rest}`.", suggestion=_close(rest, list(COMPARISONS)),
                         example=f"{self.metric} this month vs last year")

    def _filter(self) -> bool:
        word = self.words[0]
        name, colon, value = word.partition(":")
        if colon:
            dimension = FILTERS.get(name.lower())
            if dimension is None:
                raise QueryError(word, f"I can't filter by `{name}`.", suggestion=_close(name, list(FILTERS)),
                                 example=f"{self.metric} last week channel:email")
            if not value:
                raise QueryError(word, f"Say which {name} after the colon.", example=f"{self.metric} {name}:…")
            self._check_value(dimension, value, word)
            self.filters.append(Filter(dimension, value))
            del self.words[0]
            return True
        if word.lower() in Channel.__members__.values():  # `frt yesterday chat`
            self.filters.append(Filter(Dimension.CHANNEL, word.lower()))
            del self.words[0]
            return True
        return False

    def _check_value(self, dimension: Dimension, value: str, word: str) -> None:
        allowed = {Dimension.CHANNEL: [c.value for c in Channel], Dimension.PRIORITY: [p.value for p in Priority]}
        if dimension in allowed and value.lower() not in allowed[dimension]:
            raise QueryError(word, f"`{value}` is not a {dimension.value} ({', '.join(allowed[dimension])}).",
                             suggestion=_close(value, allowed[dimension]))

    def _period(self) -> bool:
        if self.period is not None:
            return False
        for size in (4, 3, 2, 1):
            phrase = " ".join(self.words[:size]).lower()
            if len(self.words) >= size and (period := _phrase_period(phrase, self.clock)) is not None:
                self.period = period
                del self.words[:size]
                return True
        return False

    def _fail(self, word: str) -> None:
        if word.lower() in ("last", "past", "this", "since") and len(self.words) > 1:
            word = f"{word} {self.words[1]}"  # name the whole phrase: `last fortnight`, not `last`
        vocabulary = [*PERIODS, *WEEKDAYS, "by", "vs", *(f"{f}:" for f in FILTERS)]
        if self.period is not None and _looks_like_period(word):
            raise QueryError(word, "Give one period only.", example=f"{self.metric} last week")
        # a misspelt first word of a phrase (`lst week`) matches only with the word after it
        with_next = f"{word} {self.words[1]}" if len(self.words) > 1 and " " not in word else None
        suggestion = _close(word, vocabulary) or (_close(with_next, vocabulary) if with_next else None)
        raise QueryError(word, f"I couldn't read `{word}`.", suggestion=suggestion,
                         example=METRICS[self.metric].example)


def _phrase_period(phrase: str, clock: Clock) -> Period | None:
    """A period phrase, or None when `phrase` is not one; raises on a period that is one but wrong."""
    if phrase in PERIODS:
        return PERIODS[phrase](clock)
    if match := _LAST_N.match(phrase):
        count, unit = int(match.group(1)), Unit(match.group(2))
        if count < 1:
            raise QueryError(phrase, "Ask for at least one.", example="last 7 days")
        label = f"the last {count} {unit.value}{'s' if count > 1 else ''}"
        return last_units(clock.local_now, unit, count, label=label, week_start=clock.week_start)
    if match := _RANGE.match(phrase):
        first, last = _date(match.group(1)), _date(match.group(2))
        if last < first:
            raise QueryError(phrase, f"{last} is before {first}.", example="2026-10-01..2026-10-31")
        return day_range(first, last, clock.tz, label=f"{first} to {last}")
    if phrase.startswith("since ") and re.fullmatch(_DATE, phrase[6:]):
        first = _date(phrase[6:])
        start = local(first, clock.tz)
        if start > clock.now:
            raise QueryError(phrase, f"{first} is in the future.", example="since 2026-11-01")
        return Period(start, clock.local_now, f"since {first}")
    if re.fullmatch(_DATE, phrase):
        day = _date(phrase)
        return day_range(day, day, clock.tz, label=day.strftime("%a %d %b %Y"))
    if match := _MONTH.match(phrase):
        return _month(int(match.group(1)), int(match.group(2)), clock, phrase)
    return _weekday(phrase, clock)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(text, f"`{text}` is not a date.", example="2026-10-01..2026-10-31") from None


def _month(year: int, month: int, clock: Clock, phrase: str) -> Period:
    if not 1 <= month <= 12:
        raise QueryError(phrase, f"`{phrase}` is not a month.", example="2026-10")
    first = date(year, month, 1)
    start = local(first, clock.tz)
    end = start_of(local(first + timedelta(days=32), clock.tz), Unit.MONTH)
    return Period(start, end, first.strftime("%B %Y"), Unit.MONTH, 1)


def _weekday(phrase: str, clock: Clock) -> Period | None:
    words = phrase.split()
    before = words[0] == "last" and len(words) == 2
    name = words[-1] if len(words) <= 2 and (len(words) == 1 or before) else None
    index = next((i for i, day in enumerate(WEEKDAYS) if name and len(name) >= 3 and day.startswith(name)), None)
    if index is None:
        return None
    today = clock.local_now.date()
    back = (today.weekday() - index) % 7 or (7 if before else 0)
    day = today - timedelta(days=back)
    if day == today:
        return calendar_period(clock.local_now, Unit.DAY, back=0, label="today")
    return day_range(day, day, clock.tz, label=day.strftime("%A %d %b"))


def _looks_like_period(word: str) -> bool:
    lowered = word.lower()
    return lowered in ("today", "yesterday", "this", "last", "past", "since") or bool(re.match(r"\d{4}-", lowered))


def _metric_words() -> list[str]:
    return [*METRICS, *(a for m in METRICS.values() for a in m.aliases), "customer", "help"]


def _close(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return found[0] if found else None


def help_text(command: str = "/deskpulse") -> str:
    """Usage, generated from the same tables the parser reads."""
    metrics = "\n".join(f"• `{m.name}` ({', '.join(m.aliases[:3])}): {m.title}, e.g. `{command} {m.example}`"
                        for m in METRICS.values())
    periods = ", ".join(f"`{p}`" for p in (*PERIODS, *PERIOD_EXAMPLES))
    dimensions = ", ".join(f"`{d}`" for d in DIMENSIONS)
    filters = ", ".join(f"`{f}:…`" for f in FILTERS)
    comparisons = ", ".join(f"`vs {c}`" for c in COMPARISONS)
    return (f"*Ask:* `{command} <metric> [period] [by <dimension>] [filters] [vs <comparison>]`\n"
            f"*Metrics:*\n{metrics}\n• `customer <email>`: one customer's history\n"
            f"*Periods* (default {DEFAULT_PERIOD}; weeks start on {WEEKDAYS[0].title()} unless configured): "
            f"{periods}\n*Break down* `by`: {dimensions}\n*Filters:* {filters} "
            f"(a channel name alone works too: `frt yesterday chat`)\n*Compare:* {comparisons}\n"
            f"*Digests:* `/deskpulse digest daily 09:00 [filters]`, `/deskpulse digest weekly monday 09:00`, "
            f"`/deskpulse digest list`, `/deskpulse digest off`\n"
            f"*Alerts:* `/deskpulse alerts on [filters]`, `/deskpulse alerts mute 2h [frt]`, `/deskpulse alerts off`, "
            f"`/deskpulse alerts`")

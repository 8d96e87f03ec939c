"""The signals of one alerts subscription over the last hour, each judged against the same hour
of the week in earlier weeks (metrics/anomaly.py; docs/metrics.md, "Unusual hours")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import parse_filters
from bot.settings import Settings
from metrics.anomaly import (
    SHARE_HOURS,
    SHARE_METRICS,
    Verdict,
    busier_than_usual,
    judge_count,
    judge_level,
    judge_share,
    largest_contribution,
)
from metrics.catalog import METRICS
from metrics.dimensions import NONE, Dimension
from metrics.periods import Period, Unit, earlier_weeks, shift, start_of
from metrics.staffing import AgentReply, Staffing, agents_needed, agents_replying, handling_seconds
from storage import ticket_queries
from storage.figures import StoredSource
from storage.subscriptions import AlertPlan

WINDOW = timedelta(hours=1)
BASELINE_WEEKS, LOOK_BACK_WEEKS = 4, 8
STAFFING_HISTORY = timedelta(days=7)


@dataclass(frozen=True)
class Signal:
    name: str
    metric: str
    column: str
    measured_by: tuple[str, ...]  # the columns counting what a level rests on; () for counts
    label: str
    bad: str  # which way is bad: "up", "down" or "both"
    groups: tuple[Dimension, ...] = ()  # judged per channel (and per tag) besides the whole team
    hours: tuple[int, ...] = (1,)  # the windows judged, ending now: an hour holds too few ratings to judge CSAT on
    agent_driven: bool = False  # an agent's own tickets can move it: an alert may name the agent

    @property
    def is_count(self) -> bool:
        return not self.measured_by


SIGNALS = (
    # new tickets name no agent: they arrive when customers write, whoever is on shift
    Signal("volume", "volume", "new", (), "new tickets", "both", groups=(Dimension.CHANNEL, Dimension.TAG)),
    Signal("frt", "frt", "median", ("count",), "median first response", "up", groups=(Dimension.CHANNEL,),
           agent_driven=True),
    Signal("resolution", "resolution", "median", ("count",), "median resolution time", "up", agent_driven=True),
    Signal("csat", "csat", "score", ("ratings",), "CSAT", "down", hours=SHARE_HOURS, agent_driven=True),
    Signal("sla", "sla", "attainment", ("breached", "met"), "SLA attainment", "down", agent_driven=True),
    # not the backlog either: its size is the team's arrivals against its replies, and an agent's
    # share of it is where tickets were routed, not something the agent changed
    Signal("backlog", "backlog", "open", ("open",), "backlog", "up"),
)


@dataclass(frozen=True)
class Finding:
    key: str  # "frt:chat", "volume:all", "volume:tag:refund"
    signal: Signal
    group: str  # "all", a channel, or "tag:<tag>"
    value: float | None
    measurements: int
    verdict: Verdict
    window: Period
    baseline_windows: int
    driver: str | None = None
    staffing: Staffing | None = None
    agents_now: int | None = None

    @property
    def alarming(self) -> bool:
        """Unusual, and in the direction that hurts (a faster first response is no incident)."""
        if not self.verdict.unusual or self.verdict.ratio is None:
            return self.verdict.unusual
        return self.signal.bad == "both" or (self.verdict.ratio > 1) == (self.signal.bad == "up")


def evaluate(sessions: sessionmaker[Session], settings: Settings, plan: AlertPlan, now: datetime, *,
             with_agents: bool = False) -> list[Finding]:
    """Every signal of the subscription at `now`, judged (also the ones that are fine). Only
    `with_agents` (a channel allowed to see numbers per agent) may a team alert name an agent."""
    tz = ZoneInfo(plan.timezone)
    local_now = now.astimezone(tz)
    window = Period(local_now - WINDOW, local_now, "the last 60 minutes")
    earlier = earlier_weeks(window, count=BASELINE_WEEKS, look_back=LOOK_BACK_WEEKS, skip=settings.holiday_names())
    findings: list[Finding] = []
    with sessions() as session:
        source = StoredSource(session, parse_filters(plan.filters), settings.metric_context(now))
        trend = _trend(source, window.start, settings.holiday_names())
        for signal in SIGNALS:
            findings += _judged(source, signal, window, earlier, trend)
        agents = {f.key: agent for f in findings if with_agents and (agent := _agent_driving(source, f)) is not None}
        replies = ticket_queries.agent_replies(session, now - STAFFING_HISTORY, now)
    return [_with_context(f, findings, replies, settings, now, agents.get(f.key)) for f in findings]


def _trend(source: StoredSource, until: datetime, holidays: dict[date, str]) -> float:
    """metrics.anomaly.busier_than_usual over the 7 local days before the hour."""
    volume = METRICS["volume"]
    last_midnight = start_of(until, Unit.DAY)

    def new(days_back: int) -> float | None:
        start = shift(last_midnight, Unit.DAY, -days_back)
        if start.date() in holidays:
            return None
        return float(source.figures(volume, Period(start, shift(start, Unit.DAY, 1), ""), None)["all"]["new"] or 0)

    return busier_than_usual([(new(d), [new(d + 7 * k) for k in range(1, 5)]) for d in range(1, 8)])


def _judged(source: StoredSource, signal: Signal, window: Period, earlier: Sequence[Period],
            trend: float) -> list[Finding]:
    """The signal's findings; judged over several windows (CSAT), each group keeps the window that
    shows an incident best: an alarming one first, then the least likely (shares' rarity is a tail)."""
    best: dict[str, Finding] = {}
    for hours in signal.hours:
        for finding in _judged_over(source, signal, _last_hours(window, hours),
                                    [_last_hours(w, hours, w.label) for w in earlier], trend):
            kept = best.get(finding.key)
            if kept is None or _telling(finding) < _telling(kept):
                best[finding.key] = finding
    return list(best.values())


def _last_hours(period: Period, hours: int, label: str | None = None) -> Period:
    if hours == 1:
        return period
    return Period(period.end - timedelta(hours=hours), period.end, label or f"the last {hours} hours")


def _telling(finding: Finding) -> tuple[bool, float]:
    rarity = finding.verdict.rarity
    return not finding.alarming, 1.0 if rarity is None else rarity


def _judged_over(source: StoredSource, signal: Signal, window: Period, earlier: Sequence[Period],
                 trend: float) -> list[Finding]:
    metric = METRICS[signal.metric]
    findings = []
    for by in (None, *signal.groups):
        now = source.figures(metric, window, by)
        before = [source.figures(metric, w, by) for w in earlier]
        for group, figures in now.items():
            if by is Dimension.TAG and group == NONE:
                continue  # "no tag" is no topic a lead can act on
            past = [f[group] for f in before if group in f]
            name = f"tag:{group}" if by is Dimension.TAG else group
            findings.append(_finding(signal, name, figures, past, window, len(earlier), trend))
    return findings


def _finding(signal: Signal, group: str, figures: dict[str, float | None], past: Sequence[dict[str, float | None]],
             window: Period, windows: int, trend: float) -> Finding:
    value = figures.get(signal.column)
    if signal.is_count:
        earlier_counts = [float(p.get(signal.column) or 0) for p in past] + [0.0] * (windows - len(past))
        verdict = judge_count(int(value or 0), earlier_counts, trend=trend)
        measurements = int(value or 0)
    else:
        measurements = _measurements(signal, figures)
        known = [(float(v), _measurements(signal, p)) for p in past if (v := p.get(signal.column)) is not None]
        if signal.name in SHARE_METRICS:  # the earlier windows' ratings pooled: see judge_share
            verdict = judge_share(value, measurements, known, rated=signal.name == "csat")
        else:
            verdict = judge_level(value, measurements, [level for level, _ in known])
    return Finding(f"{signal.name}:{group}", signal, group, value, measurements, verdict, window, windows)


def _measurements(signal: Signal, figures: dict[str, float | None]) -> int:
    """How many measurements a level rests on (first responses, ratings, tickets with a target)."""
    return int(sum(figures.get(c) or 0 for c in signal.measured_by))


def _agent_driving(source: StoredSource, finding: Finding) -> str | None:
    """The agent whose tickets in an alarming team finding's window pulled the team's level furthest
    the way it went (metrics.anomaly.largest_contribution), by name. Agents have too few tickets
    an hour for a usual of their own, so each is weighed against the team's usual."""
    signal, usual = finding.signal, finding.verdict.usual
    if not (finding.alarming and signal.agent_driven and finding.group == "all") or usual is None:
        return None
    per_agent = source.figures(METRICS[signal.metric], finding.window, Dimension.AGENT)
    parts = {agent: (figures.get(signal.column), _measurements(signal, figures))
             for agent, figures in per_agent.items() if agent != NONE}
    worse = 1.0 if (finding.value or 0) >= usual else -1.0
    agent = largest_contribution(parts, usual, worse)
    return None if agent is None else source.agent_names([agent]).get(agent, agent)


def _with_context(finding: Finding, findings: Sequence[Finding], replies: Sequence[AgentReply], settings: Settings,
                  now: datetime, agent: str | None = None) -> Finding:
    """What an alarming finding needs besides its numbers: what drives it (`agent`: the agent, where
    the channel may see agents), how many agents it needs."""
    if not finding.alarming:
        return finding
    driver = _driver(finding, findings, agent) if finding.group == "all" else None
    staffing, agents_now = None, None
    if finding.signal.name in ("volume", "frt") and not is_tag(finding.group):  # targets are per channel
        arrivals = next((f.value or 0.0 for f in findings if f.key == f"volume:{finding.group}"), 0.0)
        handling = handling_seconds(replies)
        target = _target(settings, finding, findings, now)
        if handling and target:
            staffing = agents_needed(arrivals * 3600 / WINDOW.total_seconds(), handling, target_seconds=target)
        recent = [r for r in replies if r.at >= now - WINDOW]
        agents_now = agents_replying(recent)
    return replace(finding, driver=driver, staffing=staffing, agents_now=agents_now)


def is_tag(group: str) -> bool:
    return group.startswith("tag:")


def group_words(group: str) -> str:
    """A finding's group as a lead reads it: "chat", "tag shipping"."""
    return f"tag {group.removeprefix('tag:')}" if is_tag(group) else group


def _driver(finding: Finding, findings: Sequence[Finding], agent: str | None = None) -> str | None:
    """The channel, and the tag, with the largest share of the change in the direction it went, then
    the agent if one is given: "chat · tag refund · agent Ben" (with a single channel, the tag or the
    agent is what tells the lead something)."""
    direction = 1.0 if (finding.value or 0) >= (finding.verdict.usual or 0) else -1.0
    named = []
    for tags in (False, True):
        parts = {f.group: direction * ((f.value or 0) - (f.verdict.usual or 0)) for f in findings
                 if f.signal is finding.signal and f.group != "all" and is_tag(f.group) == tags
                 and f.value is not None and f.verdict.usual is not None}
        if parts and max(parts.values()) > 0:
            named.append(group_words(max(parts, key=lambda g: (parts[g], g))))
    if agent is not None:
        named.append(f"agent {agent}")
    return " · ".join(named) or None


def _target(settings: Settings, finding: Finding, findings: Sequence[Finding], now: datetime) -> float | None:
    """The first-response target the agents are counted for: the channel's, or for the whole team the
    strictest of the channels that had tickets in the hour."""
    targets = settings.metric_context(now).sla
    channels = [finding.group] if finding.group != "all" else \
        [f.group for f in findings if f.signal.name == "volume" and f.group != "all" and (f.value or 0) > 0]
    found = [t for c in channels if (t := targets.target(c, None)) is not None]
    return min(found) if found else None


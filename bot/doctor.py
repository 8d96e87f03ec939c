"""`deskpulse doctor`: is every helpdesk connected, is Slack set up, is the database current? (docs/doctor.md)

`examine` gathers plain data (settings, storage.health); the checks below are pure functions
of that data, and each finding says in plain words what to fix. Exit code 1 when something
needs fixing, 0 otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.scheduler import ROLLUP_DAYS_PER_RUN
from bot.settings import Settings
from bot.text import duration
from storage import health, rollups
from storage.db import make_engine, make_sessions
from storage.health import Activity
from storage.ingest.adapters import ADAPTERS

FIX, LOOK = "fix", "look"  # something is broken / worth a look
BUILT_BEHIND = 2  # days whose measures may wait for the builder: yesterday, just over, and a late change
HELD_BACK_AFTER = timedelta(minutes=5)  # the processor takes well under a second per batch
QUIET_AFTER = timedelta(hours=72)
SIGNATURE_HELP = "docs/connect-{source}.md"
_BAD_JSON = {"malformed_json", "non_finite_number", "duplicate_key", "too_deep", "number_too_long", "not_utf8",
             "too_large"}
_BUGS = {"adapter_error", "storage_error", "fold_error"}
_NAMES = {"helpscout": "Help Scout", "deskpulse": "the sending script"}


def display(source: str) -> str:
    """How the helpdesk calls itself."""
    return _NAMES.get(source, source.capitalize())


@dataclass(frozen=True)
class Finding:
    level: str  # FIX or LOOK
    subject: str  # a helpdesk, "slack" or "database"
    text: str


@dataclass(frozen=True, kw_only=True)
class Helpdesk:
    source: str
    secret_setting: str
    secrets: int  # how many secrets are configured (comma-separated); 0: none
    activity: Activity


@dataclass(frozen=True, kw_only=True)
class SlackSetup:
    """Which Slack settings are set; tokens only by their first characters (never printed whole)."""

    bot_token_prefix: str | None = None
    signing_secret: bool = False
    app_token_prefix: str | None = None


@dataclass(frozen=True, kw_only=True)
class DatabaseState:
    url: str  # without its password
    problem: str | None = None  # could not be opened or read
    current: str | None = None  # migration revision; None: no deskpulse tables
    head: str | None = None
    zone: str = "UTC"  # DESKPULSE_TIMEZONE: whose days the daily measures are
    days_to_build: int = 0  # finished days whose daily measures are missing, stale or built otherwise

    @property
    def readable(self) -> bool:
        return self.problem is None and self.current is not None


@dataclass(frozen=True, kw_only=True)
class Report:
    now: datetime
    database: DatabaseState
    slack: SlackSetup
    helpdesks: list[Helpdesk]
    unknown: list[Activity] = field(default_factory=list)  # traffic for helpdesks deskpulse does not know


# --- the checks -------------------------------------------------------------------------------


def findings(report: Report) -> list[Finding]:
    found = database_findings(report.database) + slack_findings(report.slack)
    if not any(h.secrets for h in report.helpdesks):
        found.append(Finding(FIX, "helpdesks", "no <HELPDESK>_WEBHOOK_SECRET is set, so every webhook is refused: set "
                                               "the one of your helpdesk (docs/connect-<helpdesk>.md)"))
    for helpdesk in report.helpdesks:
        found += helpdesk_findings(helpdesk, now=report.now)
    found += unknown_findings(report.unknown, known=[h.source for h in report.helpdesks])
    return found


def exit_code(found: list[Finding]) -> int:
    return 1 if any(f.level == FIX for f in found) else 0


def database_findings(db: DatabaseState) -> list[Finding]:
    if db.problem is not None:
        return [Finding(FIX, "database", f"{db.url} cannot be read ({db.problem}): check DATABASE_URL, or create "
                                         "the database with `deskpulse db upgrade`")]
    if db.current is None:
        return [Finding(FIX, "database", f"{db.url} has no deskpulse tables yet: run `deskpulse db upgrade` "
                                         "(`deskpulse serve` does it when it starts)")]
    if db.current != db.head:
        return [Finding(FIX, "database", f"the schema is at revision {db.current} and this deskpulse needs "
                                         f"{db.head}: run `deskpulse db upgrade` (`deskpulse serve` does it when "
                                         "it starts)")]
    if db.days_to_build > BUILT_BEHIND:
        return [Finding(LOOK, "database", f"{_n(db.days_to_build, 'finished day')} of {db.zone} {_have(db)} no "
                                          "up-to-date daily measures for the current time zone and business hours: "
                                          "questions over them read every ticket (same answers, slower). "
                                          f"`deskpulse serve` builds up to {ROLLUP_DAYS_PER_RUN} a minute; if it runs "
                                          "and this number does not fall, look in its log for 'daily measures'")]
    return []


def _have(db: DatabaseState) -> str:
    return "has" if db.days_to_build == 1 else "have"


def slack_findings(slack: SlackSetup) -> list[Finding]:
    bot, secret, app = slack.bot_token_prefix, slack.signing_secret, slack.app_token_prefix
    found = []
    if bot is None and not secret and app is None:
        return [Finding(LOOK, "slack", "Slack is not configured: webhooks are stored, but nothing is posted or "
                                       "answered. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN "
                                       "for Socket Mode)")]
    if bot is None:
        found.append(Finding(FIX, "slack", "SLACK_BOT_TOKEN is not set: deskpulse cannot post without it (Slack "
                                           "app > OAuth & Permissions > Bot User OAuth Token, xoxb-…)"))
    elif not bot.startswith("xoxb-"):
        found.append(Finding(FIX, "slack", f"SLACK_BOT_TOKEN starts with {bot[:5]!r}, not 'xoxb-': it is not a "
                                           "bot token (copy the Bot User OAuth Token from OAuth & Permissions)"))
    elif not secret and app is None:
        found.append(Finding(FIX, "slack", "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP events) "
                                           "nor SLACK_APP_TOKEN (Socket Mode): Slack's requests cannot be "
                                           "verified, so commands and Home are not served"))
    if app is not None and not app.startswith("xapp-"):
        found.append(Finding(FIX, "slack", f"SLACK_APP_TOKEN starts with {app[:5]!r}, not 'xapp-': use the "
                                           "app-level token (Basic Information > App-Level Tokens)"))
    return found


def helpdesk_findings(h: Helpdesk, *, now: datetime) -> list[Finding]:
    a, endpoint = h.activity, f"/webhooks/{h.source}"
    found = _secret_findings(h, endpoint, now=now)
    if a.failed_24h:
        found.append(Finding(FIX, h.source, f"{_n(a.failed_24h, 'delivery')} to {endpoint} failed in the last 24 h "
                                            f"({_codes(a.errors_7d)}): {_failure_help(h.source, a.errors_7d)}; "
                                            "then `deskpulse replay --failed` reads them again"))
    elif a.failed_7d:
        found.append(Finding(LOOK, h.source, f"{_n(a.failed_7d, 'delivery')} to {endpoint} failed in the last 7 "
                                             f"days ({_codes(a.errors_7d)}), none in the last 24 h: "
                                             f"{_failure_help(h.source, a.errors_7d)}; then `deskpulse replay "
                                             "--failed`"))
    if a.pending and a.oldest_pending_at is not None and now - a.oldest_pending_at > HELD_BACK_AFTER:
        found.append(Finding(FIX, h.source, f"{_n(a.pending, 'delivery')} have waited {_age(now, a.oldest_pending_at)} "
                                            "to be processed: the processor (part of `deskpulse serve`) is not "
                                            "running or keeps failing; `deskpulse replay` processes them now"))
    if a.suspect_events_7d:
        found.append(Finding(LOOK, h.source, f"{_n(a.suspect_events_7d, 'event')} of the last 7 days carried a time "
                                             "deskpulse could not trust (unreadable, before 2000 or in the future) and "
                                             f"count at their receipt time: check the times {display(h.source)} sends"))
    return found


def _secret_findings(h: Helpdesk, endpoint: str, *, now: datetime) -> list[Finding]:
    a, setting = h.activity, h.secret_setting
    if not h.secrets:
        refused = a.refused_24h.get("not_configured", 0) or a.refused_7d.get("not_configured", 0)
        window = "24 h" if a.refused_24h.get("not_configured") else "7 days"
        if not refused:
            return []
        return [Finding(FIX, h.source, f"{setting} is not set, so {_n(refused, 'request')} to {endpoint} "
                                       f"{_were(refused)} refused in the last {window}: set it to the secret "
                                       f"{display(h.source)} signs with ({SIGNATURE_HELP.format(source=h.source)})")]
    auth_24h = {r: n for r, n in a.refused_24h.items() if _is_auth(r)}
    clock_24h = sum(n for r, n in a.refused_24h.items() if "timestamp" in r)
    found = []
    if auth_24h:
        found.append(Finding(FIX, h.source, _auth_text(h, endpoint, auth_24h)))
    if clock_24h:
        found.append(Finding(FIX, h.source, f"{_n(clock_24h, 'request')} to {endpoint} {_were(clock_24h)} refused in "
                                            "the last 24 h for a signed time too far from this server's "
                                            "clock (DESKPULSE_WEBHOOK_MAX_AGE_SECONDS): check the server's "
                                            "clock (NTP), or a proxy that holds requests back"))
    older = sum(n for r, n in a.refused_7d.items() if r != "not_configured") - sum(auth_24h.values()) - clock_24h
    if not found and older > 0:
        found.append(Finding(LOOK, h.source, f"{_n(older, 'request')} to {endpoint} {_were(older)} refused in the "
                                             f"last 7 days ({_codes(a.refused_7d)}), none in the last 24 h"))
    if a.last_delivery_at is None and not a.refused_7d:
        found.append(Finding(LOOK, h.source, f"{setting} is set but no request reached {endpoint} in the last "
                                             f"{health.LOOKBACK.days} days: check the URL in {display(h.source)} "
                                             f"(https://<your host>{endpoint}) and that this server is reachable"))
    elif a.last_delivery_at is not None and now - a.last_delivery_at > QUIET_AFTER:
        found.append(Finding(LOOK, h.source, f"no delivery for {_age(now, a.last_delivery_at)}: is the webhook "
                                             f"still active in {display(h.source)}? Helpdesks switch webhooks off "
                                             "after repeated failures"))
    return found


def _is_auth(reason: str) -> bool:
    return reason not in ("not_configured", "unknown_helpdesk") and "timestamp" not in reason


def _auth_text(h: Helpdesk, endpoint: str, refused: dict[str, int]) -> str:
    n = sum(refused.values())
    where = f"{_n(n, 'request')} to {endpoint}"
    if all(r.startswith("missing") for r in refused):
        return (f"{where} arrived without {display(h.source)}'s signature or token header in the last 24 h "
                f"({_codes(refused)}): check the webhook's authentication settings in {display(h.source)} "
                f"({SIGNATURE_HELP.format(source=h.source)})")
    if h.activity.deliveries_24h:
        return (f"{where} failed the signature check in the last 24 h while "
                f"{_n(h.activity.deliveries_24h, 'delivery')} passed: one of your {display(h.source)} webhooks "
                f"signs with another secret; add it to {h.secret_setting}, comma-separated")
    return (f"{h.secret_setting} is set but {where} failed the signature check in the last 24 h "
            f"({_codes(refused)}): the secret in {display(h.source)} and here differ")


def _failure_help(source: str, codes: dict[str, int]) -> str:
    top = max(codes, key=lambda c: codes[c]) if codes else ""
    if top in _BUGS:
        return "a deskpulse bug; the deliveries are kept: report it (`deskpulse deliveries export` has them)"
    if top == "unsupported_media_type":
        return (f"{display(source)} sends a Content-Type other than application/json: change it in the webhook's "
                "settings")
    if top in _BAD_JSON:
        return f"{display(source)} sends bodies that are not valid JSON: check the webhook's body template"
    return (f"the bodies lack what deskpulse needs: compare the webhook's body with "
            f"{SIGNATURE_HELP.format(source=source)}")


def unknown_findings(unknown: list[Activity], *, known: list[str]) -> list[Finding]:
    found = []
    for a in unknown:
        n = sum(a.refused_7d.values())
        if n:
            found.append(Finding(LOOK, a.source, f"{_n(n, 'request')} to /webhooks/{a.source} in the last 7 days: "
                                                 f"deskpulse knows no helpdesk called {a.source!r} (known: "
                                                 f"{', '.join(known)}); check the URL"))
    return found


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{count} {noun if count == 1 else plural}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _codes(codes: dict[str, int]) -> str:
    top = sorted(codes.items(), key=lambda item: (-item[1], item[0]))[:3]
    return ", ".join(f"{code} ×{n}" for code, n in top) or "no code"


def _age(now: datetime, then: datetime) -> str:
    return duration((now - then).total_seconds())


# --- the report ---------------------------------------------------------------------------------


def render(report: Report, found: list[Finding]) -> list[str]:
    lines = [f"deskpulse doctor · {report.now:%Y-%m-%d %H:%M} UTC", "", _database_line(report.database),
             _slack_line(report.slack)]
    width = max(len(h.source) for h in report.helpdesks) if report.helpdesks else 8
    lines += [_helpdesk_line(h, report.now, width, traffic=report.database.readable) for h in report.helpdesks]
    fixes = [f for f in found if f.level == FIX]
    looks = [f for f in found if f.level == LOOK]
    if fixes:
        lines += ["", "To fix:"] + [f"  ✗ {f.subject}: {f.text}" for f in fixes]
    if looks:
        lines += ["", "Worth a look:"] + [f"  • {f.subject}: {f.text}" for f in looks]
    if not found:
        lines += ["", "Nothing to fix."]
    return lines


def _database_line(db: DatabaseState) -> str:
    if db.problem is not None:
        return f"database   {db.url}: cannot be read"
    state = "up to date" if db.current == db.head else f"needs {db.head}"
    behind = f" · {_n(db.days_to_build, 'day')} to build" if db.days_to_build else ""
    return f"database   {db.url}: schema {db.current or 'missing'} ({state}){behind}"


def _slack_line(slack: SlackSetup) -> str:
    if slack.bot_token_prefix and slack.app_token_prefix:
        return "slack      Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)"
    if slack.bot_token_prefix and slack.signing_secret:
        return "slack      HTTP events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)"
    configured = slack.bot_token_prefix or slack.signing_secret or slack.app_token_prefix
    return "slack      incomplete" if configured else "slack      not configured"


def _helpdesk_line(h: Helpdesk, now: datetime, width: int, *, traffic: bool) -> str:
    a = h.activity
    parts = [f"secret set ({h.secrets})" if h.secrets > 1 else "secret set" if h.secrets else "no secret"]
    if not traffic:
        return f"{h.source:<{max(width, 9)}}  " + " · ".join([*parts, "deliveries unknown (database)"])
    parts.append(f"last delivery {_age(now, a.last_delivery_at)} ago" if a.last_delivery_at else
                 f"no delivery in {health.LOOKBACK.days} days")
    if a.deliveries_7d or a.failed_7d:
        parts.append(f"24 h: {a.deliveries_24h} in, {a.failed_24h} failed")
        parts.append(f"7 d: {a.deliveries_7d} in, {a.failed_7d} failed"
                     + (f" ({_codes(a.errors_7d)})" if a.errors_7d else ""))
    refused_24h, refused_7d = sum(a.refused_24h.values()), sum(a.refused_7d.values())
    if refused_7d:
        parts.append(f"refused 24 h/7 d: {refused_24h}/{refused_7d} ({_codes(a.refused_7d)})")
    if a.pending:
        parts.append(f"held back {a.pending}")
    if a.suspect_events_7d:
        parts.append(f"suspect times 7 d: {a.suspect_events_7d}")
    return f"{h.source:<{max(width, 9)}}  " + " · ".join(parts)


def as_json(report: Report, found: list[Finding]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {"report": plain(dataclasses.asdict(report)), "findings": [dataclasses.asdict(f) for f in found],
            "exit_code": exit_code(found)}


# --- gathering the data --------------------------------------------------------------------------


def examine(settings: Settings, *, now: datetime) -> Report:
    """Read the settings and the database (without migrating it) into a Report."""
    database, activity = _database(settings, now=now)
    secrets = settings.webhook_secret_values()
    helpdesks = [Helpdesk(source=source, secret_setting=adapter.secret_setting,
                          secrets=len([s for s in secrets.get(source, "").split(",") if s.strip()]),
                          activity=activity.pop(source, Activity(source=source)))
                 for source, adapter in sorted(ADAPTERS.items())]
    return Report(now=now, database=database, slack=_slack(settings), helpdesks=helpdesks,
                  unknown=sorted(activity.values(), key=lambda a: a.source))


def _slack(settings: Settings) -> SlackSetup:
    def prefix(value: Any) -> str | None:
        text = value.get_secret_value().strip() if value is not None else ""
        return text[:5] if text else None

    return SlackSetup(bot_token_prefix=prefix(settings.slack_bot_token),
                      signing_secret=prefix(settings.slack_signing_secret) is not None,
                      app_token_prefix=prefix(settings.slack_app_token))


def _database(settings: Settings, *, now: datetime) -> tuple[DatabaseState, dict[str, Activity]]:
    url = settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not Path(parsed.database).exists():
        return DatabaseState(url=shown, problem="the file does not exist yet"), {}
    try:
        schema = health.schema(url)
    except Exception as exc:  # any driver error means the same to the reader: it cannot be opened
        return DatabaseState(url=shown, problem=_short(exc)), {}
    state = DatabaseState(url=shown, current=schema.current, head=schema.head, zone=settings.timezone)
    if schema.current is None:
        return state, {}
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as session:
            if schema.current == schema.head:  # an older schema lacks what the builder reads
                state = dataclasses.replace(state, days_to_build=len(rollups.days_to_build(
                    session, now=now, zone=settings.zone, calendar=settings.calendar())))
            return state, health.webhook_activity(session, now=now)
    except SQLAlchemyError as exc:
        return dataclasses.replace(state, problem=_short(exc)), {}
    finally:
        engine.dispose()


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__

"""The `deskpulse` command line."""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.runtime import Database, build_service, open_database, share_one_heap, utc_now
from bot.settings import Settings, explain
from bot.ticket_view import ticket_dict, ticket_lines
from storage import deliveries, tickets
from storage.db import unit_of_work
from storage.ingest.backfill.exports import FORMATS as EXPORT_FORMATS
from storage.ingest.pipeline import (
    ProcessReport,
    Request,
    process_all,
    receive,
    receive_trusted,
    split_endpoint,
    store,
)


def load_settings() -> Settings:
    """Settings, or one line per wrong value and exit code 2 (no traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        for line in explain(exc):
            click.echo(f"deskpulse: {line}", err=True)
        sys.exit(2)


@contextmanager
def database() -> Iterator[Database]:
    db = open_database(load_settings())
    try:
        yield db
    finally:
        db.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
def cli(verbose: bool) -> None:
    """deskpulse: your support team's numbers, in Slack."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@cli.command()
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32),
              help="HTTP server processes (one processor runs beside them).")
def serve(workers: int) -> None:
    """Run the HTTP server: helpdesk webhooks, /healthz (migrates the database first)."""
    import uvicorn

    settings = load_settings()
    service = build_service(settings)
    # No access log, Server or Date headers, nor client addresses rewritten from proxy headers
    # (deskpulse never uses a client's address): per-request work that helpdesks do not need.
    options = {"host": settings.host, "port": settings.port, "access_log": False, "log_level": "info",
               "server_header": False, "date_header": False, "proxy_headers": False}
    try:
        if workers == 1:
            uvicorn.run(service.app, **options)  # type: ignore[arg-type]
        else:
            uvicorn.run("bot.runtime:create_worker_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]
    finally:
        service.stop()


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (serve does this too)."""
    settings = load_settings()
    open_database(settings).close()
    click.echo(f"database is up to date ({_safe_url(settings.database_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _print_report(report: ProcessReport) -> None:
    click.echo(f"processed {report.processed} · ignored {report.ignored} · duplicates {report.duplicates}"
               f" · failed {report.failed} · {report.events} events")


@cli.command()
@click.option("--failed", is_flag=True, help="Also retry deliveries that failed before.")
def replay(failed: bool) -> None:
    """Process stored deliveries that are waiting (and, with --failed, those that failed)."""
    with database() as db:
        if failed:
            with unit_of_work(db.sessions) as session:
                click.echo(f"{deliveries.requeue_failed(session)} failed deliveries queued again")
        _print_report(process_all(db.sessions, now=utc_now()))
        with db.sessions() as session:
            still = deliveries.count_by_fate(session).get(deliveries.FAILED, 0)
        if still:
            click.echo(f"{still} deliveries still fail; see the raw_deliveries.error column", err=True)


@cli.group("deliveries")
def deliveries_group() -> None:
    """Raw deliveries as JSON lines (backups, migrations, re-processing)."""


@deliveries_group.command("export")
@click.argument("file", type=click.File("w"))
def deliveries_export(file: IO[str]) -> None:
    """Write every stored delivery to FILE (- for standard output)."""
    count = 0
    with database() as db, db.sessions() as session:
        for row in deliveries.all_in_order(session):
            file.write(json.dumps({"source": row.source, "endpoint": row.endpoint,
                                   "received_at": row.received_at.isoformat(), "headers": row.headers,
                                   "body_base64": base64.b64encode(row.body).decode()}) + "\n")
            count += 1
    click.echo(f"exported {count} deliveries", err=True)


@deliveries_group.command("import")
@click.argument("file", type=click.File("r"))
@click.option("--trusted", is_flag=True, help="Take every delivery in FILE without checking its signature: for "
              "archives you made yourself of helpdesks whose credentials deskpulse never keeps (Freshdesk's Basic "
              "auth, Gorgias' token).")
def deliveries_import(file: IO[str], trusted: bool) -> None:
    """Authenticate and process deliveries from FILE as if they arrived at their received_at.

    Deliveries this machine's operator made (`deskpulse import`, `deskpulse backfill`) carry no
    signature and are taken as they are."""
    settings = load_settings()
    secrets = settings.webhook_secret_values()
    lines = file.readlines()
    refused = 0
    if trusted:
        click.echo("--trusted: signatures are not checked; import only archives you made yourself", err=True)
    with database() as db:
        with click.progressbar(lines, label="importing deliveries", file=sys.stderr) as bar:
            for number, line in enumerate(bar, 1):
                if not line.strip():
                    continue
                request = _archived_request(line, number)
                if trusted or request.endpoint.startswith("cli:"):
                    try:
                        answer = receive_trusted(request)
                    except ValueError as exc:  # no such helpdesk
                        refused += 1
                        click.echo(f"\nline {number}: refused: {exc}", err=True)
                        continue
                else:
                    answer = receive(request, secrets=secrets, max_age=settings.webhook_max_age_seconds)
                if answer.delivery is None:
                    refused += 1
                    click.echo(f"\nline {number}: refused: {answer.body.get('detail')}", err=True)
                    continue
                with unit_of_work(db.sessions) as session:
                    store(session, answer)
        _print_report(process_all(db.sessions, now=utc_now()))
    if refused:
        click.echo(f"{refused} deliveries were refused (not authentic or not for a known helpdesk)", err=True)


def _archived_request(line: str, number: int) -> Request:
    try:
        item = json.loads(line)
        if str(item["endpoint"]).startswith("cli:"):  # made on the command line: no URL names the helpdesk
            source, hint = str(item["source"]), None
        else:
            source, hint = split_endpoint(item["endpoint"])
        received_at = datetime.fromisoformat(item["received_at"])
        headers = {str(k).lower(): str(v) for k, v in item.get("headers", {}).items()}
        body = base64.b64decode(item["body_base64"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise click.ClickException(f"line {number} is not an exported delivery: {exc}") from None
    if received_at.tzinfo is None:
        raise click.ClickException(f"line {number}: received_at needs a UTC offset")
    return Request(source=source, endpoint=item["endpoint"], hint=hint, headers=headers, body=body,
                   received_at=received_at)


@cli.command("import")
@click.argument("file", type=click.File("r"))
@click.option("--batch", default=500, show_default=True, help="Events per stored delivery.")
def import_events(file: IO[str], batch: int) -> None:
    """Backfill history from FILE: deskpulse-format events, one JSON object per line."""
    lines = [line for line in file.readlines() if line.strip()]
    with database() as db:
        with click.progressbar(length=len(lines), label="importing events", file=sys.stderr) as bar:
            for start in range(0, len(lines), batch):
                chunk = lines[start:start + batch]
                _store_import_chunk(db, chunk, first_line=start + 1)
                bar.update(len(chunk))
        _print_report(process_all(db.sessions, now=utc_now()))


def _store_import_chunk(db: Database, lines: list[str], *, first_line: int) -> None:
    events: list[Any] = []
    for offset, line in enumerate(lines):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"line {first_line + offset} is not JSON: {exc.msg}") from None
    body = json.dumps({"version": 1, "events": events}).encode()
    request = Request(source="deskpulse", endpoint="cli:import", hint=None,
                      headers={"content-type": "application/json"}, body=body, received_at=utc_now())
    answer = receive_trusted(request)
    with unit_of_work(db.sessions) as session:
        store(session, answer)
    if answer.status >= 400:
        detail = answer.body.get("detail")
        raise click.ClickException(f"lines {first_line}-{first_line + len(lines) - 1}: {detail} (kept; fix and "
                                   "run deskpulse replay --failed)")


@cli.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def ticket(key: str, as_json: bool) -> None:
    """Show one ticket: KEY is <helpdesk>:<ticket id>, e.g. zendesk:48213."""
    settings = load_settings()
    with database() as db, db.sessions() as session:
        found = tickets.get(session, key)
        if found is None:
            raise click.ClickException(f"no ticket {key!r} (keys look like zendesk:48213)")
        timeline = tickets.events_of(session, key)
    if as_json:
        click.echo(json.dumps(ticket_dict(found, timeline), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(ticket_lines(found, timeline, tz=settings.zone)))


@cli.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--at", "at", default=None, help="Answer as if it were this moment (ISO 8601), e.g. 2026-11-23T09:00.")
def ask(question: tuple[str, ...], as_json: bool, at: str | None) -> None:
    """Answer a question in the words of the Slack commands, e.g. deskpulse ask csat last week by agent."""
    from bot.ask import ask as answer_question
    from bot.grammar import QueryError, help_text
    from bot.render.terminal import answer_json, answer_lines, customer_lines
    from metrics.catalog import Answer

    settings = load_settings()
    text = " ".join(question)
    if text.strip().lower() in ("help", "?"):
        click.echo(help_text("deskpulse ask").replace("*", "").replace("`", ""))
        return
    now = _moment(at, settings) if at else utc_now()
    with database() as db:
        try:
            result = answer_question(db.sessions, settings, text, now=now)
        except QueryError as exc:
            raise click.UsageError(f"{exc} (deskpulse ask help lists every word)") from None
    if isinstance(result, Answer):
        click.echo(json.dumps(answer_json(result), indent=2, ensure_ascii=False, default=str) if as_json
                   else "\n".join(answer_lines(result)))
    elif as_json:
        click.echo(json.dumps({"customer": result.customer, "name": result.name, "open": result.open,
                               "tickets": [t.key for t in result.tickets], "agents": result.agents,
                               "csat": result.csat, "ratings": result.ratings,
                               "first_contact": result.first_contact, "last_contact": result.last_contact},
                              indent=2, default=str))
    else:
        click.echo("\n".join(customer_lines(result, settings.zone)))


@cli.command()
@click.option("--dry-run", is_flag=True, required=True,
              help="Print the digest here (deskpulse serve posts the digests set in Slack or DESKPULSE_DIGESTS).")
@click.option("--date", "day", default=None, help="The day it reports (YYYY-MM-DD); default yesterday.")
@click.option("--weekly", is_flag=True, help="The weekly digest of the week holding --date (default last week).")
@click.option("--filters", default="", help="Only these tickets, e.g. 'channel:chat tag:shipping'.")
@click.option("--details", is_flag=True, help="Also print the answers the digest's thread holds.")
def digest(dry_run: bool, day: str | None, weekly: bool, filters: str, details: bool) -> None:
    """Print the digest a channel would get, e.g. deskpulse digest --dry-run --date 2026-11-22."""
    from bot.digest.compose import compose
    from bot.digest.schedule import covered
    from bot.grammar import QueryError, parse_filters
    from bot.render.terminal import digest_lines
    from storage.subscriptions import DigestPlan

    settings = load_settings()
    now = utc_now()
    cadence = "weekly" if weekly else "daily"
    try:
        reported = date.fromisoformat(day) if day else \
            now.astimezone(settings.zone).date() - timedelta(days=7 if weekly else 1)
        parse_filters(filters)
    except ValueError as exc:
        raise click.BadParameter(f"{day!r} is not a date such as 2026-11-22") from exc
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None
    plan = DigestPlan(channel_id="", cadence=cadence, at_time="00:00", timezone=settings.timezone, filters=filters)
    period, _ = covered(plan, reported + timedelta(days=7 if weekly else 1), week_start=settings.first_weekday)
    with database() as db:
        result = compose(db.sessions, settings, cadence=cadence, period=period, filters=filters,
                         now=max(now, period.end), with_agents=True)
    click.echo("\n".join(digest_lines(result, details=details)))


def _moment(text: str, settings: Settings) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 moment such as 2026-11-23T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


@cli.command()
@click.option("--days", default=90, show_default=True, help="Days of history to generate.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same team).")
def demo(days: int, seed: int) -> None:
    """Fill the database with a demo team's history and print what deskpulse sees."""
    from bot.demo import DEMO_TIMEZONE
    from bot.demo_run import run_demo

    settings = load_settings()
    if "timezone" not in settings.model_fields_set:  # show the made-up team's days in its own zone
        settings = settings.model_copy(update={"timezone": DEMO_TIMEZONE})
        click.echo(f"Times in {DEMO_TIMEZONE}, the demo team's time zone (DESKPULSE_TIMEZONE changes it).")
    run_demo(settings, days=days, seed=seed)


@cli.group()
def backfill() -> None:
    """History from before the webhooks: the Zendesk API, or a helpdesk's CSV export (docs/backfill.md).

    deskpulse's own JSON lines: `deskpulse import FILE`.
    """


@backfill.command("zendesk")
@click.option("--subdomain", default=None, help="acme for acme.zendesk.com. Default: ZENDESK_SUBDOMAIN.")
@click.option("--email", default=None, help="An admin's email address. Default: ZENDESK_EMAIL.")
@click.option("--token", default=None,
              help="A Zendesk API token (Admin Center > Apps and integrations > APIs). Default: ZENDESK_API_TOKEN "
                   "(better: a command line ends up in the shell's history).")
@click.option("--since", default=None,
              help="YYYY-MM-DD: tickets created since this day, for a first run or with --restart. Default: 90 days "
                   "ago.")
@click.option("--restart", is_flag=True, help="Start again at --since instead of where the last run stopped.")
@click.option("--api-url", default=None, help="Zendesk's address if not https://<subdomain>.zendesk.com (a proxy).")
def backfill_zendesk(subdomain: str | None, email: str | None, token: str | None, since: str | None, restart: bool,
                     api_url: str | None) -> None:
    """Import tickets, their timelines and ratings from Zendesk's incremental exports; run it again to continue."""
    from bot.backfill import ZendeskApi, default_since, zendesk_url
    from bot.backfill import backfill_zendesk as run

    given = {"subdomain": subdomain, "email": email, "token": token}
    account = {**load_settings().zendesk_api(), **{k: v for k, v in given.items() if v}}
    _require_zendesk(account, needed=("email", "token") if api_url else ("subdomain", "email", "token"))
    now = utc_now()
    start = default_since(now)
    if since:
        try:
            start = datetime.fromisoformat(since).replace(tzinfo=load_settings().zone)
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a day such as 2026-08-01", param_hint="--since") from None
    api = ZendeskApi(base_url=api_url or zendesk_url(account["subdomain"]), email=account["email"],
                     token=account["token"])
    with database() as db:
        waiting = process_all(db.sessions, now=now)  # webhook deliveries first, so that their messages are known
        if waiting.total:
            click.echo("webhook deliveries that were waiting:", err=True)
            _print_report(waiting)
        try:
            report = run(db.sessions, api, since=start, now=now, restart=restart)
        finally:
            api.close()
    click.echo("\n".join(report.lines()))


_ZENDESK_MISSING = {
    "subdomain": "ZENDESK_SUBDOMAIN is not set: give the account's subdomain (acme for acme.zendesk.com) in .env or "
                 "the environment, or pass --subdomain.",
    "email": "ZENDESK_EMAIL is not set: give an admin's email address in .env or the environment, or pass --email.",
    "token": "ZENDESK_API_TOKEN is not set: give an API token (Admin Center > Apps and integrations > APIs > Zendesk "
             "API) in .env or the environment, or pass --token.",
}


def _require_zendesk(account: dict[str, str], *, needed: tuple[str, ...]) -> None:
    """One line per missing value, naming its variable, and exit code 2, as for a wrong setting."""
    missing = [name for name in needed if not account.get(name)]
    for name in missing:
        click.echo(f"deskpulse: {_ZENDESK_MISSING[name]}", err=True)
    if missing:
        sys.exit(2)


@backfill.command("csv")
@click.argument("helpdesk", type=click.Choice(sorted(EXPORT_FORMATS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--timezone", "timezone_name", default=None,
              help="Time zone of times without a UTC offset (Zendesk writes the account's). Default: "
                   "DESKPULSE_TIMEZONE.")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Read FIELD from COLUMN, e.g. --map first_reply_minutes='FRT (min)' (docs/backfill.md lists "
                   "the fields).")
@click.option("--delimiter", default=",", show_default=True, help="The character between columns.")
def backfill_csv(helpdesk: str, file: str, timezone_name: str | None, mapping: tuple[str, ...],
                 delimiter: str) -> None:
    """Import a helpdesk's CSV export of tickets (one row per ticket; no message timeline)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bot.backfill import import_csv, parse_mapping

    settings = load_settings()
    try:
        zone = ZoneInfo(timezone_name) if timezone_name else settings.zone
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{timezone_name!r} is not a time zone such as Europe/Berlin",
                                 param_hint="--timezone") from None
    with open(file, encoding="utf-8-sig", newline="") as handle, database() as db:
        report = import_csv(db.sessions, EXPORT_FORMATS[helpdesk], handle, name=Path(file).name, tz=zone,
                            overrides=parse_mapping(mapping), delimiter=delimiter)
    click.echo("\n".join(report.lines()))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check settings, database and each helpdesk's recent deliveries; exit code 1 when something needs fixing."""
    from bot.doctor import as_json as report_json
    from bot.doctor import examine, exit_code, findings, render

    report = examine(load_settings(), now=utc_now())
    found = findings(report)
    if as_json:
        click.echo(json.dumps(report_json(report, found), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(render(report, found)))
    ctx.exit(exit_code(found))


def main() -> None:
    share_one_heap()
    try:
        cli(prog_name="deskpulse")
    except OperationalError as exc:  # e.g. serve or db upgrade cannot open the database at all
        click.echo(f"deskpulse: {database_unreachable(exc)}", err=True)
        sys.exit(1)


def database_unreachable(exc: OperationalError) -> str:
    """One line an admin can act on, naming the database (never its password) and the driver's reason."""
    reason = (str(exc.orig).strip() or type(exc.orig).__name__).splitlines()[0]
    try:
        url = make_url(Settings().database_url)
    except Exception:  # the settings were read once already; this message must not fail too
        return f"cannot use the database: {reason}"
    hint = ("is its folder there, and writable by this user?" if url.get_backend_name() == "sqlite"
            else "is the server running, and are DATABASE_URL's host, port and credentials right?")
    return f"cannot use the database {url.render_as_string(hide_password=True)}: {reason}; {hint}"

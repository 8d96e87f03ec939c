"""Webhook ingestion benchmark: signed deliveries over HTTP against `deskpulse serve`, per helpdesk.

    python bench/ingest.py --db sqlite --seconds 60 --concurrency 32                # deskpulse's format
    python bench/ingest.py --helpdesk zendesk --db postgres --seconds 20
    python bench/ingest.py --helpdesk all --seconds 20 --concurrency 32 --breakdown   # every adapter in turn

`--helpdesk` takes any adapter in storage.ingest.adapters.ADAPTERS, or `all`. For each helpdesk
the bench starts its own server on a fresh database (SQLite in a temporary folder, or a new
PostgreSQL database next to --postgres-url, dropped afterwards unless --keep-database), with
every adapter's <HELPDESK>_WEBHOOK_SECRET set. Before the clock starts it builds and signs the
requests: realistic, unique bodies from bench/ingest_payloads.py (a ticket opened, a customer
message, an agent reply, solved, on many tickets; Shopify: new orders), each signed by the
adapter's own `signed_headers`, sent to /webhooks/<helpdesk>[/<hint>]. It then sends them over
`--concurrency` keep-alive connections for `--seconds`, checks that every acknowledged delivery
is in the database, and waits for the server's processor to turn them into events.

The table at the end, one row per helpdesk:
    deliv/s      acknowledged deliveries per second of sending
    p50, p99     latency of a request, sent to answered (ms)
    errors       answers other than 202/200 with a delivery id (a refused signature, a 503, ...)
    stored       acknowledged deliveries found in the database, of those acknowledged
    catch-up     seconds after the load ended until no delivery was pending
    ev/deliv     events per processed delivery (the adapter's facts: snapshots, messages, orders)
    processed    share of the deliveries processed; the rest are listed by fate and error_code
                 above the table, and any is a bench bug (a payload the adapter does not read)
    target       issue 2's target: >= 1,000 deliveries/s, p99 < 100 ms, no errors, every
                 acknowledged delivery stored, processing caught up; otherwise what missed
The target is stated for 60 s runs; a shorter run is a smoke test of it. On a shared virtual
machine identical runs minutes apart can differ by a quarter: compare helpdesks within one run.

A second table says where the CPU went while the load ran (Linux): cores busy and CPU µs per
acknowledged delivery of the server process (HTTP, authenticating and reading each body, the
group commit), of the processes it started (the processor: reading each body again, folding
tickets, writing events; with --workers > 1 the HTTP workers too), of PostgreSQL's backends for
the bench's database, of this process (the load generator), and the cores busy in every other
process on the machine. The load generator, the server and its processor share the machine: on
2 cores they compete, and a figure taken while other work ran is no figure of deskpulse's (the
"other" column says so; --wait-quiet SECONDS waits, before each helpdesk, until the machine has
been idle for 5 s).

--breakdown also prints the CPU cost per delivery of the hot path's pure part, measured in this
process on a sample of the prepared requests before any server starts: the adapter's verify
(signature), the strict JSON parse, to_events and delivery_key, and receive() as a whole (all of
them, plus building the delivery); the rest of the server's µs per delivery is HTTP and storage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_payloads import BUILDERS  # noqa: E402
from storage.ingest.adapters import ADAPTERS  # noqa: E402
from storage.ingest.adapters.contract import Delivery  # noqa: E402
from storage.ingest.pipeline import Request, receive  # noqa: E402
from storage.ingest.strict_json import parse_json  # noqa: E402
from storage.tables import RawDelivery  # noqa: E402

SECRET = "bench-secret"
TARGET_RATE, TARGET_P99 = 1000, 0.100
DRAIN_LIMIT = 600  # seconds to wait for processing to catch up
MOST_PER_SECOND = 4000  # requests prepared per second of load: a run that sends them all ends early

HttpRequest = tuple[str, bytes, dict[str, str]]  # path, body, headers


@dataclass
class Result:
    helpdesk: str
    db: str
    workers: int = 1
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    acked: int = 0
    ids: list[int] = field(default_factory=list)  # the acknowledged deliveries' ids
    errors: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    stored: int = 0
    drained: float | None = None  # None: still pending after DRAIN_LIMIT
    fates: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    events: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds during the load, per process kind
    costs: dict[str, float] = field(default_factory=dict)  # --breakdown: µs per delivery of the pure hot path

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    @property
    def processed(self) -> int:
        return sum(n for (fate, _), n in self.fates.items() if fate == "processed")

    @property
    def unprocessed(self) -> int:
        return sum(self.fates.values()) - self.processed

    def misses(self) -> list[str]:
        missed = []
        if self.rate < TARGET_RATE:
            missed.append("rate")
        if not self.latencies or percentile(self.latencies, .99) >= TARGET_P99:
            missed.append("p99")
        if self.errors:
            missed.append("errors")
        if self.stored < self.acked:
            missed.append("stored")
        if self.drained is None:
            missed.append("catch-up")
        return missed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(kind: str, postgres_url: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='deskpulse-bench-')}/bench.db"
    name = f"deskpulse_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, postgres_url: str) -> None:
    if url.startswith("sqlite:///"):
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
        return
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def prepare(helpdesk: str, count: int) -> list[HttpRequest]:
    """Build and sign every request before the clock starts, so the load generator's own CPU, which
    shares this machine with the server, goes to sending rather than to JSON and HMAC."""
    adapter, build = ADAPTERS[helpdesk], BUILDERS[helpdesk]
    requests = []
    for n in range(count):
        now = datetime.now(UTC)
        payload = build(n, now)
        body = json.dumps(payload.body, separators=(",", ":")).encode()
        headers = {**adapter.signed_headers(SECRET, body, now), **payload.headers}
        path = f"/webhooks/{helpdesk}" + (f"/{payload.hint}" if payload.hint else "")
        requests.append((path, body, headers))
    return requests


async def drive(base: str, requests: list[HttpRequest], *, seconds: float, concurrency: int,
                result: Result) -> None:
    """`concurrency` keep-alive connections, each sending its next request once answered.

    A bare HTTP/1.1 client over asyncio streams: the load generator shares the two cores
    with the server, and a full client library costs several times the CPU per request."""
    host, port = base.removeprefix("http://").split(":")
    queue = iter(requests)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for path, body, headers in queue:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                writer.write(_request_bytes(host, path, body, headers))
                status, answer = await _read_response(reader)
                result.latencies.append(time.perf_counter() - started)
                result.answers[f"{status} {answer.get('status') or answer.get('error')}"] += 1
                if status in (200, 202) and "delivery_id" in answer:
                    result.acked += 1
                    result.ids.append(int(answer["delivery_id"]))
                else:
                    result.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length = next(int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:"))
    return status, json.loads(await reader.readexactly(length))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(share * len(ordered) + 0.999999) - 1)]


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import urllib.request

    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"the server exited; its output:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not become healthy; its output:\n{_tail(log)}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (the processor, and multiprocessing's helpers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return found + [grandchild for child in found for grandchild in _children(child)]


def _cpu_snapshot(server: int, database_pids: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far, per process: the server, the processes it started (the processor), the
    PostgreSQL backends serving the bench's database, this process (the load), and the machine."""
    if not Path("/proc/self/stat").exists():
        return {}
    busy, _ = _machine_busy()  # as pid 0 of the kind "machine"
    kinds = {"server": [server], "processor": _children(server), "database": database_pids, "load": [os.getpid()]}
    return {**{kind: {pid: _cpu_seconds(pid) for pid in pids} for kind, pids in kinds.items()}, "machine": {0: busy}}


def _cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds between two snapshots per kind; `other` is every other process on the machine
    (a process that started in between counts from its start)."""
    if not before or not after:
        return {}
    used = {kind: sum(cpu - before.get(kind, {}).get(pid, 0.0) for pid, cpu in pids.items())
            for kind, pids in after.items()}
    machine = used.pop("machine")
    return {**used, "other": max(0.0, machine - sum(used.values()))}


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    jiffies = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(jiffies[:3]) + sum(jiffies[5:8])) / tick, sum(jiffies) / tick


def wait_for_quiet(limit: float, *, calm: float = 5.0, threshold: float = 0.25) -> None:
    """Wait (at most `limit` s) until the machine has been idle for `calm` s: other work on a shared
    machine (a test suite, say) would take the cores the bench measures."""
    if limit <= 0 or not Path("/proc/stat").exists():
        return
    started, quiet_since = time.monotonic(), time.monotonic()
    cores = threshold
    while time.monotonic() - started < limit:
        busy, total = _machine_busy()
        time.sleep(1)
        busy2, total2 = _machine_busy()
        cores = (busy2 - busy) / max(total2 - total, 1e-9) * (os.cpu_count() or 1)
        if cores >= threshold:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= calm:
            return
    print(f"the machine is still busy ({cores:.2f} cores) after {limit:g} s: measuring anyway", flush=True)


def _database_pids(url: str, postgres_url: str) -> list[int]:
    """The PostgreSQL backends connected to the bench's database (their CPU is deskpulse's storage)."""
    if not url.startswith("postgresql"):
        return []
    admin = create_engine(postgres_url)
    try:
        with admin.connect() as c:
            return list(c.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                                  {"name": url.rsplit("/", 1)[1]}))
    finally:
        admin.dispose()


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def run(helpdesk: str, args: argparse.Namespace) -> Result:
    """One helpdesk on a fresh database and a fresh server."""
    wait_for_quiet(args.wait_quiet)
    result = Result(helpdesk=helpdesk, db=args.db, workers=args.workers)
    if args.breakdown:
        result.costs = breakdown(helpdesk)
    count = int(args.seconds * MOST_PER_SECOND)
    print(f"--- {helpdesk} on {args.db}: preparing {count} signed requests", flush=True)
    requests = prepare(helpdesk, count)
    url = fresh_database(args.db, args.postgres_url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "DESKPULSE_HOST": "127.0.0.1", "DESKPULSE_PORT": str(port),
           **{adapter.secret_setting: SECRET for adapter in ADAPTERS.values()}}
    if args.seconds > 120:  # requests are signed before the clock starts: keep the last ones in the replay window
        env["DESKPULSE_WEBHOOK_MAX_AGE_SECONDS"] = str(int(args.seconds) + 300)
    command = [sys.executable, "-m", "bot", "serve", "--workers", str(args.workers)]
    workdir = Path(tempfile.mkdtemp(prefix="deskpulse-bench-serve-"))
    log = workdir / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server, log)
        cpu_before = _cpu_snapshot(server.pid, _database_pids(url, args.postgres_url))
        started = time.perf_counter()
        uvloop.run(drive(base, requests, seconds=args.seconds, concurrency=args.concurrency, result=result))
        result.seconds = time.perf_counter() - started
        result.cpu = _cpu_used(cpu_before, _cpu_snapshot(server.pid, _database_pids(url, args.postgres_url)))
        del requests
        _check_database(url, result)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if not args.keep_database:
            drop_database(url, args.postgres_url)
    _print_run(result, args, log)
    if not args.keep_database:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _check_database(url: str, result: Result) -> None:
    """Every acknowledged delivery stored? Then wait until processing has caught up."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            stored = set(c.scalars(select(RawDelivery.id)))
            result.stored = sum(1 for i in result.ids if i in stored)
            drain_started = time.perf_counter()
            while c.scalar(select(func.count()).where(RawDelivery.fate == "pending")):
                if time.perf_counter() - drain_started > DRAIN_LIMIT:
                    break
                time.sleep(0.2)
                c.rollback()
            else:
                result.drained = time.perf_counter() - drain_started
            rows = c.execute(select(RawDelivery.fate, RawDelivery.error_code, func.count(),
                                    func.coalesce(func.sum(RawDelivery.events_count), 0))
                             .group_by(RawDelivery.fate, RawDelivery.error_code)).all()
        for fate, code, count, events in rows:
            result.fates[(fate, code)] = int(count)
            if fate == "processed":
                result.events += int(events)
    finally:
        engine.dispose()


def _print_run(r: Result, args: argparse.Namespace, log: Path) -> None:
    ms = 1000
    lat = r.latencies or [0.0]
    print(f"database        {args.db} ({r.helpdesk} deliveries, concurrency {args.concurrency},"
          f" {args.workers} server process{'es' if args.workers > 1 else ''})")
    print(f"acknowledged    {r.acked} in {r.seconds:.1f} s = {r.rate:.0f} deliveries/s ({r.errors} errors)")
    print(f"answers         {dict(r.answers.most_common())}")
    print(f"latency         p50 {percentile(lat, .5) * ms:.1f} ms · p99 {percentile(lat, .99) * ms:.1f} ms"
          f" · max {max(lat) * ms:.1f} ms")
    print(f"in the database {r.stored} of {r.acked} acknowledged deliveries ({r.acked - r.stored} missing)")
    if r.cpu and r.seconds:
        print("cpu during load " + " · ".join(f"{name} {used / r.seconds:.2f} cores"
                                                 f" ({used / max(r.acked, 1) * 1e6:.0f} µs/delivery)"
                                                 for name, used in r.cpu.items()
                                                 if name != "other" and (used or name != "database"))
              + f" · other processes {r.cpu['other'] / r.seconds:.2f} cores · {os.cpu_count()} cores")
    caught = f"caught up {r.drained:.1f} s after the load ended" if r.drained is not None else \
        f"NOT caught up {DRAIN_LIMIT} s after the load ended"
    fates = ", ".join(f"{fate}{f' ({code})' if code else ''} {n}" for (fate, code), n in sorted(
        r.fates.items(), key=lambda item: -item[1]))
    print(f"processing      {caught}; {fates}; {r.events / max(r.processed, 1):.2f} events per processed delivery")
    if r.unprocessed:
        print(f"WARNING         {r.unprocessed} deliveries not processed: a payload the adapter does not read is a"
              f" bench bug (server log: {log}, kept with --keep-database)")
    if r.errors:
        print(f"server log      {_tail(log, 10)}")
    print(flush=True)


def breakdown(helpdesk: str, sample: int = 1000) -> dict[str, float]:
    """CPU microseconds per delivery of the pure hot path, in this process (no server, no database)."""
    adapter = ADAPTERS[helpdesk]
    requests = prepare(helpdesk, sample)
    now = datetime.now(UTC)
    lowered = [(path, body, {k.lower(): v for k, v in headers.items()}) for path, body, headers in requests]
    hints = [path.split("/")[3] if path.count("/") == 3 else None for path, _, _ in lowered]
    costs: dict[str, float] = {}

    def timed(name: str, step: Callable[[int, bytes, dict[str, str]], object]) -> None:
        """The best of three passes over the sample, with the garbage collector off (as timeit does)."""
        passes = []
        gc.disable()
        try:
            for _ in range(3):
                started = time.perf_counter()
                for i, (_, body, headers) in enumerate(lowered):
                    step(i, body, headers)
                passes.append(time.perf_counter() - started)
        finally:
            gc.enable()
        costs[name] = min(passes) / len(lowered) * 1e6

    payloads = [parse_json(body) for _, body, _ in lowered]
    deliveries = [Delivery(headers=h, body=b, payload=p, hint=hints[i], received_at=now)
                  for i, ((_, b, h), p) in enumerate(zip(lowered, payloads, strict=True))]
    timed("verify", lambda i, body, headers: adapter.verify(headers, body, SECRET, now, 0))
    timed("parse", lambda i, body, headers: parse_json(body))
    timed("to_events", lambda i, body, headers: adapter.to_events(deliveries[i]))
    timed("key", lambda i, body, headers: adapter.delivery_key(deliveries[i]))
    secrets = {helpdesk: SECRET}
    timed("receive", lambda i, body, headers: receive(
        Request(source=helpdesk, endpoint=lowered[i][0], hint=hints[i], headers=headers, body=body,
                received_at=datetime.now(UTC)), secrets=secrets, max_age=300))
    costs["bytes"] = sum(len(body) for _, body, _ in lowered) / len(lowered)
    return costs


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    ms = 1000
    print(f"{args.db}, {args.seconds:g} s per helpdesk, concurrency {args.concurrency}, {args.workers} server"
          f" process{'es' if args.workers > 1 else ''}; {os.cpu_count()} cores shared by the load generator,"
          f" the server and its processor")
    header = (f"{'helpdesk':<10} {'deliv/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'stored/acked':>15}"
              f" {'catch-up s':>10} {'ev/deliv':>8} {'processed':>9}  target")
    print(header)
    print("-" * len(header))
    for r in results:
        lat = r.latencies or [0.0]
        caught = f"{r.drained:.1f}" if r.drained is not None else f">{DRAIN_LIMIT}"
        total = sum(r.fates.values())
        misses = r.misses()
        print(f"{r.helpdesk:<10} {r.rate:>7.0f} {percentile(lat, .5) * ms:>7.1f} {percentile(lat, .99) * ms:>7.1f}"
              f" {r.errors:>6} {f'{r.stored}/{r.acked}':>15} {caught:>10} {r.events / max(r.processed, 1):>8.2f}"
              f" {f'{r.processed / max(total, 1):.0%}':>9}  {'met' if not misses else 'missed: ' + ', '.join(misses)}")


def print_cpu(results: list[Result]) -> None:
    """Where the machine's CPU went while the load ran: which process is the bottleneck."""
    measured = [r for r in results if r.cpu and r.seconds]
    if not measured:
        return
    print(f"CPU during the load: cores busy (of {os.cpu_count()}), and µs per acknowledged delivery:")
    kinds = ("server", "processor", "database", "load")
    header = f"{'helpdesk':<10} " + " ".join(f"{kind:>14}" for kind in kinds) + f" {'other':>6}"
    print(header)
    print("-" * len(header))
    for r in measured:
        cells = [f"{r.cpu[k] / r.seconds:.2f} {r.cpu[k] / max(r.acked, 1) * 1e6:>6.0f}µs" for k in kinds]
        print(f"{r.helpdesk:<10} " + " ".join(f"{cell:>14}" for cell in cells) + f" {r.cpu['other'] / r.seconds:>6.2f}")
    print("(database: PostgreSQL's backends for the bench's database; load: this process, the load generator;"
          " other: every other process on the machine, in cores)")
    if any(r.workers > 1 for r in measured):
        print("(with --workers > 1 the HTTP workers are children of the server process: they count as processor)")


def print_breakdown(results: list[Result]) -> None:
    print("CPU per delivery in the hot path's pure part (µs, one process, no server):")
    header = (f"{'helpdesk':<10} {'body B':>7} {'verify':>7} {'parse':>7} {'to_events':>9} {'key':>6}"
              f" {'receive()':>9}")
    print(header)
    print("-" * len(header))
    for helpdesk, c in ((r.helpdesk, r.costs) for r in results if r.costs):
        print(f"{helpdesk:<10} {c['bytes']:>7.0f} {c['verify']:>7.1f} {c['parse']:>7.1f} {c['to_events']:>9.1f}"
              f" {c['key']:>6.1f} {c['receive']:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "DESKPULSE_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"))
    parser.add_argument("--helpdesk", choices=[*sorted(ADAPTERS), "all"], default="deskpulse")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="deskpulse serve --workers")
    parser.add_argument("--breakdown", action="store_true",
                        help="also print the CPU cost per delivery of verify / parse / to_events")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before each helpdesk, wait up to this long for the machine to be idle")
    parser.add_argument("--keep-database", action="store_true",
                        help="keep each run's database and server log (PostgreSQL: deskpulse_bench_*)")
    args = parser.parse_args()

    if args.helpdesk == "all":
        helpdesks = [h for h in sorted(ADAPTERS) if h in BUILDERS]
        for h in sorted(set(ADAPTERS) - set(BUILDERS)):
            print(f"skipped {h}: no payload builder in bench/ingest_payloads.py yet")
    elif args.helpdesk not in BUILDERS:
        raise SystemExit(f"no payload builder for {args.helpdesk}: add one to bench/ingest_payloads.py")
    else:
        helpdesks = [args.helpdesk]

    results = [run(h, args) for h in helpdesks]
    print_table(results, args)
    print()
    print_cpu(results)
    if args.breakdown:
        print()
        print_breakdown(results)
    bad = [r for r in results if r.errors or r.stored < r.acked or r.unprocessed]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

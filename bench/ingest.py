"""Webhook ingestion benchmark: signed deliveries over HTTP against `deskpulse serve`.

    python bench/ingest.py --db sqlite --seconds 60 --concurrency 32
    python bench/ingest.py --db postgres --postgres-url postgresql+psycopg://127.0.0.1/test

Starts its own server on a fresh database, sends deliveries (a customer message, an
agent reply or a solve on one of many tickets, deskpulse or Zendesk format) for the
given time, prints deliveries/s and latency percentiles, then checks that every
acknowledged delivery is in the database and how long processing took to catch up.
Target (issue 2): >= 1,000 deliveries/s for 60 s, p99 < 100 ms, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.ingest.adapters import deskpulse  # noqa: E402
from storage.tables import RawDelivery  # noqa: E402

SECRET = "bench-secret"


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


def deskpulse_delivery(n: int, now: datetime) -> tuple[str, bytes, dict[str, str]]:
    ticket = str(n // 3)
    step = n % 3
    at = now.isoformat()
    if step == 0:
        events = [{"id": f"b{n}", "type": "ticket.created", "ticket_id": ticket, "occurred_at": at,
                   "ticket": {"channel": random.choice(["email", "chat", "social"]), "status": "new",
                              "subject": "Where is my parcel?", "tags": ["shipping"]}},
                  {"id": f"b{n}m", "type": "message.created", "ticket_id": ticket, "occurred_at": at,
                   "message": {"id": f"m{n}", "author": {"role": "customer", "id": f"c{ticket}"}, "body": "Hi!"}}]
    elif step == 1:
        events = [{"id": f"b{n}", "type": "message.created", "ticket_id": ticket, "occurred_at": at,
                   "message": {"id": f"m{n}", "author": {"role": "agent", "id": "a1", "name": "Ana"},
                               "body": "It ships today."}}]
    else:
        events = [{"id": f"b{n}", "type": "ticket.status_changed", "ticket_id": ticket, "occurred_at": at,
                   "status": "solved"}]
    body = json.dumps({"version": 1, "events": events}).encode()
    ts = str(int(time.time()))
    headers = {"content-type": "application/json", "x-deskpulse-timestamp": ts,
               "x-deskpulse-signature": deskpulse.sign(SECRET, ts, body)}
    return "/webhooks/deskpulse", body, headers


def zendesk_delivery(n: int, now: datetime) -> tuple[str, bytes, dict[str, str]]:
    ticket = str(100000 + n // 2)
    detail = {"id": ticket, "created_at": now.isoformat(), "status": "OPEN", "priority": "NORMAL",
              "tags": ["shipping"], "via": {"channel": "web"}, "subject": "Where is my parcel?",
              "requester_id": "900", "assignee_id": "42"}
    body_obj = {"type": "zen:event-type:ticket.comment_added", "account_id": 1, "id": str(uuid.uuid4()),
                "time": now.isoformat(), "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket}",
                "detail": detail, "event": {"comment": {"id": str(n), "body": "Thanks!", "is_public": True,
                                                        "author": {"id": "42" if n % 2 else "900",
                                                                   "is_staff": bool(n % 2), "name": "X"}}}}
    body = json.dumps(body_obj).encode()
    zendesk = importlib.import_module("storage.ingest.adapters.zendesk")
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"content-type": "application/json", "x-zendesk-webhook-signature-timestamp": ts,
               "x-zendesk-webhook-signature": zendesk.sign(SECRET, ts, body)}
    return "/webhooks/zendesk", body, headers


def prepare(helpdesk: str, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Sign every request before the clock starts, so the load generator's own CPU, which
    shares this machine with the server, goes to sending rather than to JSON and HMAC."""
    make = deskpulse_delivery if helpdesk == "deskpulse" else zendesk_delivery
    return [make(n, datetime.now(UTC)) for n in range(count)]


async def drive(base: str, requests: list[tuple[str, bytes, dict[str, str]]], *, seconds: float,
                concurrency: int) -> tuple[list[float], list[int], int]:
    """`concurrency` keep-alive connections, each sending its next request once answered.

    A bare HTTP/1.1 client over asyncio streams: the load generator shares the two cores
    with the server, and a full client library costs several times the CPU per request."""
    latencies: list[float] = []
    ids: list[int] = []
    errors = 0
    host, port = base.removeprefix("http://").split(":")
    queue = iter(requests)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for path, body, headers in queue:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                writer.write(_request_bytes(host, path, body, headers))
                status, answer = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status in (200, 202) and "delivery_id" in answer:
                    ids.append(answer["delivery_id"])
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, ids, errors


def _request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, object]]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length = next(int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:"))
    return status, json.loads(await reader.readexactly(length))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(share * len(ordered) + 0.999999) - 1)]


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    import urllib.request

    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit("the server exited; see its output above")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "DESKPULSE_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"))
    parser.add_argument("--helpdesk", choices=["deskpulse", "zendesk"], default="deskpulse")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="deskpulse serve --workers")
    args = parser.parse_args()

    url = fresh_database(args.db, args.postgres_url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "DESKPULSE_HOST": "127.0.0.1", "DESKPULSE_PORT": str(port),
           "DESKPULSE_WEBHOOK_SECRET": SECRET, "ZENDESK_WEBHOOK_SECRET": SECRET}
    command = [sys.executable, "-m", "bot", "serve", "--workers", str(args.workers)]
    server = subprocess.Popen(command, env=env, cwd=tempfile.mkdtemp())
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server)
        requests = prepare(args.helpdesk, int(args.seconds * 2500))
        started = time.perf_counter()
        latencies, ids, errors = uvloop.run(drive(base, requests, seconds=args.seconds,
                                                   concurrency=args.concurrency))
        elapsed = time.perf_counter() - started
        engine = create_engine(url)
        with engine.connect() as c:
            stored = set(c.scalars(select(RawDelivery.id)))
            missing = [i for i in ids if i not in stored]
            drain_started = time.perf_counter()
            while c.scalar(select(func.count()).where(RawDelivery.fate == "pending")):
                if time.perf_counter() - drain_started > 600:
                    break
                time.sleep(0.5)
                c.rollback()
            drained = time.perf_counter() - drain_started
            fates = dict(c.execute(select(RawDelivery.fate, func.count()).group_by(RawDelivery.fate)).all())
        engine.dispose()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)

    ms = 1000
    print(f"database        {args.db} ({args.helpdesk} deliveries, concurrency {args.concurrency},"
          f" {args.workers} server process{'es' if args.workers > 1 else ''})")
    print(f"acknowledged    {len(ids)} in {elapsed:.1f} s = {len(ids) / elapsed:.0f} deliveries/s ({errors} errors)")
    print(f"latency         p50 {percentile(latencies, .5) * ms:.1f} ms · p99 {percentile(latencies, .99) * ms:.1f} ms"
          f" · max {max(latencies) * ms:.1f} ms")
    print(f"in the database {len(ids) - len(missing)} of {len(ids)} acknowledged deliveries"
          f" ({len(missing)} missing)")
    print(f"processing      caught up {drained:.1f} s after the load ended; fates {fates}")
    sys.exit(1 if missing or errors else 0)


if __name__ == "__main__":
    main()

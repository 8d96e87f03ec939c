"""Slack benchmark: signed slash commands over HTTP to `deskpulse serve`, answered into a local
Slack stand-in, on the query benchmark's dataset.

    python bench/slack.py --url sqlite:///big.db            # a database bench/dataset.py filled
    python bench/slack.py --db sqlite --days 60             # generate a fresh one first

For every command it prints the acknowledgement's latency (p50, p99: Slack gives up after 3 s)
and the time until the full answer reached the response URL (p50, p95). Target (issue 4): ack p99
< 300 ms, full answer p95 < 1 s, on this 2-core machine. Commands are sent one after another, as
people type them; `--concurrency` sends several at once.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset import BUSINESS_HOURS, add_database_arguments, database_from_arguments  # noqa: E402
from tests.support.server import start_server  # noqa: E402
from tests.support.slack_standin import SlackStandIn, start_slack_standin  # noqa: E402

SECRET = "bench-signing-secret"
CHANNEL = "CBENCH0001"
QUESTIONS = [
    ("/csat", "last week"), ("/frt", "yesterday by channel"), ("/volume", ""), ("/backlog", ""),
    ("/resolution", "last week"), ("/agents", "last 7 days"), ("/sla", "yesterday"), ("/tags", "last week"),
    ("/level", ""), ("/customer", "c4242"), ("/deskpulse", "csat last week by channel"),
]


def ask(base_url: str, slack: SlackStandIn, command: str, text: str) -> tuple[float, float]:
    """(ack ms, full answer ms) of one signed slash command."""
    url = slack.response_url()
    body = urlencode({"command": command, "text": text, "response_url": url, "channel_id": CHANNEL,
                      "user_id": "UBENCH", "team_id": "T1", "trigger_id": "1"})
    ts = str(int(time.time()))
    signature = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts,
               "x-slack-signature": f"v0={signature}"}
    started = time.perf_counter()
    acked = httpx.post(base_url + "/slack/events", content=body, headers=headers, timeout=10)
    ack_ms = (time.perf_counter() - started) * 1000
    acked.raise_for_status()
    slack.wait_for_response(url, timeout=120)
    return ack_ms, (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def run(url: str, *, now: datetime, repeat: int, concurrency: int, timezone: str = "UTC") -> None:
    slack = start_slack_standin()
    os.environ.update({"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
                       "SLACK_API_URL": slack.api_url, "DESKPULSE_AGENT_METRICS_CHANNELS": CHANNEL,
                       "DESKPULSE_BUSINESS_HOURS": BUSINESS_HOURS, "DESKPULSE_TIMEZONE": timezone})
    server = start_server(clock=lambda: now)
    try:
        ask(server.base_url, slack, "/frt", "yesterday")  # warm-up: the business-hours clock is built once
        print(f"{'command':<40} {'ack p50':>9} {'ack p99':>9} {'full p50':>9} {'full p95':>9}")
        worst_ack, worst_full = 0.0, 0.0
        with ThreadPoolExecutor(concurrency) as pool:
            for command, text in QUESTIONS:
                timings = list(pool.map(ask, [server.base_url] * repeat, [slack] * repeat, [command] * repeat,
                                        [text] * repeat))
                acks, fulls = [a for a, _ in timings], [f for _, f in timings]
                ack_p99, full_p95 = percentile(acks, 0.99), percentile(fulls, 0.95)
                worst_ack, worst_full = max(worst_ack, ack_p99), max(worst_full, full_p95)
                print(f"{(command + ' ' + text).strip():<40} {statistics.median(acks):>9.1f} {ack_p99:>9.1f} "
                      f"{statistics.median(fulls):>9.1f} {full_p95:>9.1f}", flush=True)
        print(f"\nworst ack p99 {worst_ack:.1f} ms (target < 300) · worst full answer p95 {worst_full:.1f} ms "
              "(target < 1000)")
    finally:
        server.stop()
        slack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_arguments(parser, days=60)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    url, end = database_from_arguments(parser, args)
    run(url, now=end.replace(hour=9), repeat=args.repeat, concurrency=args.concurrency, timezone=args.timezone)


if __name__ == "__main__":
    main()

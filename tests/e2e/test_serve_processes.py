"""`deskpulse serve` as real processes: stopped by a signal (or killed), it leaves no delivery
processor running behind it; two of them on one PostgreSQL, as two replicas behind a load
balancer, both start at once on an empty database, both answer, and a digest due when they
start is posted once (issue 5, item 4)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.scheduler import CHECK_SECONDS
from tests.support.slack_standin import SlackStandIn, start_slack_standin

CHANNEL = "CREPLICA01"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = start_slack_standin()
    yield standin
    standin.stop()


def _start_replica(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    with log.open("wb") as out:  # the child keeps its own copy of the file
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT, env={**env, "DESKPULSE_PORT": str(port)})
    return process, f"http://127.0.0.1:{port}"


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"a replica exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"a replica did not become healthy:\n{log.read_text()[-3000:]}")


def _children(pid: int) -> set[int]:
    """The processes `pid` started (Linux)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited, not yet reaped by its (new) parent


def _wait_gone(pids: set[int], timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_gone(pid) for pid in pids):
        time.sleep(0.2)
    return {pid for pid in pids if not _gone(pid)}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["terminated", "killed"])
def test_a_stopped_server_leaves_no_processor_running(sqlite_url: str, tmp_path: Path, stop: int) -> None:
    log = tmp_path / "serve.log"
    process, base_url = _start_replica({**os.environ, "DATABASE_URL": sqlite_url, "DESKPULSE_HOST": "127.0.0.1"}, log)
    children: set[int] = set()
    try:
        _wait_healthy(process, base_url, log)
        children = _children(process.pid)
        assert children, "serve runs its delivery processor in a child process"
        process.send_signal(stop)
        process.wait(30)
        assert not _wait_gone(children), log.read_text()[-3000:]
        if stop == signal.SIGTERM:  # what `docker stop` sends: a clean stop leaves nothing to clean up
            assert "leaked" not in log.read_text(), log.read_text()[-3000:]
    finally:
        for pid in [process.pid, *children]:  # whatever the outcome, nothing is left running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(30)


def test_two_replicas_start_together_and_post_a_due_digest_once(
        postgres_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    due = datetime.now(UTC) - timedelta(minutes=2)  # missed a moment ago: both replicas find it due
    env = {**os.environ, "DATABASE_URL": postgres_url, "DESKPULSE_TIMEZONE": "UTC", "DESKPULSE_HOST": "127.0.0.1",
           "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "slack-test-signing-secret",
           "SLACK_API_URL": slack.api_url, "DESKPULSE_DIGESTS": f"{CHANNEL} daily {due:%H:%M}"}
    logs = [tmp_path / "replica-1.log", tmp_path / "replica-2.log"]
    replicas = [_start_replica(env, log) for log in logs]  # at once, on a database not migrated yet
    try:
        for (process, base_url), log in zip(replicas, logs, strict=True):
            _wait_healthy(process, base_url, log)
        both_up = time.monotonic()
        # Each replica looks for due digests when it starts and every CHECK_SECONDS after:
        # by then both have tried, and only one may have posted.
        while time.monotonic() < both_up + CHECK_SECONDS + 10:
            assert len(slack.messages_in(CHANNEL, top_level=True)) <= 1
            time.sleep(0.5)
        posted = slack.messages_in(CHANNEL, top_level=True)
        assert len(posted) == 1, [log.read_text()[-2000:] for log in logs]
        assert posted[0]["metadata"]["event_type"] == "deskpulse_digest"
    finally:
        for process, _ in replicas:
            process.terminate()
        for process, _ in replicas:
            process.wait(30)

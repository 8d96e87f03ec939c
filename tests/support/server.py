"""Run the real ASGI app under uvicorn in a thread, on a port the OS picks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import uvicorn

from bot.runtime import Service, build_service, utc_now
from bot.settings import Settings
from storage.ingest.processor import wait_until_processed


@dataclass
class RunningServer:
    base_url: str
    service: Service
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.service.database.sessions

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.base_url + path, content=body, headers=headers, timeout=10)

    def wait_processed(self, timeout: float = 10.0) -> None:
        assert wait_until_processed(self.sessions, timeout=timeout), "deliveries still pending"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.service.stop()


def start_server(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> RunningServer:
    service = build_service(settings or Settings(), processor="thread", clock=clock)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(service.app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    return RunningServer(base_url=f"http://127.0.0.1:{port}", service=service, server=server, thread=thread)

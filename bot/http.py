"""HTTP routes: /webhooks/<helpdesk>[/<hint>], /healthz, and later /slack/events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.intake import DeliveryIntake
from storage.ingest.pipeline import MAX_BODY_BYTES, Request, error, receive, reject

log = logging.getLogger(__name__)


def build_http_app(*, sessions: sessionmaker[Session], secrets: dict[str, str],
                   max_age: int, clock: Callable[[], datetime], extra_routes: list[Route] | None = None,
                   on_shutdown: Callable[[], None] | None = None) -> ASGIApp:
    """The ASGI app `deskpulse serve` runs; everything it needs is passed in."""
    intake = DeliveryIntake(sessions)

    async def webhook(scope: Scope, receive_message: Receive, send: Send) -> None:
        """POST /webhooks/<helpdesk>[/<hint>]: the hot path, served without a framework layer."""
        received_at = clock()
        parts = scope["path"].split("/")  # "", "webhooks", source[, hint]
        if len(parts) not in (3, 4) or not parts[2]:
            await _send_json(send, 404, error("not_found", "POST /webhooks/<helpdesk>[/<hint>]"))
            return
        if scope["method"] != "POST":
            await _send_json(send, 405, error("method_not_allowed", "helpdesks POST their webhooks"))
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body, too_large = await _read_capped(receive_message, headers)
        hint = parts[3] if len(parts) == 4 and parts[3] else None
        incoming = Request(source=parts[2].lower(), endpoint=scope["path"], hint=hint, headers=headers, body=body,
                           received_at=received_at)
        try:
            if too_large:
                answer = reject(incoming, 413, "body_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes")
            else:
                answer = receive(incoming, secrets=secrets, max_age=max_age)
            stored = await intake.store(answer)
        except Exception:  # a database outage, or a bug: the helpdesk should retry, not see a 500
            log.exception("webhook from %s not stored", incoming.source)
            await _send_json(send, 503, error("unavailable", "not stored; retry later"))
            return
        await _send_json(send, stored.status, stored.body)

    async def healthz(_: HttpRequest) -> JSONResponse:
        try:
            await asyncio.to_thread(_ping, sessions)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        *(extra_routes or []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    return _WebhooksFirst(Starlette(routes=routes, lifespan=lifespan), webhook)


class _WebhooksFirst:
    """Starlette for everything, except webhook deliveries, which go straight to their handler:
    at a thousand deliveries a second the framework's per-request layers cost a sixth of the CPU."""

    def __init__(self, app: Starlette, webhook: ASGIApp) -> None:
        self._app, self._webhook = app, webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            await self._webhook(scope, receive, send)
        else:
            await self._app(scope, receive, send)


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def _read_capped(receive_message: Receive, headers: dict[str, str]) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES; a larger body is cut off (and refused with 413)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", True
    chunks, size = [], 0
    while True:
        message = await receive_message()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _ping(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))

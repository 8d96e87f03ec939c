"""HTTP routes: /webhooks/<helpdesk>[/<hint>], /healthz, and later /slack/events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.intake import DeliveryIntake
from storage.ingest.pipeline import MAX_BODY_BYTES, Answer, Request, error, receive, reject

log = logging.getLogger(__name__)


def build_http_app(*, sessions: sessionmaker[Session], secrets: dict[str, str],
                   max_age: int, clock: Callable[[], datetime], extra_routes: list[Route] | None = None,
                   on_shutdown: Callable[[], None] | None = None) -> Starlette:
    """The ASGI app `deskpulse serve` runs; everything it needs is passed in."""
    intake = DeliveryIntake(sessions)

    async def webhook(request: HttpRequest) -> JSONResponse:
        received_at = clock()
        source = request.path_params["source"].lower()
        hint = request.path_params.get("hint")
        headers = {k.lower(): v for k, v in request.headers.items()}
        body, too_large = await _read_capped(request)
        incoming = Request(source=source, endpoint=request.url.path, hint=hint, headers=headers, body=body,
                           received_at=received_at)
        if too_large:
            answer = reject(incoming, 413, "body_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes")
        else:
            answer = receive(incoming, secrets=secrets, max_age=max_age)
        try:
            stored = await intake.store(answer)
        except Exception:
            log.exception("webhook from %s not stored", source)
            return JSONResponse(error("unavailable", "the database is not answering; retry later"), status_code=503)
        return _respond(stored)

    async def healthz(_: HttpRequest) -> JSONResponse:
        try:
            await asyncio.to_thread(_ping, sessions)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/webhooks/{source}", webhook, methods=["POST"]),
        Route("/webhooks/{source}/{hint}", webhook, methods=["POST"]),
        *(extra_routes or []),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    return Starlette(routes=routes, lifespan=lifespan)


def _respond(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status)


async def _read_capped(request: HttpRequest) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES; a larger body is cut off (and refused with 413)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", True
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def _ping(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))

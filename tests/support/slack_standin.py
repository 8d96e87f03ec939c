"""A local stand-in for Slack: the Web API (`<base>/api/<method>`) and response URLs
(`<base>/respond/<n>`), on a real HTTP server. It records every call and refuses blocks that
Slack would refuse, by Slack's documented limits (checked here independently of slack_sdk's
models, which the bot itself uses)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text"}
BOT_USER = "UDESKPULSE"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class SlackStandIn:
    server: ThreadingHTTPServer
    calls: list[Call] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=dict)  # method -> errors to give, in order
    rate_limits: dict[str, int] = field(default_factory=dict)  # method -> 429s to give first
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    channels_without_bot: set[str] = field(default_factory=set)
    delay_seconds: float = 0.0  # every answer waits this long (a slow Slack)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> the bytes sent to its upload URL
    filenames: dict[str, str] = field(default_factory=dict)  # file id -> its name
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages posted, in order
    answers_lost: dict[str, int] = field(default_factory=dict)  # method -> calls carried out, then answered 500
    clock: Callable[[], float] = time.time  # message timestamps (tests that fake the time set it)
    socket_url: Callable[[], str] | None = None  # apps.connections.open's URLs (tests/support/socket_mode_standin.py)
    _urls: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self) -> str:
        return f"{self.base}/respond/{next(self._urls)}"

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def wait_for_response(self, url: str, *, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The messages posted to `url`, once there are `count` of them."""
        path = urlsplit(url).path
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [body for p, body in self.responses if p == path]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing posted to {path} within {timeout}s; calls: {self.calls}")
                self._changed.wait(left)

    def wait_for_call(self, method: str, *, timeout: float = 15.0) -> Call:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.calls_to(method):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {method} call within {timeout}s")
                self._changed.wait(left)
            return self.calls_to(method)[-1]

    def record(self, call: Call | None = None, response: tuple[str, dict[str, Any]] | None = None) -> None:
        with self._changed:
            if call is not None:
                self.calls.append(call)
            if response is not None:
                self.responses.append(response)
            self._changed.notify_all()

    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Keep a message in its channel, as Slack would show it in the history."""
        with self._changed:
            ts = f"{self.clock():.6f}"
            while any(m["ts"] == ts for ms in self.channels.values() for m in ms):
                ts = f"{float(ts) + 0.000001:.6f}"
            message = {"ts": ts, "text": args.get("text") or "", "user": BOT_USER}
            for key in ("blocks", "metadata", "files"):
                if args.get(key):
                    message[key] = json.loads(args[key]) if isinstance(args[key], str) else args[key]
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self.channels.setdefault(str(args.get("channel")), []).append(message)
            return message

    def read_channel(self, method: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        """conversations.history (top-level messages, newest first) or .replies (a thread, oldest first)."""
        messages = list(self.channels.get(str(args.get("channel")), []))
        if method == "conversations.replies":
            found = [m for m in messages if m["ts"] == args.get("ts") or m.get("thread_ts") == args.get("ts")]
        else:
            oldest = float(args.get("oldest") or 0)
            found = [m for m in reversed(messages) if "thread_ts" not in m and float(m["ts"]) > oldest]
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        return found

    def messages_in(self, channel: str, *, top_level: bool = False) -> list[dict[str, Any]]:
        return [m for m in self.channels.get(channel, []) if not (top_level and "thread_ts" in m)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_slack_standin() -> SlackStandIn:
    standin: SlackStandIn

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            if standin.delay_seconds:
                time.sleep(standin.delay_seconds)
            url = urlsplit(self.path)
            args = dict(parse_qsl(url.query))
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if raw and not url.path.startswith("/upload/"):
                if "json" in (self.headers.get("content-type") or ""):
                    args.update(json.loads(raw))
                else:
                    args.update(parse_qsl(raw.decode()))
            if url.path.startswith("/upload/"):
                standin.uploads[url.path.removeprefix("/upload/")] = raw
                self._send(200, {}, raw=f"OK - {len(raw)}")
            elif url.path.startswith("/respond/"):
                self._respond_url(url.path, args)
            elif url.path.startswith("/api/"):
                self._web_api(url.path.removeprefix("/api/"), args)
            else:
                self._send(404, {"ok": False, "error": "unknown_url"})

        def _respond_url(self, path: str, message: dict[str, Any]) -> None:
            problems = message_problems(message)
            if problems:
                self._send(400, {"ok": False, "error": "invalid_blocks", "problems": problems}, raw="invalid_blocks")
                return
            standin.record(response=(path, message))
            self._send(200, {}, raw="ok")

        def _web_api(self, method: str, args: dict[str, Any]) -> None:
            auth = self.headers.get("authorization") or ""
            token = auth.removeprefix("Bearer ") if auth else args.get("token")
            header_token = auth.removeprefix("Bearer ") or None
            standin.record(call=Call(method, args, token))
            if standin.rate_limits.get(method, 0) > 0:
                standin.rate_limits[method] -= 1
                self._send(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})
                return
            if standin.answers_lost.get(method, 0) > 0:  # Slack did it, but the answer never arrives intact
                standin.answers_lost[method] -= 1
                web_api_answer(standin, method, args, header_token)
                self._send(500, {"ok": False, "error": "internal_error"})
                return
            queued = standin.failures.get(method)
            if queued:
                error = queued.pop(0)
                if error.startswith("http_"):
                    self._send(int(error[5:]), {"ok": False, "error": "internal_error"})
                else:
                    self._send(200, {"ok": False, "error": error})
                return
            self._send(200, web_api_answer(standin, method, args, header_token))

        def _send(self, status: int, body: dict[str, Any], *, raw: str | None = None,
                  headers: dict[str, str] | None = None) -> None:
            payload = (raw if raw is not None else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain" if raw is not None else "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    standin = SlackStandIn(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin


def web_api_answer(standin: SlackStandIn, method: str, args: dict[str, Any],
                   header_token: str | None = None) -> dict[str, Any]:
    if method == "apps.connections.open" and standin.socket_url is not None:
        # an app-level token, and only in the Authorization header (api.slack.com/methods/apps.connections.open)
        if not header_token:
            return {"ok": False, "error": "not_authed"}
        if not header_token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": standin.socket_url()}
    if method == "auth.test":
        return {"ok": True, "user_id": BOT_USER, "bot_id": "BDESKPULSE", "team_id": "T1", "team": "Shop"}
    if method == "chat.postMessage":
        if args.get("channel") in standin.channels_without_bot:
            return {"ok": False, "error": "not_in_channel"}
        problems = message_problems(args)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return {"ok": True, "channel": args.get("channel"), "ts": standin.post(args)["ts"]}
    if method in ("conversations.history", "conversations.replies"):
        return {"ok": True, "messages": standin.read_channel(method, args), "has_more": False}
    if method == "files.getUploadURLExternal":
        file_id = f"F{len(standin.calls_to(method)):08d}"
        standin.filenames[file_id] = str(args.get("filename"))
        return {"ok": True, "upload_url": f"{standin.base}/upload/{file_id}", "file_id": file_id}
    if method == "files.completeUploadExternal":
        if args.get("channel_id") in standin.channels_without_bot:
            return {"ok": False, "error": "not_in_channel"}
        files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files") or []
        missing = [f["id"] for f in files if f["id"] not in standin.uploads]
        if missing:
            return {"ok": False, "error": "file_not_found"}
        shared = [{"id": f["id"], "title": f.get("title"), "name": standin.filenames.get(f["id"])} for f in files]
        standin.post({"channel": args.get("channel_id"), "thread_ts": args.get("thread_ts"), "files": shared,
                      "text": args.get("initial_comment") or ""})
        return {"ok": True, "files": shared}
    if method == "views.publish":
        view = json.loads(args["view"]) if isinstance(args.get("view"), str) else args.get("view") or {}
        blocks = view.get("blocks") or []
        problems = [p for i, b in enumerate(blocks) for p in _block_problems(b)]
        if len(blocks) > 100 or view.get("type") != "home" or problems:
            return {"ok": False, "error": "invalid_arguments", "errors": problems}
        return {"ok": True, "view": {"id": "V1", **view}}
    if method == "usergroups.users.list":
        group = args.get("usergroup")
        if group not in standin.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": standin.usergroups[group]}
    return {"ok": False, "error": "unknown_method"}


def message_problems(message: dict[str, Any]) -> list[str]:
    """What Slack would refuse in a message's blocks (api.slack.com/reference/block-kit)."""
    blocks = message.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    problems = []
    if not blocks and not message.get("text") and not message.get("delete_original"):
        problems.append("a message needs text or blocks")
    blocks = blocks or []
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks (at most 50)")
    for i, block in enumerate(blocks):
        problems += [f"block {i} ({block.get('type')}): {p}" for p in _block_problems(block)]
    if len(message.get("text") or "") > 40000:
        problems.append("text over 40,000 characters")
    return problems


def _block_problems(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"unknown block type {kind!r}"]
    problems = []
    if len(block.get("block_id") or "") > 255:
        problems.append("block_id over 255")
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if not text and not fields:
            problems.append("a section needs text or fields")
        if text:
            problems += _text_problems(text, 3000)
        if fields is not None:
            if len(fields) > 10:
                problems.append(f"{len(fields)} fields (at most 10)")
            for f in fields:
                problems += _text_problems(f, 2000)
    elif kind == "header":
        if (block.get("text") or {}).get("type") != "plain_text":
            problems.append("a header's text must be plain_text")
        problems += _text_problems(block.get("text") or {}, 150)
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 10:
            problems.append(f"{len(elements)} context elements (1 to 10)")
        for e in elements:
            if e.get("type") in ("mrkdwn", "plain_text"):
                problems += _text_problems(e, 3000)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            problems.append(f"{len(elements)} actions (1 to 25)")
        for e in elements:
            if e.get("type") == "button":
                problems += _text_problems(e.get("text") or {}, 75)
                if len(e.get("value") or "") > 2000:
                    problems.append("button value over 2,000")
                if len(e.get("action_id") or "") > 255:
                    problems.append("action_id over 255")
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            problems.append("an image needs image_url or slack_file")
        if not block.get("alt_text") or len(block["alt_text"]) > 2000:
            problems.append("alt_text missing or over 2,000")
    return problems


def _text_problems(text: dict[str, Any], limit: int) -> list[str]:
    if text.get("type") not in ("mrkdwn", "plain_text"):
        return [f"text type {text.get('type')!r}"]
    value = text.get("text") or ""
    if not value:
        return ["empty text"]
    return [f"text of {len(value)} characters (at most {limit})"] if len(value) > limit else []

"""A local stand-in for Slack's Socket Mode: the WebSocket server an app reaches through the URL
`apps.connections.open` hands out (tests/support/slack_standin.py hands out these URLs).

It behaves as Slack documents (api.slack.com/apis/connections/socket-implement): a new connection
is greeted with `hello`; requests arrive as envelopes the app acknowledges with their `envelope_id`
(slash commands may carry a reply in the acknowledgement's `payload`); `disconnect` asks the app to
open a new connection, after which the old one is closed. Slack's URLs are temporary; here each
URL's ticket is good for one connection, so an app that reuses a URL is caught. Every
acknowledgement is recorded with how long it took."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.support.slack_standin import message_problems

APP_ID = "ADESKPULSE"
TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "09": "LAST_ACK", "0B": "CLOSING"}  # as /proc/net/tcp writes them


@dataclass
class Link:
    """One WebSocket connection the app opened."""

    number: int
    connection: ServerConnection
    retiring: bool = False  # told to reconnect: closed once its replacement is up
    closed: bool = False


@dataclass
class Acknowledgement:
    envelope_id: str
    payload: dict[str, Any] | None
    seconds: float  # from sending the envelope to receiving this
    problems: list[str]  # what Slack would refuse in the payload's message


@dataclass
class SocketModeStandIn:
    server: Server
    links: list[Link] = field(default_factory=list)
    acknowledgements: dict[str, Acknowledgement] = field(default_factory=dict)
    unknown_messages: list[str] = field(default_factory=list)  # anything the app sent that is not an ack
    _tickets: set[str] = field(default_factory=set)
    _sent_at: dict[str, float] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def port(self) -> int:
        return int(self.server.socket.getsockname()[1])

    def new_url(self) -> str:
        """What apps.connections.open answers: a URL with a fresh ticket."""
        ticket = uuid.uuid4().hex
        with self._changed:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def take_ticket(self, ticket: str) -> bool:
        with self._changed:
            if ticket not in self._tickets:
                return False
            self._tickets.remove(ticket)
            return True

    def open_links(self) -> list[Link]:
        with self._changed:
            return [link for link in self.links if not link.closed]

    def wait_for_link(self, *, count: int = 1, timeout: float = 30.0) -> Link:
        """The newest open connection, once `count` connections have been opened in all."""
        return self._wait(lambda: len(self.links) >= count and bool(self.open_links()),
                          lambda: self.open_links()[-1], timeout, f"{count} connection(s)")

    def send_envelope(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = True) -> str:
        """Send a request down the newest open connection, as Slack does; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload}
        link = self.wait_for_link(timeout=5)
        with self._changed:
            self._sent_at[envelope_id] = time.monotonic()
        link.connection.send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, *, timeout: float = 15.0) -> Acknowledgement:
        return self._wait(lambda: envelope_id in self.acknowledgements, lambda: self.acknowledgements[envelope_id],
                          timeout, f"the acknowledgement of {envelope_id}")

    def ask_to_reconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's `disconnect` message: the app should open a new connection now."""
        link = self.wait_for_link(timeout=5)
        link.retiring = True
        link.connection.send(json.dumps({"type": "disconnect", "reason": reason,
                                         "debug_info": {"host": "standin"}}))

    def close(self) -> None:
        """Close the newest connection with a closing handshake, as a Slack server going away does."""
        self.wait_for_link(timeout=5).connection.close()

    def drop(self) -> None:
        """Cut the newest connection without a closing handshake, as a network failure would."""
        link = self.wait_for_link(timeout=5)
        link.connection.socket.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.server.shutdown()

    def sockets_from_this_process(self) -> list[str]:
        """The TCP state of each socket this process holds open to the stand-in: the app's ends of its
        connections (the stand-in's own ends have its port as their local port). Read from /proc (Linux)."""
        held = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # closed meanwhile
                held.add(os.readlink(f"/proc/self/fd/{fd}"))
        states = []
        with open("/proc/self/net/tcp") as table:
            next(table)  # the header
            for row in table:
                fields = row.split()
                remote, state, inode = fields[2], fields[3], fields[9]
                if int(remote.split(":")[1], 16) == self.port and f"socket:[{inode}]" in held:
                    states.append(TCP_STATES.get(state, state))
        return states

    def _wait(self, ready: Callable[[], bool], result: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout}s; links: {self.links}")
                self._changed.wait(left)
            return result()

    def _opened(self, connection: ServerConnection) -> Link:
        with self._changed:
            link = Link(next(self._numbers), connection)
            retired = [old for old in self.links if old.retiring and not old.closed]
            self.links.append(link)
            self._changed.notify_all()
        connection.send(json.dumps({"type": "hello", "num_connections": len(self.open_links()),
                                    "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                                    "connection_info": {"app_id": APP_ID}}))
        for old in retired:  # without holding up this connection's first messages
            threading.Thread(target=old.connection.close, daemon=True).start()
        return link

    def _received(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        with self._changed:
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            if envelope_id not in self._sent_at:
                self.unknown_messages.append(str(raw))
            else:
                payload = message.get("payload")  # type: ignore[union-attr]
                self.acknowledgements[envelope_id] = Acknowledgement(
                    envelope_id, payload, time.monotonic() - self._sent_at[envelope_id],
                    message_problems(payload) if payload else [])
            self._changed.notify_all()

    def _closed(self, link: Link) -> None:
        with self._changed:
            link.closed = True
            self._changed.notify_all()


def start_socket_mode_standin() -> SocketModeStandIn:
    standin: SocketModeStandIn

    def check_ticket(connection: ServerConnection, request: Request) -> Response | None:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        if standin.take_ticket(ticket):
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")

    def talk(connection: ServerConnection) -> None:
        link = standin._opened(connection)
        try:
            for raw in connection:
                standin._received(raw)
        except ConnectionClosed:
            pass
        finally:
            standin._closed(link)

    server = serve(talk, "127.0.0.1", 0, process_request=check_ticket)
    standin = SocketModeStandIn(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin

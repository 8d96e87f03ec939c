"""Socket Mode for Bolt: slack_sdk's built-in client, with two of its defects worked around.

Both are in slack_sdk/socket_mode/builtin/ (slack_sdk 3.48):

1. A connection cut without a WebSocket close (the peer's TCP FIN: a proxy, a load balancer or a
   Slack server process going away) makes the client spin a core. `sock.recv` then returns b""
   at once, for ever; `internals._receive_messages` turns that into "no messages" and
   `Connection.run_until_completion` asks again straight away. Only `Connection.check_state`, every
   ping interval, ends it: after 4 intervals without a pong or 5 failed pings, about 10 s at 2 s.
   slack_sdk once raised on b"" (python-slack-sdk#1246) and took it back (#1269).
2. When the WebSocket handshake is refused (a used or expired URL: any status but 101),
   `Connection.connect` logs a warning and drops its socket without closing it, leaving it to the
   garbage collector (a ResourceWarning).

The fix is at the one place the client opens a socket, `connection._establish_new_socket_connection`:
while `SocketModeClient.connect` below runs, the socket opened is wrapped so that the end of the
stream is an error (`Connection.run_until_completion` then closes the connection and the client's
check opens a new one within a ping interval), and a socket the new connection did not keep is
closed. Other users of slack_sdk's client in the process are left as they are. Should slack_sdk
rename that function, importing this module fails rather than silently losing the fix; once
slack_sdk handles both itself, this module can go (tests/e2e/test_socket_mode.py tells).
slack_bolt's other synchronous adapter, `websocket_client`, was tried instead (websocket-client 1.9):
it reconnects after a cut at once, but leaves the sockets of replaced connections to the garbage
collector, asks for a second connection URL before using the first (its check runs before its
connection is open), and, as slack_sdk runs it, sends pings without waiting for pongs, so a
connection that goes silent would go unnoticed."""

from __future__ import annotations

import contextvars
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler as BoltSocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient as SdkSocketModeClient
from slack_sdk.socket_mode.builtin import connection as sdk_connection

_opened: contextvars.ContextVar[list[_EndOfStreamIsAnError]] = contextvars.ContextVar("deskpulse_socket_mode_opened")


class _EndOfStreamIsAnError:
    """A socket whose `recv` raises when the peer has closed the stream instead of returning b""."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def recv(self, size: int, *flags: int) -> bytes:
        data: bytes = self._sock.recv(size, *flags)
        if not data and size > 0:
            raise ConnectionResetError("the Socket Mode connection was closed without a WebSocket close")
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _open_socket(*args: Any, **kwargs: Any) -> Any:
    sock = _original_open_socket(*args, **kwargs)
    opened = _opened.get(None)
    if opened is None:  # not one of deskpulse's connections
        return sock
    guarded = _EndOfStreamIsAnError(sock)
    opened.append(guarded)
    return guarded


_original_open_socket = sdk_connection._establish_new_socket_connection
sdk_connection._establish_new_socket_connection = _open_socket


class SocketModeClient(SdkSocketModeClient):
    def connect(self) -> None:
        opened: list[_EndOfStreamIsAnError] = []
        token = _opened.set(opened)
        try:
            super().connect()
        finally:
            _opened.reset(token)
            # the connection just made, unless another thread has replaced it meanwhile (and closed it)
            kept = self.current_session.sock if self.current_session is not None else None
            for sock in opened:
                if sock is not kept:  # the handshake was refused or failed
                    sock.close()


class SocketModeHandler(BoltSocketModeHandler):
    """slack_bolt's built-in Socket Mode adapter on the client above."""

    def __init__(self, app: App, app_token: str, *, ping_interval: float) -> None:
        # Not super().__init__: that starts the threads of a client of its own.
        self.app = app
        self.app_token = app_token
        self.client = SocketModeClient(app_token=app_token, logger=app.logger, web_client=app.client,
                                       proxy=app.client.proxy, ping_interval=ping_interval)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

"""`serve` listens before it has finished starting: `/health` answers from the first tenth of a second.

Importing the bot (SQLAlchemy, pydantic, Bolt, every feature) and starting its runtime take about a
second on an idle machine and several under load (bench/start.py). Until now the port was closed for
all that time, so an orchestrator's probe, a load balancer or Slack saw "connection refused".

`EarlyHealth` binds the port first, with only the standard library loaded, and answers from threads
(imports hold the main thread; the GIL still lets these threads run between them):

* ``GET /health`` and ``GET /ready``: 503 ``{"ok": false, "starting": true}``: alive, not ready, so a
  load balancer sends no traffic yet;
* anything else (a Slack request, a provider callback) is read and *held* until the bot's own server
  is up, then forwarded to it on loopback and its answer relayed unchanged (body and signature
  headers untouched, so Slack's signature still verifies). A request that arrives while the bot
  starts is answered by the bot, a little late, never refused: whoever saw `/health` answer may send
  work at once. At most `MAX_HELD` requests wait (the rest get 503 with ``Retry-After``), each at most
  `HOLD_SECONDS`.

When the real aiohttp application is set up, `serve` starts it on the same listening socket
(`socket()`), then calls `hand_over()`: the early server stops accepting (the kernel's accept queue is
shared, so no connection is refused in between) and the held requests are forwarded.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["EarlyHealth"]

BACKLOG = 2048
MAX_BODY = 1 << 20
MAX_HELD = 256
HOLD_SECONDS = 30.0
_STARTING = json.dumps({"ok": False, "starting": True}).encode()
_BUSY = json.dumps({"error": "starting"}).encode()
#: headers of one hop, never forwarded (RFC 9110 section 7.6.1)
_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
                  "content-length", "host"})


class _Handler(BaseHTTPRequestHandler):
    """Probes answered "starting"; other requests held, then forwarded (HTTP/1.0: one per connection)."""

    server: _Server
    server_version = "invoicebot"
    sys_version = ""

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for name, value in headers or [("Content-Type", "application/json")]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, _BUSY)
            return
        body = self.rfile.read(length) if length > 0 else b""
        if self.command in ("GET", "HEAD") and self.path.split("?", 1)[0] in ("/health", "/ready") \
                and not self.server.handed_over.is_set():
            self._answer(503, _STARTING)
            return
        if not self.server.held.acquire(blocking=False):
            self._answer(503, _BUSY, [("Content-Type", "application/json"), ("Retry-After", "1")])
            return
        with self.server.count_lock:
            self.server.waiting += 1
        try:
            if not self.server.handed_over.wait(HOLD_SECONDS) or self.server.refusing:
                self._answer(503, _BUSY, [("Content-Type", "application/json"), ("Retry-After", "1")])
                return
            self._forward(body)
        finally:
            with self.server.count_lock:
                self.server.waiting -= 1
            self.server.held.release()

    def _forward(self, body: bytes) -> None:
        """The bot's own answer to this request (the bot now accepts on the shared socket)."""
        host, port = self.server.target
        conn = http.client.HTTPConnection(host, port, timeout=HOLD_SECONDS)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self._answer(resp.status, data, [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP])
        except OSError:
            self._answer(502, _BUSY)
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle_any

    def log_message(self, format: str, *args: object) -> None:
        """No log line per request: the start is logged by `serve` once."""


class _Server(ThreadingHTTPServer):
    """A threading HTTP server on a socket bound by `EarlyHealth`; handler threads are not joined
    on close (they forward to the bot, whose event loop is the one closing this server)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, sock: socket.socket, target: tuple[str, int]) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()  # the one HTTPServer made; ours replaces it
        self.socket = sock
        self.target = target
        self.handed_over = threading.Event()
        self.refusing = False  # the bot did not start: held requests get 503
        self.held = threading.BoundedSemaphore(MAX_HELD)
        self.count_lock = threading.Lock()
        self.waiting = 0


class EarlyHealth:
    """The port, bound and answering "starting" until the bot's own server takes it over."""

    def __init__(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))
            self._listener.listen(BACKLOG)
        except OSError:
            self._listener.close()
            raise
        loopback = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        target = (loopback if host in ("", "0.0.0.0", "::") else host, self.port)  # noqa: S104
        self._server = _Server(self._listener.dup(), target)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="early-health", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def waiting(self) -> int:
        """Requests held now (waiting for the bot, or being forwarded to it)."""
        return self._server.waiting

    def socket(self) -> socket.socket:
        """The listening socket, for the bot's own server (the early server holds a duplicate)."""
        return self._listener

    def hand_over(self) -> None:
        """Stop accepting, then forward the held requests to the bot now serving `socket()`.

        Blocks up to the accept loop's poll interval (50 ms): call it off the event loop."""
        self._server.shutdown()
        self._server.server_close()  # the duplicate only: the bot's server keeps the socket
        self._server.handed_over.set()
        self._thread.join(timeout=5)

    def close(self) -> None:
        """The bot did not start: stop, answer the held requests 503, close the port."""
        self._server.shutdown()
        self._server.server_close()
        self._listener.close()
        self._server.refusing = True
        self._server.handed_over.set()

"""The sandbox framework: real HTTP servers on loopback with fault injection.

A provider sandbox subclasses :class:`Sandbox`, adds its routes in `setup_routes`,
keeps its state in memory (`reset_state`, `seed`, `snapshot`), and in a file too when
given a `state_file` (`providers.sandbox.persist`: the console's demo data survives a
restart), and reads time from `self.clock` so tests can move it forward. Every sandbox also serves admin routes:

    POST   /_sandbox/reset            forget all state and faults, seed again
    GET    /_sandbox/state            the state as JSON
    GET    /_sandbox/requests         every request received (method, path, query, headers, body)
    POST   /_sandbox/faults           add a fault rule (JSON body: FaultRule)
    PUT    /_sandbox/faults           replace the standing faults (JSON body: Faults)
    DELETE /_sandbox/faults           remove all faults
    POST   /_sandbox/clock            {"advance": seconds}

The fault kinds and how a request's fault is chosen live in `providers.sandbox.faults`
(re-exported here); this module is the server around them.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import json
import logging
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, TypeVar

import httpx
from aiohttp import web

from providers.http import verified_context
from providers.models import KST
from providers.sandbox.faults import FaultRule, Faults, canned_response, extra_latency, take_rule
from providers.sandbox.persist import SandboxStateFile

__all__ = [
    "FaultRule",
    "Faults",
    "Sandbox",
    "SandboxClock",
    "SandboxThread",
    "json_response",
]

log = logging.getLogger("invoicebot.sandbox")

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SandboxClock:
    """Wall-clock time plus an offset that tests and the admin route can advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> dt.datetime:
        """Aware UTC now."""
        return dt.datetime.fromtimestamp(self.time(), tz=dt.UTC)

    def now_kst(self) -> dt.datetime:
        return self.now().astimezone(KST)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(data, ensure_ascii=False)
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


class Sandbox(abc.ABC):
    """Base of every provider sandbox. Subclasses set `name` and implement the hooks."""

    name: ClassVar[str] = "sandbox"
    #: paths never subject to faults or latency
    _admin_prefix: ClassVar[str] = "/_sandbox/"

    def __init__(self, *, faults: Faults | None = None, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.standing = faults or Faults()
        self.rules: list[FaultRule] = []
        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []  # callbacks fired, with their outcome
        self._rng = random.Random(self.standing.seed)
        self.base_url = ""
        self._callback_client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: where the state survives a restart (the console's sandboxes); None keeps it in memory only
        self.state_file: SandboxStateFile | None = None
        # what `reset_state` assigns is the state to persist, whatever each sandbox calls it
        self._recording: set[str] | None = set()
        self.reset_state()
        self._state_names = tuple(sorted(self._recording or ()))
        self._recording = None
        self.seed()

    def __setattr__(self, name: str, value: Any) -> None:
        recording = self.__dict__.get("_recording")
        if recording is not None:
            recording.add(name)
        super().__setattr__(name, value)

    # -- hooks -----------------------------------------------------------------
    @abc.abstractmethod
    def setup_routes(self, app: web.Application) -> None:
        """Add the provider's routes."""

    @abc.abstractmethod
    def reset_state(self) -> None:
        """Forget every document."""

    def seed(self) -> None:  # noqa: B027 - optional hook
        """Create demo data after a reset."""

    def snapshot(self) -> dict[str, Any]:
        return {}

    # -- persistence (see providers.sandbox.persist) ------------------------------
    def persistent_state(self) -> dict[str, Any]:
        """The attributes `reset_state` builds, and the clock offset (time-driven states depend on it)."""
        return {"attributes": {name: getattr(self, name) for name in self._state_names},
                "clock_offset": self.clock.offset}

    def restore_state(self, state: dict[str, Any]) -> None:
        attributes = state.get("attributes", {})
        for name in self._state_names:
            if name in attributes:
                setattr(self, name, attributes[name])
        self.clock.offset = float(state.get("clock_offset", 0.0))

    def persist(self) -> None:
        """Save the state now, when it has a file."""
        if self.state_file is not None:
            self.state_file.save(self)

    @web.middleware
    async def _persist_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """After every request that may have changed something (anything but GET/HEAD), save."""
        try:
            return await handler(request)
        finally:
            if self.state_file is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
                self.state_file.save(self)

    # -- app -------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._persist_middleware, self._fault_middleware],
                              client_max_size=16 * 1024 * 1024)
        app.router.add_post("/_sandbox/reset", self._admin_reset)
        app.router.add_get("/_sandbox/state", self._admin_state)
        app.router.add_get("/_sandbox/requests", self._admin_requests)
        app.router.add_post("/_sandbox/faults", self._admin_add_fault)
        app.router.add_put("/_sandbox/faults", self._admin_set_faults)
        app.router.add_delete("/_sandbox/faults", self._admin_clear_faults)
        app.router.add_post("/_sandbox/clock", self._admin_clock)
        app.on_cleanup.append(self._cleanup)
        self.setup_routes(app)
        return app

    def reset(self) -> None:
        self.rules.clear()
        self.requests.clear()
        self.callbacks.clear()
        self.standing = Faults()
        self._rng = random.Random(self.standing.seed)
        self.clock.reset()
        self.reset_state()
        self.seed()

    def add_fault(self, rule: FaultRule) -> None:
        self.rules.append(rule)

    def set_faults(self, faults: Faults) -> None:
        self.standing = faults
        self._rng = random.Random(faults.seed)

    def clear_faults(self) -> None:
        self.rules.clear()
        self.standing = Faults()

    def requests_to(self, path_regex: str, method: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.requests
            if re.search(path_regex, r["path"]) and (method is None or r["method"] == method.upper())
        ]

    # -- faults ----------------------------------------------------------------
    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(self._admin_prefix):
            return await handler(request)
        body = await request.read()
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "headers": list(request.raw_headers and [(k.decode("latin-1"), v.decode("latin-1"))
                                                         for k, v in request.raw_headers]),
                "body": body.decode("utf-8", "replace"),
                "at": self.clock.time(),
            }
        )
        delay = extra_latency(self.rules, self.standing, request)
        if delay:
            await asyncio.sleep(delay)
        rule = take_rule(self.rules, self.standing, self._rng, request)
        if rule is None:
            return await handler(request)
        log.info("%s sandbox: injecting %s on %s %s", self.name, rule.kind, request.method, request.path)
        if rule.kind == "500":
            return self.error_500()
        if rule.kind == "503":
            return self.error_503(rule.retry_after)
        if rule.kind == "429":
            return self.error_429(rule.retry_after)
        canned = canned_response(rule.kind)
        if canned is not None:
            return canned
        if rule.kind == "reset":
            self._drop(request)
            return web.Response(status=500)
        if rule.kind == "timeout":
            await asyncio.sleep(rule.seconds)
            return await handler(request)
        # drop: the write happens, the answer never leaves
        response = await handler(request)
        self._drop(request)
        return response

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()

    # Providers override these to answer in their own error format.
    def error_500(self) -> web.Response:
        return json_response({"code": 500, "message": "Internal Server Error"}, status=500)

    def error_503(self, retry_after: int) -> web.Response:
        return json_response({"code": 503, "message": "Service Unavailable"}, status=503,
                             headers={"Retry-After": str(retry_after)})

    def error_429(self, retry_after: int) -> web.Response:
        return json_response({"code": 429, "message": "Too Many Requests"}, status=429,
                             headers={"Retry-After": str(retry_after)})

    # -- callbacks ---------------------------------------------------------------
    def fire_callback(self, url: str, payload: dict[str, Any], *, attempts: int = 3, interval: float = 0.5,
                      ok: Callable[[httpx.Response], bool] | None = None) -> None:
        """POST `payload` to `url` in the background, retrying like the provider does."""
        task = asyncio.get_running_loop().create_task(self._deliver(url, payload, attempts, interval, ok))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, payload: dict[str, Any], attempts: int, interval: float,
                       ok: Callable[[httpx.Response], bool] | None) -> None:
        if self._callback_client is None:
            # the process's one verifying context: httpx would load certifi's store again (~20 ms)
            self._callback_client = httpx.AsyncClient(timeout=10.0, trust_env=False, verify=verified_context())
        record: dict[str, Any] = {"url": url, "payload": payload, "attempts": 0, "delivered": False}
        self.callbacks.append(record)
        for attempt in range(1, attempts + 1):
            record["attempts"] = attempt
            try:
                response = await self._callback_client.post(url, json=payload)
                record["status"] = response.status_code
                record["answer"] = response.text[:500]
                if (ok or (lambda r: r.status_code == 200))(response):
                    record["delivered"] = True
                    return
            except httpx.HTTPError as exc:
                record["error"] = type(exc).__name__
            await asyncio.sleep(interval)

    async def wait_callbacks(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _cleanup(self, _app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._callback_client is not None:
            await self._callback_client.aclose()
            self._callback_client = None

    # -- admin -----------------------------------------------------------------
    async def _admin_reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return json_response({"ok": True})

    async def _admin_state(self, _request: web.Request) -> web.Response:
        return json_response(self.snapshot())

    async def _admin_requests(self, _request: web.Request) -> web.Response:
        return json_response(self.requests)

    async def _admin_add_fault(self, request: web.Request) -> web.Response:
        self.add_fault(FaultRule.model_validate(await request.json()))
        return json_response({"ok": True, "rules": len(self.rules)})

    async def _admin_set_faults(self, request: web.Request) -> web.Response:
        self.set_faults(Faults.model_validate(await request.json()))
        return json_response({"ok": True})

    async def _admin_clear_faults(self, _request: web.Request) -> web.Response:
        self.clear_faults()
        return json_response({"ok": True})

    async def _admin_clock(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.clock.advance(float(body.get("advance", 0)))
        return json_response({"ok": True, "now": self.clock.now().isoformat()})

    # -- serving ---------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on the running loop; returns the base URL.

        A saved state (`state_file`) is loaded first. A `port` already taken falls back to any
        free one (the console asks for a fixed port per provider so links stay valid across
        restarts, but must still start when another program holds it).
        """
        if self.state_file is not None and not self.state_file.load(self):
            self.state_file.save(self)
        self._runner: web.AppRunner | None = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=0.5)
        runner = self._runner
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            if not port:
                raise
            log.warning("%s sandbox: port %d is taken (%s); using a free one", self.name, port, exc)
            site = web.TCPSite(runner, host, 0, backlog=1024)
            await site.start()
        server = site._server
        assert server is not None
        sock = server.sockets[0]  # type: ignore[attr-defined]
        self.base_url = f"http://{host}:{sock.getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        self.persist()  # what background jobs (callbacks, commit jobs) changed since the last request
        runner = getattr(self, "_runner", None)
        if runner is not None:
            await runner.cleanup()
            self._runner = None


class SandboxThread:
    """Runs sandboxes on their own event loop in a daemon thread, for sync callers
    (the console, `invoicebot sandbox`, tests). `call` runs a function on that loop."""

    def __init__(self, sandboxes: list[Sandbox]) -> None:
        self.sandboxes = sandboxes
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="sandboxes", daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._started.set()
        self.loop.run_forever()

    def start(self, host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> dict[str, str]:
        self._thread.start()
        self._started.wait()
        urls: dict[str, str] = {}
        for sandbox in self.sandboxes:
            port = (ports or {}).get(sandbox.name, 0)
            urls[sandbox.name] = self.run(sandbox.start(host, port))
        return urls

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        async def _wrapped() -> T:
            return fn()

        return self.run(_wrapped(), timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        for sandbox in self.sandboxes:
            try:
                self.run(sandbox.stop(), timeout=5)
            except Exception:
                log.exception("stopping the %s sandbox failed", sandbox.name)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    def __getitem__(self, name: str) -> Sandbox:
        for sandbox in self.sandboxes:
            if sandbox.name == name:
                return sandbox
        raise KeyError(name)

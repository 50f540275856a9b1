"""Socket Mode: the WebSocket ``apps.connections.open`` hands out, as Slack runs it.

The app connects, gets ``hello``, and then receives envelopes; `SocketModeHub.push` sends
one and waits for the app's ack on the same socket, which is what Slack does before it
gives up on an envelope and retries it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.console.slack_double.records import MethodHandler

__all__ = ["SocketModeHub"]


class SocketModeHub:
    """Open Socket Mode connections, and the acks the app sent over them."""

    def __init__(self, app_id: str, root_url: Callable[[], str]) -> None:
        self.app_id = app_id
        self.root_url = root_url  # the double's http:// root, known only once it serves
        self.sockets: list[web.WebSocketResponse] = []
        self._envelopes = itertools.count(1)
        self.forget_acks()

    def forget_acks(self) -> None:
        """Drop recorded acks and pending waits (connections stay open)."""
        self.acks: dict[str, dict[str, Any]] = {}  # envelope id -> the app's ack
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def methods(self) -> dict[str, MethodHandler]:
        return {"apps.connections.open": self.connections_open}

    @property
    def connected(self) -> bool:
        return bool(self.sockets)

    def connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.root_url().replace("http://", "ws://") + "/socket-mode"}

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        """One connection: hello, then read acks until the app hangs up."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self.sockets),
                                "debug_info": {"host": "slack-double"}, "connection_info": {"app_id": self.app_id}})
        try:
            async for message in socket:
                if message.type == web.WSMsgType.TEXT:
                    self._ack(message.data)
        finally:
            self.sockets.remove(socket)
        return socket

    def _ack(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return
        envelope_id = str(data.get("envelope_id", ""))
        self.acks[envelope_id] = data
        waiter = self._waiters.pop(envelope_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    async def push(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0,
                   retry_reason: str = "", timeout: float = 10.0) -> dict[str, Any]:
        """Send an envelope over the newest connection, as Slack does, and return the app's ack."""
        if not self.sockets:
            raise AssertionError("no Socket Mode connection")
        envelope_id = f"env-{next(self._envelopes):06d}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[envelope_id] = waiter
        await self.sockets[-1].send_json({
            "envelope_id": envelope_id, "type": envelope_type, "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": retry_reason,
        })
        return await asyncio.wait_for(waiter, timeout)

    async def close_all(self) -> None:
        for socket in list(self.sockets):
            await socket.close()

"""A local Slack Web API double: a real aiohttp server on loopback that answers like Slack.

The app under test (or the console) talks to it through the real
``slack_sdk.web.async_client.AsyncWebClient(token=..., base_url=double.base_url)``,
so request encoding, retries and the three-step upload v2 flow are exercised for real.
It records every call (method, merged query/form/JSON arguments, redacted headers,
time, answer) for tests to assert on what Slack would have been asked to do, and an
optional *event sink* is awaited on each recorded call (the console renders them).

Routes:
    POST /api/<method>           Web API methods (unknown ones answer ``unknown_method``)
    POST /upload/<file_id>       the upload URL handed out by files.getUploadURLExternal
    POST /response/<id>          a ``response_url`` (what Bolt's ``respond()`` posts)

Every API call needs ``Authorization: Bearer xoxb-…`` (else ``not_authed`` /
``invalid_auth``, as Slack answers, with HTTP 200). Faults: `fail_next(method, n)`
makes the next n calls answer 429 + ``Retry-After`` + ``{"ok":false,"error":"ratelimited"}``
or any other ``{"ok":false,"error":...}``.

Example:
    double = SlackWebApiDouble()
    client = AsyncWebClient(token="xoxb-test", base_url=await double.start())
    await client.chat_postMessage(channel="C1", text="hi")
    assert double.last("chat.postMessage").args["text"] == "hi"
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from providers.redact import redact_mapping

__all__ = [
    "EventSink",
    "RecordedCall",
    "SlackDoubleThread",
    "SlackWebApiDouble",
    "UploadedFile",
]

log = logging.getLogger("invoicebot.slack_double")

T = TypeVar("T")

#: Arguments Slack takes as JSON text when form-encoded.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurl_media_options"})
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_STACK = 3  # root + 2 pushed


@dataclass
class RecordedCall:
    """One request the double received, and what it answered."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]  # redacted: the token never appears
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok")) and self.status == 200


@dataclass
class UploadedFile:
    """A file going through (or done with) the upload v2 flow."""

    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


@dataclass
class _Fault:
    count: int
    error: str
    status: int
    retry_after: int


EventSink = Callable[[RecordedCall], Awaitable[None]]


class SlackWebApiDouble:
    """See the module docstring. All state is in memory; `reset()` forgets it."""

    def __init__(
        self,
        *,
        team_id: str = "T0INVOICE",
        team: str = "invoicebot-dev",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0INVOICE",
        valid_tokens: Collection[str] | None = None,
        on_call: EventSink | None = None,
    ) -> None:
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.valid_tokens = frozenset(valid_tokens) if valid_tokens is not None else None
        self.on_call = on_call
        self.root_url = ""
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self.reset()

    # -- state --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget calls, messages, views, files, users, groups and faults."""
        self.recorded: list[RecordedCall] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, list[str]] = {}
        self.channel_names: dict[str, str] = {}
        self.files: dict[str, UploadedFile] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()
        self._responses: dict[str, dict[str, Any]] = {}  # response id -> {"channel", "ts"} it answers
        self._faults: dict[str, list[_Fault]] = {}
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self.socket_acks: dict[str, dict[str, Any]] = {}  # Socket Mode: envelope id -> the app's ack
        self._socket_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.add_user(self.bot_user_id, name="invoicebot", real_name="Invoice Bot", is_bot=True)

    def add_user(self, user_id: str, *, name: str | None = None, real_name: str | None = None,
                 email: str | None = None, tz: str = "Asia/Seoul", is_admin: bool = False,
                 is_bot: bool = False) -> None:
        """Make `users.info` know a user."""
        name = name or user_id.lower()
        self.users[user_id] = {
            "id": user_id, "team_id": self.team_id, "name": name, "deleted": False,
            "real_name": real_name or name, "tz": tz, "tz_label": tz, "is_admin": is_admin,
            "is_owner": False, "is_bot": is_bot, "is_app_user": False,
            "profile": {"real_name": real_name or name, "display_name": name, "email": email,
                        "team": self.team_id},
        }

    def set_group_members(self, group_id: str, user_ids: Collection[str]) -> None:
        """What `usergroups.users.list(usergroup=group_id)` answers."""
        self.groups[group_id] = list(user_ids)

    def add_channel(self, name: str, channel_id: str) -> None:
        """Let ``#name`` resolve to `channel_id` (chat.postMessage accepts names)."""
        self.channel_names[name.lstrip("#")] = channel_id

    def fail_next(self, method: str, count: int = 1, *, error: str = "ratelimited",
                  retry_after: int = 1, status: int | None = None) -> None:
        """Make the next `count` calls of `method` fail.

        ``error="ratelimited"`` answers HTTP 429 with ``Retry-After``; any other error
        answers HTTP 200 ``{"ok": false, "error": error}`` like Slack does.
        """
        code = status if status is not None else (429 if error == "ratelimited" else 200)
        self._faults.setdefault(method, []).append(_Fault(count, error, code, retry_after))

    def expire_trigger(self, trigger_id: str) -> None:
        """Make views.open/push answer ``expired_trigger_id`` for this trigger."""
        self._expired_triggers.add(trigger_id)

    def response_url(self, response_id: str | None = None, *, channel: str | None = None,
                     ts: str | None = None) -> str:
        """A response_url served by the double; with channel+ts, ``replace_original`` edits that message."""
        rid = response_id or f"R{next(self._ids):06d}"
        self._responses[rid] = {"channel": channel, "ts": ts}
        return f"{self.root_url}/response/{rid}"

    # -- assertions -----------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[RecordedCall]:
        return [c for c in self.recorded if method is None or c.method == method]

    def last(self, method: str) -> RecordedCall:
        found = self.calls(method)
        if not found:
            seen = sorted({c.method for c in self.recorded}) or ["nothing"]
            raise AssertionError(f"{method} was never called (calls: {', '.join(seen)})")
        return found[-1]

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in `channel` (updates applied, deleted ones gone), oldest first."""
        key = self._resolve_channel(channel) or channel
        return [dict(m) for m in self._messages.get(key, []) if not m.get("deleted")]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        return [dict(m) for m in self._ephemerals
                if (channel is None or m["channel"] == channel) and (user is None or m["user"] == user)]

    def responses(self, response_id: str | None = None) -> list[RecordedCall]:
        """What was posted to response URLs (Bolt's ``respond()``)."""
        return [c for c in self.calls("response_url") if response_id is None or c.args["response_id"] == response_id]

    def view(self, view_id: str) -> dict[str, Any]:
        return dict(self._views[view_id])

    async def wait_for(self, method: str, count: int = 1, timeout: float = 2.0) -> list[RecordedCall]:
        """Wait until `method` was called at least `count` times; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method} call(s) within {timeout}s, got {len(found)}")
            await asyncio.sleep(0.01)

    # -- serving --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The URL to give ``AsyncWebClient(base_url=...)`` (ends with ``/api/``)."""
        return f"{self.root_url}/api/"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{response_id}", self._response)
        app.router.add_get("/socket-mode", self._socket_mode)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on the running loop; returns `base_url`."""
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        server = site._server
        assert server is not None
        sock = server.sockets[0]  # type: ignore[attr-defined]
        self.root_url = f"http://{host}:{sock.getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- plumbing -------------------------------------------------------------------------
    async def _record(self, call: RecordedCall) -> None:
        self.recorded.append(call)
        if self.on_call is not None:
            try:
                await self.on_call(call)
            except Exception:  # a broken sink must not change what Slack answers
                log.exception("slack double event sink failed on %s", call.method)

    @staticmethod
    async def _read_args(request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        body = await request.read()
        ctype = request.content_type
        if body and ctype == "application/json":
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                args.update(parsed)
        elif body and ctype in ("application/x-www-form-urlencoded", ""):
            args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif body and ctype.startswith("multipart/"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_ARGS & args.keys():
            if isinstance(args[key], str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        args.pop("token", None)
        return args

    def _auth_error(self, request: web.Request, method: str = "") -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return "not_authed"
        token = header[7:].strip()
        if method == "apps.connections.open":  # the one method that takes the app-level token
            return None if token.startswith("xapp-") else "invalid_auth"
        if not token.startswith("xoxb-"):
            return "invalid_auth"
        if self.valid_tokens is not None and token not in self.valid_tokens:
            return "invalid_auth"
        return None

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        call = RecordedCall(method=method, args=args, headers=redact_mapping(dict(request.headers)), at=time.time())
        headers: dict[str, str] = {}
        auth_error = self._auth_error(request, method)
        if auth_error:
            call.response = {"ok": False, "error": auth_error}
        elif (fault := self._take_fault(method)) is not None:
            call.status = fault.status
            call.response = {"ok": False, "error": fault.error}
            if fault.status == 429:
                headers["Retry-After"] = str(fault.retry_after)
        else:
            handler = _HANDLERS.get(method)
            if handler is None:
                call.response = {"ok": False, "error": "unknown_method", "req_method": method}
            else:
                call.response = handler(self, args)
        await self._record(call)
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        upload = self.files.get(file_id)
        call = RecordedCall(method="file.upload", args={"file_id": file_id, "size": len(data)},
                            headers=redact_mapping(dict(request.headers)), at=time.time())
        if upload is None or upload.completed:
            call.status = 404
            await self._record(call)
            return web.Response(status=404, text="Not Found")
        upload.data = data
        await self._record(call)
        return web.Response(text=f"OK - {len(data)}")

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["response_id"]
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            body = None
        call = RecordedCall(method="response_url", args={"response_id": rid}, at=time.time(),
                            headers=redact_mapping(dict(request.headers)))
        if not isinstance(body, dict) or rid not in self._responses:
            call.status = 404 if rid not in self._responses else 400
            call.response = {"ok": False, "error": "invalid_payload" if call.status == 400 else "not_found"}
            await self._record(call)
            return web.json_response(call.response, status=call.status)
        call.args.update(body)
        target = self._responses[rid]
        message = self._find(target["channel"], target["ts"]) if target["channel"] and target["ts"] else None
        if message is not None and body.get("delete_original"):
            message["deleted"] = True
        elif message is not None and body.get("replace_original"):
            for key in ("text", "blocks", "attachments"):
                if key in body:
                    message[key] = body[key]
        call.response = {"ok": True}
        await self._record(call)
        return web.json_response(call.response)

    # -- Socket Mode ----------------------------------------------------------------------
    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        """The WebSocket `apps.connections.open` hands out: hello, then envelopes and their acks."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets),
                                "debug_info": {"host": "slack-double"}, "connection_info": {"app_id": self.app_id}})
        try:
            async for message in socket:
                if message.type != web.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    continue
                envelope_id = str(data.get("envelope_id", ""))
                self.socket_acks[envelope_id] = data
                waiter = self._socket_waiters.pop(envelope_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            self._sockets.remove(socket)
        return socket

    @property
    def socket_connected(self) -> bool:
        return bool(self._sockets)

    async def push(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0,
                   retry_reason: str = "", timeout: float = 10.0) -> dict[str, Any]:
        """Send an envelope over Socket Mode, as Slack does, and return the app's ack."""
        if not self._sockets:
            raise AssertionError("no Socket Mode connection")
        envelope_id = f"env-{next(self._ids):06d}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._socket_waiters[envelope_id] = waiter
        await self._sockets[-1].send_json({
            "envelope_id": envelope_id, "type": envelope_type, "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": retry_reason,
        })
        return await asyncio.wait_for(waiter, timeout)

    def _apps_connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.root_url.replace("http://", "ws://") + "/socket-mode"}

    # -- helpers for handlers ---------------------------------------------------------------
    def _next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _resolve_channel(self, channel: Any) -> str | None:
        if not isinstance(channel, str) or not channel:
            return None
        if channel.startswith("#"):
            return self.channel_names.get(channel[1:])
        if channel[0] in "UW":
            return "D" + channel[1:]  # a bot posting to a user id lands in their DM
        if channel[0] in "CGD":
            return channel
        return self.channel_names.get(channel)

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts and not message.get("deleted"):
                return message
        return None

    @staticmethod
    def _invalid_blocks(blocks: Any) -> list[str]:
        """Problems Slack would report for `blocks` (checked with slack_sdk's models)."""
        if blocks is None:
            return []
        if not isinstance(blocks, list):
            return ["blocks must be a JSON array"]
        if len(blocks) > _MAX_MESSAGE_BLOCKS:
            return [f"no more than {_MAX_MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"]
        problems = []
        for i, block in enumerate(blocks):
            if not isinstance(block, dict) or "type" not in block:
                problems.append(f"missing type [json-pointer:/blocks/{i}]")
                continue
            try:
                parsed = Block.parse(block)
                if parsed is not None:
                    parsed.to_dict()
            except (SlackObjectFormationError, TypeError, KeyError, AttributeError, ValueError) as exc:
                problems.append(f"{exc} [json-pointer:/blocks/{i}]")
        return problems

    def _message_args(self, args: dict[str, Any]) -> dict[str, Any] | str:
        channel = self._resolve_channel(args.get("channel"))
        if channel is None:
            return "channel_not_found"
        text = args.get("text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if not text and not blocks and not attachments:
            return "no_text"
        if self._invalid_blocks(blocks):
            return "invalid_blocks"
        if isinstance(text, str) and len(text) > 40_000:
            text = text[:40_000]  # Slack truncates rather than refuses
        return {"channel": channel, "text": text or "", "blocks": blocks, "attachments": attachments}

    def _error(self, error: str, messages: list[str] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error": error}
        if messages:
            answer["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}
        return answer

    # -- methods ----------------------------------------------------------------------------
    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"https://{self.team}.slack.com/", "team": self.team, "user": "invoicebot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        parsed = self._message_args(args)
        if isinstance(parsed, str):
            return self._error(parsed, self._invalid_blocks(args.get("blocks")))
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id,
                   "ts": ts, "text": parsed["text"], "team": self.team_id}
        if parsed["blocks"] is not None:
            message["blocks"] = parsed["blocks"]
        if parsed["attachments"] is not None:
            message["attachments"] = parsed["attachments"]
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        if args.get("metadata") is not None:
            message["metadata"] = args["metadata"]
        stored = dict(message, channel=parsed["channel"])
        self._messages.setdefault(parsed["channel"], []).append(stored)
        return {"ok": True, "channel": parsed["channel"], "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        if channel is None:
            return self._error("channel_not_found")
        message = self._find(channel, str(args.get("ts", "")))
        if message is None:
            return self._error("message_not_found")
        problems = self._invalid_blocks(args.get("blocks"))
        if problems:
            return self._error("invalid_blocks", problems)
        for key in ("text", "blocks", "attachments"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        shown = {k: v for k, v in message.items() if k not in ("channel", "deleted")}
        return {"ok": True, "channel": channel, "ts": message["ts"], "text": message.get("text", ""),
                "message": shown}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        parsed = self._message_args(args)
        if isinstance(parsed, str):
            return self._error(parsed, self._invalid_blocks(args.get("blocks")))
        user = args.get("user")
        if not isinstance(user, str) or not user:
            return self._error("user_not_in_channel")
        ts = self._next_ts()
        self._ephemerals.append({"channel": parsed["channel"], "user": user, "ts": ts, "text": parsed["text"],
                                 "blocks": parsed["blocks"]})
        return {"ok": True, "message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        if channel is None:
            return self._error("channel_not_found")
        message = self._find(channel, str(args.get("ts", "")))
        if message is None:
            return self._error("message_not_found")
        message["deleted"] = True
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def _check_view(self, view: Any) -> list[str]:
        if not isinstance(view, dict):
            return ["view must be a JSON object"]
        try:
            View(**view).to_dict()
        except (SlackObjectFormationError, TypeError, KeyError, AttributeError, ValueError) as exc:
            return [str(exc)]
        return []

    def _check_trigger(self, args: dict[str, Any]) -> dict[str, Any] | None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not isinstance(trigger, str) or not trigger:
            return self._error("invalid_arguments", ["missing required field: trigger_id"])
        if trigger in self._expired_triggers:
            return self._error("expired_trigger_id")
        if trigger in self._used_triggers:
            return self._error("exchanged_trigger_id")
        self._used_triggers.add(trigger)
        return None

    def _store_view(self, view: dict[str, Any], *, view_id: str | None = None, root: str | None = None,
                    previous: str | None = None) -> dict[str, Any]:
        view_id = view_id or self._new_id("V")
        stored = {
            "id": view_id, "team_id": self.team_id, "type": view.get("type"),
            "blocks": view.get("blocks", []), "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "state": {"values": {}},
            "hash": f"{int(time.time())}.{self._new_id('h')}", "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"), "submit": view.get("submit"),
            "previous_view_id": previous, "root_view_id": root or view_id, "app_id": self.app_id,
            "external_id": view.get("external_id", ""), "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = stored
        return stored

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._check_trigger(args)
        if refused:
            return refused
        problems = self._check_view(args.get("view"))
        if problems:
            return self._error("invalid_arguments", problems)
        return {"ok": True, "view": self._store_view(args["view"])}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = self._check_trigger(args)
        if refused:
            return refused
        problems = self._check_view(args.get("view"))
        if problems:
            return self._error("invalid_arguments", problems)
        # Slack pushes onto the modal the trigger came from; the double uses the newest stack
        modals = [v for v in self._views.values() if v["type"] == "modal"]
        if not modals:
            return {"ok": True, "view": self._store_view(args["view"])}
        top = modals[-1]
        depth = sum(1 for v in modals if v["root_view_id"] == top["root_view_id"])
        if depth >= _MAX_VIEW_STACK:
            return self._error("push_limit_reached")
        return {"ok": True, "view": self._store_view(args["view"], root=top["root_view_id"], previous=top["id"])}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            return self._error("invalid_arguments", ["view_id or external_id is required"])
        target = self._views.get(view_id) if view_id else next(
            (v for v in self._views.values() if external_id and v["external_id"] == external_id), None)
        if target is None:
            return self._error("not_found")
        if args.get("hash") and args["hash"] != target["hash"]:
            return self._error("hash_conflict")
        problems = self._check_view(args.get("view"))
        if problems:
            return self._error("invalid_arguments", problems)
        stored = self._store_view(args["view"], view_id=target["id"], root=target["root_view_id"],
                                  previous=target["previous_view_id"])
        return {"ok": True, "view": stored}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if not isinstance(user, str) or not user:
            return self._error("invalid_arguments", ["missing required field: user_id"])
        view = args.get("view")
        problems = self._check_view(view)
        if not isinstance(view, dict) or problems or view.get("type") != "home":
            return self._error("invalid_arguments", problems or ["views.publish takes a view of type home"])
        previous = self.home_views.get(user)
        if previous and args.get("hash") and args["hash"] != previous["hash"]:
            return self._error("hash_conflict")
        stored = self._store_view(view, view_id=previous["id"] if previous else None)
        self.home_views[user] = stored
        return {"ok": True, "view": stored}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users and not args.get("channel"):
            return self._error("users_list_not_supplied")
        if len(users) > 1:
            channel = "G" + "".join(sorted(u[1:] for u in users))[:20]
        else:
            channel = self._resolve_channel(users[0] if users else args["channel"]) or ""
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return self._error("user_not_found")
        return {"ok": True, "user": user}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.groups:
            return self._error("no_such_subteam")
        return {"ok": True, "users": list(self.groups[group])}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        try:
            length = int(args.get("length", ""))
        except (TypeError, ValueError):
            return self._error("invalid_arguments", ["length must be an integer"])
        if not filename or length < 0:
            return self._error("invalid_arguments", ["filename and length are required"])
        file_id = self._new_id("F")
        self.files[file_id] = UploadedFile(id=file_id, filename=str(filename), length=length)
        return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            return self._error("invalid_arguments", ["files must be a non-empty JSON array"])
        channel = args.get("channel_id") or (str(args.get("channels", "")).split(",")[0] or None)
        channel_id = self._resolve_channel(channel) if channel else None
        if channel and channel_id is None:
            return self._error("channel_not_found")
        uploads = []
        for entry in entries:
            upload = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if upload is None or upload.data is None or upload.completed:
                return self._error("file_not_found")
            uploads.append((upload, entry))
        shown = []
        for upload, entry in uploads:
            upload.completed = True
            upload.title = entry.get("title") or upload.filename
            upload.channel_id = channel_id
            upload.initial_comment = args.get("initial_comment")
            upload.thread_ts = args.get("thread_ts")
            shown.append({
                "id": upload.id, "created": int(time.time()), "timestamp": int(time.time()), "name": upload.filename,
                "title": upload.title, "mimetype": _mimetype(upload.filename),
                "filetype": upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "binary",
                "user": self.bot_user_id, "size": upload.size, "is_external": False, "is_public": True,
                "channels": [channel_id] if channel_id else [],
            })
        if channel_id:
            ts = self._next_ts()
            message = {"type": "message", "subtype": "file_share", "user": self.bot_user_id, "ts": ts,
                       "text": args.get("initial_comment") or "", "files": shown, "channel": channel_id}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self._messages.setdefault(channel_id, []).append(message)
        return {"ok": True, "files": shown}


def _mimetype(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "csv": "text/csv",
            "pdf": "application/pdf", "txt": "text/plain", "json": "application/json"}.get(
        ext, "application/octet-stream")


_HANDLERS: dict[str, Callable[[SlackWebApiDouble, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackWebApiDouble._auth_test,
    "chat.postMessage": SlackWebApiDouble._chat_post_message,
    "chat.update": SlackWebApiDouble._chat_update,
    "chat.postEphemeral": SlackWebApiDouble._chat_post_ephemeral,
    "chat.delete": SlackWebApiDouble._chat_delete,
    "views.open": SlackWebApiDouble._views_open,
    "views.push": SlackWebApiDouble._views_push,
    "views.update": SlackWebApiDouble._views_update,
    "views.publish": SlackWebApiDouble._views_publish,
    "conversations.open": SlackWebApiDouble._conversations_open,
    "users.info": SlackWebApiDouble._users_info,
    "usergroups.users.list": SlackWebApiDouble._usergroups_users_list,
    "files.getUploadURLExternal": SlackWebApiDouble._files_get_upload_url,
    "files.completeUploadExternal": SlackWebApiDouble._files_complete_upload,
    "apps.connections.open": SlackWebApiDouble._apps_connections_open,
}


class SlackDoubleThread:
    """Runs a :class:`SlackWebApiDouble` on its own event loop in a daemon thread, for sync
    callers (the console, sync tests). `run` executes a coroutine on that loop."""

    def __init__(self, double: SlackWebApiDouble | None = None) -> None:
        self.double = double or SlackWebApiDouble()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="slack-double", daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._started.set()
        self.loop.run_forever()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the double's `base_url`."""
        self._thread.start()
        self._started.wait()
        return self.run(self.double.start(host, port))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_for(self, method: str, count: int = 1, timeout: float = 2.0) -> list[RecordedCall]:
        return self.run(self.double.wait_for(method, count, timeout), timeout + 1)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self.double.stop(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)

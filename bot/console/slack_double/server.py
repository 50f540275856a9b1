"""`SlackWebApiDouble`: the double's HTTP face, and the one object tests and the console hold.

It serves the routes (see the package docstring), records every call, and routes each Web
API method to the part of the workspace that owns it: `Directory` (users, groups, channels),
`Chat` (messages), `Views` (modals, App Home), `Uploads` (files) and `SocketModeHub`.
`reset()` replaces those parts with empty ones; open Socket Mode connections survive it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection
from typing import Any

from aiohttp import web

from bot.console.slack_double.chat import Chat
from bot.console.slack_double.directory import Directory
from bot.console.slack_double.faults import FaultPlan
from bot.console.slack_double.files import Uploads
from bot.console.slack_double.functions import Functions
from bot.console.slack_double.oauth import Grant, Installs
from bot.console.slack_double.records import (
    Clock,
    EventSink,
    MethodHandler,
    RecordedCall,
    Stamps,
    TeamIdentity,
    UploadedFile,
)
from bot.console.slack_double.shared_files import SharedFiles
from bot.console.slack_double.socket_mode import SocketModeHub
from bot.console.slack_double.views import Views
from bot.console.slack_double.wire import auth_error, read_args
from providers.redact import redact_mapping

__all__ = ["SlackWebApiDouble"]

log = logging.getLogger("invoicebot.slack_double")


class SlackWebApiDouble:
    """A Slack workspace in memory, served over HTTP on loopback; `reset()` forgets its state.

    Args:
        valid_tokens: the only bot tokens accepted (default: any ``xoxb-`` token).
        on_call: awaited with every recorded call (the console prints them).
        clock: seconds since the epoch for message ts, view hashes and call times.
    """

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
        clock: Clock = time.time,
        client_id: str = "111.222",
        client_secret: str = "double-client-secret",  # noqa: S107 (the double's own)
    ) -> None:
        self.identity = TeamIdentity(team_id=team_id, team=team, bot_user_id=bot_user_id, bot_id=bot_id,
                                     app_id=app_id)
        self.team_id, self.team, self.bot_user_id, self.bot_id, self.app_id = (
            team_id, team, bot_user_id, bot_id, app_id)
        self.valid_tokens = frozenset(valid_tokens) if valid_tokens is not None else None
        self.on_call = on_call
        self.clock = clock
        self.root_url = ""
        self._runner: web.AppRunner | None = None
        self.socket_mode = SocketModeHub(app_id, lambda: self.root_url)
        #: OAuth installs (``oauth.v2.access``) and the tokens they handed out; see `grant_install`
        self.installs = Installs(client_id, client_secret, app_id)
        self.reset()

    # -- state --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget calls, messages, views, files, users, groups and faults."""
        self.recorded: list[RecordedCall] = []
        self.stamps = Stamps(self.clock)
        self.directory = Directory(self.identity)
        self.chat = Chat(self.identity, self.directory, self.stamps)
        self.views = Views(self.identity, self.stamps)
        self.uploads = Uploads(self.directory, self.chat, self.stamps, lambda fid: f"{self.root_url}/upload/{fid}")
        self.shared_files = SharedFiles(self.uploads, lambda: self.root_url)
        self.faults = FaultPlan()
        #: custom step executions (`start_function`) and their completions
        self.functions = Functions(self.stamps)
        self._responses: dict[str, dict[str, Any]] = {}  # response id -> {"channel", "ts"} it answers
        self.socket_mode.forget_acks()
        self._methods: dict[str, MethodHandler] = {
            **self.directory.methods(), **self.chat.methods(), **self.views.methods(),
            **self.uploads.methods(), **self.shared_files.methods(), **self.socket_mode.methods(),
        }

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self.directory.users

    @property
    def groups(self) -> dict[str, list[str]]:
        return self.directory.groups

    @property
    def channel_names(self) -> dict[str, str]:
        return self.directory.channel_names

    @property
    def files(self) -> dict[str, UploadedFile]:
        return self.uploads.files

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        return self.views.home_views

    @property
    def socket_acks(self) -> dict[str, dict[str, Any]]:
        return self.socket_mode.acks

    @property
    def socket_connected(self) -> bool:
        return self.socket_mode.connected

    # -- set-up -------------------------------------------------------------------------
    def add_user(self, user_id: str, *, name: str | None = None, real_name: str | None = None,
                 email: str | None = None, tz: str = "Asia/Seoul", is_admin: bool = False,
                 is_bot: bool = False) -> None:
        """Make `users.info` know a user."""
        self.directory.add_user(user_id, name=name, real_name=real_name, email=email, tz=tz, is_admin=is_admin,
                                is_bot=is_bot)

    def set_group_members(self, group_id: str, user_ids: Collection[str]) -> None:
        """What `usergroups.users.list(usergroup=group_id)` answers."""
        self.directory.set_group_members(group_id, user_ids)

    def set_channel_members(self, channel_id: str, user_ids: Collection[str]) -> None:
        """What `conversations.members(channel=channel_id)` answers."""
        self.directory.set_channel_members(channel_id, user_ids)

    def add_channel(self, name: str, channel_id: str) -> None:
        """Let ``#name`` resolve to `channel_id` (chat.postMessage accepts names)."""
        self.directory.add_channel(name, channel_id)

    def grant_install(self, code: str, team_id: str | None, *, team_name: str | None = None,
                      enterprise_id: str | None = None, enterprise_name: str | None = None,
                      is_enterprise_install: bool = False, installer: str = "U_INSTALLER") -> None:
        """Let the app exchange `code` (``oauth.v2.access``) for a bot token of this workspace
        (for an org-wide install: `team_id` None, `enterprise_id` set, `is_enterprise_install`)."""
        self.installs.grant(code, Grant(team_id=team_id, team_name=team_name, enterprise_id=enterprise_id,
                                        enterprise_name=enterprise_name,
                                        is_enterprise_install=is_enterprise_install, installer=installer))

    def start_function(self) -> tuple[str, str]:
        """A custom step execution, as Slack starts one: (function_execution_id, bot_access_token)
        to put in the ``function_executed`` event; `functions.completion(id)` tells how it ended."""
        return self.functions.start()

    def expire_trigger(self, trigger_id: str) -> None:
        """Make views.open/push answer ``expired_trigger_id`` for this trigger."""
        self.views.expire_trigger(trigger_id)

    def fail_next(self, method: str, count: int = 1, *, error: str = "ratelimited",
                  retry_after: int = 1, status: int | None = None, body: str | None = None,
                  content_type: str = "application/json", delay: float = 0.0) -> None:
        """Make the next `count` calls of `method` fail.

        ``error="ratelimited"`` answers HTTP 429 with ``Retry-After``; any other error
        answers HTTP 200 ``{"ok": false, "error": error}`` like Slack does. `body` (with its
        `content_type`) answers that raw text instead, e.g. a proxy's HTML error page; `delay`
        hangs that many seconds before answering.
        """
        self.faults.add(method, count, error=error, retry_after=retry_after, status=status, body=body,
                        content_type=content_type, delay=delay)

    def response_url(self, response_id: str | None = None, *, channel: str | None = None,
                     ts: str | None = None) -> str:
        """A response_url served by the double; with channel+ts, ``replace_original`` edits that message."""
        rid = response_id or self.stamps.new_id("R", width=6)
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
        return self.chat.messages_in(channel)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        return self.chat.ephemerals(channel, user)

    def responses(self, response_id: str | None = None) -> list[RecordedCall]:
        """What was posted to response URLs (Bolt's ``respond()``)."""
        return [c for c in self.calls("response_url") if response_id is None or c.args["response_id"] == response_id]

    def view(self, view_id: str) -> dict[str, Any]:
        return dict(self.views.views[view_id])

    async def wait_for(self, method: str, count: int = 1, timeout: float = 2.0) -> list[RecordedCall]:
        """Wait until `method` was called at least `count` times; raise AssertionError on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} {method} call(s) within {timeout}s, got {len(found)}")
            await asyncio.sleep(0.01)

    async def push(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0,
                   retry_reason: str = "", timeout: float = 10.0) -> dict[str, Any]:
        """Send an envelope over Socket Mode, as Slack does, and return the app's ack."""
        return await self.socket_mode.push(envelope_type, payload, retry_attempt=retry_attempt,
                                           retry_reason=retry_reason, timeout=timeout)

    # -- serving --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The URL to give ``AsyncWebClient(base_url=...)`` (ends with ``/api/``)."""
        return f"{self.root_url}/api/"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/download/{name}", self._download)
        app.router.add_post("/response/{response_id}", self._response)
        app.router.add_get("/socket-mode", self.socket_mode.serve)
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
        await self.socket_mode.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _accepted(self) -> Collection[str] | None:
        """The tokens accepted: the configured ones plus every token an install handed out."""
        if self.valid_tokens is None:
            return None
        return self.valid_tokens | self.installs.tokens.keys()

    # -- routes ---------------------------------------------------------------------------
    def _new_call(self, method: str, args: dict[str, Any], request: web.Request) -> RecordedCall:
        return RecordedCall(method=method, args=args, headers=redact_mapping(dict(request.headers)), at=self.clock())

    async def _record(self, call: RecordedCall) -> None:
        self.recorded.append(call)
        if self.on_call is not None:
            try:
                await self.on_call(call)
            except Exception:  # a broken sink must not change what Slack answers
                log.exception("slack double event sink failed on %s", call.method)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = self._new_call(method, await read_args(request), request)
        headers: dict[str, str] = {}
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        call.team_id = self.installs.team_of(token)
        refused = None if method == "oauth.v2.access" else auth_error(request, method, self._accepted())
        if refused and token in self.functions.live_tokens:
            refused = None  # a step execution's own token, until the step completes
        if refused:
            call.response = {"ok": False, "error": refused}
        elif (fault := self.faults.take(method)) is not None:
            call.status = fault.status
            call.response = {"ok": False, "error": fault.error}
            if fault.status == 429:
                headers["Retry-After"] = str(fault.retry_after)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.body is not None:
                await self._record(call)
                return web.Response(text=fault.body, status=call.status, content_type=fault.content_type,
                                    headers=headers)
        elif method == "oauth.v2.access":
            call.response = self.installs.oauth_v2_access(call.args, request.headers.get("Authorization", ""))
        elif method == "auth.test" and (answer := self.installs.auth_test(token)) is not None:
            call.response = answer
        elif method in self.functions.methods():
            call.response = self.functions.answer(method, call.args, token)
        elif (handler := self._methods.get(method)) is None:
            call.response = {"ok": False, "error": "unknown_method", "req_method": method}
        else:
            call.response = handler(call.args)
            self.installs.stamp_view(token, call.response)
        await self._record(call)
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        call = self._new_call("file.upload", {"file_id": file_id, "size": len(data)}, request)
        if not self.uploads.receive(file_id, data):
            call.status = 404
            await self._record(call)
            return web.Response(status=404, text="Not Found")
        await self._record(call)
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.Response:
        """A file's ``url_private_download`` (the bot token is required, as at Slack)."""
        call = self._new_call("file.download", {"file_id": request.match_info["file_id"]}, request)
        response = await self.shared_files.download(request, self.valid_tokens)
        call.status = response.status
        await self._record(call)
        return response

    def share_user_file(self, user: str, channel: str, filename: str, data: bytes) -> dict[str, Any]:
        """A person shares a file in a channel (what `files.list` and `files.info` then find)."""
        return self.shared_files.share_user_file(user, channel, filename, data)

    async def _response(self, request: web.Request) -> web.Response:
        """A response URL: record what the app replied, and edit the message it answers."""
        rid = request.match_info["response_id"]
        body = _json_object(await request.read())
        call = self._new_call("response_url", {"response_id": rid}, request)
        if body is None or rid not in self._responses:
            call.status = 404 if rid not in self._responses else 400
            call.response = {"ok": False, "error": "invalid_payload" if call.status == 400 else "not_found"}
            await self._record(call)
            return web.json_response(call.response, status=call.status)
        call.args.update(body)
        target = self._responses[rid]
        message = self.chat.find(target["channel"], target["ts"]) if target["channel"] and target["ts"] else None
        if message is not None:
            self.chat.replace(message, body)
        call.response = {"ok": True}
        await self._record(call)
        return web.json_response(call.response)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None

"""Cross-cutting checks as Bolt middleware, so listeners stay one line each.

* `request_arrival`: one log line per request (who, what), never tokens or payload secrets.
* `bind_request_workspace`: the workspace (team, enterprise) the request came from is bound
  while it is served, so the workflow records it on new requests and refuses decisions from
  another workspace (`commands.workflow.access`).
* `person_language`: everything done for a request is written in the language of the person
  who made it (`commands.slack.language`), set once here rather than in every listener. For a
  slash command the lookup (the ledger, and ``users.info`` the first time in an hour) is left for
  whoever needs the words (`settle_language`): a plain ack says nothing, so only an ack with words
  in it looks the language up before answering; the work after the ack does it first.
* `require_approver`: decision buttons refuse non-approvers before any listener runs; the
  only approver check on the Slack side. The workflow checks again (and owns the four-eyes
  rule) on every decision: the middleware is the fast, friendly refusal, the workflow is the
  authority.
* `ReplayGate`: Slack's signature holds for five minutes, so an exact copy of a request
  verifies again, and Slack redelivers events (``X-Slack-Retry-Num``). `request_arrival` puts
  the request's replay key in the context (`replay_key`: the view id and a hash of the
  submitted values, a command's or click's trigger id, an event id); a state-changing listener
  acknowledges first and then asks `ReplayGate.first` before doing anything, which claims the
  key with a unique INSERT (`replay_keys`, shared by every replica). The claim is after the
  ack because the database may be locked for longer than Slack waits for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from commands.i18n import set_locale
from commands.ledger import Store, utc_now
from commands.slack.ack_gate import AckGate
from commands.slack.authz import ApproverDirectory
from commands.slack.busy import patiently
from commands.slack.clients import enter_client
from commands.slack.language import Languages
from commands.slack.notify import Notifier
from commands.slack.respond import SessionRespond
from commands.workflow.access import Workspace, enter_workspace
from commands.workflow.roles import Guarded, refusal

__all__ = [
    "LANGUAGE_LOOKUP",
    "REPLAY_KEY",
    "REPLAY_RETENTION",
    "ReplayGate",
    "bind_request_workspace",
    "person_language",
    "replay_key",
    "request_arrival",
    "require_approver",
    "settle_language",
    "workspace_of",
]

log = logging.getLogger("invoicebot.requests")

Next = Callable[[], Awaitable[BoltResponse | None]]

#: where `request_arrival` leaves the request's (key, kind) in the Bolt context
REPLAY_KEY = "invoicebot_replay_key"
#: where `person_language` leaves a slash command's language lookup, still under way
LANGUAGE_LOOKUP = "invoicebot_language_lookup"
#: how long handled keys are kept: far beyond Slack's five-minute signature window and its retries
REPLAY_RETENTION = dt.timedelta(days=1)
#: how long an event's claim may hold up its ack (events are harmless: past this, handle it)
_EVENT_CLAIM_WAIT = 1.0


class _Direct(AsyncMiddleware):
    """A global middleware Bolt calls as it is, without injecting keyword arguments.

    For a plain function Bolt builds every possible argument (the payload's action, options,
    view, ...) on every request: most of its dispatch CPU on the ack path, three times over.
    """

    def __init__(self, name: str, process: Callable[[AsyncBoltRequest, Next], Awaitable[BoltResponse | None]]) -> None:
        self._name = name
        self._process = process

    @property
    def name(self) -> str:
        return f"{__name__}.{self._name}"

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse | None:
        return await self._process(req, next)


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def replay_key(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, kind) that an exact replay of this request repeats, or None for nothing to guard.

    A view submission is keyed by its view id and a hash of the submitted values, so a replay
    and a double submit of the same form are one request; a command or a click by its trigger
    id (unique per invocation, repeated by a replay) or else the whole payload; an event by
    its event id, which Slack's retries keep.
    """
    team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
    kind = body.get("type")
    if "command" in body:
        return f"command:{team}:{body.get('trigger_id') or _digest(body)}", "command"
    if kind == "view_submission":
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        user = (body.get("user") or {}).get("id")
        return f"view:{team}:{view.get('id')}:{user}:{_digest(values)}", "view"
    if kind == "block_actions":
        return f"action:{team}:{body.get('trigger_id') or _digest(body)}", "action"
    if kind == "event_callback" and body.get("event_id"):
        return f"event:{body.get('event_id')}", "event"
    return None


class ReplayGate:
    """Claims replay keys: the first delivery of a request does its work, a replay does not.

    Example::

        gate = ReplayGate(deps.store)
        await ack()
        if not await gate.first(context):
            await respond("Already handled.")
            return
    """

    def __init__(self, store: Store, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock

    async def claim(self, key: tuple[str, str] | None) -> bool:
        """True when this is the first delivery (or nothing identifies the request)."""
        if key is None:
            return True
        name, kind = key
        return await patiently(lambda: self.store.replays.claim(name, kind, now=self.clock()),
                               what=f"recording {kind} {name[:60]}")

    async def first(self, context: Mapping[str, Any]) -> bool:
        """Claim the key `request_arrival` found for this request; False for a replay."""
        first = await self.claim(context.get(REPLAY_KEY))
        if not first:
            log.info("ignored a replayed %s", (context.get(REPLAY_KEY) or ("", "request"))[1])
        return first

    async def forget(self, context: Mapping[str, Any]) -> None:
        """Give the key back: the request's work did not happen (the database failed under it)."""
        key = context.get(REPLAY_KEY)
        if key is not None:
            await patiently(lambda: self.store.replays.release(key[0]), what="releasing a replay key")

    async def prune(self) -> int:
        """Forget keys older than `REPLAY_RETENTION` (the expiry job calls this)."""
        return await self.store.replays.prune(self.clock() - REPLAY_RETENTION)

    async def event_is_retry(self, body: Mapping[str, Any]) -> bool:
        """True when this event was already delivered (Slack's retry of it, or a replay).

        Bounded by `_EVENT_CLAIM_WAIT`: an event must be answered in 3 s, and handling a
        harmless event twice beats Slack retrying it for being slow.
        """
        key = replay_key(body)
        if key is None or key[1] != "event":
            return False
        try:
            return not await asyncio.wait_for(self.store.replays.claim(*key, now=self.clock()), _EVENT_CLAIM_WAIT)
        except Exception as exc:  # a busy database: handle the event rather than leave it unanswered
            log.warning("could not check event %s for a retry: %s", key[0], type(exc).__name__)
            return False


def _describe(body: dict[str, Any]) -> str:
    if "command" in body:
        text = str(body.get("text") or "").split(" ", 1)[0]
        return f"{body.get('command')} {text}".strip()
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"block_actions {actions[0].get('action_id')}"
    if kind in ("view_submission", "view_closed"):
        return f"{kind} {(body.get('view') or {}).get('callback_id')}"
    if kind == "event_callback":
        return f"event {(body.get('event') or {}).get('type')}"
    return str(kind)


def _log_arrival(body: dict[str, Any], user: object, retry: str | None) -> None:
    log.info("slack %s from %s%s", _describe(body), user, f" (Slack's retry {retry})" if retry else "")


def request_arrival(gate: ReplayGate | None = None, acks: AckGate | None = None) -> AsyncMiddleware:
    """Global middleware: log who asked for what, note the request's replay key, and (with a
    `gate`) answer an event Slack already delivered without handling it again.

    With `acks`, the log line (filtered for secrets, formatted, written: as much CPU as Bolt's
    own dispatch) is written once no request waits for its ack, like the work after acks.
    """

    async def middleware(req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        body = req.body
        user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
        retry = req.headers.get("x-slack-retry-num", [None])[0] if req.headers else None
        # described when written: with `acks`, once no request waits for its ack
        line = functools.partial(_log_arrival, body, user, retry)
        if acks is None:
            line()
        else:
            acks.later(line)
        req.context[REPLAY_KEY] = replay_key(body)
        if gate is not None and await gate.event_is_retry(body):
            log.info("ignored a repeated delivery of event %s", body.get("event_id"))
            return BoltResponse(status=200, body="")
        return await next()

    return _Direct("request_arrival", middleware)


def _user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    return str(user) if user else None


def person_language(languages: Languages) -> AsyncMiddleware:
    """Global middleware: the request is handled in its person's language.

    Bolt runs the middleware first and the listener afterwards, in a task it creates then
    (copying this context), so the locale is set for the rest of the request's task
    (`set_locale`) rather than around `next()`. A lookup that fails falls back to the default
    language: a language is never worth a refused request. A slash command's lookup is left in
    the context for `settle_language`, called when something needs the words.
    """

    async def middleware(req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        body = req.body
        if "command" in body:
            req.context[LANGUAGE_LOOKUP] = functools.partial(_language_of, languages, body)
        else:
            set_locale(await _language_of(languages, body))
        return await next()

    return _Direct("person_language", middleware)


async def _language_of(languages: Languages, body: dict[str, Any]) -> str | None:
    try:
        return await languages.for_person(_user_of(body))
    except Exception:
        log.exception("could not tell the language of %s", _user_of(body))
        return None


async def settle_language(context: Mapping[str, Any] | None) -> None:
    """Set the person's language by the lookup `person_language` left (a no-op without one)."""
    lookup = context.get(LANGUAGE_LOOKUP) if context is not None else None
    if lookup is not None:
        set_locale(await lookup())


def workspace_of(body: dict[str, Any]) -> Workspace | None:
    """The team (and enterprise) a Slack request names: ``team_id`` on slash commands and
    events, ``team.id`` on clicks and submissions (where the click happened)."""
    team = body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("view") or {}).get("team_id")
    enterprise = body.get("enterprise_id") or (body.get("enterprise") or {}).get("id")
    if not team and not enterprise:
        return None
    return Workspace(team_id=str(team) if team else None, enterprise_id=str(enterprise) if enterprise else None)


def bind_request_workspace() -> AsyncMiddleware:
    """Global middleware: serve the request as coming from its workspace (listeners inherit it),
    and answer its ``response_url`` over the HTTP session that workspace's client keeps
    (`SessionRespond`: Bolt's own `respond()` opened a session and a connection per answer)."""

    async def middleware(req: AsyncBoltRequest, next: Next) -> BoltResponse | None:
        enter_workspace(workspace_of(req.body))
        # the client Bolt authorized for this workspace (its installed token, with OAuth installs)
        client = req.context.client
        enter_client(client)
        session = getattr(client, "session", None)
        if req.context.response_url and isinstance(session, aiohttp.ClientSession) and "respond" not in req.context:
            req.context["respond"] = SessionRespond(response_url=req.context.response_url, session=session,
                                                    proxy=client.proxy, ssl=client.ssl)
        return await next()

    return _Direct("bind_request_workspace", middleware)


def require_approver(approvers: ApproverDirectory, notifier: Notifier) -> Callable[..., Awaitable[Any]]:
    """Listener middleware for Approve/Reject: only approvers get through."""

    async def middleware(ack: AsyncAck, body: dict[str, Any], next: Next) -> BoltResponse | None:
        user = str((body.get("user") or {}).get("id", ""))
        if await approvers.is_approver(user):
            return await next()
        await ack()
        text = f"🚫 {refusal(approvers, Guarded.DECIDE).message}"
        await notifier.tell_clicker(body, user, text)
        log.info("refused a decision by %s: not an approver", user)
        # A listener middleware that neither calls next() nor returns a response makes Bolt
        # answer 404 "unhandled request", which Slack shows as a failed click: answer 200.
        return BoltResponse(status=200, body="")

    return middleware

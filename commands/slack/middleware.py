"""Cross-cutting checks as Bolt middleware, so listeners stay one line each.

* `request_arrival`: one log line per request (who, what), never tokens or payload secrets, and
  tells the `AckPacer` a request arrived so slow work waits for the burst's acks.
* `bind_request_workspace`: the workspace (team, enterprise) the request came from is bound
  while it is served, so the workflow records it on new requests and refuses decisions from
  another workspace (`commands.workflow.access`).
* `require_approver`: decision buttons refuse non-approvers before any listener runs; the
  only approver check on the Slack side. The workflow checks again (and owns the four-eyes
  rule) on every decision: the middleware is the fast, friendly refusal, the workflow is the
  authority.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from commands.slack.authz import ApproverDirectory
from commands.slack.clients import enter_client
from commands.slack.notify import Notifier
from commands.slack.pacing import AckPacer
from commands.workflow.access import Workspace, enter_workspace
from commands.workflow.roles import Guarded, refusal

__all__ = ["bind_request_workspace", "request_arrival", "require_approver", "workspace_of"]

log = logging.getLogger("invoicebot.requests")

Next = Callable[[], Awaitable[BoltResponse | None]]


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


def request_arrival(pacer: AckPacer) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Global middleware: log who asked for what, and tell the pacer a request arrived."""

    async def middleware(body: dict[str, Any], next: Next) -> BoltResponse | None:
        pacer.arrived()
        user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
        log.info("slack %s from %s", _describe(body), user)
        return await next()

    return middleware


def workspace_of(body: dict[str, Any]) -> Workspace | None:
    """The team (and enterprise) a Slack request names: ``team_id`` on slash commands and
    events, ``team.id`` on clicks and submissions (where the click happened)."""
    team = body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("view") or {}).get("team_id")
    enterprise = body.get("enterprise_id") or (body.get("enterprise") or {}).get("id")
    if not team and not enterprise:
        return None
    return Workspace(team_id=str(team) if team else None, enterprise_id=str(enterprise) if enterprise else None)


def bind_request_workspace() -> Callable[..., Awaitable[BoltResponse | None]]:
    """Global middleware: serve the request as coming from its workspace (listeners inherit it)."""

    async def middleware(body: dict[str, Any], context: AsyncBoltContext, next: Next) -> BoltResponse | None:
        enter_workspace(workspace_of(body))
        # the client Bolt authorized for this workspace (its installed token, with OAuth installs)
        enter_client(context.client)
        return await next()

    return middleware


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

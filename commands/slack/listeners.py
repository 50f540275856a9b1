"""Bolt listener registration: one line per listener, the logic is in `commands.slack.handlers`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from commands.slack.handlers import Handlers
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    COMMAND,
    ISSUE_CALLBACK_ID,
    REJECT_ACTION_ID,
    REJECT_CALLBACK_ID,
    REMINDER_RESEND_ACTION_ID,
)
from commands.slack.middleware import request_arrival, require_approver

__all__ = ["register_listeners"]



def register_listeners(app: AsyncApp, handlers: Handlers) -> None:
    deps = handlers.deps
    decision_guard = require_approver(deps.approvers, deps.notifier)
    app.use(request_arrival(deps.pacer))
    app.command(COMMAND)(handlers.on_command)
    app.view(ISSUE_CALLBACK_ID)(handlers.on_issue_submission)
    app.action(APPROVE_ACTION_ID, middleware=[decision_guard])(handlers.on_approve)
    app.action(REJECT_ACTION_ID, middleware=[decision_guard])(handlers.on_reject_click)
    app.view(REJECT_CALLBACK_ID)(handlers.on_reject_submission)
    app.action(REMINDER_RESEND_ACTION_ID)(handlers.on_reminder_resend)

"""`/invoice destroy <ref> <reason>`: cancel or delete a document at its provider (after approval)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from commands.slack.features.announce import report_request
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import DestroyCommand

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `destroy` to the `/invoice` table."""

    async def on_destroy(invocation: Invocation, parsed: DestroyCommand) -> None:
        approval = await deps.service.request_destroy(str(parsed.ref), parsed.reason, invocation.user,
                                                      invocation.channel)
        await report_request(deps, approval, invocation.channel, invocation.respond, invocation.client,
                             verb="destroy")

    deps.router.add(DestroyCommand, on_destroy)

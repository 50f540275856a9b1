"""`/invoice help [topic]`: answered in the acknowledgement itself (no database, no provider)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from commands.slack.blocks import build_help_message, help_text
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import HelpCommand

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `help` to the `/invoice` table."""

    async def on_help(invocation: Invocation, parsed: HelpCommand) -> None:
        await invocation.ack(text=help_text(parsed.topic), blocks=build_help_message(parsed.topic),
                             response_type="ephemeral")

    deps.router.add(HelpCommand, on_help, acks_itself=True)

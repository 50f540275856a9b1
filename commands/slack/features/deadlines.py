"""``/invoice deadlines`` (``/invoice 기한``): tax invoices near or past a tax deadline, on demand.

The same report as the digest's "Deadlines" section (`commands.workflow.deadlines`), as of
today by the injected clock, answered privately to whoever asked.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from commands.slack.blocks.deadlines import build_deadlines_message, deadlines_text
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import DeadlinesCommand
from commands.workflow.deadlines import deadline_report
from commands.workflow.workspaces import current_scope

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `deadlines` to the `/invoice` table."""

    async def on_deadlines(invocation: Invocation, parsed: DeadlinesCommand) -> None:
        within = deps.deadline_days if parsed.within_days is None else parsed.within_days
        # only the asking workspace's documents, as `list` and `status` show
        report = await deadline_report(deps.store, deps.today(), within, tz=deps.tz, workspace=current_scope())
        await invocation.respond(text=deadlines_text(report),
                                 blocks=build_deadlines_message(report, deps.tz, sandboxed=deps.sandboxed()),
                                 response_type="ephemeral")

    deps.router.add(DeadlinesCommand, on_deadlines)

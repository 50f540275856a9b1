"""The daily status sweep: re-read open documents at their providers, post each change in its thread.

It runs once a day (claimed across instances) shortly before the earliest digest, so the
digest reports fresh states. The sweep's workflow is imported when the job runs: an idle bot does
not hold it (0.4 MB of idle memory with its repository, measured by importing it into an idle bot).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from commands.i18n import _
from commands.ledger import Lifecycle
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import SWEEP_JOB_ID, JobScheduler
from commands.slack.formatting import document_label

if TYPE_CHECKING:
    from commands.workflow.sweep import ProvidersFor
    from commands.workflow.sweep_report import StateChange, SweepReport

__all__ = ["post_sweep_changes", "register", "run_sweep"]

log = logging.getLogger("invoicebot.sweep")


async def post_sweep_changes(deps: SlackDeps, report: SweepReport) -> None:
    """One line per changed document, in that document's thread, posted as the document's workspace:
    its own client (OAuth installs) and its channel language (App Home setting over
    INVOICEBOT_LANGUAGE). A scheduled job serves no request, so nothing else says whose it is."""
    by_team: dict[str | None, list[StateChange]] = defaultdict(list)
    for change in report.changes:
        by_team[change.team_id].append(change)
    for team_id, changes in by_team.items():
        async with deps.notifier.posting_as(team_id) as installed:
            if installed:
                await _post_changes(deps, changes)


async def _post_changes(deps: SlackDeps, changes: list[StateChange]) -> None:
    """Each change in its document's thread (in the language `posting_as` set: read by the channel)."""
    for change in changes:
        text = "🔄 " + _("{ref} is now {state} at {provider} (raw {raw})").format(
            ref=change.ref, state=document_label(Lifecycle.ISSUED, change.current), provider=change.provider.value,
            raw=change.raw_state) + (f": {change.detail}" if change.detail else "")
        await deps.notifier.post_in_thread(change.document_id, text)


async def run_sweep(deps: SlackDeps, providers_for: ProvidersFor | None = None) -> SweepReport:
    """Sweep every provider now and post the changes.

    Args:
        providers_for: each workspace's provider clients by team id (default: the service's
            `providers_for`, its own accounts where it stored credentials, else the environment's).
    """
    from commands.workflow.sweep import sweep  # on first use: see the module's docstring

    report = await sweep(deps.store, deps.providers, providers_for=providers_for or deps.service.providers_for,
                         concurrency=deps.sweep_concurrency, clock=deps.clock)
    await post_sweep_changes(deps, report)
    return report


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """The sweep has no command or button: only its daily job."""
    if scheduler is None:
        return

    async def sweep_job() -> None:
        await run_sweep(deps)

    scheduler.add_daily_sweep(sweep_job, id=SWEEP_JOB_ID)

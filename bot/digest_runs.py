"""Digest runs, exactly once: claim the (channel, day), post, give the claim back on a Slack error.

The scheduler (`bot.scheduler`) decides *when* a digest job runs; this module decides whether
a run may post:

* Exactly once: APScheduler's options are not enough with restarts or several instances
  sharing one database. Before posting, each run claims the (channel, local day) row in
  ``digest_runs`` with an INSERT on a unique key (`Store.claim_digest_run`); only the winner
  posts. The same claim (on the pseudo-channel ``~sweep``) makes the daily sweep run on one
  instance only.
* Too late: a run whose digest time passed more than the grace period ago is skipped,
  because a "daily" digest at 3 pm is noise.
* Catch-up: a cron trigger added at start-up fires next at the *next* occurrence, so a
  restart at 09:05 would skip today's 09:00 digest. `DigestRuns.due_unclaimed` lists the
  schedules whose time passed less than the grace period ago with no run claimed, and the
  scheduler runs those once (the claim makes this safe when it was posted before the restart).
* Per workspace: a schedule records the workspace its channel belongs to; its digest reads
  that workspace's documents only and, with OAuth installs, posts with that workspace's bot
  token (`client_for`, bound with `use_client`). A workspace that uninstalled gets no post.
* If posting fails with a Slack error, nothing was posted, so the claim is given back and the
  caller is told a retry `RETRY_AFTER` later still fits in the grace period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.schedule_types import DigestPoster, DigestRun, RunOutcome, last_occurrence
from commands.ledger import DigestScheduleRecord, Store
from commands.ledger import digest_queries as q
from commands.slack.clients import use_client
from commands.slack.digest import PostedDigest
from commands.workflow.access import Workspace
from commands.workflow.workspaces import row_scope

__all__ = ["RETRY_AFTER", "SWEEP_CLAIM_CHANNEL", "DigestRuns", "Posting"]

log = logging.getLogger("invoicebot.scheduler")

#: digest_runs "channel" the daily sweep claims (never a Slack channel id: those start with C/G/D)
SWEEP_CLAIM_CHANNEL = "~sweep"
#: how long after a failed post (Slack error) the retry runs
RETRY_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Posting:
    """What one scheduled run did, and whether a retry `RETRY_AFTER` later is worth arming."""

    run: DigestRun
    retry: bool = False


class DigestRuns:
    """Claims and posts scheduled digests and claims the daily sweep, at most once per day.

    Args:
        store: where schedules and run claims live.
        poster: posts a digest (`DigestPublisher`).
        grace: how late a digest may still be posted.
        instance_id: who claims runs.
        clock: aware "now".
    """

    def __init__(self, store: Store, poster: DigestPoster, *, grace: dt.timedelta, instance_id: str,
                 clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.poster = poster
        self.grace = grace
        self.instance_id = instance_id
        self.clock = clock
        #: a workspace's Web API client (OAuth mode: `WorkspaceTokens.client_for`); None: the poster's own
        self.client_for: Callable[[Workspace | None], Awaitable[AsyncWebClient | None]] | None = None

    async def post_due(self, record: DigestScheduleRecord) -> Posting:
        """Today's scheduled digest of `record`'s channel: refused when too late, posted by the claim's winner."""
        channel = record.channel_id
        zone = ZoneInfo(record.timezone)
        now = self.clock()
        due = last_occurrence(now, record.time, zone)
        day = due.astimezone(zone).date()
        if now - due > self.grace:
            log.warning("digest for %s on %s: %s late, beyond the %s grace period; skipped",
                        channel, day, now - due, self.grace)
            return Posting(DigestRun(channel, RunOutcome.TOO_LATE, day))
        if not await self.store.claim_digest_run(channel, day, self.instance_id):
            log.info("digest for %s on %s already claimed; not posting again", channel, day)
            return Posting(DigestRun(channel, RunOutcome.ALREADY_CLAIMED, day))
        try:
            posted = await self._publish(record, day, zone)
        except (SlackApiError, SlackClientError, TimeoutError):
            log.exception("digest for %s on %s could not be posted; giving the claim back", channel, day)
            await q.release_unposted_run(self.store, channel, day, self.instance_id)
            return Posting(DigestRun(channel, RunOutcome.FAILED, day), retry=now - due + RETRY_AFTER <= self.grace)
        except Exception:
            # the message may have been posted: keep the claim (at most once beats twice)
            log.exception("digest for %s on %s failed", channel, day)
            return Posting(DigestRun(channel, RunOutcome.FAILED, day))
        log.info("digest for %s on %s posted (ts %s)", channel, day, posted.message_ts)
        return Posting(DigestRun(channel, RunOutcome.POSTED, day, posted))

    async def _publish(self, record: DigestScheduleRecord, day: dt.date, zone: ZoneInfo) -> PostedDigest:
        """Post `record`'s digest for its workspace, with that workspace's client when installs have their own."""
        scope = row_scope(record.team_id, record.enterprise_id)
        if self.client_for is None or scope is None:
            return await self.poster.publish(record.channel_id, day=day, tz=zone, workspace=scope)
        client = await self.client_for(Workspace(scope.team_id, scope.enterprise_id))
        if client is None:
            raise SlackClientError(f"workspace {scope.team_id} is not installed")
        with use_client(client):
            return await self.poster.publish(record.channel_id, day=day, tz=zone, workspace=scope)

    async def due_unclaimed(self) -> list[DigestScheduleRecord]:
        """Enabled schedules whose time today passed less than the grace period ago and no run claimed."""
        now = self.clock()
        due_now = []
        for record in await self.store.digests.list_schedules(enabled_only=True):
            zone = ZoneInfo(record.timezone)
            due = last_occurrence(now, record.time, zone)
            if now - due > self.grace:
                continue
            if await self.store.digests.get_run(record.channel_id, due.astimezone(zone).date()) is not None:
                continue
            log.info("catching up the digest for %s due at %s", record.channel_id, due.isoformat())
            due_now.append(record)
        return due_now

    async def claim_sweep(self, zone: ZoneInfo) -> bool:
        """Claim today's (in `zone`) status sweep; False when another run has it."""
        day = self.clock().astimezone(zone).date()
        if not await self.store.claim_digest_run(SWEEP_CLAIM_CHANNEL, day, self.instance_id):
            log.info("status sweep for %s already claimed by another run", day)
            return False
        return True

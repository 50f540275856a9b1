"""Digest runs, exactly once: lease the (channel, day), post, give the claim back on a Slack error.

The scheduler (`bot.scheduler`) decides *when* a digest job runs; this module decides whether
a run may post:

* Exactly once: APScheduler's options are not enough with restarts or several instances
  sharing one database. Before posting, each run leases the (channel, local day) row in
  ``digest_runs`` (`commands.ledger.leases`): only the winner posts, renewing the lease while
  it works. The same lease (on the pseudo-channel ``~sweep``) makes the daily sweep run on one
  instance only.
* A replica killed mid-run: its lease runs out unfinished and another replica takes the run
  over (`take_over_expired`, on start and periodically). The dead one may have posted
  already, so the taker first asks Slack: every scheduled digest carries message metadata
  naming its run (``invoicebot_digest``), and ``conversations.history`` since the run's first
  claim says whether it is there. Found: the run is completed from it (`RunOutcome.RECONCILED`);
  not found: the taker posts.
* Too late: a run whose digest time passed more than the grace period ago is skipped,
  because a "daily" digest at 3 pm is noise.
* Catch-up: a cron trigger added at start-up fires next at the *next* occurrence, so a
  restart at 09:05 would skip today's 09:00 digest. `DigestRuns.due_unclaimed` lists the
  schedules whose time passed less than the grace period ago with no run claimed, and the
  scheduler runs those once (the claim makes this safe when it was posted before the restart).
* Per workspace: a schedule records the workspace its channel belongs to; its digest reads
  that workspace's documents only and, with OAuth installs, posts with that workspace's bot
  token (`client_for`, bound with `use_client`), in that workspace's language (App Home →
  Settings, over INVOICEBOT_LANGUAGE: the workspace is bound while it posts). A workspace that
  uninstalled gets no post.
* If posting fails with a Slack error, nothing was posted, so the claim is given back and the
  caller is told a retry `RETRY_AFTER` later still fits in the grace period.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.schedule_types import DigestPoster, DigestRun, RunOutcome, digest_due_second, last_occurrence
from commands.ledger import DigestScheduleRecord, Store
from commands.ledger import digest_queries as q
from commands.ledger.leases import Lease, RunLeases
from commands.slack.clients import use_client
from commands.slack.digest import PostedDigest
from commands.slack.digest.post import DIGEST_EVENT_TYPE, digest_run_key
from commands.workflow.access import Workspace, bind_workspace
from commands.workflow.workspaces import row_scope

__all__ = ["KILL_AFTER_CLAIM", "RETRY_AFTER", "SWEEP_CLAIM_CHANNEL", "DigestRuns", "Posting"]

log = logging.getLogger("invoicebot.scheduler")

#: digest_runs "channel" the daily sweep claims (never a Slack channel id: those start with C/G/D)
SWEEP_CLAIM_CHANNEL = "~sweep"
#: how long after a failed post (Slack error) the retry runs
RETRY_AFTER = dt.timedelta(minutes=5)
#: test-only fault: a channel id (or ``*``) whose fresh digest claim kills this process with
#: SIGKILL right after claiming, before posting (the replica tests); unset, it does nothing
KILL_AFTER_CLAIM = "INVOICEBOT_TEST_FAULT_KILL_AFTER_DIGEST_CLAIM"
#: how far back an expired claim is still worth taking over (older days are past any grace)
_TAKEOVER_DAYS = 2


@dataclass(frozen=True, slots=True)
class Posting:
    """What one scheduled run did, and whether a retry `RETRY_AFTER` later is worth arming."""

    run: DigestRun
    retry: bool = False


class DigestRuns:
    """Leases and posts scheduled digests and leases the daily sweep, exactly once per day.

    Args:
        store: where schedules and run claims live.
        poster: posts a digest (`DigestPublisher`).
        grace: how late a digest may still be posted.
        instance_id: who claims runs.
        clock: aware "now".
        lease: how long a claim holds without renewal (INVOICEBOT_EXECUTING_STALE_SECONDS).
        client: the Web API client a taker-over asks whether a digest was posted (None: the
            poster posts unasked; OAuth installs use `client_for`).
    """

    def __init__(self, store: Store, poster: DigestPoster, *, grace: dt.timedelta, instance_id: str,
                 clock: Callable[[], dt.datetime], lease: dt.timedelta = dt.timedelta(seconds=20),
                 client: AsyncWebClient | None = None) -> None:
        self.store = store
        self.poster = poster
        self.grace = grace
        self.instance_id = instance_id
        self.clock = clock
        self.lease = lease
        self.leases = RunLeases.of(store.engine)
        self.client = client
        #: a workspace's Web API client (OAuth mode: `WorkspaceTokens.client_for`); None: the poster's own
        self.client_for: Callable[[Workspace | None], Awaitable[AsyncWebClient | None]] | None = None
        #: seconds past the scheduled minute a digest falls due (0; tests: INVOICEBOT_TEST_DIGEST_SECOND)
        self.due_second = digest_due_second()

    async def post_due(self, record: DigestScheduleRecord) -> Posting:
        """Today's scheduled digest of `record`'s channel: refused when too late, posted by the lease's holder."""
        channel = record.channel_id
        zone = ZoneInfo(record.timezone)
        now = self.clock()
        due = last_occurrence(now, record.time, zone, self.due_second)
        day = due.astimezone(zone).date()
        if now - due > self.grace:
            log.warning("digest for %s on %s: %s late, beyond the %s grace period; skipped",
                        channel, day, now - due, self.grace)
            return Posting(DigestRun(channel, RunOutcome.TOO_LATE, day))
        lease = await self.leases.claim(channel, day, self.instance_id, ttl=self.lease, now=now)
        if lease is None:
            log.info("digest for %s on %s already claimed; not posting again", channel, day)
            return Posting(DigestRun(channel, RunOutcome.ALREADY_CLAIMED, day))
        if not lease.taken_over and os.environ.get(KILL_AFTER_CLAIM) in (channel, "*"):
            log.critical("%s=%s: killing this process after claiming %s", KILL_AFTER_CLAIM, channel, day)
            os.kill(os.getpid(), signal.SIGKILL)
        async with self.leases.kept(lease, ttl=self.lease, clock=self.clock):
            return await self._post_leased(record, lease, retry_fits=now - due + RETRY_AFTER <= self.grace)

    async def _post_leased(self, record: DigestScheduleRecord, lease: Lease, *, retry_fits: bool) -> Posting:
        """Post under a held lease: a taken-over run is reconciled with Slack first."""
        channel, day = record.channel_id, lease.day
        if lease.taken_over:
            try:
                found = await self._posted_before(record, lease)
            except (SlackApiError, SlackClientError, TimeoutError):
                # unknown whether it is there: leave the lease to run out, a later try asks again
                log.exception("digest for %s on %s: could not ask Slack whether it was posted", channel, day)
                return Posting(DigestRun(channel, RunOutcome.FAILED, day), retry=retry_fits)
            if found is not None:
                await self.store.digests.finish_run(channel, day, message_ts=found, now=self.clock(),
                                                    workspace=row_scope(record.team_id, record.enterprise_id))
                await self.leases.done(lease, now=self.clock())
                log.info("digest for %s on %s was posted before its claimer died (ts %s); not posting again",
                         channel, day, found)
                return Posting(DigestRun(channel, RunOutcome.RECONCILED, day))
        try:
            posted = await self._publish(record, day, ZoneInfo(record.timezone))
        except (SlackApiError, SlackClientError, TimeoutError):
            log.exception("digest for %s on %s could not be posted; giving the claim back", channel, day)
            await q.release_unposted_run(self.store, channel, day, self.instance_id)
            return Posting(DigestRun(channel, RunOutcome.FAILED, day), retry=retry_fits)
        except Exception:
            # the message may have been posted: the lease runs out unfinished and whoever takes
            # it over asks Slack before posting again
            log.exception("digest for %s on %s failed", channel, day)
            return Posting(DigestRun(channel, RunOutcome.FAILED, day))
        await self.leases.done(lease, now=self.clock())
        log.info("digest for %s on %s posted (ts %s)", channel, day, posted.message_ts)
        return Posting(DigestRun(channel, RunOutcome.POSTED, day, posted))

    async def _client(self, record: DigestScheduleRecord) -> AsyncWebClient | None:
        """The Web API client of `record`'s workspace (its own token with OAuth installs)."""
        scope = row_scope(record.team_id, record.enterprise_id)
        if self.client_for is None or scope is None:
            return self.client
        client = await self.client_for(Workspace(scope.team_id, scope.enterprise_id))
        if client is None:
            raise SlackClientError(f"workspace {scope.team_id} is not installed")
        return client

    async def _posted_before(self, record: DigestScheduleRecord, lease: Lease) -> str | None:
        """The ts of the run's digest if Slack has it (posted since the run's first claim), else None."""
        client = await self._client(record)
        if client is None:
            log.warning("digest for %s: no Web API client to ask whether it was posted", record.channel_id)
            return None
        key = digest_run_key(record.channel_id, lease.day)
        oldest = f"{lease.claimed_at.timestamp() - 1:.6f}"  # a second's margin for clocks apart
        cursor: str | None = None
        while True:
            answer = await client.conversations_history(channel=record.channel_id, oldest=oldest, limit=200,
                                                        include_all_metadata=True, cursor=cursor)
            for message in answer.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (metadata.get("event_type") == DIGEST_EVENT_TYPE
                        and (metadata.get("event_payload") or {}).get("run") == key):
                    return str(message["ts"])
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "") or None
            if not answer.get("has_more") or cursor is None:
                return None

    async def _publish(self, record: DigestScheduleRecord, day: dt.date, zone: ZoneInfo) -> PostedDigest:
        """Post `record`'s digest as its workspace's: that workspace's settings (its language) and,
        when installs have their own, its client. A scheduled job serves no request, so nothing
        else says whose workspace this is."""
        scope = row_scope(record.team_id, record.enterprise_id)
        workspace = Workspace(scope.team_id, scope.enterprise_id) if scope is not None else None
        with bind_workspace(workspace):
            if self.client_for is None or workspace is None:
                return await self.poster.publish(record.channel_id, day=day, tz=zone, workspace=scope)
            client = await self.client_for(workspace)
            if client is None:
                raise SlackClientError(f"workspace {workspace.team_id} is not installed")
            with use_client(client):
                return await self.poster.publish(record.channel_id, day=day, tz=zone, workspace=scope)

    async def due_unclaimed(self) -> list[DigestScheduleRecord]:
        """Enabled schedules whose time today passed less than the grace period ago and no run claimed."""
        now = self.clock()
        due_now = []
        for record in await self.store.digests.list_schedules(enabled_only=True):
            zone = ZoneInfo(record.timezone)
            due = last_occurrence(now, record.time, zone, self.due_second)
            if now - due > self.grace:
                continue
            if await self.store.digests.get_run(record.channel_id, due.astimezone(zone).date()) is not None:
                continue
            log.info("catching up the digest for %s due at %s", record.channel_id, due.isoformat())
            due_now.append(record)
        return due_now

    async def expired_claims(self) -> list[tuple[str, dt.date]]:
        """(channel, day) of recent runs whose holder died (lease ran out unfinished); ``~sweep`` included."""
        now = self.clock()
        recent = (now - dt.timedelta(days=_TAKEOVER_DAYS)).date()
        return [(c, d) for c, d in await self.leases.expired(now=now) if d >= recent]

    async def claim_sweep(self, zone: ZoneInfo) -> Lease | None:
        """Lease today's (in `zone`) status sweep, or take over a dead holder's; None when another run has it."""
        day = self.clock().astimezone(zone).date()
        lease = await self.leases.claim(SWEEP_CLAIM_CHANNEL, day, self.instance_id, ttl=self.lease, now=self.clock())
        if lease is None:
            log.info("status sweep for %s already claimed by another run", day)
        return lease

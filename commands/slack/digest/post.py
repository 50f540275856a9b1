"""Posting a digest: the message, its run row and audit event, then the chart in its thread.

`DigestPublisher` bundles reading, building and posting for the scheduler and for
``digest now``. The chart (`commands.slack.chart`) is uploaded into the digest's thread
with the upload v2 flow; a failed upload is logged and the digest stays posted.

The digest's reads, message builders and chart are imported where a digest is built, not with
this module: `serve` builds its `DigestPublisher` at start, and an idle bot need not hold them
(idle memory: see `commands.slack.digest`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _, use_locale
from commands.ledger import AuditKind, AuditOperation, Store, utc_now
from commands.ledger.workspaces import WorkspaceScope
from commands.slack.clients import current_client
from commands.slack.language import Languages
from providers.models import Provider

if TYPE_CHECKING:
    from commands.slack.digest.data import DigestData

__all__ = ["DIGEST_EVENT_TYPE", "DigestPublisher", "PostedDigest", "digest_metadata", "digest_run_key", "post_digest"]

log = logging.getLogger("invoicebot.digest")


#: Slack message metadata event type of a scheduled digest (`digest_metadata`)
DIGEST_EVENT_TYPE = "invoicebot_digest"


def digest_run_key(channel: str, day: dt.date) -> str:
    """The run a scheduled digest message belongs to, as its metadata says."""
    return f"{channel}:{day.isoformat()}"


def digest_metadata(channel: str, day: dt.date) -> dict[str, Any]:
    """Slack message metadata naming the day's run: a replica taking over a dead one's run asks
    Slack (``conversations.history``) whether this message was already posted before posting."""
    return {"event_type": DIGEST_EVENT_TYPE, "event_payload": {"run": digest_run_key(channel, day)}}


@dataclass(frozen=True)
class PostedDigest:
    channel: str
    message_ts: str
    day: dt.date | None  # the scheduled day it was claimed for; None for ``digest now``
    file_id: str | None
    summary: Mapping[str, Any]


async def post_digest(
    client: AsyncWebClient,
    channel: str,
    data: DigestData,
    *,
    tz: dt.tzinfo,
    store: Store | None = None,
    day: dt.date | None = None,
    chart: bool = True,
    workspace: WorkspaceScope | None = None,
) -> PostedDigest:
    """Post the digest, record it on the run row, then upload the chart into its thread.

    Args:
        store, day: the claimed run to complete (``posted_at``, ``message_ts``, summary);
            leave out for an unclaimed post (``digest now``).
        chart: upload the chart (a failed upload is logged; the digest stays posted).

    Raises:
        SlackApiError / SlackClientError: the message itself could not be posted.
    """
    from commands.slack.chart import render_chart_png
    from commands.slack.digest.data import CHART_DAYS
    from commands.slack.digest.message import build_digest_blocks, digest_text

    answer = await client.chat_postMessage(channel=channel, text=digest_text(data, tz),
                                           blocks=build_digest_blocks(data, tz), unfurl_links=False,
                                           metadata=None if day is None else digest_metadata(channel, day))
    ts = str(answer["ts"])
    posted_in = str(answer.get("channel") or channel)
    summary = data.summary()
    if store is not None:
        if day is not None:
            await store.digests.finish_run(channel, day, message_ts=ts, summary=summary, now=data.now,
                                           workspace=workspace)
        else:
            await store.digests.record_post(channel, message_ts=ts, summary=summary, now=data.now,
                                            workspace=workspace)
        operation = AuditOperation.DIGEST_SCHEDULED if day else AuditOperation.DIGEST_NOW
        await store.audit.record(actor="system", action=AuditKind.DIGEST, operation=operation,
                                 outcome="posted", detail={"channel": channel, "ts": ts, "day": day, **summary},
                                 now=data.now, workspace=workspace)
    file_id = None
    if chart:
        local_day = (data.chart_end or data.now.astimezone(tz).date()).isoformat()
        try:
            png = await asyncio.to_thread(render_chart_png, data.daily_krw, CHART_DAYS, end=data.chart_end)
            uploaded = await client.files_upload_v2(
                channel=posted_in, content=png, filename=f"digest-{local_day}.png",
                title=_("KRW issued per day, {days} days to {day}").format(days=CHART_DAYS, day=local_day),
                thread_ts=ts,
            )
            file_info = uploaded.get("file") or {}
            file_id = str(file_info.get("id")) if file_info.get("id") else None
        except (SlackApiError, SlackClientError):
            log.exception("digest chart upload to %s failed (the digest itself was posted)", channel)
    return PostedDigest(channel=channel, message_ts=ts, day=day, file_id=file_id, summary=summary)


class DigestPublisher:
    """Builds and posts digests for a channel; what the scheduler and ``digest now`` call.

    Args:
        store: the database.
        client: the Slack Web API client (Bolt's ``app.client``).
        tz: the default readers' time zone (a schedule's own zone wins for its digest).
        expiring_days: "expiring soon" horizon for Payssam bills (settings: INVOICEBOT_EXPIRING_DAYS).
        sandbox_providers: providers running against a sandbox.
        scope: ``"all"``: every digest covers documents from every channel (a finance team
            usually wants the whole picture in its channel); ``"channel"``: only documents
            requested from the digest's channel.
        clock: aware "now" (tests freeze it).
        chart: upload the chart into the thread.
        languages: the channel language the digest is written in (None: the current locale).
        deadline_days: the "Deadlines" section lists unissued tax invoices due within this many days.
    """

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        *,
        tz: str | dt.tzinfo = "Asia/Seoul",
        expiring_days: int = 3,
        sandbox_providers: Iterable[Provider] = (),
        scope: Literal["all", "channel"] = "all",
        clock: Callable[[], dt.datetime] = utc_now,
        chart: bool = True,
        languages: Languages | None = None,
        deadline_days: int = 5,
    ) -> None:
        self.store = store
        self.client = client
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.expiring_days = expiring_days
        self.sandbox_providers = frozenset(sandbox_providers)
        self.scope = scope
        self.clock = clock
        self.chart = chart
        self.languages = languages
        self.deadline_days = deadline_days

    async def collect(self, channel: str, *, tz: dt.tzinfo | None = None,
                      workspace: WorkspaceScope | None = None) -> DigestData:
        """Read the digest of `channel` now, over the window since its previous digest (`find_window`),
        from `workspace`'s documents (and those of none) only."""
        from commands.slack.digest.data import build_digest_data, find_window

        now = self.clock()
        window = await find_window(self.store, channel, now)
        return await build_digest_data(
            self.store,
            now=now,
            since=window.since,
            basis=window.basis,
            tz=tz or self.tz,
            scope_channel=channel if self.scope == "channel" else None,
            expiring_days=self.expiring_days,
            sandbox_providers=self.sandbox_providers,
            chart=self.chart,
            deadline_days=self.deadline_days,
            workspace=workspace,
        )

    async def warm(self, channel: str, *, tz: dt.tzinfo | None = None,
                   workspace: WorkspaceScope | None = None) -> DigestData:
        """Read and build `channel`'s digest without posting or recording anything, so the digest
        that follows minutes later pays none of a fresh process's one-time costs.

        A first digest in a process paid about 0.3 s more than the next one (bench/digest.py): the
        `holidays` calendars (imported on the first tax deadline, every country with them), the
        message catalog and Babel's locale data (loaded on the first translated or formatted
        text), each statement's first compile, and on PostgreSQL the connection's first plans
        and prepared statements. The scheduler calls this shortly before a digest is due
        (`bot.digest_warmup`); the chart is not drawn (matplotlib is warmed where it is used)."""
        from commands.slack.digest.message import build_digest_blocks, digest_text

        zone = tz or self.tz
        data = await self.collect(channel, tz=zone, workspace=workspace)
        language = await self.languages.for_channel() if self.languages is not None else None
        with use_locale(language):
            build_digest_blocks(data, zone)
            digest_text(data, zone)
        return data

    async def publish(self, channel: str, *, day: dt.date | None = None, tz: dt.tzinfo | None = None,
                      workspace: WorkspaceScope | None = None) -> PostedDigest:
        """Collect and post; `day` completes that claimed run (None: an unclaimed extra post).

        Posts with the client bound for the workspace (`use_client`: its installed token in
        OAuth mode), else the one this publisher was built with."""
        zone = tz or self.tz
        data = await self.collect(channel, tz=zone, workspace=workspace)
        language = await self.languages.for_channel() if self.languages is not None else None
        with use_locale(language):
            return await post_digest(current_client() or self.client, channel, data, tz=zone, store=self.store,
                                     day=day, chart=self.chart, workspace=workspace)

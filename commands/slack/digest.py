"""The daily digest: what it says, how it is posted, and the ``/invoice digest`` answers.

Three layers, each usable alone:

* `build_digest_data(store, ...)` reads the database (aggregates in SQL, top rows only,
  see `commands.ledger.digest_queries`) into a frozen `DigestData`;
* `build_digest_blocks(data, tz)` / `digest_text(data, tz)` turn it into Block Kit (at most
  50 blocks, long lists cut with "and N more", every SANDBOX provider's lines marked) and
  the notification text; pure functions, tested without Slack;
* `post_digest(client, channel, data, ...)` posts the message, records the run, and
  uploads the chart (`commands.slack.chart`) into the digest's thread with the upload v2 flow.

`DigestPublisher` bundles the three for the scheduler and for ``digest now``.

Window: a digest covers what happened since the channel's previous *posted* scheduled
digest (at most 7 days back), or the last 24 hours when there is none. ``digest now`` is
an explicit extra post: it is not claimed against the day's scheduled digest (which
still posts), and it does not move the window of the next scheduled one.

Overdue reminders: an unpaid document past its due date gets its own line with a
"Resend" button (action_id ``reminder_resend``, value = our ref); the lead routes the
click through the same resend path and approval rules as ``/invoice resend``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient

from commands.ledger import DigestScheduleRecord, Store, utc_now
from commands.ledger import digest_queries as q
from commands.slack.chart import chart_days, render_chart_png
from commands.slack.formatting import (
    business_state_label,
    clip,
    document_line,
    escape_mrkdwn,
    format_bizno,
    format_datetime,
    format_krw,
    format_money,
    provider_label,
)
from commands.slack.ids import REMINDER_RESEND_ACTION_ID
from commands.slack.parser import DigestCommand
from providers.models import Provider

__all__ = [
    "CHART_DAYS",
    "MAX_DIGEST_BLOCKS",
    "MAX_WINDOW",
    "REMINDER_RESEND_ACTION_ID",
    "DigestControl",
    "DigestData",
    "DigestPublisher",
    "PostedDigest",
    "build_digest_blocks",
    "build_digest_data",
    "digest_now",
    "digest_off",
    "digest_schedule",
    "digest_show",
    "digest_text",
    "digest_window",
    "handle_digest_command",
    "post_digest",
    "summary_line",
]

log = logging.getLogger("invoicebot.digest")

MAX_DIGEST_BLOCKS = 50  # Slack's per-message limit (slack_sdk does not check it)
MAX_WINDOW = dt.timedelta(days=7)
CHART_DAYS = 14
_LIST_ROWS = 10
_FAILURE_ROWS = 5
_LINES_PER_SECTION = 10
_LINE_LIMIT = 290  # 10 lines x 290 stays under the 3000-character section limit

_FAILURE_TITLES: Mapping[str, str] = {
    "filing_failed": "NTS filing failed",
    "provider_error": "Provider refused or failed",
    "outcome_unknown": "Outcome unknown (check before retrying)",
}


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class DigestData:
    """Everything one digest says, read from the database at `now`."""

    now: dt.datetime
    since: dt.datetime
    scope_channel: str | None = None  # None: documents from every channel
    issued: tuple[q.IssuedTotal, ...] = ()
    pending: q.Listing[q.ApprovalRow] = field(default_factory=q.Listing)
    failures: Mapping[str, q.Listing[q.DocumentRow]] = field(default_factory=dict)
    unpaid_payssam: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    expiring_payssam: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    expiring_days: int = 3
    unpaid_abillify: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    overdue: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    closure_changes: q.Listing[q.ClosureChangeRow] = field(default_factory=q.Listing)
    unreachable: Mapping[str, str] = field(default_factory=dict)
    sandbox_providers: frozenset[Provider] = frozenset()
    daily_krw: Mapping[Provider, Mapping[dt.date, int]] = field(default_factory=dict)
    chart_end: dt.date | None = None

    @property
    def issued_count(self) -> int:
        return sum(t.count for t in self.issued)

    def issued_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for t in self.issued:
            totals[t.currency] = totals.get(t.currency, 0) + t.total
        return totals

    @property
    def failure_count(self) -> int:
        return sum(listing.count for listing in self.failures.values())

    @property
    def quiet(self) -> bool:
        """Nothing issued, waiting, failed, unpaid, changed or unreachable."""
        return not (
            self.issued_count or self.pending or self.failure_count or self.unpaid_payssam
            or self.unpaid_abillify or self.overdue or self.closure_changes or self.unreachable
        )

    def summary(self) -> dict[str, Any]:
        """What the run row and App Home keep of this digest (JSON-safe)."""
        return {
            "since": self.since.isoformat(),
            "at": self.now.isoformat(),
            "scope": self.scope_channel or "all",
            "issued": self.issued_count,
            "issued_totals": self.issued_totals(),
            "pending": self.pending.count,
            "failures": self.failure_count,
            "unpaid": self.unpaid_payssam.count + self.unpaid_abillify.count,
            "overdue": self.overdue.count,
            "closure_changes": self.closure_changes.count,
            "unreachable": sorted(self.unreachable),
            "quiet": self.quiet,
        }


async def digest_window(store: Store, channel: str, now: dt.datetime, *, day: dt.date | None = None) -> dt.datetime:
    """Since when the digest reports: the channel's previous posted digest, else 24 h ago."""
    previous = await q.last_posted_run(store, channel, before=day)
    floor = now - MAX_WINDOW
    if previous is None:
        return now - dt.timedelta(hours=24)
    return max(previous.posted_at, floor)


def _day_bounds(days: Iterable[dt.date], tz: dt.tzinfo) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    out = []
    for day in days:
        start = dt.datetime.combine(day, dt.time(0), tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
        out.append((day, start.astimezone(dt.UTC), end.astimezone(dt.UTC)))
    return out


async def build_digest_data(
    store: Store,
    *,
    now: dt.datetime,
    since: dt.datetime,
    tz: dt.tzinfo,
    scope_channel: str | None = None,
    expiring_days: int = 3,
    sandbox_providers: Iterable[Provider] = (),
    unreachable: Mapping[str, str] | None = None,
    chart: bool = True,
) -> DigestData:
    """Read one digest from the database.

    Args:
        now, since: the window (aware datetimes).
        tz: the readers' time zone (days, "due today", chart buckets).
        scope_channel: only documents requested from this channel (None: all).
        sandbox_providers: providers running against a sandbox (their lines are marked).
        unreachable: providers the caller knows are down; merged with what the last status
            sweep of the past 24 hours recorded.
    """
    today = now.astimezone(tz).date()
    scope = scope_channel
    found_unreachable: dict[str, str] = {}
    sweep = await q.last_sweep(store, now - dt.timedelta(hours=24))
    if sweep is not None:
        found_unreachable.update(sweep.unreachable)
    found_unreachable.update(unreachable or {})
    daily: dict[Provider, dict[dt.date, int]] = {}
    if chart:
        daily = await q.daily_issued_krw(store, _day_bounds(chart_days(today, CHART_DAYS), tz), channel=scope)
    return DigestData(
        now=now,
        since=since,
        scope_channel=scope,
        issued=tuple(await q.issued_totals(store, since, now, channel=scope)),
        pending=await q.pending_approvals(store, limit=_LIST_ROWS),
        failures=await q.failures(store, since, limit=_FAILURE_ROWS, channel=scope),
        unpaid_payssam=await q.unpaid(store, Provider.PAYSSAM, limit=0, channel=scope),
        expiring_payssam=await q.expiring(store, Provider.PAYSSAM, today, expiring_days, limit=_FAILURE_ROWS,
                                          channel=scope),
        expiring_days=expiring_days,
        unpaid_abillify=await q.unpaid(store, Provider.ABILLIFY, limit=0, channel=scope),
        overdue=await q.overdue(store, today, limit=_LIST_ROWS, channel=scope),
        closure_changes=await q.closure_changes(store, since, limit=_LIST_ROWS),
        unreachable=found_unreachable,
        sandbox_providers=frozenset(sandbox_providers),
        daily_krw=daily,
        chart_end=today,
    )


# --------------------------------------------------------------------------- Block Kit


def _plain(text: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def _md(text: str, limit: int = 3000) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[_md(t) for t in texts[:10]])


def _sections(title: str, lines: Sequence[str]) -> list[Block]:
    """A titled list in sections of ten lines, each line clipped so a section stays valid."""
    blocks: list[Block] = []
    for start in range(0, max(len(lines), 1), _LINES_PER_SECTION):
        chunk = [clip(line, _LINE_LIMIT) for line in lines[start:start + _LINES_PER_SECTION]]
        head = f"{title}\n" if start == 0 else ""
        blocks.append(_section(head + "\n".join(chunk)))
    return blocks


def _more(count: int, hint: str = "") -> ContextBlock:
    return _context(f"…and {count} more{(' — ' + hint) if hint else ''}")


def _provider_name(provider: Provider, data: DigestData, *, sandbox: bool = False) -> str:
    name = provider_label(provider)
    if sandbox or provider in data.sandbox_providers:
        name += " 🧪 SANDBOX"
    return name


def _money_totals(totals: Mapping[str, int]) -> str:
    if not totals:
        return format_krw(0)
    krw_first = sorted(totals, key=lambda c: (c != "KRW", c))
    return " + ".join(format_money(totals[c], c) for c in krw_first)


def _age(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def _doc_line(row: q.DocumentRow, data: DigestData, tz: dt.tzinfo, *, when: dt.date | None = None) -> str:
    sandbox = row.sandbox or row.provider in data.sandbox_providers
    return document_line(row.ref, provider=row.provider, kind=row.kind, buyer_name=row.buyer_name, total=row.total,
                         currency=row.currency, state=row.state, sandbox=sandbox, when=when, tz=tz)


def _with_detail(line: str, row: q.DocumentRow) -> str:
    if row.detail:
        return f"{line} — {escape_mrkdwn(clip(' '.join(row.detail.split()), 120))}"
    return line


def _issued_blocks(data: DigestData) -> list[Block]:
    if not data.issued:
        return [_section("*📄 Issued since the last digest:* nothing")]
    head = (f"*📄 Issued since the last digest:* {data.issued_count} document"
            f"{'s' if data.issued_count != 1 else ''} · {_money_totals(data.issued_totals())}")
    groups: dict[tuple[Provider, bool], dict[str, int]] = {}
    counts: dict[tuple[Provider, bool], int] = {}
    for t in data.issued:
        key = (t.provider, t.sandbox or t.provider in data.sandbox_providers)
        groups.setdefault(key, {})[t.currency] = groups.get(key, {}).get(t.currency, 0) + t.total
        counts[key] = counts.get(key, 0) + t.count
    fields = [
        _md(f"*{_provider_name(p, data, sandbox=sb)}*\n{counts[(p, sb)]} · {_money_totals(groups[(p, sb)])}", 2000)
        for (p, sb) in sorted(groups, key=lambda k: (k[0].value, k[1]))
    ][:10]
    return [SectionBlock(text=_md(head), fields=fields)]


def _pending_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    if not data.pending:
        return []
    lines = []
    for a in data.pending.rows:
        doc = _doc_line(a.document, data, tz)
        lines.append(f"• #{a.id} {escape_mrkdwn(a.action)} {doc} — waiting {_age(data.now - a.created_at)}, "
                     f"asked by <@{a.requester}>")
    blocks = _sections(f"*⏳ Waiting for approval ({data.pending.count})*", lines)
    if data.pending.more:
        blocks.append(_more(data.pending.more, "`/invoice list pending`"))
    return blocks


def _failure_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    blocks: list[Block] = []
    for key, title in _FAILURE_TITLES.items():
        listing = data.failures.get(key)
        if not listing:
            continue
        lines = [f"• {_with_detail(_doc_line(row, data, tz), row)}" for row in listing.rows]
        blocks.extend(_sections(f"*❌ {title} ({listing.count})*", lines))
        if listing.more:
            blocks.append(_more(listing.more, "`/invoice list`"))
    return blocks


def _unpaid_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    if not (data.unpaid_payssam or data.unpaid_abillify):
        return []
    lines = []
    if data.unpaid_payssam:
        n = data.unpaid_payssam.count
        lines.append(f"{_provider_name(Provider.PAYSSAM, data)}: {n} unpaid bill{'s' if n != 1 else ''} · "
                     f"{_money_totals(data.unpaid_payssam.totals)}, {data.expiring_payssam.count} expiring within "
                     f"{data.expiring_days} day{'s' if data.expiring_days != 1 else ''}")
    if data.unpaid_abillify:
        n = data.unpaid_abillify.count
        lines.append(f"{_provider_name(Provider.ABILLIFY, data)}: {n} unpaid invoice{'s' if n != 1 else ''} · "
                     f"{_money_totals(data.unpaid_abillify.totals)}")
    lines += [f"• expires {row.due_date.isoformat() if row.due_date else '—'}: {_doc_line(row, data, tz)}"
              for row in data.expiring_payssam.rows]
    blocks = _sections("*💳 Unpaid*", lines)
    if data.expiring_payssam.more:
        blocks.append(_more(data.expiring_payssam.more, "`/invoice list unpaid`"))
    return blocks


def _overdue_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    if not data.overdue:
        return []
    today = data.now.astimezone(tz).date()
    blocks: list[Block] = [_section(f"*⏰ Past due, still unpaid ({data.overdue.count})*")]
    for row in data.overdue.rows:
        late = (today - row.due_date).days if row.due_date else 0
        text = f"{_doc_line(row, data, tz)} — due {row.due_date.isoformat() if row.due_date else '—'} " \
               f"({late} day{'s' if late != 1 else ''} ago)"
        blocks.append(SectionBlock(
            text=_md(clip(text, _LINE_LIMIT)),
            block_id=clip(f"overdue_{row.id}", 255),
            accessory=ButtonElement(text=_plain("Resend", 75), action_id=REMINDER_RESEND_ACTION_ID,
                                    value=clip(row.ref, 2000)),
        ))
    if data.overdue.more:
        blocks.append(_more(data.overdue.more, "`/invoice list unpaid`"))
    return blocks


def _closure_blocks(data: DigestData) -> list[Block]:
    if not data.closure_changes:
        return []
    lines = []
    for c in data.closure_changes.rows:
        who = format_bizno(c.bizno) + (f" {escape_mrkdwn(clip(c.buyer_name, 60))}" if c.buyer_name else "")
        since = f" (since {c.state_date.isoformat()})" if c.state_date else ""
        lines.append(f"• {who}: {business_state_label(c.previous)} → *{business_state_label(c.current)}*{since}")
    blocks = _sections(f"*🏢 Closure status changed ({data.closure_changes.count})*", lines)
    if data.closure_changes.more:
        blocks.append(_more(data.closure_changes.more, "`/invoice closure <number>`"))
    return blocks


def _unreachable_blocks(data: DigestData) -> list[Block]:
    if not data.unreachable:
        return []
    lines = []
    for name, message in sorted(data.unreachable.items()):
        try:
            label = _provider_name(Provider(name), data)
        except ValueError:
            label = escape_mrkdwn(name)
        lines.append(f"• {label}: {escape_mrkdwn(clip(' '.join(message.split()), 200))}")
    return _sections("*⚠️ Could not reach during the status sweep* — their statuses above may be out of date", lines)


def build_digest_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    """The digest message: at most 50 blocks, whatever the data."""
    local_now = data.now.astimezone(tz)
    blocks: list[Block] = [
        HeaderBlock(text=_plain(f"📊 Invoicing digest · {local_now:%Y-%m-%d (%a)}")),
    ]
    scope = f"<#{data.scope_channel}>" if data.scope_channel else "all channels"
    context = [f"Since {format_datetime(data.since, tz)} · {scope}"]
    if data.sandbox_providers:
        names = ", ".join(provider_label(p).split(" (")[0] for p in sorted(data.sandbox_providers))
        context.append(f"🧪 *SANDBOX*: {names} — no real documents")
    blocks.append(_context(*context))
    if data.quiet:
        blocks.append(_section("🌤️ Quiet day: nothing issued, nothing waiting for approval, no failures, "
                               "nothing unpaid."))
        return blocks
    body: list[Block] = []
    body += _issued_blocks(data)
    body += _pending_blocks(data, tz)
    body += _failure_blocks(data, tz)
    body += _unpaid_blocks(data, tz)
    body += _overdue_blocks(data, tz)
    body += _closure_blocks(data)
    body += _unreachable_blocks(data)
    footer: list[Block] = [DividerBlock(), _context(f"Chart of the last {CHART_DAYS} days in the thread 🧵")]
    room = MAX_DIGEST_BLOCKS - len(blocks) - len(footer)
    if len(body) > room:
        body = [*body[: room - 1], _context("…the digest was cut to fit one message; see `/invoice list`")]
    return blocks + body + footer


def summary_line(summary: Mapping[str, Any]) -> str:
    """One line from a stored digest summary (`DigestData.summary()`), for ``show`` and App Home."""
    if summary.get("quiet"):
        return "Quiet day"
    totals = summary.get("issued_totals") or {}
    parts = [f"{summary.get('issued', 0)} issued ({_money_totals({str(k): int(v) for k, v in totals.items()})})"]
    for key, label in (("pending", "waiting for approval"), ("failures", "need attention"), ("unpaid", "unpaid"),
                       ("overdue", "past due"), ("closure_changes", "closure change")):
        count = summary.get(key)
        if count:
            plural = "s" if key == "closure_changes" and count != 1 else ""
            parts.append(f"{count} {label}{plural}")
    unreachable = summary.get("unreachable") or []
    if unreachable:
        parts.append("unreachable: " + ", ".join(str(u) for u in unreachable))
    return " · ".join(parts)


def digest_text(data: DigestData, tz: dt.tzinfo) -> str:
    """The notification text (Slack shows it where blocks cannot be shown)."""
    day = data.now.astimezone(tz).date().isoformat()
    sandbox = " (SANDBOX)" if data.sandbox_providers else ""
    return f"Invoicing digest {day}{sandbox}: {summary_line(data.summary())}"


# --------------------------------------------------------------------------- posting


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
) -> PostedDigest:
    """Post the digest, record it on the run row, then upload the chart into its thread.

    Args:
        store, day: the claimed run to complete (``posted_at``, ``message_ts``, summary);
            leave out for an unclaimed post (``digest now``).
        chart: upload the chart (a failed upload is logged; the digest stays posted).

    Raises:
        SlackApiError / SlackClientError: the message itself could not be posted.
    """
    answer = await client.chat_postMessage(channel=channel, text=digest_text(data, tz),
                                           blocks=build_digest_blocks(data, tz), unfurl_links=False)
    ts = str(answer["ts"])
    posted_in = str(answer.get("channel") or channel)
    summary = data.summary()
    if store is not None:
        if day is not None:
            await store.digests.finish_run(channel, day, message_ts=ts, summary=summary, now=data.now)
        await store.audit.record(actor="system", action="digest", operation="scheduled" if day else "now",
                                 outcome="posted", detail={"channel": channel, "ts": ts, "day": day, **summary},
                                 now=data.now)
    file_id = None
    if chart:
        local_day = (data.chart_end or data.now.astimezone(tz).date()).isoformat()
        try:
            png = await asyncio.to_thread(render_chart_png, data.daily_krw, CHART_DAYS, end=data.chart_end)
            uploaded = await client.files_upload_v2(
                channel=posted_in, content=png, filename=f"digest-{local_day}.png",
                title=f"KRW issued per day, {CHART_DAYS} days to {local_day}", thread_ts=ts,
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
    ) -> None:
        self.store = store
        self.client = client
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.expiring_days = expiring_days
        self.sandbox_providers = frozenset(sandbox_providers)
        self.scope = scope
        self.clock = clock
        self.chart = chart

    async def collect(self, channel: str, *, day: dt.date | None = None, tz: dt.tzinfo | None = None) -> DigestData:
        now = self.clock()
        return await build_digest_data(
            self.store,
            now=now,
            since=await digest_window(self.store, channel, now, day=day),
            tz=tz or self.tz,
            scope_channel=channel if self.scope == "channel" else None,
            expiring_days=self.expiring_days,
            sandbox_providers=self.sandbox_providers,
            chart=self.chart,
        )

    async def publish(self, channel: str, *, day: dt.date | None = None, tz: dt.tzinfo | None = None) -> PostedDigest:
        """Collect and post; `day` completes that claimed run (None: an unclaimed extra post)."""
        zone = tz or self.tz
        data = await self.collect(channel, day=day, tz=zone)
        return await post_digest(self.client, channel, data, tz=zone, store=self.store, day=day, chart=self.chart)


# --------------------------------------------------------------------------- /invoice digest


class DigestControl(Protocol):
    """What the ``/invoice digest`` answers need from the scheduler (`bot.scheduler.InvoiceScheduler`)."""

    async def schedule(self, channel: str, at: str, timezone: str | None = None, *,
                       user: str | None = None) -> DigestScheduleRecord: ...

    async def unschedule(self, channel: str) -> bool: ...

    async def post_now(self, channel: str) -> PostedDigest: ...

    def next_run(self, channel: str) -> dt.datetime | None: ...


def _answer(title: str, *lines: str, context: str | None = None) -> list[Block]:
    blocks: list[Block] = [_section(f"*{title}*" + ("\n" + "\n".join(lines) if lines else ""))]
    if context:
        blocks.append(_context(context))
    return blocks


async def digest_schedule(control: DigestControl, channel: str, at: dt.time, timezone: str, *,
                          user: str | None = None) -> list[Block]:
    """``digest schedule HH:MM [tz]``: store the schedule and (re)arm the job."""
    record = await control.schedule(channel, f"{at:%H:%M}", timezone, user=user)
    zone = ZoneInfo(record.timezone)
    upcoming = control.next_run(channel)
    when = format_datetime(upcoming, zone) if upcoming else "—"
    return _answer(
        f"📅 Daily digest scheduled for {record.time} ({record.timezone}) in <#{channel}>",
        f"Next digest: {when}.",
        context="One digest per day, even across restarts or several bot instances. "
                "`/invoice digest now` posts an extra one; `/invoice digest off` stops it.",
    )


async def digest_off(control: DigestControl, channel: str) -> list[Block]:
    """``digest off``."""
    if await control.unschedule(channel):
        return _answer(f"🔕 Daily digest stopped in <#{channel}>",
                       context="`/invoice digest schedule HH:MM` starts it again.")
    return _answer(f"There is no daily digest in <#{channel}>",
                   context="`/invoice digest schedule 09:00` starts one.")


async def digest_now(control: DigestControl, channel: str) -> list[Block]:
    """``digest now``: an extra digest, not counted as the day's scheduled one."""
    posted = await control.post_now(channel)
    return _answer("📊 Digest posted", summary_line(posted.summary),
                   context="This extra digest does not replace today's scheduled one.")


async def digest_show(store: Store, control: DigestControl, channel: str, *, tz: dt.tzinfo) -> list[Block]:
    """``digest show``: the schedule, the next run and the last posted digest."""
    record = await store.digests.get_schedule(channel)
    last = await q.last_posted_run(store, channel)
    lines = []
    if record is None or not record.enabled:
        lines.append("No daily digest here. `/invoice digest schedule 09:00` starts one.")
        zone = tz
    else:
        zone = ZoneInfo(record.timezone)
        upcoming = control.next_run(channel)
        lines.append(f"Every day at *{record.time}* ({record.timezone}); next: "
                     f"{format_datetime(upcoming, zone) if upcoming else '—'}.")
    if last is not None:
        lines.append(f"Last digest: {format_datetime(last.posted_at, zone)} — {summary_line(last.summary)}")
    else:
        lines.append("No digest has been posted here yet.")
    return _answer(f"📊 Digest in <#{channel}>", *lines)


async def handle_digest_command(
    store: Store, control: DigestControl, channel: str, command: DigestCommand, *,
    user: str | None = None, tz: dt.tzinfo,
) -> list[Block]:
    """Answer a parsed ``/invoice digest …`` command with Block Kit (the lead's listener calls this).

    Slack errors while posting ``digest now`` are answered as a message, not raised.
    """
    if command.action == "schedule":
        if command.at is None:
            return _answer("`digest schedule` needs a time, e.g. `/invoice digest schedule 09:00`")
        return await digest_schedule(control, channel, command.at, command.timezone, user=user)
    if command.action == "off":
        return await digest_off(control, channel)
    if command.action == "now":
        try:
            return await digest_now(control, channel)
        except (SlackApiError, SlackClientError) as exc:
            log.exception("digest now in %s failed", channel)
            return _answer("❌ The digest could not be posted",
                           f"Slack answered: {escape_mrkdwn(clip(str(exc), 200))}",
                           context="Check that the bot is a member of this channel, then try again.")
    return await digest_show(store, control, channel, tz=tz)

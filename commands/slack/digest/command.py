"""The ``/invoice digest`` answers: schedule, off, now and show, as Block Kit.

`DigestControl` is loaded at start (the scheduler implements it); the digest's message code is
imported by the answers that show a summary (idle memory: see `commands.slack.digest`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from commands.i18n import _
from commands.ledger import DigestScheduleRecord, Store
from commands.ledger import digest_queries as q
from commands.slack.blocks.kit import context as context_block
from commands.slack.blocks.kit import section
from commands.slack.digest.post import PostedDigest
from commands.slack.formatting import clip, escape_mrkdwn, format_datetime
from commands.slack.parser import DigestCommand

__all__ = ["DigestControl", "digest_now", "digest_off", "digest_schedule", "digest_show", "handle_digest_command"]

log = logging.getLogger("invoicebot.digest")


class DigestControl(Protocol):
    """What the ``/invoice digest`` answers need from the scheduler (`bot.scheduler.InvoiceScheduler`)."""

    async def schedule(self, channel: str, at: str, timezone: str | None = None, *,
                       user: str | None = None) -> DigestScheduleRecord: ...

    async def unschedule(self, channel: str) -> bool: ...

    async def post_now(self, channel: str) -> PostedDigest: ...

    def next_run(self, channel: str) -> dt.datetime | None: ...


def _answer(title: str, *lines: str, context: str | None = None) -> list[Block]:
    blocks: list[Block] = [section(f"*{title}*" + ("\n" + "\n".join(lines) if lines else ""))]
    if context:
        blocks.append(context_block(context))
    return blocks


async def digest_schedule(control: DigestControl, channel: str, at: dt.time, timezone: str, *,
                          user: str | None = None) -> list[Block]:
    """``digest schedule HH:MM [tz]``: store the schedule and (re)arm the job."""
    record = await control.schedule(channel, f"{at:%H:%M}", timezone, user=user)
    zone = ZoneInfo(record.timezone)
    upcoming = control.next_run(channel)
    when = format_datetime(upcoming, zone) if upcoming else "—"
    return _answer(
        _("📅 Daily digest scheduled for {time} ({zone}) in {channel}").format(
            time=record.time, zone=record.timezone, channel=f"<#{channel}>"),
        _("Next digest: {when}.").format(when=when),
        context=_("One digest per day, even across restarts or several bot instances. "
                  "`/invoice digest now` posts an extra one; `/invoice digest off` stops it."),
    )


async def digest_off(control: DigestControl, channel: str) -> list[Block]:
    """``digest off``."""
    if await control.unschedule(channel):
        return _answer(_("🔕 Daily digest stopped in {channel}").format(channel=f"<#{channel}>"),
                       context=_("`/invoice digest schedule HH:MM` starts it again."))
    return _answer(_("There is no daily digest in {channel}").format(channel=f"<#{channel}>"),
                   context=_("`/invoice digest schedule 09:00` starts one."))


async def digest_now(control: DigestControl, channel: str) -> list[Block]:
    """``digest now``: an extra digest, not counted as the day's scheduled one."""
    from commands.slack.digest.message import summary_line

    posted = await control.post_now(channel)
    return _answer(_("📊 Digest posted"), summary_line(posted.summary),
                   context=_("This extra digest does not replace today's scheduled one."))


async def digest_show(store: Store, control: DigestControl, channel: str, *, tz: dt.tzinfo) -> list[Block]:
    """``digest show``: the schedule, the next run and the last digest posted here (scheduled or `now`)."""
    from commands.slack.digest.message import summary_line

    record = await store.digests.get_schedule(channel)
    last = await q.last_posted_digest(store, channel)
    lines = []
    if record is None or not record.enabled:
        lines.append(_("No daily digest here. `/invoice digest schedule 09:00` starts one."))
        zone = tz
    else:
        zone = ZoneInfo(record.timezone)
        upcoming = control.next_run(channel)
        lines.append(_("Every day at *{time}* ({zone}); next: {when}.").format(
            time=record.time, zone=record.timezone, when=format_datetime(upcoming, zone) if upcoming else "—"))
    if last is not None:
        lines.append(_("Last digest: {when} — {summary}").format(when=format_datetime(last.posted_at, zone),
                                                                 summary=summary_line(last.summary)))
    else:
        lines.append(_("No digest has been posted here yet."))
    return _answer(_("📊 Digest in {channel}").format(channel=f"<#{channel}>"), *lines)


async def handle_digest_command(
    store: Store, control: DigestControl, channel: str, command: DigestCommand, *,
    user: str | None = None, tz: dt.tzinfo,
) -> list[Block]:
    """Answer a parsed ``/invoice digest …`` command with Block Kit (the lead's listener calls this).

    Slack errors while posting ``digest now`` are answered as a message, not raised.
    """
    if command.action == "schedule":
        if command.at is None:
            return _answer(_("`digest schedule` needs a time, e.g. `/invoice digest schedule 09:00`"))
        return await digest_schedule(control, channel, command.at, command.timezone, user=user)
    if command.action == "off":
        return await digest_off(control, channel)
    if command.action == "now":
        try:
            return await digest_now(control, channel)
        except (SlackApiError, SlackClientError) as exc:
            log.exception("digest now in %s failed", channel)
            return _answer(_("❌ The digest could not be posted"),
                           _("Slack answered: {error}").format(error=escape_mrkdwn(clip(str(exc), 200))),
                           context=_("Check that the bot is a member of this channel, then try again."))
    return await digest_show(store, control, channel, tz=tz)

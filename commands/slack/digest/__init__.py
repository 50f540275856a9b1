"""The daily digest: what it says, how it is posted, and the ``/invoice digest`` answers.

Four modules, each usable alone:

* `digest.data`: `build_digest_data(store, ...)` reads the database (aggregates in SQL,
  top rows only, see `commands.ledger.digest_queries`) into a frozen `DigestData`;
* `digest.message`: `build_digest_blocks(data, tz)` / `digest_text(data, tz)` turn it into
  Block Kit (at most 50 blocks) and the notification text; pure functions;
* `digest.post`: `post_digest(client, channel, data, ...)` posts the message, records the
  run, and uploads the chart (`commands.slack.chart`) into the digest's thread;
  `DigestPublisher` bundles the three for the scheduler and for ``digest now``;
* `digest.command`: the ``/invoice digest schedule|off|now|show`` answers.

Window: a digest covers what happened since the previous digest posted in its channel,
scheduled or ``digest now`` (at most 7 days back), or the last 24 hours when there is none;
the message says which. ``digest now`` is an explicit extra post: it is not claimed against
the day's scheduled digest (which still posts), but the next digest starts where it ended,
so nothing is reported twice.

Overdue reminders: an unpaid document past its due date gets its own line with a
"Resend" button (action_id ``reminder_resend``, value = our ref); the click goes through
the same resend path and approval rules as ``/invoice resend``.

The names below are resolved on first access (PEP 562 `__getattr__`): what `serve` needs at start
(`DigestPublisher`, `PostedDigest`, `DigestControl`) comes from `post` and `command`, which import
the digest's reads and message builders (`data`, `message`, the chart) only when a digest is built,
so an idle bot does not hold them (0.4 MB of idle memory with the reads of `digest_queries` they
use, measured by importing them into an idle bot; `tests/bot/test_start.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.ledger.lazy import homes, lazy_getattr

if TYPE_CHECKING:
    from commands.slack.digest.command import (
        DigestControl,
        digest_now,
        digest_off,
        digest_schedule,
        digest_show,
        handle_digest_command,
    )
    from commands.slack.digest.data import (
        CHART_DAYS,
        MAX_WINDOW,
        DigestData,
        DigestWindow,
        WindowBasis,
        build_digest_data,
        digest_window,
        find_window,
    )
    from commands.slack.digest.message import MAX_DIGEST_BLOCKS, build_digest_blocks, digest_text, summary_line
    from commands.slack.digest.post import DigestPublisher, PostedDigest, post_digest
    from commands.slack.ids import REMINDER_RESEND_ACTION_ID

#: where each public name lives
_HOMES = homes({
    "commands.slack.digest.command": ("DigestControl", "digest_now", "digest_off", "digest_schedule", "digest_show",
                                      "handle_digest_command"),
    "commands.slack.digest.data": ("CHART_DAYS", "MAX_WINDOW", "DigestData", "DigestWindow", "WindowBasis",
                                   "build_digest_data", "digest_window", "find_window"),
    "commands.slack.digest.message": ("MAX_DIGEST_BLOCKS", "build_digest_blocks", "digest_text", "summary_line"),
    "commands.slack.digest.post": ("DigestPublisher", "PostedDigest", "post_digest"),
    "commands.slack.ids": ("REMINDER_RESEND_ACTION_ID",),
})
__getattr__ = lazy_getattr(__name__, _HOMES, globals())

__all__ = [
    "CHART_DAYS",
    "MAX_DIGEST_BLOCKS",
    "MAX_WINDOW",
    "REMINDER_RESEND_ACTION_ID",
    "DigestControl",
    "DigestData",
    "DigestPublisher",
    "DigestWindow",
    "PostedDigest",
    "WindowBasis",
    "build_digest_blocks",
    "build_digest_data",
    "digest_now",
    "digest_off",
    "digest_schedule",
    "digest_show",
    "digest_text",
    "digest_window",
    "find_window",
    "handle_digest_command",
    "post_digest",
    "summary_line",
]

"""Posting: the message, the run row, and the chart through Slack's upload v2 flow (Web API double)."""

from __future__ import annotations

import datetime as dt
import struct
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from commands.ledger import Store
from commands.slack.chart import render_chart_png
from commands.slack.digest import DigestPublisher, build_digest_data, post_digest
from providers.models import DocumentState, Provider
from tests.commands.slack.digest.seed import add_document

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL).astimezone(dt.UTC)
TODAY = dt.date(2026, 3, 2)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_the_chart_is_a_deterministic_fixed_size_png() -> None:
    amounts = {Provider.POPBILL: {TODAY: 1_100_000, TODAY - dt.timedelta(days=3): 5_000_000},
               Provider.PAYSSAM: {TODAY: 55_000}}

    first = render_chart_png(amounts, 14, end=TODAY)
    again = render_chart_png(amounts, 14, end=TODAY)
    empty = render_chart_png({}, 14, end=TODAY)

    assert first == again
    assert png_size(first) == png_size(empty) == (800, 360)
    assert first != empty
    assert b"matplotlib" not in first  # no software/version metadata: same bytes across upgrades


async def test_post_digest_posts_once_records_the_run_and_uploads_the_chart_in_its_thread(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    await add_document(store, Provider.POPBILL, total=1_234_500, issued_at=NOW - dt.timedelta(hours=2))
    await add_document(store, Provider.PAYSSAM, state=DocumentState.UNPAID, total=55_000,
                       issued_at=NOW - dt.timedelta(hours=2), due_date=TODAY)
    assert await store.claim_digest_run("C1", TODAY, "test")
    data = await build_digest_data(store, now=NOW, since=NOW - dt.timedelta(hours=24), tz=SEOUL,
                                   sandbox_providers={Provider.PAYSSAM})

    posted = await post_digest(client, "C1", data, tz=SEOUL, store=store, day=TODAY)

    [message] = double.calls("chat.postMessage")
    assert message.args["channel"] == "C1"
    assert message.args["text"].startswith("Invoicing digest 2026-03-02 (SANDBOX): 2 issued (₩1,289,500)")
    assert posted.message_ts == message.response["ts"]
    upload = double.last("files.completeUploadExternal")
    assert upload.args["thread_ts"] == posted.message_ts
    assert upload.args["channel_id"] == "C1"
    [file] = double.files.values()
    assert file.completed and file.filename == "digest-2026-03-02.png"
    assert file.data is not None and png_size(file.data) == (800, 360)
    assert posted.file_id == file.id
    run = await store.digests.get_run("C1", TODAY)
    assert run is not None
    assert run.posted_at == NOW and run.message_ts == posted.message_ts
    assert run.summary is not None and run.summary["issued"] == 2 and run.summary["unpaid"] == 1
    [audit] = await store.audit.search(action="digest")
    assert (audit.operation, audit.outcome, audit.detail["ts"]) == ("digest.scheduled", "posted", posted.message_ts)


async def test_a_failed_chart_upload_leaves_the_digest_posted(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    double.fail_next("files.getUploadURLExternal", error="not_allowed_token_type")
    publisher = DigestPublisher(store, client, tz="Asia/Seoul", clock=lambda: NOW)

    posted = await publisher.publish("C1")

    assert len(double.calls("chat.postMessage")) == 1
    assert posted.file_id is None
    assert not double.calls("files.completeUploadExternal")

"""Bulk issuance from a file: `/invoice bulk [form|template]`, the upload form, the preview's
buttons, the batch's progress message and its results file.

Where the file comes from: Slack sends no file with a slash command, so `/invoice bulk` takes the
newest CSV or XLSX the person shared in the channel in the last `RECENT` (``files.list`` by channel
and user), and opens the upload form (a ``file_input``) when there is none. The file is downloaded
from its ``url_private_download`` with the bot token, only from the Slack host the client talks to
(the token never goes anywhere else). Its rows go through the issue form's validation
(`commands.slack.modal.rows`) and the workflow's checks; problems are listed by row and column
before anything is requested; otherwise a preview offers "Submit for approval", which re-reads the
file (nothing is kept between the two clicks) and requests ONE approval for the batch.

The bulk workflow, the sheet reader and the bulk cards are imported by the handlers that use them:
an idle bot does not hold them (0.25 MB of idle memory with the bulk repository, measured by
importing them into an idle bot; `tests/bot/test_start.py`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _, current_locale
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain, private_metadata, read_metadata
from commands.slack.features.router import Invocation
from commands.slack.ids import BULK_CALLBACK_ID, BULK_CANCEL_ACTION_ID, BULK_FILE_BLOCK_ID, BULK_SUBMIT_ACTION_ID
from commands.slack.parser import BulkCommand
from commands.workflow import WorkflowError
from providers.errors import ProviderError

if TYPE_CHECKING:
    from commands.workflow.bulk import BulkPreview
    from commands.workflow.bulk_parse import RowProblem
    from commands.workflow.progress import BulkProgress

__all__ = ["RECENT", "register"]

log = logging.getLogger("invoicebot.commands")

#: how old a shared file `/invoice bulk` still takes
RECENT = 15 * 60
_TYPES = ("csv", "xlsx")


class _FileError(Exception):
    """The file could not be fetched; the message is for the user."""


async def _recent_file(client: AsyncWebClient, channel: str, user: str) -> str | None:
    """The newest CSV or XLSX `user` shared in `channel` within `RECENT`, by id."""
    try:
        answer = await client.files_list(channel=channel, user=user, count=20, ts_from=str(int(time.time()) - RECENT))
    except SlackApiError as exc:
        log.warning("files.list failed: %s", exc.response.get("error"))
        return None
    for file in answer.get("files") or []:
        if str(file.get("filetype", "")).lower() in _TYPES:
            return str(file["id"])
    return None


def _same_host(url: str, client: AsyncWebClient) -> bool:
    """The download goes to Slack (the host the client talks to, or *.slack.com), nowhere else."""
    host = urlsplit(url).hostname or ""
    api_host = urlsplit(client.base_url).hostname or ""
    return host == api_host or host == "slack.com" or host.endswith(".slack.com")


async def _download(client: AsyncWebClient, file_id: str) -> tuple[str, bytes]:
    from commands.workflow.bulk_parse import MAX_BYTES  # on first use: see the module's docstring

    try:
        info = (await client.files_info(file=file_id))["file"]
    except SlackApiError as exc:
        raise _FileError(_("Slack did not give the file ({error}).").format(error=exc.response.get("error"))) from exc
    name = str(info.get("name") or "file")
    url = str(info.get("url_private_download") or "")
    if name.rsplit(".", 1)[-1].lower() not in _TYPES:
        raise _FileError(_("{name} is not a CSV or XLSX file.").format(name=name))
    if int(info.get("size") or 0) > MAX_BYTES or not url or not _same_host(url, client):
        raise _FileError(_("{name} cannot be read here (too large, or not stored at Slack).").format(name=name))
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as http:
        response = await http.get(url, headers={"Authorization": f"Bearer {client.token}"})
    if response.status_code != 200:
        raise _FileError(_("The file could not be downloaded (HTTP {status}).").format(status=response.status_code))
    return name, response.content[:MAX_BYTES + 1]


async def _check(deps: SlackDeps, client: AsyncWebClient, file_id: str, user: str
                 ) -> tuple[str, BulkPreview | None, list[RowProblem], int]:
    """(file name, preview, problems, good rows): the file through the form's and the workflow's checks."""
    from commands.slack.modal.rows import row_drafts  # on first use: a sheet's rows as drafts (idle RSS)
    from commands.workflow.bulk_parse import read_sheet

    name, data = await _download(client, file_id)
    sheet = read_sheet(data, name)
    if sheet.problems:
        return name, None, list(sheet.problems), 0
    drafts = row_drafts(sheet.rows, today=deps.today(), offered=deps.offered())
    preview = await deps.service.check_bulk(drafts.drafts, user)
    problems = sorted([*drafts.problems, *preview.problems], key=lambda p: (p.row or 0, p.column or ""))
    return name, preview, problems, len(preview.rows)


async def _examine(deps: SlackDeps, client: AsyncWebClient, file_id: str, user: str, channel: str) -> None:
    """Check a file and tell the person: the problems by row and column, or the preview."""
    from commands.slack.blocks.bulk import build_bulk_preview, build_bulk_problems  # on first use

    try:
        name, preview, problems, good = await _check(deps, client, file_id, user)
    except _FileError as exc:
        await deps.notifier.ephemeral(channel, user, str(exc))
        return
    except (WorkflowError, ProviderError) as exc:
        failure = explain(_("The file was not checked"), exc)
        await deps.notifier.ephemeral(channel, user, failure.text(), failure.blocks())
        return
    if problems or preview is None:
        text, blocks = build_bulk_problems(name, problems, good)
    else:
        text, blocks = build_bulk_preview(preview, file_id, name)
    await deps.notifier.ephemeral(channel, user, text, blocks)


async def _templates(deps: SlackDeps, invocation: Invocation) -> None:
    """The template as CSV and XLSX, headers in the asker's language, in their DM with the app."""
    from commands.workflow.bulk_parse import template_csv, template_xlsx  # on first use

    locale = current_locale()
    client = invocation.client
    opened = await client.conversations_open(users=invocation.user)
    await client.files_upload_v2(
        channel=str(opened["channel"]["id"]), initial_comment=_("The bulk issue template: one row per document."),
        file_uploads=[{"content": template_csv(locale), "filename": f"invoicebot-bulk-{locale}.csv"},
                      {"content": template_xlsx(locale), "filename": f"invoicebot-bulk-{locale}.xlsx"}])
    await invocation.respond(text=_("The template (CSV and XLSX) is in your direct messages with the app."),
                             response_type="ephemeral")


async def _submit(deps: SlackDeps, client: AsyncWebClient, file_id: str, user: str, channel: str) -> str:
    """Re-read and re-check the file, request its batch, post the card; what to tell the person."""
    from commands.slack.blocks.bulk import build_bulk_card, bulk_card_text  # on first use

    try:
        name, preview, problems, _good = await _check(deps, client, file_id, user)
        if preview is None or problems:
            return _("The file changed or has problems now: share it again.")
        approval = await deps.service.request_bulk(preview, user, channel, file_id=file_id, file_name=name)
    except _FileError as exc:
        return str(exc)
    except (WorkflowError, ProviderError) as exc:
        return explain("", exc).line()
    where = deps.notifier.approvals_channel or channel
    try:
        posted = await client.chat_postMessage(channel=where, text=bulk_card_text(approval),
                                               blocks=build_bulk_card(approval))
        await deps.service.attach_card(approval.id, str(posted["channel"]), str(posted["ts"]))
    except SlackApiError as exc:
        log.warning("could not post bulk card %s: %s", approval.id, exc.response.get("error"))
    return _("Submitted: request #{id}, {n} documents, waiting for approval.").format(
        id=approval.id, n=len(preview.rows))


async def _progress(deps: SlackDeps, event: BulkProgress) -> None:
    """Keep the batch's one progress message current; at the end, the results file in the thread."""
    from commands.slack.blocks.bulk import build_bulk_progress, results_csv  # on first use

    found = await deps.service.bulk_batch(event.approval_id)
    approval = await deps.service.get_approval(event.approval_id)
    if found is None or not approval.channel_id or not approval.message_ts:
        return
    batch, rows = found
    client = deps.notifier.client
    text, blocks = build_bulk_progress(event)
    if batch.progress_ts and batch.progress_channel:
        await client.chat_update(channel=batch.progress_channel, ts=batch.progress_ts, text=text, blocks=blocks)
    else:
        posted = await client.chat_postMessage(channel=approval.channel_id, thread_ts=approval.message_ts, text=text,
                                               blocks=blocks)
        await deps.service.set_bulk_progress_message(batch.id, str(posted["channel"]), str(posted["ts"]))
    if event.finished:
        await client.files_upload_v2(channel=approval.channel_id, thread_ts=approval.message_ts,
                                     content=results_csv(rows), filename=f"bulk-{event.approval_id}-results.csv",
                                     initial_comment=_("Results, one line per row of the file."))


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """`/invoice bulk`, the upload form, the preview's buttons, and the progress listener."""

    async def on_bulk(invocation: Invocation, parsed: BulkCommand) -> None:
        await invocation.ack()
        if parsed.action == "template":
            await _templates(deps, invocation)
            return
        file_id = None if parsed.action == "form" else await _recent_file(invocation.client, invocation.channel,
                                                                          invocation.user)
        if file_id is None:
            from commands.slack.blocks.bulk import build_bulk_modal  # on first use

            await invocation.client.views_open(trigger_id=invocation.trigger_id,
                                               view=build_bulk_modal(private_metadata(invocation.channel)))
            return
        await _examine(deps, invocation.client, file_id, invocation.user, invocation.channel)

    async def on_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                            client: AsyncWebClient) -> None:
        state = (view.get("state", {}).get("values", {}).get(BULK_FILE_BLOCK_ID) or {})
        files = next((v.get("files") for v in state.values() if isinstance(v, dict)), None) or []
        if not files:
            await ack(response_action="errors", errors={BULK_FILE_BLOCK_ID: _("Choose a CSV or XLSX file.")})
            return
        await ack()
        async def work() -> None:  # queued: it runs when no ack waits (`AckPacer`)
            user = str(body.get("user", {}).get("id", ""))
            channel = str(read_metadata(view.get("private_metadata")).get("channel") or user)
            await _examine(deps, client, str(files[0].get("id")), user, channel)

        await deps.pacer.run_or_now(work, name="a bulk file")

    async def on_submit_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async def work() -> None:  # queued: it runs when no ack waits (`AckPacer`)
            user = str(body.get("user", {}).get("id", ""))
            channel = str((body.get("channel") or {}).get("id") or user)
            file_id = str((body.get("actions") or [{}])[0].get("value", ""))
            await deps.notifier.ephemeral(channel, user, await _submit(deps, client, file_id, user, channel))

        await deps.pacer.run_or_now(work, name="a bulk submit click")

    async def on_cancel(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id") or user)
        await deps.notifier.ephemeral(channel, user, _("Nothing was requested."))

    async def on_progress(event: BulkProgress) -> None:
        await _progress(deps, event)

    deps.router.add(BulkCommand, on_bulk, acks_itself=True)
    app.view(BULK_CALLBACK_ID)(on_submission)
    app.action(BULK_SUBMIT_ACTION_ID)(on_submit_click)
    app.action(BULK_CANCEL_ACTION_ID)(on_cancel)
    context = getattr(deps.service, "context", None)  # None: a test registering without a workflow
    if context is not None:
        context.progress.subscribe(on_progress)

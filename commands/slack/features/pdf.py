"""`/invoice pdf <ref>` and the status card's "PDF" button: the provider's PDF, uploaded to the thread.

Popbill's PDF URL lives 30 seconds, so a link in Slack is dead before anyone clicks it; the
bot downloads the PDF at once and shares the file with the upload v2 flow
(``files.getUploadURLExternal`` → upload → ``files.completeUploadExternal``) in the document's
thread: its issue card's, an amendment's original's, or else where it was asked for.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain
from commands.slack.features.router import Invocation
from commands.slack.ids import DOC_PDF_ACTION_ID
from commands.slack.parser import PdfCommand
from commands.workflow import DocumentView, WorkflowError
from providers.errors import ProviderError

__all__ = ["post_pdf", "register"]


async def _thread(deps: SlackDeps, view: DocumentView, channel: str) -> tuple[str, str | None]:
    for document_id in (view.id, view.amends_document_id):
        if document_id is not None:
            where = await deps.notifier.document_thread(document_id)
            if where is not None:
                return where
    return channel, None


async def post_pdf(deps: SlackDeps, client: AsyncWebClient, ref: str, user: str, channel: str) -> str:
    """Download `ref`'s PDF and share it in its thread; what to tell the user."""
    view, data = await deps.service.document_pdf(ref, user)
    where, thread_ts = await _thread(deps, view, channel)
    sandbox = " (SANDBOX)" if view.sandbox else ""
    comment = _("📄 {ref}{sandbox}: the PDF from {provider}, asked for by <@{user}>").format(
        ref=view.ref, sandbox=sandbox, provider=view.provider.value, user=user)
    try:
        await client.files_upload_v2(channel=where, thread_ts=thread_ts, content=data, filename=f"{view.ref}.pdf",
                                     title=f"{view.ref}.pdf", initial_comment=comment)
    except SlackApiError as exc:
        return _("The PDF of {ref} could not be uploaded (Slack said `{error}`).").format(
            ref=view.ref, error=exc.response.get("error"))
    return _("📄 The PDF of {ref} is in its thread.").format(ref=view.ref)


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `pdf` to the `/invoice` table and listen for the status card's "PDF" button."""

    async def on_pdf(invocation: Invocation, parsed: PdfCommand) -> None:
        text = await post_pdf(deps, invocation.client, str(parsed.ref), invocation.user, invocation.channel)
        await invocation.respond(text=text, response_type="ephemeral")

    async def on_pdf_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`)

        async def work() -> None:
            user = str(body.get("user", {}).get("id", ""))
            ref = str((body.get("actions") or [{}])[0].get("value", ""))
            channel = str((body.get("channel") or {}).get("id") or user)
            try:
                text = await post_pdf(deps, client, ref, user, channel)
            except (WorkflowError, ProviderError) as exc:
                text = explain(_("The PDF of {ref} could not be fetched").format(ref=ref), exc).text()
            await deps.notifier.tell_clicker(body, user, text)

        await deps.pacer.run_or_now(work, name="the PDF button")

    deps.router.add(PdfCommand, on_pdf)
    app.action(DOC_PDF_ACTION_ID)(on_pdf_button)

"""`/invoice export <start> <end>`: the documents written in a period, as a CSV file for the asker.

Only approvers and admins may export (the workflow refuses anyone else, naming who may), and
the file goes to the person asking only, in their direct message with the app: an export
holds every buyer and amount, and typed in a public channel it must not land there.
The file name, the upload's comment and the answer all say what it includes (range by write
date, issued and cancelled only), as the file's name does (`commands.workflow.export`).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.blocks import build_error_message, build_progress_message
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import ExportCommand
from commands.slack.slack_errors import slack_error

__all__ = ["register"]


async def _direct_channel(client: AsyncWebClient, user: str) -> str:
    """The asker's direct message channel with the app (where the file goes)."""
    opened = await client.conversations_open(users=user)
    return str(opened["channel"]["id"])


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `export` to the `/invoice` table."""

    async def on_export(invocation: Invocation, parsed: ExportCommand) -> None:
        # the export's workflow and message on first use: an idle bot does not hold them (idle memory)
        from commands.slack.blocks.export import build_export_message, export_text
        from commands.workflow.export import ExportLayout, export_file_name, export_rows, export_scope

        respond = invocation.respond
        layout = ExportLayout(parsed.layout)
        data = await deps.service.export_csv(parsed.start, parsed.end, actor=invocation.user, layout=layout)
        preparing = _("Preparing the export")
        await respond(text=f"{preparing}…", blocks=build_progress_message(preparing, 0, 1), response_type="ephemeral")
        rows = len(export_rows(data))
        name = export_file_name(parsed.start, parsed.end, layout)
        scope = export_scope(parsed.start, parsed.end, layout)
        try:
            channel = await _direct_channel(invocation.client, invocation.user)
            await invocation.client.files_upload_v2(channel=channel, content=data, filename=name,
                                                    title=name, initial_comment=scope)
        except SlackApiError as exc:
            failed = _("The export could not be uploaded")
            await respond(replace_original=True, text=f"{failed}.",
                          blocks=build_error_message(failed, _("Slack said `{error}`.").format(error=slack_error(exc)),
                                                     _("Open your direct messages with the app and try again.")))
            return
        await respond(replace_original=True, text=export_text(name, rows, parsed.start, parsed.end, layout),
                      blocks=build_export_message(name, rows, parsed.start, parsed.end,
                                                  sandbox=deps.any_sandbox(), size=len(data), layout=layout))

    deps.router.add(ExportCommand, on_export)

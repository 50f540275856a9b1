"""`/invoice export <start> <end>`: the documents written in a period, as a CSV file in the channel.

The file name, the upload's comment and the answer all say what it includes (range by write
date, issued and cancelled only), as the file's name does (`commands.workflow.export`).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from commands.slack.blocks import build_error_message, build_export_message, build_progress_message, export_text
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import ExportCommand
from commands.slack.slack_errors import slack_error
from commands.workflow.export import export_file_name, export_rows, export_scope

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `export` to the `/invoice` table."""

    async def on_export(invocation: Invocation, parsed: ExportCommand) -> None:
        respond = invocation.respond
        await respond(text="Preparing the export…", blocks=build_progress_message("Preparing the export", 0, 1),
                      response_type="ephemeral")
        data = await deps.service.export_csv(parsed.start, parsed.end)
        rows = len(export_rows(data))
        name = export_file_name(parsed.start, parsed.end)
        try:
            await invocation.client.files_upload_v2(channel=invocation.channel, content=data, filename=name,
                                                    title=name, initial_comment=export_scope(parsed.start, parsed.end))
        except SlackApiError as exc:
            await respond(replace_original=True, text="The export could not be uploaded.",
                          blocks=build_error_message("The export could not be uploaded",
                                                     f"Slack said `{slack_error(exc)}`.",
                                                     "Invite the bot to this channel and try again."))
            return
        await respond(replace_original=True, text=export_text(name, rows, parsed.start, parsed.end),
                      blocks=build_export_message(name, rows, parsed.start, parsed.end,
                                                  sandbox=deps.any_sandbox(), size=len(data)))

    deps.router.add(ExportCommand, on_export)

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
from commands.workflow.export import ExportLayout, export_file_name, export_rows, export_scope

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `export` to the `/invoice` table."""

    async def on_export(invocation: Invocation, parsed: ExportCommand) -> None:
        respond = invocation.respond
        await respond(text="Preparing the export…", blocks=build_progress_message("Preparing the export", 0, 1),
                      response_type="ephemeral")
        layout = ExportLayout(parsed.layout)
        data = await deps.service.export_csv(parsed.start, parsed.end, layout)
        rows = len(export_rows(data))
        name = export_file_name(parsed.start, parsed.end, layout)
        scope = export_scope(parsed.start, parsed.end, layout)
        try:
            await invocation.client.files_upload_v2(channel=invocation.channel, content=data, filename=name,
                                                    title=name, initial_comment=scope)
        except SlackApiError as exc:
            await respond(replace_original=True, text="The export could not be uploaded.",
                          blocks=build_error_message("The export could not be uploaded",
                                                     f"Slack said `{exc.response.get('error')}`.",
                                                     "Invite the bot to this channel and try again."))
            return
        await respond(replace_original=True, text=export_text(name, rows, parsed.start, parsed.end, layout),
                      blocks=build_export_message(name, rows, parsed.start, parsed.end,
                                                  sandbox=deps.any_sandbox(), size=len(data), layout=layout))

    deps.router.add(ExportCommand, on_export)

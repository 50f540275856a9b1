"""`/invoice export <start> <end>`: the documents of a period as a CSV file in the channel."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from commands.slack.blocks import build_error_message, build_export_message, build_progress_message
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import ExportCommand

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `export` to the `/invoice` table."""

    async def on_export(invocation: Invocation, parsed: ExportCommand) -> None:
        respond = invocation.respond
        await respond(text="Preparing the export…", blocks=build_progress_message("Preparing the export", 0, 1),
                      response_type="ephemeral")
        data = await deps.service.export_csv(parsed.start, parsed.end)
        rows = max(0, data.count(b"\r\n") - 1)
        name = f"invoices-{parsed.start.isoformat()}-{parsed.end.isoformat()}.csv"
        try:
            await invocation.client.files_upload_v2(channel=invocation.channel, content=data, filename=name,
                                                    title=name,
                                                    initial_comment=f"Documents from {parsed.start} to {parsed.end}")
        except SlackApiError as exc:
            await respond(replace_original=True, text="The export could not be uploaded.",
                          blocks=build_error_message("The export could not be uploaded",
                                                     f"Slack said `{exc.response.get('error')}`.",
                                                     "Invite the bot to this channel and try again."))
            return
        await respond(replace_original=True, text=f"Export ready: {name}",
                      blocks=build_export_message(name, rows, parsed.start, parsed.end,
                                                  sandbox=deps.any_sandbox(), size=len(data)))

    deps.router.add(ExportCommand, on_export)

"""The upload v2 flow in the double, driven by slack_sdk's own files_upload_v2."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble


async def test_files_upload_v2_runs_the_whole_three_step_flow(client: AsyncWebClient,
                                                              double: SlackWebApiDouble) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(12_000)
    answer = await client.files_upload_v2(channel="C0FIN", content=png, filename="digest.png",
                                          title="Daily digest", initial_comment="Today's digest")
    assert answer["file"]["name"] == "digest.png" and answer["file"]["size"] == len(png)
    assert [c.method for c in double.recorded] == ["files.getUploadURLExternal", "file.upload",
                                                   "files.completeUploadExternal"]
    assert double.last("files.getUploadURLExternal").args == {"filename": "digest.png", "length": str(len(png))}
    [upload] = double.files.values()
    assert upload.data == png and upload.completed and upload.channel_id == "C0FIN"
    assert upload.title == "Daily digest" and upload.initial_comment == "Today's digest"
    [share] = double.messages_in("C0FIN")
    assert share["subtype"] == "file_share" and share["files"][0]["id"] == upload.id


async def test_completing_an_upload_that_never_arrived_fails(client: AsyncWebClient) -> None:
    url = await client.files_getUploadURLExternal(filename="x.csv", length=3)
    with pytest.raises(SlackApiError, match="file_not_found"):
        await client.files_completeUploadExternal(files=[{"id": url["file_id"], "title": "x"}], channel_id="C1")

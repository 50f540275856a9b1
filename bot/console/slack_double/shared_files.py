"""Files people share in the double: ``files.info``, ``files.list`` and the download of
``url_private_download``, which (as at Slack) needs the bot token in an ``Authorization`` header.

`share_user_file` is the test's and the console's way of a person dropping a CSV or XLSX into a
channel: the file is stored complete, owned by that user, and shared as a ``file_share`` message.
Kept apart from the upload v2 flow (`files.Uploads`), which is the bot's own uploads.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.console.slack_double.files import Uploads, mimetype
from bot.console.slack_double.records import MethodHandler, UploadedFile, slack_error
from bot.console.slack_double.wire import auth_error

__all__ = ["SharedFiles"]


class SharedFiles:
    """The read side of files: who shared what where, and the bytes behind the private URL."""

    def __init__(self, uploads: Uploads, root_url: Any) -> None:
        self.uploads = uploads
        self.root_url = root_url  # () -> the double's root URL
        self.owners: dict[str, str] = {}  # file id -> the user who shared it
        self.shared_at: dict[str, int] = {}

    def methods(self) -> dict[str, MethodHandler]:
        return {"files.info": self.info, "files.list": self.list}

    def share_user_file(self, user: str, channel: str, filename: str, data: bytes, *,
                        comment: str = "") -> dict[str, Any]:
        """`user` shares a file in `channel`; returns the file object Slack would show."""
        stamps = self.uploads.stamps
        file_id = stamps.new_id("F")
        self.uploads.files[file_id] = UploadedFile(id=file_id, filename=filename, length=len(data), data=data,
                                                   title=filename, channel_id=channel, completed=True)
        self.owners[file_id] = user
        self.shared_at[file_id] = stamps.seconds()
        shown = self.describe(file_id)
        self.uploads.chat.append(channel, {"type": "message", "subtype": "file_share", "user": user,
                                           "ts": stamps.next_ts(), "text": comment, "files": [shown],
                                           "channel": channel})
        return shown

    def describe(self, file_id: str) -> dict[str, Any]:
        upload = self.uploads.files[file_id]
        root = self.root_url()
        name = upload.filename
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        return {
            "id": file_id, "name": name, "title": upload.title or name, "mimetype": mimetype(name),
            "filetype": extension, "size": upload.size, "user": self.owners.get(file_id),
            "created": self.shared_at.get(file_id, 0), "channels": [upload.channel_id] if upload.channel_id else [],
            "url_private": f"{root}/files-pri/{file_id}/{name}",
            "url_private_download": f"{root}/files-pri/{file_id}/download/{name}",
        }

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file", ""))
        upload = self.uploads.files.get(file_id)
        if upload is None or upload.data is None:
            return slack_error("file_not_found")
        return {"ok": True, "file": self.describe(file_id)}

    def list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, filtered by channel and user as Slack's ``files.list`` is."""
        channel, user = args.get("channel"), args.get("user")
        found = [fid for fid, upload in self.uploads.files.items()
                 if upload.data is not None and upload.completed
                 and (not channel or upload.channel_id == channel)
                 and (not user or self.owners.get(fid) == user)]
        found.sort(key=lambda fid: self.shared_at.get(fid, 0), reverse=True)
        try:
            count = max(1, int(args.get("count") or 100))
        except ValueError:
            count = 100
        files = [self.describe(fid) for fid in found[:count]]
        return {"ok": True, "files": files, "paging": {"count": count, "total": len(found), "page": 1, "pages": 1}}

    async def download(self, request: web.Request, valid_tokens: Any) -> web.Response:
        """``url_private_download``: the bytes for a valid bot token, else Slack's login page status."""
        if auth_error(request, "files.download", valid_tokens):
            return web.Response(status=302, headers={"Location": "https://slack.com/signin"})
        upload = self.uploads.files.get(request.match_info["file_id"])
        if upload is None or upload.data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=upload.data, content_type=mimetype(upload.filename))

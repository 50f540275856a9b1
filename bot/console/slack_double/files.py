"""The three-step upload v2 flow: ``files.getUploadURLExternal``, the upload itself, and
``files.completeUploadExternal``, which shares the file in a channel as a ``file_share`` message.

A file completes only once its bytes arrived at the upload URL, and only once, as in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.console.slack_double.chat import Chat
from bot.console.slack_double.directory import Directory
from bot.console.slack_double.records import MethodHandler, Stamps, UploadedFile, slack_error

__all__ = ["Uploads", "mimetype"]

_MIMETYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "csv": "text/csv",
              "pdf": "application/pdf", "txt": "text/plain", "json": "application/json"}


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def mimetype(filename: str) -> str:
    return _MIMETYPES.get(_extension(filename), "application/octet-stream")


class Uploads:
    """Files by id, from the upload URL handed out until (and after) they are shared."""

    def __init__(self, directory: Directory, chat: Chat, stamps: Stamps, upload_url: Callable[[str], str]) -> None:
        self.directory = directory
        self.chat = chat
        self.stamps = stamps
        self.upload_url = upload_url  # file id -> where the client sends the bytes
        self.files: dict[str, UploadedFile] = {}

    def methods(self) -> dict[str, MethodHandler]:
        return {
            "files.getUploadURLExternal": self.get_upload_url,
            "files.completeUploadExternal": self.complete_upload,
        }

    def receive(self, file_id: str, data: bytes) -> bool:
        """The bytes arrived at the upload URL; False when Slack would answer 404."""
        upload = self.files.get(file_id)
        if upload is None or upload.completed:
            return False
        upload.data = data
        return True

    def get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        try:
            length = int(args.get("length", ""))
        except (TypeError, ValueError):
            return slack_error("invalid_arguments", ["length must be an integer"])
        if not filename or length < 0:
            return slack_error("invalid_arguments", ["filename and length are required"])
        file_id = self.stamps.new_id("F")
        self.files[file_id] = UploadedFile(id=file_id, filename=str(filename), length=length)
        return {"ok": True, "upload_url": self.upload_url(file_id), "file_id": file_id}

    def _ready(self, entries: list[Any]) -> list[tuple[UploadedFile, dict[str, Any]]] | None:
        """Each entry's uploaded file, or None when one never arrived or was already shared."""
        ready = []
        for entry in entries:
            upload = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if upload is None or upload.data is None or upload.completed:
                return None
            ready.append((upload, entry))
        return ready

    def _describe(self, upload: UploadedFile, channel_id: str | None) -> dict[str, Any]:
        """The file object Slack answers with and puts in the share message."""
        now = self.stamps.seconds()
        return {
            "id": upload.id, "created": now, "timestamp": now, "name": upload.filename,
            "title": upload.title, "mimetype": mimetype(upload.filename),
            "filetype": _extension(upload.filename) if "." in upload.filename else "binary",
            "user": self.directory.identity.bot_user_id, "size": upload.size, "is_external": False,
            "is_public": True, "channels": [channel_id] if channel_id else [],
        }

    def complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            return slack_error("invalid_arguments", ["files must be a non-empty JSON array"])
        channel = args.get("channel_id") or (str(args.get("channels", "")).split(",")[0] or None)
        channel_id = self.directory.resolve_channel(channel) if channel else None
        if channel and channel_id is None:
            return slack_error("channel_not_found")
        ready = self._ready(entries)
        if ready is None:
            return slack_error("file_not_found")
        shown = []
        for upload, entry in ready:
            upload.completed = True
            upload.title = entry.get("title") or upload.filename
            upload.channel_id = channel_id
            upload.initial_comment = args.get("initial_comment")
            upload.thread_ts = args.get("thread_ts")
            shown.append(self._describe(upload, channel_id))
        if channel_id:
            self._share(channel_id, shown, args)
        return {"ok": True, "files": shown}

    def _share(self, channel_id: str, shown: list[dict[str, Any]], args: dict[str, Any]) -> None:
        message = {"type": "message", "subtype": "file_share", "user": self.directory.identity.bot_user_id,
                   "ts": self.stamps.next_ts(), "text": args.get("initial_comment") or "", "files": shown,
                   "channel": channel_id}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.chat.append(channel_id, message)

"""How the double reads a Web API request: its arguments and its bearer token.

slack_sdk sends arguments as a query string, a form, JSON or multipart depending on the
method and the client; Slack merges them, and takes the JSON-valued ones (``blocks``,
``view``, ...) as JSON text when form-encoded. The token is checked as Slack does, with
HTTP 200 and ``not_authed`` / ``invalid_auth``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = ["auth_error", "read_args"]

#: Arguments Slack takes as JSON text when form-encoded.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurl_media_options"})


async def read_args(request: web.Request) -> dict[str, Any]:
    """Query, form, JSON and multipart arguments merged; the ``token`` argument dropped."""
    args: dict[str, Any] = dict(request.query)
    body = await request.read()
    ctype = request.content_type
    if body and ctype == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body and ctype in ("application/x-www-form-urlencoded", ""):
        args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif body and ctype.startswith("multipart/"):
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_ARGS & args.keys():
        if isinstance(args[key], str):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    args.pop("token", None)
    return args


def auth_error(request: web.Request, method: str, valid_tokens: Collection[str] | None) -> str | None:
    """The error Slack answers for this request's token, or None when it is accepted."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return "not_authed"
    token = header[7:].strip()
    if method == "apps.connections.open":  # the one method that takes the app-level token
        return None if token.startswith("xapp-") else "invalid_auth"
    if not token.startswith("xoxb-"):
        return "invalid_auth"
    if valid_tokens is not None and token not in valid_tokens:
        return "invalid_auth"
    return None

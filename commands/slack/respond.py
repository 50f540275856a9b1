"""`respond()` over the bot's one HTTP session, instead of a new session per answer.

Bolt's `AsyncRespond` builds an `AsyncWebhookClient` without a session for every answer to a
``response_url``, so each answer opened an aiohttp session, resolved and connected a new TCP
(and, against Slack, TLS) connection, and closed all of it again: at c=200 that was the largest
single cost of `/invoice status` after the ack. `SessionRespond` is the same call (Bolt's own
message building, the same webhook client) on the session the Web API client already keeps
alive, so answers reuse its pooled connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from ssl import SSLContext
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

__all__ = ["SessionRespond"]


class SessionRespond(AsyncRespond):
    """Bolt's `respond()` (same arguments, same message) posting through `session`."""

    def __init__(self, *, response_url: str | None, session: aiohttp.ClientSession, proxy: str | None = None,
                 ssl: SSLContext | None = None) -> None:
        super().__init__(response_url=response_url, proxy=proxy, ssl=ssl)
        self.session = session

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if self.session.closed:  # shutting down: Bolt's own way (a session of its own) still answers
            return await super().__call__(text, blocks, attachments, response_type, replace_original,
                                          delete_original, unfurl_links, unfurl_media, thread_ts, metadata)
        client = AsyncWebhookClient(url=self.response_url, proxy=self.proxy, ssl=self.ssl, session=self.session)
        if isinstance(text, dict):
            return await client.send_dict(_build_message(**text))
        if not isinstance(text, str):
            raise ValueError(f"The arg is unexpected type ({type(text)})")
        message = _build_message(text=text, blocks=blocks, attachments=attachments, response_type=response_type,
                                 replace_original=replace_original, delete_original=delete_original,
                                 unfurl_links=unfurl_links, unfurl_media=unfurl_media, thread_ts=thread_ts,
                                 metadata=metadata)
        return await client.send_dict(message)

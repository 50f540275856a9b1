"""A local Slack Web API double: a real aiohttp server on loopback that answers like Slack.

The app under test (or the console) talks to it through the real
``slack_sdk.web.async_client.AsyncWebClient(token=..., base_url=double.base_url)``,
so request encoding, retries and the three-step upload v2 flow are exercised for real.
It records every call (method, merged query/form/JSON arguments, redacted headers,
time, answer) for tests to assert on what Slack would have been asked to do, and an
optional *event sink* is awaited on each recorded call (the console renders them).

Routes:
    POST /api/<method>           Web API methods (unknown ones answer ``unknown_method``)
    POST /upload/<file_id>       the upload URL handed out by files.getUploadURLExternal
    POST /response/<id>          a ``response_url`` (what Bolt's ``respond()`` posts)
    GET  /socket-mode            the WebSocket ``apps.connections.open`` hands out (Socket Mode)

Every API call needs ``Authorization: Bearer xoxb-…`` (else ``not_authed`` /
``invalid_auth``, as Slack answers, with HTTP 200). Faults: `fail_next(method, n)`
makes the next n calls answer 429 + ``Retry-After`` + ``{"ok":false,"error":"ratelimited"}``
or any other ``{"ok":false,"error":...}``.

Example:
    double = SlackWebApiDouble()
    client = AsyncWebClient(token="xoxb-test", base_url=await double.start())
    await client.chat_postMessage(channel="C1", text="hi")
    assert double.last("chat.postMessage").args["text"] == "hi"

Modules, one concern each:
    server        `SlackWebApiDouble`: routes, recording, faults, the accessors tests use
    directory     users, user groups, channel names (auth.test, users.info, usergroups, conversations.open)
    chat          messages and ephemerals (chat.*)
    views         modals and App Home (views.*)
    files         the upload v2 flow (files.*)
    socket_mode   apps.connections.open and its WebSocket
    functions     custom steps: functions.completeSuccess / completeError, execution tokens
    wire          reading a request's arguments and its token
    checks        Slack's limits on blocks and views
    faults        failures queued by `fail_next`
    records       `RecordedCall`, `UploadedFile`, ids and timestamps from an injected clock
    thread        `SlackDoubleThread`, for synchronous callers
"""

from __future__ import annotations

from bot.console.slack_double.records import EventSink, RecordedCall, UploadedFile
from bot.console.slack_double.server import SlackWebApiDouble
from bot.console.slack_double.thread import SlackDoubleThread

__all__ = [
    "EventSink",
    "RecordedCall",
    "SlackDoubleThread",
    "SlackWebApiDouble",
    "UploadedFile",
]

"""The Web API client of the workspace being served.

With OAuth installs every workspace has its own bot token, so the one client built at start-up
(SLACK_BOT_TOKEN, or no token at all) cannot post for everyone. Bolt authorizes each request
and hands its listeners a client holding that workspace's token; `bind_request_workspace`
binds it here for the rest of the request (and the tasks the request starts), and the
notifier and the approver directory post and look up through `current_client()` before
falling back to their own. Work the bot starts on its own (scheduled digests, sweeps,
recovery) binds the client of the workspace it works for (`use_client`), found by
`bot.oauth.WorkspaceTokens`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["current_client", "enter_client", "use_client"]

_current: ContextVar[AsyncWebClient | None] = ContextVar("invoicebot_slack_client", default=None)


def current_client() -> AsyncWebClient | None:
    """The client of the workspace being served; None outside a request or a bound job."""
    return _current.get()


def enter_client(client: AsyncWebClient | None) -> None:
    """Bind `client` for the rest of the current task (Bolt's global middleware: see
    `commands.workflow.access.enter_workspace` for why not a ``with`` block)."""
    _current.set(client)


@contextlib.contextmanager
def use_client(client: AsyncWebClient | None) -> Iterator[AsyncWebClient | None]:
    """Bind `client` while a job works for one workspace."""
    token = _current.set(client)
    try:
        yield client
    finally:
        _current.reset(token)

"""Reading a failed Slack Web API call, whatever came back.

`SlackApiError.response` is usually a response whose ``data`` is the decoded JSON, but when
Slack (or a proxy in front of it) answers text or HTML, ``data`` is a ``str``, ``bytes`` or
``None``, or ``response`` is the raw HTTP response: ``exc.response.get("error")`` then raises
``AttributeError`` (or ``ValueError`` for bytes) inside the very handler that was trying to
report the failure. Every place that reports a Slack failure reads it through `slack_error`,
so no such body can turn a logged warning into a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

__all__ = ["SLACK_FAILURES", "slack_error"]

#: longest excerpt of a non-JSON body kept in the description (logs, user messages)
_EXCERPT = 80


def _data(response: Any) -> Any:
    """The decoded body of `response`, or None when there is none to read."""
    try:
        return getattr(response, "data", None)
    except Exception:  # a response object that cannot even say what it holds
        return None


def _status(response: Any) -> str:
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return f"HTTP {value}"
    return "no status"


def slack_error(exc: BaseException) -> str:
    """A short, safe description of a failed Slack call: the ``error`` code Slack gave
    (``channel_not_found``), or what kind of answer came instead (``HTTP 502, text body``).

    Never raises, whatever `exc` carries.

    Example::

        except SlackApiError as exc:
            log.warning("could not post: %s", slack_error(exc))
    """
    if not isinstance(exc, SlackApiError):
        return type(exc).__name__
    response = exc.response
    data = _data(response) if response is not None else None
    if isinstance(response, Mapping):
        data = response
    if isinstance(data, Mapping):
        error = data.get("error")
        return str(error)[:_EXCERPT] if error else f"{_status(response)}, no error code"
    if isinstance(data, (str, bytes)) and data:
        return f"{_status(response)}, non-JSON body"
    return f"{_status(response)}, unreadable body"


#: what a best-effort Slack call may raise: Slack's refusals, and no answer at all (a timeout, a
#: dropped connection); a notifier catches these and nothing else, so a bug still surfaces
SLACK_FAILURES: tuple[type[BaseException], ...] = (SlackClientError, TimeoutError, aiohttp.ClientError, OSError)

"""What the workflow refuses with, when the refusal is the workflow's own.

The workflow has one small error tree for the refusals only it can make; for everything a
provider already names it raises the provider's exception, so a caller catches
``(WorkflowError, ProviderError)`` and never a second copy of the same concept::

    WorkflowError           base; `.message`, `.user_hint`, `.code` (also: a provider could not
    │                       be asked while adopting a document)
    ├── NotAllowed          not an approver, deciding your own request, retrying someone else's
    ├── NotFound            no such document or approval
    └── Conflict            the document or request is not in a state that allows it

    raised from `providers.errors` (provider="" when the check is ours):
    RequestInvalid          bad amounts, a bad business number, a missing reject reason, a bad
                            ref, a currency the provider does not take
    └── NotSupported        the provider cannot do this, or is not configured on this bot
"""

from __future__ import annotations

from commands.i18n import _
from providers.errors import NotSupported, RequestInvalid
from providers.models import Provider

__all__ = ["Conflict", "NotAllowed", "NotFound", "WorkflowError", "invalid", "not_configured", "not_configured_message"]


class WorkflowError(Exception):
    """A request the workflow refuses; `message` and `user_hint` are meant for the user."""

    code = "error"

    def __init__(self, message: str, *, user_hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.user_hint = user_hint
        if code is not None:
            self.code = code


class NotAllowed(WorkflowError):
    code = "not_allowed"


class NotFound(WorkflowError):
    code = "not_found"


class Conflict(WorkflowError):
    code = "conflict"


def invalid(message: str, *, user_hint: str | None = None) -> RequestInvalid:
    """Bad input found by our own checks, before any provider is asked (so no provider name)."""
    return RequestInvalid(message, user_hint=user_hint)


def not_configured(provider: Provider) -> NotSupported:
    """A provider this bot has no credentials for cannot do anything (our check: no provider name)."""
    return NotSupported(not_configured_message(provider))


def not_configured_message(provider: Provider) -> str:
    return _("{provider} is not configured on this bot").format(provider=provider.value)

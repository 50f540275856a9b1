"""Provider errors.

Every failure of a provider call is one of these, so the Slack layer can tell the
user what happened and what to do, and storage can record an outcome code::

    ProviderError                       base; `.provider`, `.code`, `.message`, `.user_hint`
    ├── RequestInvalid                  we refused before sending anything (bad MgtKey, totals
    │                                   that do not add up, an unsupported operation)
    │   └── NotSupported                the provider cannot do this at all (capabilities)
    ├── ProviderRejected                the provider answered and said no (its code and message kept)
    │   └── DocumentNotFound            the provider does not know the document
    ├── ProviderUnavailable             no usable answer, nothing happened: connect error, timeout on a
    │   │                               read, 5xx, maintenance (`.retry_after` when known)
    │   └── RateLimited                 429 (`.retry_after` from the Retry-After header)
    ├── ProviderProtocolError           an answer we cannot read: HTML error page, non-JSON, missing fields
    └── OutcomeUnknown                  a write was sent and no answer came: the document may or may not
                                        exist. Reconcile by reading it before any retry.

Only `ProviderUnavailable` is safe to retry blindly, and only for reads or writes
protected by an idempotency key. `OutcomeUnknown` must be reconciled first.
"""

from __future__ import annotations

__all__ = [
    "DocumentNotFound",
    "NotSupported",
    "OutcomeUnknown",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RateLimited",
    "RequestInvalid",
]


class ProviderError(Exception):
    """Base of every provider failure."""

    #: short machine code stored in the audit log, e.g. "rejected", "unavailable"
    outcome = "error"

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        code: str | int | None = None,
        user_hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.code = None if code is None else str(code)
        self.message = message
        self.user_hint = user_hint

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        code = f"[{self.code}] " if self.code else ""
        return f"{where}{code}{self.message}"

    @property
    def outcome_code(self) -> str:
        """What storage records as the outcome of the call."""
        return f"{self.outcome}:{self.code}" if self.code else self.outcome


class RequestInvalid(ProviderError):
    outcome = "invalid"


class NotSupported(RequestInvalid):
    outcome = "unsupported"


class ProviderRejected(ProviderError):
    outcome = "rejected"


class DocumentNotFound(ProviderRejected):
    outcome = "not_found"


class ProviderUnavailable(ProviderError):
    outcome = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        code: str | int | None = None,
        user_hint: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code, user_hint=user_hint)
        self.retry_after = retry_after
        self.status = status


class RateLimited(ProviderUnavailable):
    outcome = "rate_limited"


class ProviderProtocolError(ProviderError):
    outcome = "protocol"

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        code: str | int | None = None,
        user_hint: str | None = None,
        status: int | None = None,
        body_excerpt: str = "",
    ) -> None:
        super().__init__(message, provider=provider, code=code, user_hint=user_hint)
        self.status = status
        self.body_excerpt = body_excerpt[:200]


class OutcomeUnknown(ProviderError):
    outcome = "unknown"

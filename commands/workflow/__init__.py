"""The workflow: requests, approvals, execution and reads; knows nothing of Slack.

Callers import from this package, never from its modules: `InvoiceService` is the façade,
the views are what it returns, and `WorkflowError` is what it refuses with (provider
refusals arrive as `providers.errors.ProviderError`).
"""

from commands.workflow.drafts import IssueDraft
from commands.workflow.service import (
    ApprovalView,
    ClosureItem,
    ClosureResult,
    Conflict,
    DecisionOutcome,
    DecisionResult,
    DocumentView,
    ExecutionResult,
    InvalidInput,
    InvoiceService,
    NotAllowed,
    NotFound,
    Unsupported,
    WorkflowError,
)

__all__ = [
    "ApprovalView",
    "ClosureItem",
    "ClosureResult",
    "Conflict",
    "DecisionOutcome",
    "DecisionResult",
    "DocumentView",
    "ExecutionResult",
    "InvalidInput",
    "InvoiceService",
    "IssueDraft",
    "NotAllowed",
    "NotFound",
    "Unsupported",
    "WorkflowError",
]

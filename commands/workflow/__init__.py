"""The workflow: requests, approvals, execution and reads; knows nothing of Slack.

Callers import from this package, never from its modules: `InvoiceService` is the façade,
the views are what it returns, and `WorkflowError` is what it refuses with when the refusal
is the workflow's own; bad input and what a provider cannot do arrive as the provider
layer's `RequestInvalid` and `NotSupported` (see `commands.workflow.errors`), so callers
catch ``(WorkflowError, ProviderError)``.

The status sweep (`commands.workflow.sweep`) is not re-exported: its daily job imports it when it
runs, so an idle bot does not hold it (0.4 MB of idle memory with its repository, measured by
importing it into an idle bot; `tests/bot/test_start.py`).
"""

from commands.workflow.drafts import IssueDraft
from commands.workflow.errors import Conflict, NotAllowed, NotFound, WorkflowError
from commands.workflow.service import InvoiceService
from commands.workflow.views import (
    ApprovalView,
    ClosureItem,
    ClosureResult,
    DecisionOutcome,
    DecisionResult,
    DocumentView,
    ExecutionResult,
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
    "InvoiceService",
    "IssueDraft",
    "NotAllowed",
    "NotFound",
    "WorkflowError",
]

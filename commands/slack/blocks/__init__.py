"""Block Kit builders: pure functions from small "card" models to `slack_sdk.models` blocks.

The builders never talk to Slack or to the workflow. `commands.slack.cards` maps the
workflow's views (DocumentView, ApprovalView, …) onto the frozen card models
(`blocks.models`), so these builders can be tested without a database and reused by the
digest and App Home.

Everything returns `slack_sdk.models` objects, so Slack's limits are checked when they
are serialised; the builders also clip user-supplied text themselves (`blocks.kit`), so a
long buyer name or a thousand-row list can never make a message fail. Each builder has a
``*_text`` twin giving the plain fallback `text` Slack shows in notifications.

One module per message: `approval` (the four-eyes card and the reject modal), `status`,
`lists`, `closure`, `help`, `errors` (progress and refusals), `export`. Every message
about a sandbox document carries a visible "🧪 SANDBOX" context line.

`export`'s builders are resolved on first access (PEP 562 `__getattr__`): they import the export
workflow, which an idle bot does not hold (idle memory, `tests/bot/test_start.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.ledger.lazy import homes, lazy_getattr
from commands.ledger.vocabulary import ApprovalState
from commands.slack.blocks.approval import (
    approval_text,
    build_approval_message,
    build_reject_modal,
    parse_reject_submission,
)
from commands.slack.blocks.closure import build_closure_message, closure_text
from commands.slack.blocks.document import document_card_line
from commands.slack.blocks.errors import (
    build_command_error_message,
    build_error_message,
    build_progress_message,
    error_text,
    progress_text,
)
from commands.slack.blocks.help import build_help_message, help_text
from commands.slack.blocks.kit import sandbox_context
from commands.slack.blocks.lists import (
    MAX_LIST_ROWS,
    build_list_message,
    build_pending_list_message,
    list_text,
    pending_list_text,
)
from commands.slack.blocks.models import ApprovalCard, ClosureRow, DocumentCard
from commands.slack.blocks.status import build_status_message, status_text
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    ISSUE_CALLBACK_ID,
    REJECT_ACTION_ID,
    REJECT_CALLBACK_ID,
    REJECT_REASON_BLOCK_ID,
)
from commands.slack.modal import IssueDraft, build_issue_modal, parse_issue_submission

if TYPE_CHECKING:
    from commands.slack.blocks.export import build_export_message, export_text

__all__ = [
    "APPROVE_ACTION_ID",
    "ISSUE_CALLBACK_ID",
    "MAX_LIST_ROWS",
    "REJECT_ACTION_ID",
    "REJECT_CALLBACK_ID",
    "REJECT_REASON_BLOCK_ID",
    "ApprovalCard",
    "ApprovalState",
    "ClosureRow",
    "DocumentCard",
    "IssueDraft",
    "approval_text",
    "build_approval_message",
    "build_closure_message",
    "build_command_error_message",
    "build_error_message",
    "build_export_message",
    "build_help_message",
    "build_issue_modal",
    "build_list_message",
    "build_pending_list_message",
    "build_progress_message",
    "build_reject_modal",
    "build_status_message",
    "closure_text",
    "document_card_line",
    "error_text",
    "export_text",
    "help_text",
    "list_text",
    "parse_issue_submission",
    "parse_reject_submission",
    "pending_list_text",
    "progress_text",
    "sandbox_context",
    "status_text",
]

__getattr__ = lazy_getattr(__name__, homes({"commands.slack.blocks.export": ("build_export_message", "export_text")}),
                           globals())

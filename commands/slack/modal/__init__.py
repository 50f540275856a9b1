"""The "issue a document" modal: the view we open and the validation of what comes back.

`build_issue_modal` (`modal.view`) returns a `slack_sdk.models.views.View`.
`parse_issue_submission` (`modal.submission`) turns the submitted `view.state.values`
into an :class:`IssueDraft`, or into errors keyed by block_id that a listener returns as
``ack(response_action="errors", errors=...)``. The line-items field is read by
`parse_items` (`modal.items`); the inputs' block ids and value readers are in `modal.fields`.
"""

from __future__ import annotations

from commands.slack.ids import ISSUE_CALLBACK_ID
from commands.slack.modal.fields import DEFAULT_KINDS, IssueBlocks
from commands.slack.modal.items import MAX_ITEMS, format_items, parse_items
from commands.slack.modal.submission import parse_issue_submission, problem_errors, submission_errors
from commands.slack.modal.view import build_issue_modal
from commands.workflow.drafts import IssueDraft

__all__ = [
    "DEFAULT_KINDS",
    "ISSUE_CALLBACK_ID",
    "MAX_ITEMS",
    "IssueBlocks",
    "IssueDraft",
    "build_issue_modal",
    "format_items",
    "parse_issue_submission",
    "parse_items",
    "problem_errors",
    "submission_errors",
]

"""Every id Slack sends back to us (slash command, action ids, callback ids, block ids), defined once.

Builders put these ids into Block Kit and listeners match on them; both import them from
here, so a renamed button cannot leave a listener waiting for a click that never comes.
"""

from __future__ import annotations

__all__ = [
    "AMEND_CALLBACK_ID",
    "AMEND_DATE_ACTION_ID",
    "AMEND_DATE_BLOCK_ID",
    "AMEND_NOTE_ACTION_ID",
    "AMEND_NOTE_BLOCK_ID",
    "AMEND_REASON_ACTION_ID",
    "AMEND_REASON_BLOCK_ID",
    "AMEND_SUPPLY_ACTION_ID",
    "AMEND_SUPPLY_BLOCK_ID",
    "APPROVE_ACTION_ID",
    "APPROVE_LATE_ACTION_ID",
    "BULK_CALLBACK_ID",
    "BULK_CANCEL_ACTION_ID",
    "BULK_FILE_ACTION_ID",
    "BULK_FILE_BLOCK_ID",
    "BULK_SUBMIT_ACTION_ID",
    "CLOSURE_ACTION_ID",
    "CLOSURE_BLOCK_ID",
    "CLOSURE_MODAL_CALLBACK_ID",
    "COMMAND",
    "DOC_AMEND_ACTION_ID",
    "DOC_OPEN_ACTION_ID",
    "DOC_OPEN_LINK_ACTION_ID",
    "DOC_PDF_ACTION_ID",
    "DOC_SEND_NTS_ACTION_ID",
    "HOME_CLOSURE_ACTION_ID",
    "HOME_ISSUE_ACTION_ID",
    "HOME_SETTINGS_ACTION_ID",
    "ISSUE_CALLBACK_ID",
    "ISSUE_KIND_ACTION_ID",
    "ISSUE_PROVIDER_ACTION_ID",
    "REJECT_ACTION_ID",
    "REJECT_CALLBACK_ID",
    "REJECT_REASON_ACTION_ID",
    "REJECT_REASON_BLOCK_ID",
    "REMINDER_RESEND_ACTION_ID",
    "RESUBMIT_ACTION_ID",
    "RESUBMIT_CALLBACK_ID",
    "SETTINGS_MODAL_CALLBACK_ID",
    "issue_kind_action_id",
]

#: the slash command (manifest.yml declares the same)
COMMAND = "/invoice"

# the issue modal
ISSUE_CALLBACK_ID = "invoice_issue"
# its provider and kind selects dispatch block_actions (the form is rebuilt for the choice); the kind's
# action id carries the chosen provider (``kind_input.payssam``) so Slack shows the new form's preselection
ISSUE_PROVIDER_ACTION_ID = "provider_input"
ISSUE_KIND_ACTION_ID = "kind_input"


def issue_kind_action_id(provider: str | None) -> str:
    """The kind select's action id in a form built for `provider` (a provider's value, or None)."""
    return f"{ISSUE_KIND_ACTION_ID}.{provider}" if provider else ISSUE_KIND_ACTION_ID


# approval cards and the rejection modal
APPROVE_ACTION_ID = "approval_approve"
#: Approve on an issue past its tax deadline: its confirm dialog names the penalty, and the
#: click records the approver's confirmation (then Popbill's forceIssue is set)
APPROVE_LATE_ACTION_ID = "approval_approve_late"
REJECT_ACTION_ID = "approval_reject"
REJECT_CALLBACK_ID = "approval_reject_reason"
REJECT_REASON_BLOCK_ID = "reason"
REJECT_REASON_ACTION_ID = "reason_input"

# edit and resubmit: the button on a rejected/expired/failed request's message, and its modal
RESUBMIT_ACTION_ID = "request_resubmit"
RESUBMIT_CALLBACK_ID = "invoice_resubmit"

# the digest's unpaid-bill reminders
REMINDER_RESEND_ACTION_ID = "reminder_resend"

# App Home and its closure-check modal
HOME_ISSUE_ACTION_ID = "home_issue"
HOME_CLOSURE_ACTION_ID = "home_closure"
#: App Home "Settings" (admins): opens the workspace settings modal
HOME_SETTINGS_ACTION_ID = "home_settings"
#: the workspace settings modal's submission
SETTINGS_MODAL_CALLBACK_ID = "workspace_settings"
CLOSURE_MODAL_CALLBACK_ID = "closure_check_modal"
CLOSURE_BLOCK_ID = "closure_numbers"
CLOSURE_ACTION_ID = "numbers"

# bulk issuance from a file: the upload modal, its file input, and the preview's buttons
BULK_CALLBACK_ID = "invoice_bulk"
BULK_FILE_BLOCK_ID = "bulk_file"
BULK_FILE_ACTION_ID = "bulk_file_input"
BULK_SUBMIT_ACTION_ID = "bulk_submit"
BULK_CANCEL_ACTION_ID = "bulk_cancel"
# a document's own buttons (status): amend it, send it to the NTS now, post its PDF in the thread
DOC_AMEND_ACTION_ID = "doc_amend"
DOC_SEND_NTS_ACTION_ID = "doc_send_nts"
DOC_PDF_ACTION_ID = "doc_pdf"
# "Open in provider" on the status card (fetches a fresh URL), and the link button of the answer
DOC_OPEN_ACTION_ID = "doc_open"
DOC_OPEN_LINK_ACTION_ID = "doc_open_link"

# the amendment (수정세금계산서) modal
AMEND_CALLBACK_ID = "invoice_amend"
AMEND_REASON_BLOCK_ID = "amend_reason"
AMEND_REASON_ACTION_ID = "reason_choice"
AMEND_SUPPLY_BLOCK_ID = "amend_supply"
AMEND_SUPPLY_ACTION_ID = "supply_input"
AMEND_DATE_BLOCK_ID = "amend_date"
AMEND_DATE_ACTION_ID = "date_input"
AMEND_NOTE_BLOCK_ID = "amend_note"
AMEND_NOTE_ACTION_ID = "note_input"

"""Bulk issuance messages: the upload form, the row problems, the preview, the batch's approval
card, its one progress message, and the per-row results file.

slack_sdk 3.48 has no model for the ``file_input`` element, so the upload form is Slack's
documented JSON (an ``input`` block whose element is ``{"type": "file_input", "filetypes": [...],
"max_files": 1}``); everything else is `slack_sdk.models`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from commands.i18n import _
from commands.ledger.bulk import BulkRowRecord
from commands.slack.blocks.kit import context, header, lines_sections, plain, section, user_mention
from commands.slack.formatting import approval_state_label, clip, escape_mrkdwn, format_money, progress_bar
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    BULK_CALLBACK_ID,
    BULK_CANCEL_ACTION_ID,
    BULK_FILE_ACTION_ID,
    BULK_FILE_BLOCK_ID,
    BULK_SUBMIT_ACTION_ID,
    REJECT_ACTION_ID,
)
from commands.workflow import ApprovalView
from commands.workflow.bulk import BulkPreview
from commands.workflow.bulk_parse import RowProblem, column_header
from commands.workflow.progress import BulkProgress

__all__ = [
    "MAX_PROBLEM_LINES",
    "build_bulk_card",
    "build_bulk_modal",
    "build_bulk_preview",
    "build_bulk_problems",
    "build_bulk_progress",
    "bulk_card_text",
    "problem_line",
    "results_csv",
]

#: problems listed in the message (the rest are counted)
MAX_PROBLEM_LINES = 40


def build_bulk_modal(private_metadata: str) -> dict[str, Any]:
    """The upload form: one CSV or XLSX file."""
    return {
        "type": "modal", "callback_id": BULK_CALLBACK_ID, "private_metadata": private_metadata,
        "title": plain(_("Issue from a file"), 24).to_dict(), "submit": plain(_("Check the file"), 24).to_dict(),
        "close": plain(_("Cancel"), 24).to_dict(),
        "blocks": [
            section(_("One row per document. `/invoice bulk template` sends the template (CSV and XLSX); "
                      "headers may be in English or Korean. Nothing is issued before an approver approves "
                      "the whole batch.")).to_dict(),
            {"type": "input", "block_id": BULK_FILE_BLOCK_ID, "label": plain(_("CSV or XLSX file")).to_dict(),
             "element": {"type": "file_input", "action_id": BULK_FILE_ACTION_ID, "filetypes": ["csv", "xlsx"],
                         "max_files": 1}},
        ],
    }


def problem_line(problem: RowProblem) -> str:
    """``row 14, Quantity: …`` (or the file's own problem)."""
    where = []
    if problem.row is not None:
        where.append(_("row {n}").format(n=problem.row))
    if problem.column:
        where.append(column_header(problem.column))
    prefix = ", ".join(where)
    message = escape_mrkdwn(clip(problem.message, 500))
    return f"• {escape_mrkdwn(prefix)}: {message}" if prefix else f"• {message}"


def build_bulk_problems(file_name: str, problems: Sequence[RowProblem], good_rows: int) -> tuple[str, list[Block]]:
    """Why nothing was requested: every problem by row and column, and how many rows were fine."""
    rows = len({p.row for p in problems if p.row is not None})
    title = _("{file}: nothing was requested").format(file=escape_mrkdwn(clip(file_name, 100)))
    summary = _("{bad} row(s) have problems, {good} row(s) are fine. Fix the rows below and share the file "
                "again: a batch is requested only when every row is right.").format(bad=rows, good=good_rows)
    lines = [problem_line(p) for p in problems[:MAX_PROBLEM_LINES]]
    if len(problems) > MAX_PROBLEM_LINES:
        lines.append(_("… and {n} more").format(n=len(problems) - MAX_PROBLEM_LINES))
    text = "\n".join([title, summary, *lines])
    return text, [header(title), section(summary), *lines_sections(lines)]


def _closure_lines(preview: BulkPreview) -> list[str]:
    lines = []
    for row in preview.flagged():
        state = row.closure.value if row.closure else "?"
        extra = _(" (override: “{why}”)").format(why=escape_mrkdwn(clip(row.override, 200))) if row.override else ""
        lines.append(_("• row {n}: buyer {bizno} is {state}{extra}").format(
            n=row.number, bizno=escape_mrkdwn(str(row.request.buyer.bizno)), state=state, extra=extra))
    return lines


def build_bulk_preview(preview: BulkPreview, file_id: str, file_name: str,
                       first: int = 5) -> tuple[str, list[Block]]:
    """Count, total, the first rows and the closure results, with "Submit for approval"."""
    total = format_money(preview.total, preview.currency)
    title = _("{file}: {n} documents, {total}").format(file=escape_mrkdwn(clip(file_name, 100)), n=len(preview.rows),
                                                        total=total)
    lines = [_("• row {n}: {buyer} ({bizno}) {amount}").format(
        n=r.number, buyer=escape_mrkdwn(clip(r.request.buyer.name, 80)),
        bizno=escape_mrkdwn(r.request.buyer.bizno or "-"),
        amount=format_money(r.request.amounts().total, r.request.currency)) for r in preview.rows[:first]]
    closure = _closure_lines(preview) or [_("No buyer is closed or suspended (휴폐업).")]
    blocks: list[Block] = [header(title), section(_("*First rows*")), *lines_sections(lines),
                           section(_("*Closure check (휴폐업)*")), *lines_sections(closure)]
    if preview.overridden:
        blocks.append(context(_("A closed buyer was overridden: the batch needs one more approval.")))
    blocks.append(ActionsBlock(block_id="bulk_preview", elements=[
        ButtonElement(text=plain(_("Submit for approval")), action_id=BULK_SUBMIT_ACTION_ID, value=file_id,
                      style="primary"),
        ButtonElement(text=plain(_("Cancel")), action_id=BULK_CANCEL_ACTION_ID, value=file_id)]))
    return "\n".join([title, *lines, *closure]), blocks


def bulk_card_text(view: ApprovalView) -> str:
    bulk = view.payload.get("bulk") or {}
    total = format_money(int(bulk.get("total") or 0), str(bulk.get("currency") or "KRW"))
    return _("Bulk issue #{id} ({state}): {n} documents at {provider}, {total}, from {file}").format(
        id=view.id, state=approval_state_label(view.state), n=bulk.get("rows"), provider=bulk.get("provider"),
        total=total, file=escape_mrkdwn(clip(str(bulk.get("file_name") or ""), 100)) or _("a file"))


def build_bulk_card(view: ApprovalView) -> list[Block]:
    """The batch's approval card: what would be issued, and the buttons while it is pending."""
    bulk = view.payload.get("bulk") or {}
    blocks: list[Block] = [section(bulk_card_text(view)),
                           context(_("Requested by {who}").format(who=user_mention(view.requester)))]
    first = [_("• row {row}: {buyer} ({bizno}) {amount}").format(
        row=r.get("row"), buyer=escape_mrkdwn(clip(str(r.get("buyer")), 80)),
        bizno=escape_mrkdwn(str(r.get("bizno") or "-")),
        amount=format_money(int(r.get("total") or 0), str(bulk.get("currency") or "KRW")))
        for r in bulk.get("first_rows") or []]
    blocks.extend(lines_sections(first))
    flagged = [_("• row {row}: buyer {bizno} is {state}").format(
        row=f.get("row"), bizno=escape_mrkdwn(str(f.get("bizno"))), state=escape_mrkdwn(str(f.get("state"))))
        for f in bulk.get("flagged") or []]
    if flagged:
        blocks.extend(lines_sections(flagged))
    if view.required_approvals > 1:
        blocks.append(context(_("Needs {n} approvals; approved so far: {who}").format(
            n=view.required_approvals, who=", ".join(user_mention(u) for u in view.approved_by) or "-")))
    if view.outcome_message:
        blocks.append(context(escape_mrkdwn(clip(view.outcome_message, 2000))))
    if view.user_hint:
        blocks.append(context("👉 " + escape_mrkdwn(clip(view.user_hint, 1990))))
    if view.is_pending:
        blocks.append(ActionsBlock(block_id="approval_actions", elements=[
            ButtonElement(text=plain(_("Approve")), action_id=APPROVE_ACTION_ID, value=str(view.id), style="primary"),
            ButtonElement(text=plain(_("Reject")), action_id=REJECT_ACTION_ID, value=str(view.id), style="danger")]))
    return blocks


def build_bulk_progress(event: BulkProgress) -> tuple[str, list[Block]]:
    """The one progress message of a batch (updated in place)."""
    bar = progress_bar(event.done, event.total)
    if event.finished:
        title = _("Bulk issue finished: {issued} issued, {failed} refused of {total}").format(
            issued=event.issued, failed=event.failed, total=event.total)
    else:
        title = _("Issuing… {done} of {total}").format(done=event.done, total=event.total)
    blocks: list[Block] = [section(f"{title}\n`{bar}`")]
    if event.note:
        blocks.append(context(escape_mrkdwn(clip(event.note, 1000))))
    return title, blocks


def results_csv(rows: Sequence[BulkRowRecord]) -> bytes:
    """One line per row of the file: its document, where it ended, and the provider's answer."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "ref", "result", "code", "message"])
    for row in rows:
        writer.writerow([row.row_number, row.ref, row.lifecycle.value, row.result_code or "",
                         row.result_message or ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

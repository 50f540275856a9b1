"""Bulk issuance's tables (0007_bulk): a batch from one uploaded file, its rows, its bulkSubmit calls.

Declared on the ledger's one `MetaData` and re-exported by `commands.ledger.schema`.
"""

from __future__ import annotations

import sqlalchemy as sa

from commands.ledger.schema_types import ID_TYPE, UtcDateTime, _in, metadata

__all__ = ["bulk_batches", "bulk_rows", "bulk_submissions"]

#: a batch of documents from one uploaded file, approved once (`ApprovalAction.BULK_ISSUE`, 0007_bulk);
#: the unique file id makes a double click on "Submit" one batch
bulk_batches = sa.Table(
    "bulk_batches",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("approval_id", ID_TYPE, sa.ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=True),
    sa.Column("file_id", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.String(255), nullable=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("row_count", sa.Integer(), nullable=False),
    sa.Column("total", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="KRW"),
    # the one progress message (chat.update'd), in the approval card's thread
    sa.Column("progress_channel", sa.String(64), nullable=True),
    sa.Column("progress_ts", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index(None, "approval_id", unique=True),
)

#: one row of the file: its line number and the document it became (each with its own key)
bulk_rows = sa.Table(
    "bulk_rows",
    metadata,
    sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    sa.Column("batch_id", ID_TYPE, sa.ForeignKey("bulk_batches.id", ondelete="CASCADE"), nullable=False),
    sa.Column("row_number", sa.Integer(), nullable=False),
    sa.Column("document_id", ID_TYPE, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False,
              unique=True),
    # the bulk submission that carried it (None: not submitted yet, or issued one by one)
    sa.Column("submit_id", sa.String(40), nullable=True),
    sa.Column("result_code", sa.String(64), nullable=True),
    sa.Column("result_message", sa.Text(), nullable=True),
    sa.UniqueConstraint("batch_id", "row_number"),
)

#: one bulkSubmit call, recorded before it is sent so a crash is reconciled with getBulkResult
bulk_submissions = sa.Table(
    "bulk_submissions",
    metadata,
    sa.Column("submit_id", sa.String(40), primary_key=True),
    sa.Column("batch_id", ID_TYPE, sa.ForeignKey("bulk_batches.id", ondelete="CASCADE"), nullable=False),
    sa.Column("family", sa.String(16), nullable=False),  # taxinvoice | cashbill
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("receipt_id", sa.String(40), nullable=True),
    sa.Column("row_count", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(_in("state", frozenset({"sending", "received", "done", "absent"})), name="state"),
    sa.Index(None, "batch_id"),
)

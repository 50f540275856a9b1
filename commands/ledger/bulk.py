"""Bulk batches: one approval for the documents of one uploaded file, and their bulkSubmit calls.

A batch's rows are ordinary documents (each its own ref, so its own idempotency key and
provider key); this repository only links them to the batch and remembers, per row, which
bulk submission carried it and what the provider answered. A submission is recorded
*before* it is sent (state ``sending``), so after a crash the execution asks the provider
(getBulkResult) about every submission it may have sent before sending anything again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo, now_or
from commands.ledger.records import DocumentRecord
from commands.ledger.schema import bulk_batches, bulk_rows, bulk_submissions, documents
from commands.ledger.vocabulary import Lifecycle

__all__ = ["BulkBatchRecord", "BulkRepo", "BulkRowRecord", "BulkSubmissionRecord", "SubmissionState"]

#: sending: recorded, maybe sent; received: the provider gave a receipt; done: results applied;
#: absent: the provider never got it (its rows may be sent again under a new submit id)
SubmissionState = str


@dataclass(frozen=True)
class BulkBatchRecord:
    id: int
    approval_id: int | None
    file_id: str
    file_name: str | None
    provider: str
    row_count: int
    total: int
    currency: str
    progress_channel: str | None
    progress_ts: str | None

    @classmethod
    def from_row(cls, row: Any) -> BulkBatchRecord:
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BulkRowRecord:
    row_number: int
    document_id: int
    ref: str
    lifecycle: Lifecycle
    submit_id: str | None
    result_code: str | None
    result_message: str | None


@dataclass(frozen=True)
class BulkSubmissionRecord:
    submit_id: str
    batch_id: int
    family: str
    state: SubmissionState
    receipt_id: str | None
    row_count: int


class BulkRepo(Repo):
    """Batches, their rows and their bulk submissions."""

    async def create_batch(self, *, file_id: str, file_name: str | None, provider: str, row_count: int,
                           total: int, currency: str, now: dt.datetime | None = None) -> int | None:
        """A new batch for a file; None when that file was already submitted (a double click)."""
        now = now_or(now)
        values = {"file_id": file_id, "file_name": file_name, "provider": provider, "row_count": row_count,
                  "total": total, "currency": currency, "created_at": now, "updated_at": now}
        if not await self._db.insert_first(bulk_batches, values, ["file_id"]):
            return None
        found = await self.batch_for_file(file_id)
        assert found is not None
        return found.id

    async def batch_for_file(self, file_id: str) -> BulkBatchRecord | None:
        return await self._batch(bulk_batches.c.file_id == file_id)

    async def batch_for_approval(self, approval_id: int) -> BulkBatchRecord | None:
        return await self._batch(bulk_batches.c.approval_id == approval_id)

    async def _batch(self, where: sa.ColumnElement[bool]) -> BulkBatchRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(bulk_batches).where(where))).mappings().first()
        return BulkBatchRecord.from_row(row) if row else None

    async def attach_approval(self, batch_id: int, approval_id: int, *, now: dt.datetime | None = None) -> None:
        async with self._db.write() as conn:
            await conn.execute(sa.update(bulk_batches).where(bulk_batches.c.id == batch_id)
                               .values(approval_id=approval_id, updated_at=now_or(now)))

    async def add_rows(self, batch_id: int, rows: Sequence[tuple[int, int]]) -> None:
        """(row number, document id) pairs."""
        if not rows:
            return
        async with self._db.write() as conn:
            await conn.execute(sa.insert(bulk_rows), [
                {"batch_id": batch_id, "row_number": number, "document_id": doc} for number, doc in rows])

    async def rows(self, batch_id: int) -> list[BulkRowRecord]:
        """Every row with its document's ref and lifecycle, in file order."""
        query = (sa.select(bulk_rows.c.row_number, bulk_rows.c.document_id, documents.c.ref, documents.c.lifecycle,
                           bulk_rows.c.submit_id, bulk_rows.c.result_code, bulk_rows.c.result_message)
                 .join(documents, documents.c.id == bulk_rows.c.document_id)
                 .where(bulk_rows.c.batch_id == batch_id).order_by(bulk_rows.c.row_number))
        async with self._db.read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [BulkRowRecord(row_number=r["row_number"], document_id=r["document_id"], ref=r["ref"],
                              lifecycle=Lifecycle(r["lifecycle"]), submit_id=r["submit_id"],
                              result_code=r["result_code"], result_message=r["result_message"]) for r in found]

    async def set_progress_message(self, batch_id: int, channel: str, ts: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(sa.update(bulk_batches).where(bulk_batches.c.id == batch_id)
                               .values(progress_channel=channel, progress_ts=ts))

    async def record_submission(self, *, submit_id: str, batch_id: int, family: str, document_ids: Sequence[int],
                                now: dt.datetime | None = None) -> None:
        """Record a bulkSubmit before it is sent, and which rows it carries (one transaction)."""
        now = now_or(now)
        async with self._db.write() as conn:
            await conn.execute(sa.insert(bulk_submissions).values(
                submit_id=submit_id, batch_id=batch_id, family=family, state="sending", row_count=len(document_ids),
                created_at=now, updated_at=now))
            await conn.execute(sa.update(bulk_rows).where(bulk_rows.c.document_id.in_(list(document_ids)))
                               .values(submit_id=submit_id))

    async def submissions(self, batch_id: int) -> list[BulkSubmissionRecord]:
        query = sa.select(bulk_submissions).where(bulk_submissions.c.batch_id == batch_id).order_by(
            bulk_submissions.c.created_at, bulk_submissions.c.submit_id)
        async with self._db.read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [BulkSubmissionRecord(submit_id=r["submit_id"], batch_id=r["batch_id"], family=r["family"],
                                     state=r["state"], receipt_id=r["receipt_id"], row_count=r["row_count"])
                for r in found]

    async def set_submission(self, submit_id: str, state: SubmissionState, *, receipt_id: str | None = None,
                             now: dt.datetime | None = None) -> None:
        values: dict[str, Any] = {"state": state, "updated_at": now_or(now)}
        if receipt_id:
            values["receipt_id"] = receipt_id
        async with self._db.write() as conn:
            await conn.execute(sa.update(bulk_submissions).where(bulk_submissions.c.submit_id == submit_id)
                               .values(**values))

    async def set_result(self, document_id: int, code: str | None, message: str | None) -> None:
        """What the provider answered for a row (its document's lifecycle says the rest)."""
        async with self._db.write() as conn:
            await conn.execute(sa.update(bulk_rows).where(bulk_rows.c.document_id == document_id)
                               .values(result_code=code[:64] if code else None, result_message=message))

    async def set_results(self, results: Sequence[tuple[int, str | None, str | None]]) -> None:
        """`set_result` for many rows at once, (document id, code, message) each: one statement
        executed for all of them, in the caller's transaction when there is one (a bulk
        submission's rows are answered together)."""
        if not results:
            return
        stmt = (sa.update(bulk_rows).where(bulk_rows.c.document_id == sa.bindparam("row_document_id"))
                .values(result_code=sa.bindparam("row_code"), result_message=sa.bindparam("row_message")))
        async with self._db.write() as conn:
            await conn.execute(stmt, [{"row_document_id": doc, "row_code": code[:64] if code else None,
                                       "row_message": message} for doc, code, message in results])

    async def row_documents(self, document_ids: Sequence[int]) -> dict[int, DocumentRecord]:
        """The documents of many rows in one read (by id), instead of one read per row."""
        if not document_ids:
            return {}
        query = sa.select(documents).where(documents.c.id.in_(list(document_ids)))
        async with self._db.read() as conn:
            found = (await conn.execute(query)).mappings().all()
        return {int(r["id"]): DocumentRecord.from_row(r) for r in found}

    async def document_ids(self, approval_id: int) -> list[int]:
        """The documents of the batch an approval request decides."""
        query = (sa.select(bulk_rows.c.document_id).join(bulk_batches, bulk_batches.c.id == bulk_rows.c.batch_id)
                 .where(bulk_batches.c.approval_id == approval_id).order_by(bulk_rows.c.row_number))
        async with self._db.read() as conn:
            return [int(r[0]) for r in (await conn.execute(query)).all()]

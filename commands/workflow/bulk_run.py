"""Executing an approved batch: every row issued exactly once, across crashes and retries.

Each row is a document with its own ref, so its own idempotency key (``issue:<ref>``) and its own
provider key (Popbill's MgtKey). Two ways to issue them:

* a provider with a bulk API (`providers.base.BulkIssuer`, Popbill): submissions of up to
  ``bulk_size`` documents; each is recorded (``bulk_submissions``, state ``sending``) *before* it
  is sent, and every submission that may have been sent is read back with getBulkResult before
  anything is sent again. A submission the provider never received (``bulk_result`` is None)
  frees its rows to go again under a new submit id; one it did receive is never sent again.
* any other provider: one document at a time, at most `ROW_CONCURRENCY` at once, each through the
  same send-and-reconcile loop as a single issue (`commands.workflow.execution`), under its own key.

In bulk, the rows of one step are written together: their documents read in one statement, and
each step's writes for all the rows of a submission (made issuing; claimed, with the submission
recorded, before it is sent; their outcomes, audits and results, with the submission done) in one
transaction (`_Batch.together`) instead of one transaction per row per write. Never across a
provider call: each transaction commits before the next call goes out.

Progress goes to `WorkflowContext.progress` (the Slack side keeps one message up to date); the
batch's approval ends succeeded (every row issued, or some refused by the provider: code
``partial``), failed (none issued), or unknown and retryable (some rows could not be confirmed).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from commands.i18n import _
from commands.ledger import ApprovalRecord, ApprovalState, AuditOperation, Lifecycle, Store
from commands.ledger.bulk import BulkBatchRecord, BulkRowRecord
from commands.workflow.actions import Action, IssueAction
from commands.workflow.context import WorkflowContext
from commands.workflow.progress import BulkProgress
from commands.workflow.run import Mode, Run, request_digest
from commands.workflow.views import ApprovalView, ExecutionResult
from providers.base import BulkIssuer, BulkResult
from providers.errors import ProviderError, ProviderRejected, RequestInvalid
from providers.models import DocumentRef, DocumentState, DocumentStatus, Provider

__all__ = ["ROW_CONCURRENCY", "drive_bulk"]

log = logging.getLogger("invoicebot.service")

#: documents issued at once for a provider without a bulk API
ROW_CONCURRENCY = 4
#: getBulkResult reads while a submission is still being processed, and the pause between them
_POLLS = 30
_POLL_SECONDS = 1.0
#: rows still open after a round are sent again at most this many times in one execution
_ROUNDS = 2
_OPEN = frozenset({Lifecycle.PENDING_APPROVAL, Lifecycle.ISSUING, Lifecycle.OUTCOME_UNKNOWN})

SendAndReconcile = Callable[[Action], Awaitable[ExecutionResult]]


class _RowRun(Run):
    """One row's run inside the batch's execution: its own key; finishing it does not touch the approval."""

    def __init__(self, ctx: WorkflowContext, approval: ApprovalRecord, doc: Any, mode: Mode,
                 view: ApprovalView) -> None:
        super().__init__(ctx, approval, doc, mode)
        self.view = view

    @property
    def key(self) -> str:
        return f"issue:{self.doc.ref}"

    def write_to(self, store: Store) -> None:
        """Where this row's writes go: a transaction shared with the other rows of a step, or back to
        the service's store (`_Batch.together`)."""
        self.store = store

    async def finish(self, to: ApprovalState, *, code: str, message: str, hint: str | None = None,
                     retryable: bool = False, status: DocumentStatus | None = None) -> ExecutionResult:
        ok = to is ApprovalState.SUCCEEDED
        return ExecutionResult(approval=self.view, executed=True, ok=ok, status=status,
                               error_code=None if ok else code, message=message, user_hint=hint)


class _Batch:
    """The execution of one batch: its rows, its submissions, and how far it got."""

    def __init__(self, run: Run, batch: BulkBatchRecord, send: SendAndReconcile) -> None:
        self.run = run
        self.ctx = run.ctx
        self.store = run.ctx.store
        self.batch = batch
        self.send = send
        self.provider = run.ctx.provider(Provider(batch.provider))
        self.unconfirmed: str | None = None  # why some rows could not be confirmed
        self._view: ApprovalView | None = None

    async def rows(self) -> list[BulkRowRecord]:
        return await self.store.bulk.rows(self.batch.id)

    async def publish(self, *, finished: bool = False, note: str | None = None) -> None:
        rows = await self.rows()
        issued = sum(1 for r in rows if r.lifecycle is Lifecycle.ISSUED)
        failed = sum(1 for r in rows if r.lifecycle is Lifecycle.FAILED)
        await self.ctx.progress.publish(BulkProgress(self.run.approval.id, self.batch.id, len(rows), issued, failed,
                                                     finished=finished, note=note))

    async def row_action(self, row: BulkRowRecord, mode: Mode) -> IssueAction:
        if self._view is None:
            self._view = await self.ctx.approval_view(self.run.approval)
        doc = await self.ctx.document(row.document_id)
        return IssueAction(_RowRun(self.ctx, self.run.approval, doc, mode, self._view))

    async def row_actions(self, rows: Sequence[BulkRowRecord], mode: Mode) -> list[IssueAction]:
        """`row_action` for many rows, their documents read in one statement."""
        if self._view is None:
            self._view = await self.ctx.approval_view(self.run.approval)
        docs = await self.store.bulk.row_documents([r.document_id for r in rows])
        missing = [r.row_number for r in rows if r.document_id not in docs]
        if missing:
            raise RuntimeError(f"batch {self.batch.id}: the documents of rows {missing} do not exist")
        return [IssueAction(_RowRun(self.ctx, self.run.approval, docs[r.document_id], mode, self._view))
                for r in rows]

    @asynccontextmanager
    async def together(self, actions: Sequence[IssueAction]) -> AsyncIterator[Store]:
        """One write transaction for one step of many rows: every row's writes (and the caller's,
        through the store yielded) commit together or not at all. Nothing in it may call a provider
        or write through the service's store (on SQLite that would wait on this transaction's lock)."""
        runs = [a.run for a in actions if isinstance(a.run, _RowRun)]
        async with self.store.transaction() as tx:
            for run in runs:
                run.write_to(tx)
            try:
                yield tx
            finally:
                for run in runs:
                    run.write_to(self.store)

    # -- one by one ---------------------------------------------------------------------------
    async def one_by_one(self) -> None:
        slots = asyncio.Semaphore(ROW_CONCURRENCY)

        async def one(row: BulkRowRecord) -> None:
            async with slots:
                fresh = row.lifecycle is Lifecycle.PENDING_APPROVAL and self.run.mode == "first"
                result = await self.send(await self.row_action(row, "first" if fresh else "retry"))
                await self.store.bulk.set_result(row.document_id, "issued" if result.ok else result.error_code,
                                                 result.message)
            if row.row_number % 10 == 0:
                await self.publish()

        await asyncio.gather(*(one(r) for r in await self.rows() if r.lifecycle in _OPEN))

    # -- in bulk ------------------------------------------------------------------------------
    async def in_bulk(self, issuer: BulkIssuer) -> None:
        for _round in range(_ROUNDS):
            if not await self.reconcile(issuer):
                return
            todo = [r for r in await self.rows() if r.lifecycle in _OPEN]
            if not todo:
                return
            actions = await self.row_actions(todo, "retry")
            async with self.together(actions):
                for action in actions:
                    await action.prepare()  # the row is issuing, its request built as a single issue would be
            families: dict[str, list[IssueAction]] = {}
            for action in actions:
                families.setdefault(issuer.bulk_family(action.request), []).append(action)
            for family, members in families.items():
                for start in range(0, len(members), issuer.bulk_size):
                    if not await self.submit(issuer, family, members[start:start + issuer.bulk_size]):
                        return

    async def reconcile(self, issuer: BulkIssuer) -> bool:
        """Read back every submission that may have been sent; False when one could not be read."""
        for submission in await self.store.bulk.submissions(self.batch.id):
            if (submission.state in ("sending", "received")
                    and not await self.collect(issuer, submission.family, submission.submit_id)):
                return False
        return True

    async def submit(self, issuer: BulkIssuer, family: str, actions: Sequence[IssueAction]) -> bool:
        """Record, then send, one submission; then read its results. False: the outcome is not known."""
        submit_id = f"B{self.batch.id}-{secrets.token_hex(8)}"
        claims = [(a.run.key, request_digest(a.request.model_dump(mode="json"))) for a in actions]
        async with self.store.transaction() as tx:  # every row claimed and the submission recorded, then sent
            await tx.idempotency.claim_many(claims, AuditOperation.ISSUE.value, now=self.run.now())
            await tx.bulk.record_submission(submit_id=submit_id, batch_id=self.batch.id, family=family,
                                            document_ids=[a.doc.id for a in actions], now=self.run.now())
        try:
            receipt = await issuer.bulk_submit(family, submit_id, [a.request for a in actions])
        except (RequestInvalid, ProviderRejected) as exc:  # refused as a whole: nothing was issued
            await self.run.audit(AuditOperation.BULK_SUBMIT, exc.outcome_code, {"submit_id": submit_id,
                                                                                 "error": str(exc)})
            async with self.together(actions) as tx:
                for action in actions:
                    await action.run.fail_key(exc.outcome_code)
                    await action.failed(exc, retryable=False)
                await tx.bulk.set_results([(a.doc.id, exc.code or exc.outcome_code, exc.message) for a in actions])
                await tx.bulk.set_submission(submit_id, "done", now=self.run.now())
            await self.publish()
            return True
        except ProviderError as exc:  # maybe received: ask before anything else
            await self.run.audit(AuditOperation.BULK_SUBMIT, exc.outcome_code, {"submit_id": submit_id,
                                                                                 "error": str(exc)})
            return await self.collect(issuer, family, submit_id, actions)
        await self.run.audit(AuditOperation.BULK_SUBMIT, "ok", {"submit_id": submit_id, "receipt": receipt,
                                                                "rows": len(actions)})
        await self.store.bulk.set_submission(submit_id, "received", receipt_id=receipt, now=self.run.now())
        return await self.collect(issuer, family, submit_id, actions)

    async def collect(self, issuer: BulkIssuer, family: str, submit_id: str,
                      prepared: Sequence[IssueAction] = ()) -> bool:
        """getBulkResult until the submission is processed, then record each row's outcome (`prepared`:
        the submission's rows as this execution just prepared them; else they are read and prepared)."""
        for _poll in range(_POLLS):
            try:
                result = await issuer.bulk_result(family, submit_id)
            except ProviderError as exc:
                await self.run.audit(AuditOperation.BULK_RESULT, exc.outcome_code, {"submit_id": submit_id})
                self.unconfirmed = exc.message
                return False
            if result is None:  # never received: its rows are free to go again under a new submit id
                await self.run.audit(AuditOperation.BULK_RESULT, "absent", {"submit_id": submit_id})
                await self.store.bulk.set_submission(submit_id, "absent", now=self.run.now())
                return True
            if result.done:
                await self.run.audit(AuditOperation.BULK_RESULT, "done", {"submit_id": submit_id,
                                                                          "results": len(result.outcomes)})
                await self.apply(result, submit_id, prepared)
                await self.publish()
                return True
            await asyncio.sleep(_POLL_SECONDS)
        self.unconfirmed = _("{provider} is still processing submission {id}").format(
            provider=self.batch.provider, id=submit_id)
        return False

    async def apply(self, result: BulkResult, submit_id: str, prepared: Sequence[IssueAction] = ()) -> None:
        """Each row's outcome: issued (its status read back in one batch call) or refused; recorded
        with the submission done in one transaction (after a crash before it commits, the
        submission is still `received` and read back again)."""
        rows = {r.ref: r for r in await self.rows() if r.lifecycle is not Lifecycle.ISSUED}
        issued = [o for o in result.outcomes if o.ok and o.key in rows]
        statuses: dict[str, DocumentStatus] = {}
        keys = list(dict.fromkeys(o.key for o in result.outcomes if o.key in rows))
        ready = {a.doc.ref: a for a in prepared}
        todo = [k for k in keys if k not in ready]
        fresh = dict(zip(todo, await self.row_actions([rows[k] for k in todo], "retry"), strict=True)) if todo else {}
        if fresh:  # after a crash or a lost answer: rows read again and made issuing as `in_bulk` does
            async with self.together(list(fresh.values())):
                for action in fresh.values():
                    await action.prepare()
        actions = {k: ready.get(k) or fresh[k] for k in keys}
        try:
            refs = [_ref(actions[o.key], o.key) for o in issued]
            statuses = await self.provider.statuses(refs) if refs else {}
        except ProviderError as exc:
            log.warning("batch %s: statuses after bulk issue could not be read (%s)", self.batch.id, exc)
        async with self.together(list(actions.values())) as tx:
            answers = await self.record_outcomes(result, actions, statuses)
            await tx.bulk.set_results(answers)
            await tx.bulk.set_submission(submit_id, "done", now=self.run.now())

    async def record_outcomes(self, result: BulkResult, actions: dict[str, IssueAction],
                              statuses: dict[str, DocumentStatus]) -> list[tuple[int, str | None, str | None]]:
        """Each row's outcome recorded as a single issue's would be; the (document id, code, message)
        of each for its row's result."""
        answers: list[tuple[int, str | None, str | None]] = []
        for outcome in result.outcomes:
            if outcome.key not in actions:
                continue
            action = actions[outcome.key]
            if outcome.ok:
                status = statuses.get(outcome.key) or DocumentStatus(
                    ref=_ref(action, outcome.key), state=DocumentState.ISSUED, raw_state="300",
                    amounts=action.request.amounts(), buyer_name=action.request.buyer.name,
                    buyer_bizno=action.request.buyer.bizno, confirm_number=outcome.confirm_number,
                    detail="issued in bulk")
                await action.succeeded(status, how="issued in bulk")
                answers.append((action.doc.id, "issued", outcome.confirm_number))
            else:
                refusal = ProviderRejected(outcome.message or outcome.code, provider=self.batch.provider,
                                           code=outcome.code)
                await action.run.fail_key(outcome.code)
                await action.failed(refusal, retryable=False)
                answers.append((action.doc.id, outcome.code, outcome.message))
        return answers

    # -- the end ------------------------------------------------------------------------------
    async def finish(self) -> ExecutionResult:
        rows = await self.rows()
        issued = sum(1 for r in rows if r.lifecycle is Lifecycle.ISSUED)
        failed = sum(1 for r in rows if r.lifecycle is Lifecycle.FAILED)
        still = len(rows) - issued - failed
        counts = {"issued": issued, "n": len(rows), "failed": failed, "open": still}
        if still:
            message = _("{issued} of {n} issued, {failed} refused, {open} not confirmed yet").format(**counts)
            await self.publish(finished=True, note=self.unconfirmed)
            return await self.run.finish(
                ApprovalState.UNKNOWN, code="unknown", message=f"{message} ({self.unconfirmed or 'no answer'})",
                hint=_("Retrying reads the provider's results first, so no row is issued twice."), retryable=True)
        await self.publish(finished=True)
        if failed == 0:
            return await self.run.finish(ApprovalState.SUCCEEDED, code="issued",
                                         message=_("all {n} documents issued").format(**counts))
        message = _("{issued} of {n} issued, {failed} refused by the provider (see the results file)").format(**counts)
        if issued == 0:
            return await self.run.finish(ApprovalState.FAILED, code="refused", message=message,
                                         hint=_("Fix the refused rows and upload them as a new file."))
        return await self.run.finish(ApprovalState.SUCCEEDED, code="partial", message=message,
                                     hint=_("Fix the refused rows and upload them as a new file."))


def _ref(action: IssueAction, key: str) -> DocumentRef:
    return DocumentRef(provider=action.doc.provider, kind=action.doc.kind, provider_id=key)


async def drive_bulk(run: Run, send: SendAndReconcile) -> ExecutionResult:
    """Carry an executing batch approval to its end (`send`: the single-document loop)."""
    batch = await run.store.bulk.batch_for_approval(run.approval.id)
    if batch is None:
        raise RuntimeError(f"approval {run.approval.id} has no batch")
    work = _Batch(run, batch, send)
    await work.publish()
    if isinstance(work.provider, BulkIssuer):
        await work.in_bulk(work.provider)
    else:
        await work.one_by_one()
    return await work.finish()

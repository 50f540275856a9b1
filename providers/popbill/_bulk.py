"""Popbill bulk issuance behind `providers.base.BulkIssuer`: bulkSubmit (100 per call) and getBulkResult.

Tax invoices (과세/영세/면세) go to the Taxinvoice endpoint and cash receipts to the Cashbill one,
so a submission holds documents of one family. The submit id is ours: Popbill answers a repeated
id with its first receipt instead of issuing again, and answers getBulkResult for an id it never
received with an error (the sandbox: -11000023 / -14000023), read here as "no such submission".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from providers.base import BulkOutcome, BulkResult
from providers.errors import ProviderProtocolError, ProviderRejected, RequestInvalid
from providers.models import DocumentKind, IssueRequest, Provider
from providers.popbill._auth import PROVIDER
from providers.popbill.taxinvoice import MAX_BULK_INVOICES

if TYPE_CHECKING:
    from providers.popbill.cashbill import CashbillClient
    from providers.popbill.taxinvoice import TaxinvoiceClient

__all__ = ["NO_SUBMISSION_CODES", "PopbillBulk"]

#: getBulkResult's "no submission with this SubmitID" (Taxinvoice, Cashbill)
NO_SUBMISSION_CODES = frozenset({"-11000023", "-14000023"})
#: getBulkResult's txState once every document was processed
_TX_DONE = 2


class PopbillBulk:
    """The bulk half of `PopbillService` (a mixin: it uses the service's clients and bodies)."""

    bulk_size = MAX_BULK_INVOICES
    taxinvoice: TaxinvoiceClient
    cashbill: CashbillClient

    #: the service's body builders (declared here, defined by `PopbillService`'s document bodies)
    taxinvoice_body: Callable[[IssueRequest], dict[str, Any]]
    cashbill_body: Callable[[IssueRequest], dict[str, Any]]

    def bulk_family(self, request: IssueRequest) -> str:
        return "cashbill" if request.kind is DocumentKind.CASH_RECEIPT else "taxinvoice"

    async def bulk_submit(self, family: str, submit_id: str, requests: Sequence[IssueRequest]) -> str:
        """One bulkSubmit of documents of `family`; the receipt id Popbill answers."""
        for request in requests:
            if request.provider is not Provider.POPBILL or self.bulk_family(request) != family:
                raise RequestInvalid(f"{request.key} does not belong in a {family} bulk submission",
                                     provider=PROVIDER, code="bulk_family")
        if family == "cashbill":
            answer = await self.cashbill.bulk_submit(submit_id, [self.cashbill_body(r) for r in requests])
        else:
            answer = await self.taxinvoice.bulk_submit(submit_id, [self.taxinvoice_body(r) for r in requests])
        receipt = answer.get("receiptID")
        if not receipt:
            raise ProviderProtocolError("bulkSubmit: the answer has no receiptID", provider=PROVIDER, code="shape")
        return str(receipt)

    async def bulk_result(self, family: str, submit_id: str) -> BulkResult | None:
        """getBulkResult, read: None when Popbill has no such submission."""
        try:
            if family == "cashbill":
                data = await self.cashbill.get_bulk_result(submit_id)
            else:
                data = await self.taxinvoice.get_bulk_result(submit_id)
        except ProviderRejected as exc:
            if exc.code in NO_SUBMISSION_CODES:
                return None
            raise
        key_field = "mgtKey" if family == "cashbill" else "invoicerMgtKey"
        confirm_field = "confirmNum" if family == "cashbill" else "ntsconfirmNum"
        outcomes = []
        for entry in data.get("issueResult") or []:
            if not isinstance(entry, dict) or not entry.get(key_field):
                continue
            code = str(entry.get("code"))
            outcomes.append(BulkOutcome(key=str(entry[key_field]), ok=code == "1", code=code,
                                        message=str(entry.get("message") or ""),
                                        confirm_number=entry.get(confirm_field) or None))
        done = data.get("txState") == _TX_DONE
        return BulkResult(submit_id=submit_id, done=done, receipt_id=data.get("receiptID"),
                          outcomes=tuple(outcomes) if done else ())

"""수정(세금)계산서 through ``POST /v4/invoices/amendment``: the documents one reason produces, in one call.

Seed 004: the amendment carries the original's 당초 승인번호 (`originalIssueId`, the NTS
approval number) and the reason (`modifyType` 01..06); each document is a negative (부) or a
positive (정) one, typed ``M`` (수정 세금계산서) or ``N`` (수정 계산서). Reasons 01 and 05 need
both in the same call; 02 is a negative or a positive one; 03, 04 and 06 a negative one.
Hiworks answers the ids as ``[[negative, positive]]``, in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

from providers.config import SellerConfig
from providers.errors import RequestInvalid
from providers.hiworks._answers import _created_at
from providers.hiworks._errors import PROVIDER
from providers.hiworks._invoice import build_invoice
from providers.hiworks.client import HiworksClient
from providers.hiworks.models import AmendmentInfo, AmendmentRequest, Invoice
from providers.models import Amounts, DocumentKind, DocumentRef, DocumentState, DocumentStatus, IssueRequest, Provider

__all__ = ["amendment_body", "issue_amendment"]

ModifyType = Literal["01", "02", "03", "04", "05", "06"]


def _part(request: IssueRequest, seller: SellerConfig) -> Invoice:
    invoice = build_invoice(request, seller=seller, easy_sign=False)
    type_code = "N" if request.kind is DocumentKind.EXEMPT_INVOICE else "M"
    return invoice.model_copy(update={
        "easy_sign": None,
        "invoice_type": invoice.invoice_type.model_copy(update={"type_code": type_code}),
    })


def amendment_body(requests: Sequence[IssueRequest], seller: SellerConfig, *, easy_sign: bool = True
                   ) -> tuple[AmendmentRequest, list[int]]:
    """The amendment body for `requests` (all with the same reason and original), and which
    request each answered id belongs to (negative first)."""
    if not requests or len(requests) > 2:
        raise RequestInvalid("a hiworks amendment is one or two documents", provider=PROVIDER, code="amendment")
    first = requests[0]
    if first.modify_code is None or not first.original_confirm_number:
        raise RequestInvalid("an amendment needs the reason (1-6) and the original's NTS approval number",
                             provider=PROVIDER, code="amendment")
    negative = [i for i, r in enumerate(requests) if r.amounts().total < 0]
    positive = [i for i, r in enumerate(requests) if r.amounts().total >= 0]
    if len(negative) > 1 or len(positive) > 1:
        raise RequestInvalid("a hiworks amendment has at most one negative and one positive document",
                             provider=PROVIDER, code="amendment")
    order = negative + positive
    body = AmendmentRequest(
        easy_sign="Y" if easy_sign else None,
        amendment=AmendmentInfo(original_issue_id=first.original_confirm_number,
                                modify_type=cast(ModifyType, f"{first.modify_code:02d}")),
        negative=_part(requests[negative[0]], seller) if negative else None,
        positive=_part(requests[positive[0]], seller) if positive else None,
    )
    return body, order


async def issue_amendment(client: HiworksClient, seller: SellerConfig, requests: Sequence[IssueRequest], *,
                          easy_sign: bool = True) -> list[DocumentStatus]:
    """Create the amendment's documents in one call; their statuses in the order of `requests`."""
    body, order = amendment_body(requests, seller, easy_sign=easy_sign)
    result = await client.create_amendment(body)
    if len(result.document_ids) != len(order):
        raise RequestInvalid(f"hiworks answered {len(result.document_ids)} ids for {len(order)} documents",
                             provider=PROVIDER, code="amendment")
    statuses: dict[int, DocumentStatus] = {}
    detail = "; ".join(result.easy_sign_messages) or "created"
    for document_id, index in zip(result.document_ids, order, strict=True):
        request = requests[index]
        amounts = request.amounts()
        statuses[index] = DocumentStatus(
            ref=DocumentRef(provider=Provider.HIWORKS, kind=request.kind, provider_id=document_id),
            state=DocumentState.ISSUED, raw_state="created",
            amounts=Amounts(supply=amounts.supply, vat=amounts.vat, total=amounts.total),
            buyer_name=request.buyer.name, buyer_bizno=request.buyer.bizno,
            issued_at=_created_at(document_id), detail=detail, raw=result.raw,
        )
    return [statuses[i] for i in range(len(requests))]

"""What the Hiworks service can do, and the refusals it explains with."""

from __future__ import annotations

from providers.base import BuyerField, Capabilities
from providers.models import (
    DocumentKind,
    DocumentState,
    Provider,
)

__all__ = [
    "CAPABILITIES",
]


_RESEND_NOTE = "cannot resend documents by e-mail or SMS through its API; resend from the Hiworks console"


_DECLARED = "already reported to the National Tax Service; issue an amendment instead"


_KINDS = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE,
                    DocumentKind.STATEMENT})

#: what the bill-api v4 Invoicee marks required (*): companyNumber, companyName, ceoName, and a
#: primaryContact with name* (our contact or company name) and email* (seed 004, "Invoicee", "Contact")
_REQUIRED_BUYER = frozenset({BuyerField.BIZNO, BuyerField.NAME, BuyerField.CEO_NAME, BuyerField.EMAIL})


CAPABILITIES = Capabilities(
    provider=Provider.HIWORKS,
    kinds=_KINDS,
    resend_channels=frozenset(),
    destroy=True,
    closure_check=True,
    batch_status=False,
    batch_size=1,
    links=False,
    currencies=frozenset({"KRW"}),
    required_buyer={kind: _REQUIRED_BUYER for kind in _KINDS},
    quantity_decimals=2,  # Items.quantity: "소수점 2자리까지"
    max_items=100,
    destroy_blocked={kind: frozenset({DocumentState.FILING, DocumentState.FILED}) for kind in _KINDS},
    notes={
        "resend": _RESEND_NOTE,
        "find": "has no search call: a document can only be found by the documentId Hiworks assigned",
        "destroy": "deletes a document only before it is reported to the National Tax Service; "
        "after that, issue an amendment",
    },
)

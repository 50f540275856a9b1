"""What the Hiworks service can do, and the refusals it explains with."""

from __future__ import annotations

from providers.base import Capabilities
from providers.models import (
    DocumentKind,
    Provider,
)

__all__ = [
    "CAPABILITIES",
]


_RESEND_NOTE = "cannot resend documents by e-mail or SMS through its API; resend from the Hiworks console"


_DECLARED = "already reported to the National Tax Service; issue an amendment instead"


CAPABILITIES = Capabilities(
    provider=Provider.HIWORKS,
    kinds=frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE,
                     DocumentKind.STATEMENT}),
    resend_channels=frozenset(),
    destroy=True,
    closure_check=True,
    batch_status=False,
    batch_size=1,
    links=False,
    currencies=frozenset({"KRW"}),
    notes={
        "resend": _RESEND_NOTE,
        "find": "has no search call: a document can only be found by the documentId Hiworks assigned",
        "destroy": "deletes a document only before it is reported to the National Tax Service; "
        "after that, issue an amendment",
    },
)

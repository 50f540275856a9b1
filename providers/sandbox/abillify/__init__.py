"""Abillify sandbox: identities, invoices, credit notes and idempotency as documented.

What it implements (docs.abillify.dev; facts in reference/providers.md §2):

* HTTP Basic auth; wrong or missing credentials answer 401 in the error schema.
* The error schema `{code, details?[{error, fields, hint}], message, name, type}` for every
  refusal: 400 `ERR_INVALID_VALUE` (wrong types, missing items), 404 `ERR_NOT_FOUND`,
  409 `ERR_UNIQUE_VIOLATION` (an invoice number or reference used twice), 429, 500, 503.
* `Idempotency-Key` on every POST, exactly as documented: the first answer after input
  validation is stored (2xx, 4xx and 5xx alike) for 24 hours of `self.clock` and replayed
  for the same key, as seed 003 says ("the server will return the same response as for
  the first request"), also when the repeated request has another body or route.
  Where the document is silent, chosen here: a request failing input validation is
  answered 400 and not stored (so a corrected retry under the same key is processed);
  a key is scoped per API user and per nothing else; the 24 hours run from the first
  request; the replay carries the header `Idempotent-Replayed: true` (not documented,
  a debugging aid); a key of more than 255 characters is refused with 400.
* The invoice life cycle: created (draft, editable with PUT) -> commitInvoice (locks it,
  irreversible; the job finishes asynchronously and POSTs `{"result":"OK","resultcode":"0",
  "job","notification"}` to `notifyUrl`) -> paid -> credited. A credit note that references
  an invoice (`detail.invoiceReference`) for its full amount cancels it (`state` "canceled",
  `cancelationdate` set); crediting a paid invoice leaves a negative `unpaid` (a refund owed).
* Invoice `state` uses the documented voucher states `none | paid | canceled`; `committed`
  holds the lock time (null while a draft). The full invoice state enum is not public.

Sandbox-only admin routes (no auth):

    POST /_sandbox/invoices/{ref}/pay        {"amount"?: major units} mark paid, fire the workflow webhook
    POST /_sandbox/webhook                   {"url": ...} where workflow webhooks go (null to stop)
    POST /_sandbox/processing-faults         {"path": regex, "status": 500, "count": 1}: fail *inside*
                                             the handler after validation, so the failure is stored
                                             under the Idempotency-Key and replayed like a real one

The provider's routes are served both at the root and under `/api` (the hosted base URL ends in /api).
"""

from providers.sandbox.abillify._store import DEFAULT_TAX_RATE, IDEMPOTENCY_TTL, _iso
from providers.sandbox.abillify.server import AbillifySandbox

__all__ = ["DEFAULT_TAX_RATE", "IDEMPOTENCY_TTL", "AbillifySandbox", "_iso"]

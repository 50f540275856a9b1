"""Payssam (결제선생) API V2 sandbox: bills, their payment state machine and the payment callback.

Routes (each served both under ``/partner`` and at the root, so a base URL with or
without ``/partner`` works; the real V2 base ends in ``/partner``)::

    POST /bill            create + send a bill (sendType TALK or URL)        -> billId, shortUrl
    POST /bill/resend     resend the KakaoTalk message (unpaid bills only)
    POST /bill/read       one bill's state and approval fields
    POST /bill/destroy    void an unpaid bill                       W -> D
    POST /bill/cancel     cancel a paid bill, full amount only      F -> C

Sandbox-only routes::

    POST /_sandbox/bill/pay        {"billId", "payType"}: the customer pays, W -> F, and the payment
                                   callback is POSTed to the bill's callbackUrl (retried until the
                                   answer has code "0000", like Paymint's hourly retries for 24 h)
    GET  /_sandbox/pay/{billId}    the pay page the shortUrl points at (POST pays by card)
    POST /_sandbox/callback-sink   a callback receiver that answers like a good partner

Wire behaviour, as measured or documented (``/work/shared/reference/providers.md`` §1):
credentials in the body (``apiKey``, ``member``, ``merchant``), business errors with HTTP
200 and a code other than "0000", answers with ``message`` (the V2 schema of seed 002, and
what Paymint's sandbox sends; the V1 pages say ``msg``, so clients read both). Malformed
JSON gets HTTP 400 with a Spring-style body and no code.

Choices where the V2 docs are silent (the V2 code table is unpublished):

* ``BILL_001`` for a billId used before (V1 says 9800);
* ``VALIDATION_001`` for a missing or malformed field, naming the field;
* ``BILL_006`` for every operation the bill's state forbids;
* injected faults answer ``ERROR`` (500), ``MAINTAINED_METHOD`` (503, the maintenance code
  seen in client code) and ``TOO_MANY_REQUESTS`` (429; Payssam publishes no rate limit);
* expiry: a bill is valid until the end of its ``expireDt`` (KST, default 7 days after
  sending). An expired unpaid bill keeps ``apprState`` W and the pay route refuses it;
  ``/bill/resend`` refuses it with ``BILL_006``.
* ``/bill/read`` is not in the V2 seed: it answers ``billId``, ``apprState`` and the ``appr*``
  approval fields public clients read (reference/providers.md §1.4), nothing about what the
  bill asked for (no price, expiry or link); the payment callback carries the same fields
  plus ``apiKey``.
* ``billId``: 1 to 20 characters of any kind, as seed 002 says (the V1 pages say letters and
  digits; the client sends only those anyway).
* every answer says ``message`` (the V2 schema), never ``msg`` (the V1 pages).
"""

from providers.sandbox.payssam._store import PAY_TYPES, _Bill
from providers.sandbox.payssam.server import PayssamSandbox

__all__ = ["PAY_TYPES", "PayssamSandbox", "_Bill"]

"""Hiworks bill-api v4 sandbox: the documented routes, auth, validation and a state machine.

Routes (as in the Hiworks Postman collection, "세금계산서 API")::

    POST   /v4/invoices                create (typeCode A/B/D, easySign Y/N)
    POST   /v4/invoices/amendment      수정(세금)계산서 (answers documentId as [[negative, positive]])
    GET    /v4/invoices/{documentId}   one document; 404 errors body when unknown or deleted
    DELETE /v4/invoices/{documentId}   302 or 304 on success; 409 errors body once declared
    POST   /v4/check/{bizno}           휴폐업 조회, both tokens (seed: 필수), 10 digits without hyphens
    POST   /v4/validate                사업자등록정보 진위 검증

Auth: ``Office-Authorization`` must be the office token (missing or wrong: 401), and every call,
the closure check included (seed 004 marks both headers 필수 there), also needs
``Bill-Access-Authorization`` (missing: 401, wrong: 403). The seed does not give the status of
an authentication failure; 401/403 in the documented errors body are this sandbox's choice. Raw
tokens, no ``Bearer``. Errors are ``{"errors": [{"status", "title", "message"}]}``; 503 is the
maintenance answer. Every answer carries ``x-ratelimit-limit: 1000`` and
``x-ratelimit-remaining`` counting down per office token per Korean day, on successful (2xx/3xx)
answers only, as the budget counts successful calls (refusing with 429 at zero only when
``enforce_rate_limit`` is set, so benchmarks are not throttled).

State machine, computed lazily from ``self.clock`` on every read (see :class:`HiworksTimings`)::

    approvalStatus  W (created) -> T (mail sent, mail_after) -> R (buyer opened it, read_after)
                    -> S (buyer approved, approve_after); B when the buyer refuses (admin route)
    declareStatus   0 -> 1 (sending to the NTS) -> 2 (waiting for the result) -> 4 SUC001
                    or 5 with an NTS code. The declaration starts `declare_after` seconds after
                    creation with easySign, after approval (S) without it; never for statements.
                    A buyer number failing the check digit ends in 5 / ERR002 (not registered).

Delete is allowed while declareStatus is 0, 3 or 5 and answers 302 and 304 in turn (or always
``delete_status`` when set); afterwards the document answers 404.

Closure check answers (the documented shape ``{"data": {idn, status, statusCode, taxType,
taxTypeCode, endDate, utcc, taxTypeChangeDate, invoiceApplyDate}, "meta": {}}``) are
deterministic: seeded numbers 6798700433 (계속사업자), 1231212312 (폐업자, closed 2023-12-31),
2208875476 (휴업자) and 1168200276 (면세사업자); any other number passing the check digit is an
active general taxpayer; a number failing it is not registered (empty status and codes).
``/v4/validate`` is genuine (01) when the number is registered and, for seeded businesses, the
start date and representative match; otherwise 02 "확인할 수 없습니다.".

Sandbox-only admin routes::

    POST /_sandbox/hiworks/documents/{id}/approval   {"approvalStatus": "B"}
    POST /_sandbox/hiworks/documents/{id}/declare    {"declareStatus": "5", "declareStatusCode": "ERR007"}
    PUT  /_sandbox/hiworks/businesses/{bizno}        closure-check answer fields (statusCode, endDate, ...)
    PUT  /_sandbox/hiworks/delete-status             {"status": 302 | 304 | 200 | null (alternate)}
"""

from providers.sandbox.hiworks._store import HiworksTimings
from providers.sandbox.hiworks.server import HiworksSandbox

__all__ = ["HiworksSandbox", "HiworksTimings"]

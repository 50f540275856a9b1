"""Popbill + LinkHub sandbox: one port serves the LinkHub auth paths and the Popbill API.

So any faithful client works against it, the official SDK included (point `linkhub.authURL`
and the API host at the same URL). What it implements:

* LinkHub ``POST /POPBILL/Token``, ``POST /POPBILL_TEST/Token`` with the HMAC-SHA256
  signature verified over the raw body, ``x-lh-date`` read in every form the official SDKs send
  (with or without milliseconds: the documents never name one), a stale one refused, tokens issued for a
  configurable TTL with a 24-character ``YYYY-MM-DDTHH:MM:SS.fffZ`` expiration; ``GET /Time``.
* Bearer tokens checked on every API call: unknown, expired, wrong scope for the path
  (110 Taxinvoice, 140 Cashbill, 170 CloseDown) or another member's documents are refused.
* Taxinvoice, Cashbill and CloseDown with the SDK's paths and overrides, request validation,
  and the state machine: issued 300 -> (NTS filing) 302 -> 303 -> 304 / 305, or
  cancelled 600 -> deleted (which frees the MgtKey). Cash receipts: 300 -> 304 / 305, or
  cancelled 400 -> deleted; a filed receipt is revoked by a cancellation receipt (취소거래).
  NTS progress is computed lazily from `self.clock` on every read, so 10,000 documents cost
  nothing until they are looked at. sendToNTS starts filing at once.
* Popup/view/print/PDF/mail URLs pointing at ``/App/API`` on this server (a small HTML
  page, or a tiny PDF), valid 30 seconds like Popbill's (the mail URL does not expire).

Error codes. Where Popbill's published table has the case, its code is used [docs];
otherwise a code in the same family was chosen for the sandbox [sandbox]:

    -11000005 [docs] taxinvoice MgtKey not found          -14000003 [docs] cashbill MgtKey not found
    -11000000 [docs] no invoice for this ItemKey           -14001019 [docs] cashbill MgtKey already in use
    -11000001 [docs] not possible in the current state     -14000010 [sandbox] not possible in this state
    -11001000 [docs] invoicer is not the token's member    -14001001/-14001002 [docs] franchiseCorpNum
    -11001001/3/4/5/12/13/14/15/16 [docs] missing fields   -14001004/08/10..15/17/18 [docs] missing fields
    -11001021 [docs] invalid buyer business number         -14001020/21/23 [docs] cancellation receipts
    -11001099 [sandbox] taxinvoice MgtKey already in use   -14001030 [sandbox] total != supply+tax+fee
    -11001090..98 [sandbox] other taxinvoice validation    -17000000..03 [docs] CloseDown input
    -11001101..07 [sandbox] seed 001's field rules (`_validate`: invoiceeType, remark1 for 외국인,
                  modifyCode 1..6, orgNTSConfirmNum, lengths, forms, addContactList)
    -10000033 [docs "token interpretation failed"] unknown/expired/wrong-scope token
    -10000034 [docs] no token;  -10000029 [docs] token used from another IP
    -99999994..97 [sandbox; -99999997 as in the reference capture] LinkHub refusals

Search lists website documents (no MgtKey) with their itemKey and applies every documented
filter (`_search`). Where the seeds are silent the sandbox chose; `docs/fidelity.md` lists each
choice and the test that holds it.

Admin routes (besides the base ``/_sandbox/*``)::

    POST /_sandbox/popbill/settings   {"token_ttl", "date_tolerance", "nts_file_after",
                                       "nts_result_after", "nts_fail_biznos", "nts_fail_code"}
    POST /_sandbox/popbill/closedown  {"<bizno>": {"state": "2", "stateDate": "20240101", ...}}
    POST /_sandbox/popbill/nts        {"kind": "taxinvoice"|"cashbill", "corpNum", "mgtKey",
                                       "fail": bool, "code": "SYN002", "now": bool}
    POST /_sandbox/popbill/tokens/expire   every issued token stops working
"""

from providers.sandbox.popbill._store import _demo_taxinvoice
from providers.sandbox.popbill.server import PopbillSandbox

__all__ = ["PopbillSandbox", "_demo_taxinvoice"]

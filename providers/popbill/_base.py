"""The request shape every Popbill API call shares, and Popbill's error mapping.

Wire facts (see the reference captures of the official SDK): GET and POST only, other
verbs tunnelled through ``X-HTTP-Method-Override`` (sent even with an empty value for
assignMgtKey); ``x-pb-version: 1.0``; ``Content-Type: application/json; charset=utf8`` on
every POST; ``x-pb-userid`` only on the calls that take a user; JSON bodies serialised
with Python's default ``json.dumps`` (ASCII, ``", "`` separators) and sent as bytes.

Where the SDK is unsafe this layer is not: keys are validated before any I/O so a key can
never change the URL, every call has real timeouts (`ProviderHttp`), a non-JSON error body
is a `ProviderProtocolError`, and a token the API rejects is dropped and re-issued once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from providers.errors import (
    DocumentNotFound,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RequestInvalid,
)
from providers.http import ProviderHttp
from providers.popbill._auth import PROVIDER, LinkhubAuth

__all__ = [
    "API_VERSION",
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "MAX_BATCH",
    "NOT_FOUND_CODES",
    "POPBILL_URL_REAL",
    "POPBILL_URL_TEST",
    "TOKEN_REJECTED_CODES",
    "PopbillClientBase",
    "chunks",
    "popbill_error",
    "query_string",
    "validate_corp_num",
    "validate_item_key",
    "validate_mgt_key",
    "validate_submit_id",
]

POPBILL_URL_REAL = "https://popbill.linkhub.co.kr"
POPBILL_URL_TEST = "https://popbill-test.linkhub.co.kr"
API_VERSION = "1.0"
JSON_CONTENT_TYPE = "application/json; charset=utf8"  # sic: "utf8", as the SDK sends it
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
MAX_BATCH = 1000  # getInfos / checkCorpNums: at most 1,000 keys per call

#: "this document does not exist": taxinvoice, cashbill, and the generic "no such invoice"
NOT_FOUND_CODES = frozenset({"-11000005", "-11000000", "-14000003", "-14000000"})
#: the API could not use the bearer token (token interpretation failed / no token): re-issue once
TOKEN_REJECTED_CODES = frozenset({"-10000033", "-10000034"})

_MGT_KEY = re.compile(r"[A-Za-z0-9_-]{1,24}")
_SUBMIT_ID = re.compile(r"[A-Za-z0-9-]{1,36}")
_ITEM_KEY = re.compile(r"[A-Za-z0-9]{18}")
_CORP_NUM = re.compile(r"[0-9]{10}")


def validate_mgt_key(key: str, *, what: str = "MgtKey") -> str:
    """A document key: 1-24 of ``[A-Za-z0-9_-]`` (checked before any I/O, so it can never alter the URL)."""
    if not isinstance(key, str) or not _MGT_KEY.fullmatch(key):
        raise RequestInvalid(
            f"{what} {key!r} is not a valid Popbill document key: use 1-24 letters, digits, '-' or '_'",
            provider=PROVIDER,
            code="mgt_key",
            user_hint="Use a document key of at most 24 characters made of letters, digits, '-' and '_'.",
        )
    return key


def validate_submit_id(submit_id: str) -> str:
    if not isinstance(submit_id, str) or not _SUBMIT_ID.fullmatch(submit_id):
        raise RequestInvalid(f"SubmitID {submit_id!r} is not valid: use 1-36 letters, digits or '-'",
                             provider=PROVIDER, code="submit_id")
    return submit_id


def validate_item_key(item_key: str) -> str:
    if not isinstance(item_key, str) or not _ITEM_KEY.fullmatch(item_key):
        raise RequestInvalid(f"ItemKey {item_key!r} is not valid: Popbill item keys are 18 letters or digits",
                             provider=PROVIDER, code="item_key")
    return item_key


def validate_corp_num(corp_num: str) -> str:
    if not isinstance(corp_num, str) or not _CORP_NUM.fullmatch(corp_num):
        raise RequestInvalid(f"business number {corp_num!r} must be 10 digits without hyphens",
                             provider=PROVIDER, code="corp_num")
    return corp_num


def chunks(items: Sequence[str], size: int = MAX_BATCH) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def query_string(params: Sequence[tuple[str, str]]) -> str:
    """``k=v&...`` in the given order. Values are percent-encoded except ``*`` and ``,``, which
    Popbill takes literally (wildcards and list separators), so ordinary values match the SDK's
    unencoded query byte for byte while a stray ``&`` or ``#`` can no longer break it."""
    return "&".join(f"{name}={quote(value, safe='*,')}" for name, value in params)


def popbill_error(data: Any, status: int, *, operation: str) -> ProviderError:
    """A non-200 answer as an error: Popbill's ``{code, message}`` kept, "not found" recognised."""
    if not isinstance(data, dict) or data.get("code") is None:
        return ProviderProtocolError(
            f"{operation}: HTTP {status} with an error body that has no code",
            provider=PROVIDER,
            code=f"http_{status}",
            status=status,
            body_excerpt=json.dumps(data, ensure_ascii=False)[:200],
            user_hint="Popbill answered with an unexpected error. Try again later.",
        )
    code = str(data["code"])
    message = str(data.get("message") or "no message")
    if code in NOT_FOUND_CODES:
        return DocumentNotFound(f"{operation}: {message}", provider=PROVIDER, code=code,
                                user_hint="Popbill has no document with this key. Check the key.")
    if status >= 500:
        return ProviderUnavailable(f"{operation}: {message}", provider=PROVIDER, code=code, status=status,
                                   user_hint="Popbill had an internal error. Nothing was done; try again later.")
    return ProviderRejected(f"{operation}: {message}", provider=PROVIDER, code=code)


class PopbillClientBase:
    """Shared plumbing of the Taxinvoice, Cashbill and CloseDown clients.

    Args:
        http: the API `ProviderHttp` (base URL = Popbill API host or the sandbox).
        auth: the `LinkhubAuth` that issues this client's tokens.
        corp_num: the member business number every call acts for.
        user_id: default Popbill user ID for calls that send ``x-pb-userid``.
    """

    #: LinkHub token scope of the service, e.g. ("member", "110")
    scope: ClassVar[tuple[str, ...]] = ("member",)

    def __init__(self, http: ProviderHttp, auth: LinkhubAuth, *, corp_num: str, user_id: str | None = None) -> None:
        self.http = http
        self.auth = auth
        self.corp_num = validate_corp_num(corp_num)
        self.user_id = user_id
        #: API calls sent (observability and tests)
        self.calls = 0

    async def _request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        body: Any = None,
        raw_body: bytes | None = None,
        content_type: str = JSON_CONTENT_TYPE,
        override: str | None = None,
        user_id: str | None = None,
        send_user: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        write: bool = False,
        retry_safe: bool | None = None,
    ) -> Any:
        """Send one API call with a token, re-issuing the token once if the API rejects it."""
        if raw_body is not None:
            content: bytes | None = raw_body
        elif body is not None:
            content = json.dumps(body).encode("ascii")
        else:
            content = b"" if method == "POST" else None
        uid = (user_id if user_id is not None else self.user_id) if send_user else None
        for attempt in (1, 2):
            token = await self.auth.token(self.scope, self.corp_num)
            headers: dict[str, str] = {"x-pb-version": API_VERSION}
            if method == "POST":
                headers["Content-Type"] = content_type
            headers.update(extra_headers or {})
            headers["Authorization"] = f"Bearer {token}"
            if uid:
                headers["x-pb-userid"] = uid
            if override is not None:
                headers["X-HTTP-Method-Override"] = override
            headers["Accept-Encoding"] = "gzip, deflate"
            self.calls += 1
            response = await self.http.send(method, url, content=content, headers=headers, write=write,
                                            retry_safe=retry_safe, operation=operation)
            data = self.http.json_body(response, operation=operation)
            if response.status_code == 200:
                return data
            error = popbill_error(data, response.status_code, operation=operation)
            if attempt == 1 and error.code in TOKEN_REJECTED_CODES:
                # The API did nothing with a rejected token, so even a write may be sent again.
                self.auth.invalidate(self.scope, self.corp_num, token)
                continue
            if error.code in TOKEN_REJECTED_CODES:
                error.user_hint = "Popbill rejected a freshly issued token. Check the LinkID/SecretKey and the clock."
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get(self, url: str, *, operation: str, user_id: str | None = None, send_user: bool = False) -> Any:
        return await self._request("GET", url, operation=operation, user_id=user_id, send_user=send_user)

    async def _bulk_submit(self, path: str, payload: dict[str, Any], *, submit_id: str,
                           user_id: str | None) -> dict[str, Any]:
        """POST a bulk submission: the body is signed by its SHA-1 digest, the submit id makes it retry-safe."""
        raw = json.dumps(payload).encode("ascii")
        digest = base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii")  # noqa: S324 - Popbill's digest
        data = await self._request(
            "POST", path, operation="bulkSubmit", raw_body=raw, override="BULKISSUE", user_id=user_id,
            send_user=True, extra_headers={"x-pb-message-digest": digest, "x-pb-submit-id": submit_id},
            write=True, retry_safe=True,
        )
        return self._expect_dict(data, "bulkSubmit")

    @staticmethod
    def _expect_dict(data: Any, operation: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ProviderProtocolError(f"{operation}: expected a JSON object", provider=PROVIDER, code="shape")
        return data

    @staticmethod
    def _expect_list(data: Any, operation: str) -> list[dict[str, Any]]:
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise ProviderProtocolError(f"{operation}: expected a JSON array of objects", provider=PROVIDER,
                                        code="shape")
        return data

    @staticmethod
    def _url(data: Any, operation: str) -> str:
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise ProviderProtocolError(f"{operation}: answer has no url", provider=PROVIDER, code="shape")
        return str(data["url"])


"""LinkHub token issuance: the signer and a per-instance token cache.

Popbill calls carry a LinkHub session token (``Authorization: Bearer <session_token>``)
issued by ``POST /{ServiceID}/Token`` on the LinkHub auth host. The request is signed
with HMAC-SHA256 over a newline-joined string; the wire details (header order, the
``Application/json`` content type, Python's default ``json.dumps`` separators) follow the
official SDK exactly because the signature covers the body bytes.

Unlike the SDK, whose service classes are process-wide singletons holding one token dict,
each :class:`LinkhubAuth` owns its cache, keyed by (ServiceID, scope, corp number), and
refreshes a token a safety margin *before* it expires. One `asyncio.Lock` per key with a
second check inside the lock means fifty callers finding no token cause one request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.errors import ProviderError, ProviderProtocolError, ProviderRejected, ProviderUnavailable, RequestInvalid
from providers.http import ProviderHttp

__all__ = [
    "LINKHUB_API_VERSION",
    "LINKHUB_URL",
    "SERVICE_ID_REAL",
    "SERVICE_ID_TEST",
    "LinkhubAuth",
    "LinkhubToken",
    "format_lh_date",
    "linkhub_signature",
    "linkhub_signed_string",
    "parse_expiration",
    "token_request_body",
]

log = logging.getLogger("invoicebot.providers.popbill")

LINKHUB_URL = "https://auth.linkhub.co.kr"
LINKHUB_API_VERSION = "2.0"
SERVICE_ID_REAL = "POPBILL"
SERVICE_ID_TEST = "POPBILL_TEST"
PROVIDER = "popbill"

_AUTH_HINT = "Check the Popbill LinkID and SecretKey in the bot settings (and that this server's IP is allowed)."
_UNAVAILABLE_HINT = "Popbill's token service (LinkHub) is temporarily unavailable. Nothing was done; try again later."


def format_lh_date(timestamp: float) -> str:
    """The `x-lh-date` value: UTC, second precision, e.g. ``2026-11-21T01:02:03Z``."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_request_body(corp_num: str, scope: Sequence[str]) -> bytes:
    """The token request body, byte for byte what the SDK sends (default separators, ASCII)."""
    return json.dumps({"access_id": corp_num, "scope": list(scope)}).encode("utf-8")


def linkhub_signed_string(
    *, method: str, body: bytes, date: str, forwarded: str | None, version: str, uri: str
) -> str:
    """The string LinkHub signs: method, body hash, date, [forwarded], version, URI."""
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    lines = [method, body_hash, date]
    if forwarded is not None:
        lines.append(forwarded)
    lines += [version, uri]
    return "\n".join(lines)


def linkhub_signature(
    secret_key: str,
    *,
    method: str = "POST",
    body: bytes,
    date: str,
    uri: str,
    forwarded: str | None = None,
    version: str = LINKHUB_API_VERSION,
) -> str:
    """base64(HMAC-SHA256(base64decode(secret_key), signed string)).

    Raises:
        RequestInvalid: the secret key is not base64 (a configuration mistake, caught before any I/O).
    """
    try:
        key = base64.b64decode(secret_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestInvalid(
            "the Popbill SecretKey is not valid base64", provider=PROVIDER, code="secret_key", user_hint=_AUTH_HINT
        ) from exc
    signed = linkhub_signed_string(method=method, body=body, date=date, forwarded=forwarded, version=version, uri=uri)
    digest = hmac.new(key, signed.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_expiration(value: str) -> dt.datetime:
    """LinkHub's `expiration` (``YYYY-MM-DDTHH:MM:SS.fffZ``, millis optional) as aware UTC."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


@dataclass(frozen=True)
class LinkhubToken:
    """A LinkHub session token and when it stops working."""

    session_token: str = field(repr=False)
    expires_at: float  # unix seconds
    service_id: str
    scope: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


TokenKey = tuple[str, tuple[str, ...], str]


class LinkhubAuth:
    """Issues and caches LinkHub tokens for one set of credentials.

    Args:
        http: a `ProviderHttp` whose base URL is the LinkHub auth host (or the sandbox).
        link_id / secret_key: the partner credentials.
        is_test: selects ServiceID ``POPBILL_TEST`` instead of ``POPBILL``.
        ip_restrict: when False, sends ``x-lh-forwarded: *`` (token usable from any IP).
        margin: seconds before `expiration` at which a cached token is replaced.
        clock: unix time source, shared with the sandbox clock in tests.

    Example::

        auth = LinkhubAuth(http, link_id="TESTER", secret_key=key, is_test=True)
        token = await auth.token(("member", "110"), "1234567890")
    """

    def __init__(
        self,
        http: ProviderHttp,
        *,
        link_id: str,
        secret_key: str,
        is_test: bool = True,
        ip_restrict: bool = True,
        margin: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not link_id or not secret_key:
            raise RequestInvalid("Popbill needs a LinkID and a SecretKey", provider=PROVIDER, code="credentials",
                                 user_hint=_AUTH_HINT)
        self.http = http
        self.link_id = link_id
        self._secret_key = secret_key
        self.service_id = SERVICE_ID_TEST if is_test else SERVICE_ID_REAL
        self.ip_restrict = ip_restrict
        self.margin = margin
        self.clock = clock
        self._cache: dict[TokenKey, LinkhubToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}
        #: number of token requests sent (observability and tests)
        self.issued = 0

    def __repr__(self) -> str:
        return f"LinkhubAuth(link_id={self.link_id!r}, service_id={self.service_id!r})"

    def _key(self, scope: Sequence[str], corp_num: str) -> TokenKey:
        return (self.service_id, tuple(scope), corp_num)

    def _fresh(self, token: LinkhubToken) -> bool:
        return token.expires_at - self.margin > self.clock()

    async def token(self, scope: Sequence[str], corp_num: str) -> str:
        """A usable session token for `corp_num` and `scope`, issuing one only when needed."""
        if not corp_num:
            raise RequestInvalid("a Popbill member business number (CorpNum) is required", provider=PROVIDER,
                                 code="corp_num")
        key = self._key(scope, corp_num)
        cached = self._cache.get(key)
        if cached is not None and self._fresh(cached):
            return cached.session_token
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and self._fresh(cached):
                return cached.session_token
            issued = await self.issue(scope, corp_num)
            self._cache[key] = issued
            return issued.session_token

    def invalidate(self, scope: Sequence[str], corp_num: str, session_token: str | None = None) -> None:
        """Forget the cached token (only if it is still `session_token`, so a fresher one survives)."""
        key = self._key(scope, corp_num)
        cached = self._cache.get(key)
        if cached is not None and (session_token is None or cached.session_token == session_token):
            del self._cache[key]

    def clear(self) -> None:
        self._cache.clear()

    async def issue(self, scope: Sequence[str], corp_num: str) -> LinkhubToken:
        """Send one signed token request (no cache)."""
        uri = f"/{self.service_id}/Token"
        body = token_request_body(corp_num, scope)
        date = format_lh_date(self.clock())
        forwarded = None if self.ip_restrict else "*"
        signature = linkhub_signature(self._secret_key, body=body, date=date, uri=uri, forwarded=forwarded)
        headers = {"x-lh-date": date, "x-lh-version": LINKHUB_API_VERSION}
        if forwarded is not None:
            headers["x-lh-forwarded"] = forwarded
        headers["Authorization"] = f"LINKHUB {self.link_id} {signature}"
        headers["Content-Type"] = "Application/json"
        # Issuing a token twice is harmless, so the request may be retried like a read.
        self.issued += 1
        response = await self.http.send("POST", uri, content=body, headers=headers, write=False,
                                        operation="LinkHub token")
        try:
            data = self.http.json_body(response, operation="LinkHub token")
        except ProviderProtocolError as exc:
            if response.status_code >= 500:  # a proxy's error page: the service is down, not our keys wrong
                raise token_service_unavailable(response.status_code) from exc
            raise
        if response.status_code != 200:
            raise linkhub_error(data, response.status_code, self.http.provider)
        if not isinstance(data, dict) or not data.get("session_token") or not data.get("expiration"):
            raise ProviderProtocolError("LinkHub token answer lacks session_token/expiration", provider=PROVIDER,
                                        code="token_body", status=response.status_code)
        try:
            expires = parse_expiration(str(data["expiration"])).timestamp()
        except ValueError as exc:
            raise ProviderProtocolError("LinkHub token expiration is unreadable", provider=PROVIDER,
                                        code="token_expiration", status=response.status_code) from exc
        log.info("popbill: LinkHub token issued for %s scope %s", corp_num, ",".join(scope))
        return LinkhubToken(
            session_token=str(data["session_token"]),
            expires_at=expires,
            service_id=str(data.get("serviceID") or self.service_id),
            scope=tuple(data.get("scope") or scope),
            raw={k: v for k, v in data.items() if k != "session_token"},
        )


def token_service_unavailable(status: int, provider: str = PROVIDER, detail: str = "") -> ProviderUnavailable:
    """LinkHub answered 5xx: a temporary failure (retryable), not a verdict on our credentials."""
    return ProviderUnavailable(f"LinkHub token service answered HTTP {status}{detail}", provider=provider,
                               code=f"token_{status}", status=status, user_hint=_UNAVAILABLE_HINT)


def linkhub_error(data: Any, status: int, provider: str = PROVIDER) -> ProviderError:
    """A LinkHub refusal as an error, its code and message kept.

    A 5xx is `ProviderUnavailable` whatever its body says: telling the user to check the
    LinkID and SecretKey when the service is down sends them the wrong way, and a
    `ProviderRejected` would leave the request without a retry.
    """
    if status >= 500:
        message = data.get("message") if isinstance(data, dict) else None
        return token_service_unavailable(status, provider, f": {str(message)[:200]}" if message else "")
    if not isinstance(data, dict) or data.get("code") is None:
        return ProviderProtocolError(f"LinkHub answered HTTP {status} without an error code", provider=provider,
                                     code=f"http_{status}", status=status, body_excerpt=json.dumps(data)[:200])
    return ProviderRejected(
        f"LinkHub refused the token request: {data.get('message') or 'no message'}",
        provider=provider,
        code=str(data["code"]),
        user_hint=_AUTH_HINT,
    )

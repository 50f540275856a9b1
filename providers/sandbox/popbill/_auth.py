"""LinkHub authentication: signed token requests, bearer checks on every API call, the server time."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from providers.sandbox.base import json_response
from providers.sandbox.popbill._core import _PopbillCore
from providers.sandbox.popbill._store import (
    _CORP_NUM,
    SCOPE_BY_SERVICE,
    _expiration,
    _Reject,
    _Token,
)

#: The forms the official SDKs send as ``x-lh-date``: UTC, second precision ("2026-11-21T01:02:03Z":
#: Python, Java, PHP, .NET) or with a fraction ("2026-11-21T01:02:03.722Z": Node's toISOString,
#: Delphi's ``.zzz``); with UseLocalTimeYN off they send what ``GET /Time`` answered, which is the
#: first form here. The documents never name the format; LinkHub accepts what its own SDKs send.
_LH_DATE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z")


def parse_lh_date(value: str) -> float | None:
    """The POSIX time of an ``x-lh-date`` in any form an official SDK sends, or None if unreadable."""
    match = _LH_DATE.fullmatch(value)
    if match is None:
        return None
    try:
        whole = dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return whole.timestamp() + float(match.group(2) or 0)


class _AuthRoutes(_PopbillCore):
    """LinkHub's token endpoint and the bearer check that wraps every Popbill API route."""

    def _handle(self, fn: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except _Reject as reject:
                return self._error(reject.code, reject.message, reject.status)

        return handler

    def _api(self, service: str, fn: Callable[[web.Request, _Token], Awaitable[Any]]
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Authenticate the bearer token for `service`, then answer `fn`'s result as JSON."""

        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                token = self._bearer(request, service)
                result = await fn(request, token)
            except _Reject as reject:
                return self._error(reject.code, reject.message, reject.status)
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result)

        return handler

    # -- LinkHub ---------------------------------------------------------------------------------
    async def _time(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"), content_type="text/plain")

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        service_id = request.path.split("/")[1]
        body = await request.read()
        parts = request.headers.get("Authorization", "").split(" ")
        if len(parts) != 3 or parts[0] != "LINKHUB":
            raise _Reject(-99999994, "LinkHub 인증정보(Authorization: LINKHUB <LinkID> <Signature>)가 없습니다.", 401)
        _, link_id, signature = parts
        secret = self.credentials.get(link_id)
        if secret is None:
            raise _Reject(-99999997, f"등록되지 않은 LinkID 입니다. (unknown LinkID {link_id})", 401)
        date = request.headers.get("x-lh-date", "")
        version = request.headers.get("x-lh-version", "")
        if version != "2.0":
            raise _Reject(-99999994, "x-lh-version 2.0 이 필요합니다. (x-lh-version must be 2.0)", 401)
        sent = parse_lh_date(date)
        if sent is None:
            raise _Reject(-99999995, "x-lh-date 형식이 올바르지 않습니다. (x-lh-date missing or unreadable)", 401)
        if abs(sent - self.clock.time()) > self.date_tolerance:
            raise _Reject(-99999995, "요청 시간이 허용 범위를 벗어났습니다. (x-lh-date is too far from the server "
                                     "clock; check the system time)", 401)
        forwarded = request.headers.get("x-lh-forwarded")
        lines = ["POST", base64.b64encode(hashlib.sha256(body).digest()).decode(), date]
        if forwarded is not None:
            lines.append(forwarded)
        lines += [version, request.path]
        expected = base64.b64encode(hmac.new(base64.b64decode(secret), "\n".join(lines).encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise _Reject(-99999996, "LinkHub 인증에 실패했습니다. (signature mismatch: check the SecretKey)", 401)
        try:
            payload = json.loads(body)
            access_id = str(payload["access_id"])
            scope = [str(s) for s in payload["scope"]]
        except (ValueError, KeyError, TypeError):
            raise _Reject(-99999994, "토큰 요청 본문이 올바르지 않습니다. (body needs access_id and scope)",
                          400) from None
        if not _CORP_NUM.fullmatch(access_id):
            raise _Reject(-10000015, "사업자등록번호가 올바르지 않습니다. (access_id must be 10 digits)", 400)
        session_token = secrets.token_urlsafe(24)
        expires = self.clock.time() + self.token_ttl
        self.tokens[session_token] = _Token(service_id=service_id, link_id=link_id, corp_num=access_id,
                                            scope=frozenset(scope), expires_at=expires,
                                            ip=None if forwarded == "*" else request.remote)
        return json_response({
            "session_token": session_token,
            "serviceID": service_id,
            "linkID": link_id,
            "usercode": "",
            "ipaddress": "*" if forwarded == "*" else (request.remote or ""),
            "expiration": _expiration(expires),
            "scope": scope,
        })

    def _bearer(self, request: web.Request, service: str) -> _Token:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise _Reject(-10000034, "인증 토큰이 입력되지 않았습니다. (Auth token is not entered)", 401)
        token = self.tokens.get(auth[7:].strip())
        if token is None:
            raise _Reject(-10000033, "토큰 해석에 실패했습니다. (unknown token)", 401)
        if token.expires_at <= self.clock.time():
            raise _Reject(-10000033, "토큰이 만료되었습니다. (token expired)", 401)
        needed = SCOPE_BY_SERVICE[service]
        if needed not in token.scope:
            raise _Reject(-10000033, f"토큰의 권한(scope)에 {needed}({service})가 없습니다. "
                                     f"(token scope does not cover {service})", 401)
        if token.ip is not None and request.remote is not None and token.ip != request.remote:
            raise _Reject(-10000029, "토큰을 발급받은 IP와 요청 IP가 다릅니다. (token issued to another IP)", 401)
        return token

    def expire_tokens(self) -> None:
        now = self.clock.time()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)

    async def _admin_expire_tokens(self, _request: web.Request) -> web.Response:
        self.expire_tokens()
        return json_response({"ok": True, "tokens": len(self.tokens)})

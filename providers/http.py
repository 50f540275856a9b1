"""The HTTP layer every provider client stands on.

One `httpx.AsyncClient` per provider with explicit timeouts. `ProviderHttp.send`
maps transport failures onto the error hierarchy and retries only what is safe:

* a connect failure never reached the provider: always safe to retry;
* a read timeout or dropped connection on a *read* is retried; on a *write* it is
  `OutcomeUnknown` (the provider may have acted) and is never retried here, unless the
  write carries an idempotency key the provider honours (`retry_safe=True`);
* 429 waits for Retry-After (up to `max_retry_after`), 502/503/504 back off.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from providers._pool import FreeListTransport, read_now
from providers._urls import UrlJoiner
from providers.errors import (
    OutcomeUnknown,
    ProviderProtocolError,
    ProviderUnavailable,
    RateLimited,
)
from providers.redact import redact_mapping

__all__ = ["HttpPolicy", "ProviderHttp", "parse_retry_after", "tls_context", "verified_context"]

log = logging.getLogger("invoicebot.providers.http")

#: an answer slower than this is logged as a warning (the ordinary read is logged at debug)
SLOW_CALL_SECONDS = 5.0

Sleep = Callable[[float], Awaitable[None]]


#: transport errors raised before the request reached the provider
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: transport errors after the request may have reached the provider
_NO_ANSWER = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)

class HttpPolicy(BaseModel):
    """Timeouts and retry limits for one provider."""

    model_config = ConfigDict(frozen=True)

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    write_timeout: float = 10.0
    pool_timeout: float = 10.0
    max_attempts: int = 3
    backoff: float = 0.25
    max_retry_after: float = 10.0
    #: requests in flight per provider client. 200: at 200 concurrent `/invoice status` (one
    #: getInfo each) a smaller cap sends a second wave and doubles the answer time; with the
    #: free-list transport an open connection costs nothing per request.
    max_connections: int = 200

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout, read=self.read_timeout, write=self.write_timeout, pool=self.pool_timeout
        )


@functools.cache
def verified_context() -> ssl.SSLContext:
    """The process's one verifying context (certifi's, as httpx's default): every HTTPS provider
    client, and a client whose peers are not known when it is built (a sandbox's callback client
    posts wherever it is told). httpx would load the trust store again for each client (~20 ms)."""
    import certifi  # httpx's own default trust store

    return ssl.create_default_context(cafile=certifi.where())


def tls_context(base_url: str) -> ssl.SSLContext:
    """The TLS context for a client of `base_url`, built once per process.

    httpx builds a new context (loading certifi's ~150 certificates, 0.1-0.4 s) for every
    client it creates: four providers and their sandboxes paid it at every start. HTTPS
    clients share one verifying context; a plain-HTTP client (a sandbox on localhost) never
    uses TLS (redirects are off), and gets a context that trusts nothing, so even a mistake
    would fail closed rather than connect unverified.
    """
    if base_url.lower().startswith("https://"):
        return verified_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checked, certificate required, no CA


def _merged(defaults: httpx.Headers, headers: Mapping[str, str] | None) -> Sequence[tuple[Any, Any]]:
    """The client's headers with the request's own, as `httpx.Headers.update` merges them (the
    client's that the request does not replace, then the request's), as one list: two
    `httpx.Headers` copies per call were a tenth of a provider call's CPU."""
    if not headers:
        return list(defaults.raw)
    own = {name.lower().encode() for name in headers}
    merged: list[tuple[Any, Any]] = [(k, v) for k, v in defaults.raw if k.lower() not in own]
    return merged + list(headers.items())


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ProviderHttp:
    """A provider's HTTP client. Args:
        provider: name used in errors and logs.
        base_url: the provider's (or its sandbox's) base URL.
        policy: timeouts and retries.
        transport: injected transport (`httpx.MockTransport` in unit tests).
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.policy = policy or HttpPolicy()
        self._sleep = sleep
        limits = httpx.Limits(
            max_connections=self.policy.max_connections, max_keepalive_connections=self.policy.max_connections
        )
        # Requests wait here (FIFO, O(1) each), never in a pool's queue, so at most
        # `max_connections` are in flight; and the connections live in a free list
        # (`providers._pool`): httpcore's pool re-plans all of them on every request, which cost
        # ~3 ms of CPU per request at 200 concurrent callers (`python -m bench --only provider_http`).
        self._slots = asyncio.Semaphore(self.policy.max_connections)
        self._in_flight = 0
        if transport is None:
            transport = FreeListTransport(verify=tls_context(base_url), limits=limits)
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=self.policy.timeout(),
            transport=transport,
            verify=tls_context(base_url),
            headers=dict(headers or {}),
            limits=limits,
            follow_redirects=False,
            trust_env=False,
        )
        self._transport = transport
        self._timeouts = self.policy.timeout().as_dict()
        self._urls = UrlJoiner(str(self.client.base_url).rstrip("/") + "/")  # as httpx merges relative URLs

    @property
    def in_flight(self) -> int:
        """Requests being sent right now (never more than `policy.max_connections`)."""
        return self._in_flight

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        write: bool,
        retry_safe: bool | None = None,
        operation: str = "",
    ) -> httpx.Response:
        """Send one request with the retry rules above and return the raw response.

        Status codes other than 429 and 502/503/504 are left to the provider's parser.
        """
        safe = (not write) if retry_safe is None else retry_safe
        op = operation or f"{method} {url.split('?')[0]}"
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                async with self._slots:
                    started = time.perf_counter()  # time at the provider, not in our queue
                    self._in_flight += 1
                    try:
                        response = await self._request(method, url, content, headers, params)
                    finally:
                        self._in_flight -= 1
            except _NOT_SENT as exc:
                error = self._not_sent(exc)
                if attempt < self.policy.max_attempts:
                    await self._backoff(op, attempt, error)
                    continue
                raise error from exc
            except _NO_ANSWER as exc:
                error = self._no_answer(exc, op, time.perf_counter() - started, attempt, write=write, safe=safe)
                if attempt < self.policy.max_attempts:
                    await self._backoff(op, attempt, error)
                    continue
                if write:
                    raise OutcomeUnknown(str(error.message), provider=self.provider, code="no_answer") from exc
                raise error from exc
            self._log_answer(op, response, time.perf_counter() - started, attempt, write)
            status_error = self._status_error(response)
            if status_error is None:
                return response
            if safe and attempt < self.policy.max_attempts and self._may_wait(status_error):
                await self._backoff(op, attempt, status_error)
                continue
            raise status_error

    async def _request(self, method: str, url: str, content: bytes | str | None,
                       headers: Mapping[str, str] | None, params: Mapping[str, str] | None) -> httpx.Response:
        """`self.client.request(...)`, the same request on the wire, at a third of its CPU.

        httpx's client parses the URL twice, rebuilds its default headers, wraps the answer for
        auth, redirect and cookie handling, and files every answer in a cookie jar through
        `email.message` (together ~0.2 ms a call). A provider call needs none of it: the base URL,
        the client's headers and the timeouts are merged here as `build_request` merges them, the
        transport is called directly, and cookies are kept only when a provider actually sets one.
        """
        client = self.client
        if client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        request = httpx.Request(method, self._urls(url), params=params, headers=_merged(client.headers, headers),
                                content=content, extensions={"timeout": self._timeouts})
        if client.cookies:
            client.cookies.set_cookie_header(request)
        response = await self._transport.handle_async_request(request)
        response.request = request
        if not read_now(response):  # an answer of our own pool is complete already
            try:
                await response.aread()
            finally:
                await response.aclose()
        if "set-cookie" in response.headers:
            client.cookies.extract_cookies(response)
        return response

    def _not_sent(self, exc: Exception) -> ProviderUnavailable:
        """The request never reached the provider: nothing happened there, so it is always retryable."""
        return ProviderUnavailable(
            f"could not connect ({type(exc).__name__})",
            provider=self.provider,
            code="connect",
            user_hint="The provider could not be reached. Nothing was done; try again in a minute.",
        )

    def _no_answer(self, exc: Exception, op: str, elapsed: float, attempt: int, *, write: bool,
                   safe: bool) -> ProviderUnavailable:
        """Sent, and no answer came. A write not safe to repeat raises `OutcomeUnknown` at once:
        the provider may have acted, so it must be reconciled before anything is sent again."""
        log.warning("%s %s: no answer after %.2fs (%s)", self.provider, op, elapsed, type(exc).__name__,
                    extra={"provider": self.provider, "operation": op, "elapsed_ms": round(elapsed * 1000),
                           "attempt": attempt, "error": type(exc).__name__, "write": write})
        if write and not safe:
            raise OutcomeUnknown(
                f"sent, but no answer came ({type(exc).__name__})",
                provider=self.provider,
                code="no_answer",
                user_hint="The request reached the provider but no answer came back. "
                "I will check with the provider before doing anything again.",
            ) from exc
        return ProviderUnavailable(
            f"no answer ({type(exc).__name__})",
            provider=self.provider,
            code="timeout",
            user_hint="The provider did not answer in time. Try again in a minute.",
        )

    def _log_answer(self, op: str, response: httpx.Response, elapsed: float, attempt: int, write: bool) -> None:
        """One line per answer: a warning for an error status or a slow answer, info for a write,
        debug for an ordinary read (a line per status command was a measurable share of its CPU)."""
        if response.status_code >= 400 or elapsed >= SLOW_CALL_SECONDS:
            level = logging.WARNING
        else:
            level = logging.INFO if write else logging.DEBUG
        if log.isEnabledFor(level):
            log.log(level, "%s %s -> %s in %.0f ms", self.provider, op, response.status_code, elapsed * 1000,
                    extra={"provider": self.provider, "operation": op, "status": response.status_code,
                           "elapsed_ms": round(elapsed * 1000), "attempt": attempt, "write": write})
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s request headers %s", self.provider, redact_mapping(dict(response.request.headers)))

    def _status_error(self, response: httpx.Response) -> ProviderUnavailable | None:
        status = response.status_code
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = f" Try again in {retry_after:.0f} s." if retry_after is not None else " Try again shortly."
            return RateLimited(
                "too many requests (429)",
                provider=self.provider,
                code="429",
                retry_after=retry_after,
                status=status,
                user_hint="The provider is rate-limiting us." + wait,
            )
        if status in (502, 503, 504):
            maintenance = status == 503
            return ProviderUnavailable(
                "under maintenance (503)" if maintenance else f"gateway error ({status})",
                provider=self.provider,
                code=str(status),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                status=status,
                user_hint="The provider is temporarily unavailable. Nothing was done; try again later.",
            )
        return None

    def _may_wait(self, error: ProviderUnavailable) -> bool:
        return error.retry_after is None or error.retry_after <= self.policy.max_retry_after

    async def _backoff(self, op: str, attempt: int, error: ProviderUnavailable) -> None:
        delay = error.retry_after if error.retry_after is not None else self.policy.backoff * (2 ** (attempt - 1))
        log.info("%s %s: %s; retry %d in %.2fs", self.provider, op, error.message, attempt, delay,
                 extra={"provider": self.provider, "operation": op, "retry_in_s": delay, "attempt": attempt,
                        "outcome": error.outcome_code})
        await self._sleep(delay)

    def json_body(self, response: httpx.Response, *, operation: str = "") -> Any:
        """The response body as JSON, or `ProviderProtocolError` for an HTML page or garbage.

        UTF-8 bytes (what every provider sends) are parsed as they are: `response.text` works out
        the charset through `email.message` on every call, a measurable share of a status read.
        A body declared in another charset (EUC-KR, say) is still decoded as it declares.
        """
        content = response.content
        ctype = response.headers.get("content-type", "").lower()
        if "html" in ctype or content.lstrip()[:1] == b"<":
            raise ProviderProtocolError(
                f"{operation or 'response'}: got an HTML page (HTTP {response.status_code}) instead of JSON",
                provider=self.provider,
                code=f"http_{response.status_code}",
                status=response.status_code,
                body_excerpt=response.text,
                user_hint="The provider answered with an error page. Try again later; if it persists, "
                "check the provider's status page.",
            )
        if not content:
            return None
        declared = "charset=" in ctype and not any(name in ctype for name in ("utf-8", "utf8"))
        try:
            return json.loads(response.text if declared else content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProviderProtocolError(
                f"{operation or 'response'}: unreadable body (HTTP {response.status_code})",
                provider=self.provider,
                code=f"http_{response.status_code}",
                status=response.status_code,
                body_excerpt=response.text,
                user_hint="The provider's answer could not be read. Try again later.",
            ) from exc

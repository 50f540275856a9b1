"""Fault injection for the sandboxes: the rules, the standing rates, and which fault a request gets.

Kept apart from the server base (`providers.sandbox.base`) so what a fault *is* and how one is
chosen reads in one place; the base only asks, per request, how long to wait and which rule
(if any) to apply, then answers in the provider's own error format.

Fault kinds (`FaultRule.kind`): ``latency`` (adds `ms`), ``500``, ``503``, ``429``
(with `retry_after`), ``timeout`` (hangs `seconds` before handling, so a client with a
shorter read timeout gives up while the write still happens later), ``malformed``
(a non-JSON body), ``html`` (an HTML error page with status 500), ``drop`` (handles the
request, commits, then drops the connection without an answer) and ``reset`` (drops the
connection before handling: nothing happens).
"""

from __future__ import annotations

import random
import re

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FaultRule", "Faults", "canned_response", "extra_latency", "take_rule"]


class FaultRule(BaseModel):
    """One injected fault. `count` None means every matching request until removed."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^(latency|500|503|429|timeout|malformed|html|drop|reset)$")
    path: str | None = None  # regex searched in the request path
    method: str | None = None
    count: int | None = 1
    ms: int = 0  # latency
    seconds: float = 30.0  # timeout hang
    retry_after: int = 1  # 429 / 503

    def matches(self, request: web.Request) -> bool:
        if self.method and request.method.upper() != self.method.upper():
            return False
        return not (self.path and not re.search(self.path, request.path))


class Faults(BaseModel):
    """Standing faults, e.g. from settings: latency on every request and random error rates."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = 0
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # fraction answered 500
    rate_limit_rate: float = Field(default=0.0, ge=0.0, le=1.0)  # fraction answered 429
    retry_after: int = 1
    seed: int = 7


def _use(rules: list[FaultRule], rule: FaultRule) -> None:
    """Count one use of `rule`; a counted rule that is spent leaves the list."""
    if rule.count is not None:
        rule.count -= 1
        if rule.count <= 0:
            rules.remove(rule)


def extra_latency(rules: list[FaultRule], standing: Faults, request: web.Request) -> float:
    """Seconds to wait before handling: the standing latency plus every matching latency rule (each used once)."""
    ms = standing.latency_ms
    for rule in list(rules):
        if rule.kind == "latency" and rule.matches(request):
            ms += rule.ms
            _use(rules, rule)
    return ms / 1000.0


def take_rule(rules: list[FaultRule], standing: Faults, rng: random.Random, request: web.Request) -> FaultRule | None:
    """The fault this request gets: the first matching rule (used once), else a standing random one, else None."""
    for rule in rules:
        if rule.kind != "latency" and rule.matches(request):
            _use(rules, rule)
            return rule
    if standing.error_rate and rng.random() < standing.error_rate:
        return FaultRule(kind="500")
    if standing.rate_limit_rate and rng.random() < standing.rate_limit_rate:
        return FaultRule(kind="429", retry_after=standing.retry_after)
    return None


def canned_response(kind: str) -> web.Response | None:
    """The provider-independent answers: a truncated JSON body or a proxy's HTML error page."""
    if kind == "malformed":
        return web.Response(text='{"code": 1, "message": "ok", ', status=200, content_type="application/json")
    if kind == "html":
        return web.Response(
            text="<html><head><title>500 Internal Server Error</title></head>"
            "<body><h1>Internal Server Error</h1></body></html>",
            status=500,
            content_type="text/html",
        )
    return None

"""The Abillify sandbox's records, constants and error bodies in Abillify's schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from providers.sandbox.base import json_response

#: How long Abillify keeps an Idempotency-Key and its answer.
IDEMPOTENCY_TTL = 24 * 3600.0


_PAYMENT_KINDS = frozenset({"CT", "DD", "CC", "PP", "IN", "OT", "CD"})


_NUMBER_HINT = "Value must be a number or a string containing only a number."


#: Default VAT rate (percent) of the sandbox merchant when an item's detail names none.
DEFAULT_TAX_RATE = Decimal(10)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, type_: str, message: str, details: list[dict[str, Any]] | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": status}
    if details:
        body["details"] = details
    body["message"] = message
    body["name"] = "ServerError" if status >= 500 else "ClientError"
    body["type"] = type_
    return json_response(body, status=status, headers=headers)


def _detail(error: str, fields: list[str], hint: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"error": error, "fields": fields}
    if hint:
        out["hint"] = hint
    return out


class _Invalid(Exception):
    """Input validation failed: answered 400 and never stored under an Idempotency-Key."""

    def __init__(self, details: list[dict[str, Any]], type_: str = "ERR_INVALID_VALUE",
                 message: str = "InvalidValue, see error details") -> None:
        super().__init__(message)
        self.details = details
        self.type = type_
        self.message = message


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: str
    at: float


@dataclass
class _ProcessingFault:
    path: str
    status: int = 500
    count: int | None = 1


@dataclass
class _State:
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    creditnotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_identity: dict[str, list[str]] = field(default_factory=dict)  # identity -> invoice refs
    numbers: dict[tuple[str, str], str] = field(default_factory=dict)  # (identity, number) -> ref
    cn_numbers: dict[tuple[str, str], str] = field(default_factory=dict)
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], _Stored] = field(default_factory=dict)
    seq: int = 0
    jobs: int = 0

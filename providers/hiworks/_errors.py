"""The Hiworks error tree and how an answer becomes one of its members.

::

    ProviderRejected -> HiworksRejected    an ``errors`` body (401/403 with a credentials hint)
    DocumentNotFound -> HiworksNotFound     404: Hiworks does not know the document
    ProviderUnavailable                     5xx (503: maintenance, 점검중)
    RequestInvalid / ProviderProtocolError  our request or their answer does not fit the models

Each Hiworks error keeps the first error's ``status`` as `code`, its ``title`` and every error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from providers.errors import (
    DocumentNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RequestInvalid,
)

__all__ = ["PROVIDER", "HiworksNotFound", "HiworksRejected", "coerce_request", "error_for", "parse_answer"]

PROVIDER = "hiworks"

M = TypeVar("M", bound=BaseModel)

_MAINTENANCE_HINT = (
    "Hiworks is under maintenance (점검중). Nothing was done; try again later "
    "(the Hiworks notice board announces maintenance windows)."
)
_AUTH_HINT = (
    "Hiworks refused our credentials. Check the office token (오피스관리 > API 관리, with the "
    "전자세금계산서 scope) and the bill access token (전자세금계산서 > API 연동)."
)

class _HiworksErrors:
    """What Hiworks said in its ``errors`` body, kept on the exception."""

    title: str
    http_status: int
    errors: list[dict[str, Any]]

    def _keep(self, title: str, http_status: int, errors: list[dict[str, Any]] | None) -> None:
        self.title = title
        self.http_status = http_status
        self.errors = errors or []


class HiworksRejected(ProviderRejected, _HiworksErrors):
    """Hiworks answered with an ``errors`` body. `code` is the first error's status, and its
    `title` and all `errors` are kept."""

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None,
        title: str = "",
        http_status: int = 0,
        errors: list[dict[str, Any]] | None = None,
        user_hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=PROVIDER, code=code, user_hint=user_hint)
        self._keep(title, http_status, errors)


class HiworksNotFound(DocumentNotFound, _HiworksErrors):
    """Hiworks does not know (or no longer has) the document."""

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None,
        title: str = "",
        http_status: int = 404,
        errors: list[dict[str, Any]] | None = None,
        user_hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=PROVIDER, code=code, user_hint=user_hint)
        self._keep(title, http_status, errors)


def error_for(status: int, body: Any, operation: str) -> Exception:
    """The error for a non-success answer (`body` its JSON, None when empty), keeping Hiworks' own
    status, title and message."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first: dict[str, Any] = errors[0] if isinstance(errors, list) and errors and isinstance(
        errors[0], dict) else {}
    code = str(first.get("status") or status)
    title = str(first.get("title") or "")
    detail = str(first.get("message") or "")
    text = ": ".join(p for p in (title, detail) if p) or f"HTTP {status}"
    message = f"{operation}: {text}"
    if status >= 500:
        return ProviderUnavailable(message, provider=PROVIDER, code=code, status=status,
                                   user_hint="Hiworks had an internal error. Try again later.")
    common: dict[str, Any] = {"code": code, "title": title, "http_status": status,
                              "errors": errors if isinstance(errors, list) else []}
    if status == 404:
        return HiworksNotFound(message, user_hint="Hiworks has no such document (it may have been deleted "
                               "in the Hiworks console).", **common)
    if status in (401, 403):
        return HiworksRejected(message, user_hint=_AUTH_HINT, **common)
    return HiworksRejected(message, **common)


def coerce_request(model: type[M], value: M | Mapping[str, Any]) -> M:
    """Our request as the model, or `RequestInvalid` naming the first field that does not fit."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or model.__name__
        raise RequestInvalid(f"{where}: {first['msg']}", provider=PROVIDER, code="invalid") from exc


def parse_answer(model: type[M], data: Any, operation: str) -> M:
    """Their answer as the model, or `ProviderProtocolError` with the body kept for the log."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProviderProtocolError(f"{operation}: unexpected answer shape ({exc.error_count()} errors)",
                                    provider=PROVIDER, code="shape",
                                    body_excerpt=json.dumps(data, ensure_ascii=False, default=str)) from exc

"""The payment-completed callback (승인동기화), as pure pieces for the bot's webhook.

Paymint POSTs the payment to the bill's ``callbackUrl`` only when a payment succeeds,
and retries every hour for 24 hours until the answer is exactly the success body below,
so the handler must be idempotent (:func:`callback_dedup_key`). The payload carries no
signature: authenticate it by comparing its ``apiKey`` with ours
(:func:`authenticate_callback`), then confirm with ``/bill/read`` before marking the
bill paid (:meth:`providers.payssam.PayssamService.confirm_payment`).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

from pydantic import AliasChoices, Field, SecretStr, ValidationError

from providers.errors import ProviderProtocolError
from providers.payssam.client import PROVIDER, BillInfo

__all__ = [
    "CALLBACK_SUCCESS",
    "CALLBACK_SUCCESS_BODY",
    "PaymentCallback",
    "authenticate_callback",
    "callback_dedup_key",
    "is_success_answer",
    "parse_callback",
]

#: The answer Paymint requires, same keys and values, or the review (검수) fails and it retries.
CALLBACK_SUCCESS: Final[dict[str, str]] = {"code": "0000", "msg": "성공하였습니다."}
CALLBACK_SUCCESS_BODY: Final[bytes] = json.dumps(CALLBACK_SUCCESS, ensure_ascii=False).encode("utf-8")


class PaymentCallback(BillInfo):
    """The V2 callback payload (camelCase): ``apiKey`` plus the fields of ``/bill/read``.

    Unknown fields are kept; the V1 snake_case key ``apikey`` is accepted too.
    """

    api_key: str = Field(validation_alias=AliasChoices("apiKey", "apikey", "api_key"), serialization_alias="apiKey")
    bill_id: str = Field(validation_alias=AliasChoices("billId", "bill_id"), serialization_alias="billId")


def parse_callback(body: bytes | str | Mapping[str, Any]) -> PaymentCallback:
    """The payload as a model; `ProviderProtocolError` when it is not a readable callback."""
    try:
        data = json.loads(body) if isinstance(body, bytes | str) else dict(body)
        return PaymentCallback.model_validate(data)
    except (ValueError, TypeError, ValidationError) as exc:
        raise ProviderProtocolError(
            f"unreadable payment callback ({type(exc).__name__})",
            provider=PROVIDER,
            code="callback",
            body_excerpt=body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body),
        ) from exc


def authenticate_callback(callback: PaymentCallback, api_key: str | SecretStr) -> bool:
    """Whether the callback names our apiKey, compared in constant time."""
    expected = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    return hmac.compare_digest(callback.api_key.encode("utf-8"), expected.encode("utf-8"))


def callback_dedup_key(callback: PaymentCallback) -> str:
    """One key per payment: the same approval delivered again (hourly retries) maps to the same key."""
    return f"payssam:{callback.bill_id}:{callback.appr_num or ''}"


def is_success_answer(text: str) -> bool:
    """Whether a webhook answer is the success body Paymint expects (code "0000")."""
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == CALLBACK_SUCCESS["code"]

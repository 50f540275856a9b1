"""Secrets in the callback URLs we give providers, so a callback proves where it came from.

Abillify documents no signing and Payssam's callback carries only our apiKey, so anyone
who could guess `/webhooks/abillify/notify?ref=INV-000001` could post into a document's
thread. Every callback URL now carries a token: ``HMAC(key, scope)`` where the scope names
the provider and the document (``payssam:INV-000001``) or the installation-wide route
(``abillify:workflow``). A token for one document opens nothing else, and the handler
compares it in constant time before reading the body.

The key is derived (HMAC again) from ``INVOICEBOT_WEBHOOK_SECRET``, else from
``SLACK_SIGNING_SECRET``, so it survives restarts: Payssam retries a callback for 24 hours
at the URL it was given. With neither (the console, tests), a random key for this process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from pydantic import SecretStr

from bot.settings import Settings

__all__ = ["CallbackSigner", "callback_signer"]

log = logging.getLogger("invoicebot.webhooks")

_LABEL = b"invoicebot callback urls v1"
_TOKEN_CHARS = 32
#: used when no secret is configured: callbacks work while this process lives
_PROCESS_SECRET = secrets.token_hex(32)


class CallbackSigner:
    """Makes and checks the token of one callback scope.

    Example::

        signer = callback_signer(settings)
        url = f"{base}/webhooks/payssam?ref=INV-000001&token={signer.token('payssam:INV-000001')}"
        assert signer.verify("payssam:INV-000001", request.query["token"])
    """

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode("utf-8"), _LABEL, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "CallbackSigner(<key hidden>)"

    def token(self, scope: str) -> str:
        return hmac.new(self._key, scope.encode("utf-8"), hashlib.sha256).hexdigest()[:_TOKEN_CHARS]

    def verify(self, scope: str, token: str | None) -> bool:
        """Whether `token` is the token of `scope`, compared in constant time."""
        if not token or len(token) != _TOKEN_CHARS:
            return False
        return hmac.compare_digest(self.token(scope).encode("ascii"), token.encode("utf-8", "replace"))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


def callback_signer(settings: Settings | None) -> CallbackSigner:
    """The signer of this installation (the same for every call with the same settings)."""
    secret = None
    if settings is not None:
        secret = _secret(settings.invoicebot_webhook_secret) or _secret(settings.slack_signing_secret)
        if secret is None and settings.invoicebot_public_url:
            log.warning("no INVOICEBOT_WEBHOOK_SECRET or SLACK_SIGNING_SECRET: callback URLs given to providers "
                        "stop working when this process restarts")
    return CallbackSigner(secret or _PROCESS_SECRET)

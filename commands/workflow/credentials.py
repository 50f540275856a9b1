"""A workspace's provider credentials, encrypted at rest and never shown back.

An admin pastes a workspace's Popbill LinkID/SecretKey/CorpNum, Payssam API key, Hiworks
tokens or Abillify login into the App Home settings modal. They are kept in the ledger as one
Fernet token (AES-128-CBC with an HMAC: tampering is detected, not silently decrypted) under a
key from INVOICEBOT_ENCRYPTION_KEY, so a database dump or backup alone reveals nothing. The
clear values live only in this module's return values; what any surface may show is
`CredentialVault.status` ("set" / "not set" per field). Without a key nothing is stored:
`vault_from_key(None)` is None and the settings feature refuses the credentials section.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from commands.i18n import N_

__all__ = ["CREDENTIAL_FIELDS", "CredentialVault", "InvalidKey", "InvalidToken", "vault_from_key"]

#: every credential a workspace may set: field -> its label (the redaction list names each field)
CREDENTIAL_FIELDS: dict[str, str] = {
    "popbill_link_id": N_("Popbill LinkID"),
    "popbill_secret_key": N_("Popbill SecretKey"),
    "popbill_corp_num": N_("Popbill CorpNum"),
    "payssam_api_key": N_("Payssam API key"),
    "hiworks_office_token": N_("Hiworks office token"),
    "hiworks_bill_access_token": N_("Hiworks bill access token"),
    "abillify_username": N_("Abillify username"),
    "abillify_password": N_("Abillify password"),
}


class InvalidToken(Exception):
    """A sealed value that does not open under this key: tampered with, or sealed under another key.

    Ours rather than `cryptography.fernet.InvalidToken`, so that importing this module does not
    import cryptography (about 7 MB and its OpenSSL bindings) at every `serve` start
    (tests/bot/test_start.py): it is imported when a vault is made, and most installs never set a key.
    """


class InvalidKey(ValueError):
    """INVOICEBOT_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes)."""


class CredentialVault:
    """Encrypts and decrypts one workspace's credential set (a JSON object of strings)."""

    def __init__(self, key: str) -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise InvalidKey("INVOICEBOT_ENCRYPTION_KEY must be a Fernet key: generate one with `python -c "
                             "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                             ) from None

    def seal(self, values: Mapping[str, str]) -> str:
        """The stored form of `values` (only known fields, empty values dropped)."""
        clean = {k: v for k, v in values.items() if k in CREDENTIAL_FIELDS and v}
        return self._fernet.encrypt(json.dumps(clean, sort_keys=True).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, str]:
        """The clear values of a stored token (empty when none). A token sealed under another
        key (the key was rotated without re-entering the credentials) raises `InvalidToken`."""
        if not sealed:
            return {}
        from cryptography.fernet import InvalidToken as FernetInvalidToken

        try:
            data = json.loads(self._fernet.decrypt(sealed.encode()).decode())
        except FernetInvalidToken:
            raise InvalidToken("the credentials do not open under INVOICEBOT_ENCRYPTION_KEY") from None
        return {str(k): str(v) for k, v in data.items() if k in CREDENTIAL_FIELDS}

    def merged(self, sealed: str | None, replacements: Mapping[str, str]) -> str:
        """`sealed` with the non-empty `replacements` written over it (an empty field keeps the stored value)."""
        values = self.open(sealed)
        values.update({k: v.strip() for k, v in replacements.items() if k in CREDENTIAL_FIELDS and v and v.strip()})
        return self.seal(values)

    @staticmethod
    def status(values: Mapping[str, str]) -> dict[str, bool]:
        """What may be shown: whether each field is set, never its value."""
        return {field: bool(values.get(field)) for field in CREDENTIAL_FIELDS}


def vault_from_key(key: str | None) -> CredentialVault | None:
    """The vault for INVOICEBOT_ENCRYPTION_KEY; None without a key (credentials are refused)."""
    return CredentialVault(key) if key else None


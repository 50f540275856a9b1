"""Provider credentials: sealed with the key, merged field by field, shown only as set / not set."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from commands.workflow.credentials import CREDENTIAL_FIELDS, CredentialVault, InvalidKey, InvalidToken, vault_from_key
from providers.redact import redact_mapping


def test_sealed_values_open_only_with_the_key_and_hide_the_secret() -> None:
    vault = CredentialVault(Fernet.generate_key().decode())
    sealed = vault.seal({"popbill_secret_key": "s3cret-value", "unknown": "dropped", "payssam_api_key": ""})
    assert "s3cret-value" not in sealed
    assert vault.open(sealed) == {"popbill_secret_key": "s3cret-value"}
    with pytest.raises(InvalidToken):
        CredentialVault(Fernet.generate_key().decode()).open(sealed)


def test_an_empty_replacement_keeps_the_stored_value() -> None:
    vault = CredentialVault(Fernet.generate_key().decode())
    sealed = vault.merged(None, {"popbill_link_id": "LINK", "popbill_secret_key": "old"})
    sealed = vault.merged(sealed, {"popbill_secret_key": "new", "popbill_link_id": "  "})
    assert vault.open(sealed) == {"popbill_link_id": "LINK", "popbill_secret_key": "new"}
    status = CredentialVault.status(vault.open(sealed))
    assert status["popbill_secret_key"] is True and status["payssam_api_key"] is False
    assert set(status) == set(CREDENTIAL_FIELDS)


def test_no_key_means_no_vault_and_a_bad_key_says_how_to_make_one() -> None:
    assert vault_from_key(None) is None and vault_from_key("") is None
    with pytest.raises(InvalidKey, match=r"Fernet\.generate_key"):
        CredentialVault("not-a-key")


def test_every_credential_field_is_redacted_in_logs_and_audit_details() -> None:
    masked = redact_mapping({field: "x" for field in CREDENTIAL_FIELDS} | {"credentials": "gAAAA"})
    assert set(masked.values()) == {"***"}

"""A workspace's credentials laid over the environment's provider configurations."""

from __future__ import annotations

from pydantic import SecretStr

from providers.config import DEMO_POPBILL, PayssamConfig, SellerConfig
from providers.models import Provider
from providers.popbill import PopbillService
from providers.registry import ProviderConfigs, build_services, configs_with_credentials

BASE = ProviderConfigs(popbill=DEMO_POPBILL.model_copy(update={"api_url": "http://127.0.0.1:9", "is_test": True}),
                       payssam=PayssamConfig(member="M", merchant="X"))


def test_own_credentials_replace_only_the_secrets_and_keep_hosts_and_sandbox_mode() -> None:
    configs, own, incomplete = configs_with_credentials(BASE, {
        "popbill_link_id": "ALPHA", "popbill_secret_key": "c2VjcmV0", "popbill_corp_num": "1234567891"})
    assert own == {Provider.POPBILL} and incomplete == {}
    assert configs.popbill.link_id == "ALPHA" and configs.popbill.corp_num == "1234567891"
    secret = configs.popbill.secret_key
    assert isinstance(secret, SecretStr) and secret.get_secret_value() == "c2VjcmV0"
    assert configs.popbill.api_url == "http://127.0.0.1:9" and configs.popbill.sandbox
    assert configs.payssam is BASE.payssam
    services = build_services(configs, SellerConfig(), only=own)
    assert set(services) == {Provider.POPBILL} and isinstance(services[Provider.POPBILL], PopbillService)


def test_half_a_credential_set_is_reported_not_filled_in_from_the_environment() -> None:
    configs, own, incomplete = configs_with_credentials(BASE, {"popbill_link_id": "ALPHA", "payssam_api_key": "k"})
    assert own == {Provider.PAYSSAM} and incomplete == {Provider.POPBILL: ["secret_key"]}
    assert configs.popbill is BASE.popbill
    assert configs.payssam.api_key is not None and configs.payssam.member == "M"

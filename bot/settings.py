"""Configuration: environment variables and an optional `invoicebot.toml`.

Environment wins over the file; the file takes the same names in lower case
(`slack_bot_token = "..."`) or grouped the same way. With nothing configured the bot
runs on its embedded defaults: a SQLite file in the working directory, the built-in
provider sandboxes and the local console.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from commands.ledger import ApprovalAction
from providers.bizno import InvalidBizno, checksum_ok, normalize_bizno
from providers.config import (
    AbillifyConfig,
    HiworksConfig,
    PayssamConfig,
    PopbillConfig,
    SellerConfig,
    parse_vat_rates,
)
from providers.currency import is_iso_currency
from providers.http import HttpPolicy
from providers.sandbox.base import Faults

__all__ = ["Settings", "load_settings"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
#: manifest.yml's bot scopes (tests/test_manifest.py keeps them equal)
DEFAULT_SLACK_SCOPES = ("commands,chat:write,files:read,files:write,im:write,usergroups:read,channels:read,"
                        "channels:history,groups:history,users:read")

#: Slack user (U…, W…) and user-group (S…) ids, as Slack writes them
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9_]{1,}$")
#: the database drivers the ledger runs on
_DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class Settings(BaseSettings):
    """Every setting, by its environment variable name."""

    model_config = SettingsConfigDict(
        env_file=None,
        extra="ignore",
        case_sensitive=False,
        toml_file=os.environ.get("INVOICEBOT_CONFIG", "invoicebot.toml"),
        populate_by_name=True,
    )

    # -- Slack ---------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    #: OAuth installs for many workspaces (`bot.oauth`): both set turns them on; without them the bot
    #: serves the one workspace SLACK_BOT_TOKEN belongs to
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    #: the bot scopes an install asks for: the manifest's (`oauth_config.scopes.bot`)
    slack_scopes: str = DEFAULT_SLACK_SCOPES
    #: the redirect URL registered with Slack; unset: the one Slack has for the app
    slack_redirect_uri: str | None = None
    #: Slack's authorize page (a test points it elsewhere)
    slack_authorization_url: str = "https://slack.com/oauth/v2/authorize"

    # -- the bot ---------------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./invoicebot.db"
    invoicebot_env: Literal["development", "test", "production"] = "development"
    invoicebot_approvals_channel: str | None = None
    invoicebot_approvers: str = ""  # comma-separated user ids (U…/W…) and user-group ids (S…)
    #: admins (same form): export, resend to a new address without approval
    invoicebot_admins: str = ""
    #: who may ask for documents (same form, plus channel ids C…/G…: their members); empty: everyone
    invoicebot_requesters: str = ""
    invoicebot_four_eyes: bool = True
    invoicebot_approval_ttl_hours: float = 24.0
    invoicebot_approval_actions: str = "issue,destroy"
    invoicebot_timezone: str = "Asia/Seoul"
    #: ko | en: everyone reads this (a person's `/invoice lang` still wins); auto: each person their
    #: Slack locale, channels the language most people read (Korean when unknown)
    invoicebot_language: Literal["ko", "en", "auto"] = "auto"
    invoicebot_digest_grace_minutes: int = 120
    invoicebot_expiring_days: int = 3
    #: the digest's and `/invoice deadlines`' window: unissued tax invoices due within this many days
    invoicebot_deadline_days: int = Field(default=5, ge=0, le=60)
    invoicebot_public_url: str | None = None  # where providers reach /webhooks/ (callbacks)
    #: keys the tokens in callback URLs (bot.callback_auth); defaults to one derived from SLACK_SIGNING_SECRET
    invoicebot_webhook_secret: SecretStr | None = None
    invoicebot_instance_id: str | None = None
    invoicebot_log_level: str = "INFO"
    invoicebot_log_format: Literal["text", "json"] = "text"
    invoicebot_sweep_concurrency: int = 16
    #: how long an execution may run before `recover` assumes its process died and takes it over
    invoicebot_executing_stale_seconds: float = 20.0
    #: on SIGTERM, how long `serve` waits for in-flight Slack work (provider calls) before exiting
    invoicebot_shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    #: a document total (won; minor units in other currencies) above which issue and destroy need
    #: `invoicebot_large_amount_approvals` distinct approvers; unset: one approval whatever the amount
    invoicebot_two_approvals_above: int | None = Field(default=None, ge=0)
    invoicebot_large_amount_approvals: int = Field(default=2, ge=1, le=10)
    #: how long a buyer's closure (휴폐업) answer is reused when a request is made
    invoicebot_closure_ttl_hours: float = Field(default=24.0, ge=0)
    #: Fernet key encrypting each workspace's provider credentials at rest (App Home → Settings);
    #: unset: credentials cannot be stored per workspace (the environment's providers serve all)
    invoicebot_encryption_key: SecretStr | None = None

    # -- seller (our business) ---------------------------------------------------
    invoicebot_seller_bizno: str = SellerConfig().bizno
    invoicebot_seller_name: str = SellerConfig().name
    invoicebot_seller_ceo: str = SellerConfig().ceo_name
    invoicebot_seller_address: str = SellerConfig().address
    invoicebot_seller_email: str = SellerConfig().email

    # -- providers -------------------------------------------------------------
    popbill_link_id: str | None = None
    popbill_secret_key: SecretStr | None = None
    popbill_corp_num: str | None = None
    popbill_user_id: str | None = None
    popbill_api_url: str | None = None
    popbill_auth_url: str | None = None
    popbill_is_test: bool = True

    payssam_api_key: SecretStr | None = None
    payssam_member: str | None = None
    payssam_merchant: str | None = None
    payssam_api_url: str | None = None

    hiworks_office_token: SecretStr | None = None
    hiworks_bill_access_token: SecretStr | None = None
    hiworks_api_url: str | None = None

    abillify_username: str | None = None
    abillify_password: SecretStr | None = None
    abillify_api_url: str | None = None
    #: the VAT rates (percent) an Abillify line may carry, comma-separated, and the default one
    invoicebot_abillify_vat_rates: str = "19,7,0"
    invoicebot_abillify_default_vat_rate: str = "19"
    #: the currency a new Abillify invoice starts in (ISO 4217)
    invoicebot_abillify_currency: str = "EUR"

    provider_connect_timeout: float = 5.0
    provider_read_timeout: float = 20.0
    provider_max_attempts: int = 3

    # -- sandboxes ---------------------------------------------------------------
    #: standing faults per sandbox, JSON: {"popbill": {"latency_ms": 2000}}
    invoicebot_sandbox_faults: dict[str, Faults] = Field(default_factory=dict)
    invoicebot_sandbox_host: str = "127.0.0.1"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls), file_secret_settings

    @field_validator("invoicebot_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Seoul)") from exc
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("invoicebot_approval_actions")
    @classmethod
    def _known_actions(cls, value: str) -> str:
        known = [a.value for a in ApprovalAction]
        unknown = [x.strip() for x in value.split(",") if x.strip() and x.strip() not in known]
        if unknown:
            raise ValueError(f"unknown action {', '.join(map(repr, unknown))} (choose from {', '.join(known)})")
        return value

    @field_validator("invoicebot_abillify_vat_rates", "invoicebot_abillify_default_vat_rate")
    @classmethod
    def _vat_rates(cls, value: str) -> str:
        parse_vat_rates(value)
        return value

    @field_validator("invoicebot_abillify_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not is_iso_currency(value.strip().upper()):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. EUR)")
        return value.strip().upper()

    @field_validator("invoicebot_approvers")
    @classmethod
    def _slack_ids(cls, value: str) -> str:
        wrong = [x.strip() for x in value.split(",") if x.strip() and not _SLACK_ID.match(x.strip())]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong[:3]))} is not a Slack user (U…, W…) or user-group (S…) id")
        return value

    @field_validator("invoicebot_seller_bizno")
    @classmethod
    def _valid_bizno(cls, value: str) -> str:
        try:
            digits = normalize_bizno(value)
        except InvalidBizno as exc:
            raise ValueError(f"{value!r} is not a 10-digit business number") from exc
        if not checksum_ok(digits):
            raise ValueError(f"'{value}' fails the business number check digit")
        return digits

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(_DATABASE_SCHEMES):
            raise ValueError(f"unsupported database URL (it must start with {' or '.join(_DATABASE_SCHEMES)})")
        return value

    @model_validator(mode="after")
    def _production_needs_slack(self) -> Settings:
        if self.invoicebot_env == "production" and not self.slack_signing_secret and not self.slack_app_token:
            raise ValueError("production needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
        return self

    # -- derived -----------------------------------------------------------------
    @property
    def oauth_enabled(self) -> bool:
        """Installs through the OAuth flow (many workspaces) rather than one bot token."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def scopes(self) -> list[str]:
        return [x.strip() for x in self.slack_scopes.split(",") if x.strip()]

    @property
    def approvers(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.invoicebot_approvers.split(",") if x.strip())

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.invoicebot_admins.split(",") if x.strip())

    @property
    def requesters(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.invoicebot_requesters.split(",") if x.strip())

    @property
    def approval_actions(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.invoicebot_approval_actions.split(",") if x.strip())

    @property
    def approval_ttl(self) -> timedelta:
        return timedelta(hours=self.invoicebot_approval_ttl_hours)

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.invoicebot_timezone)

    @property
    def production(self) -> bool:
        return self.invoicebot_env == "production"

    def http_policy(self) -> HttpPolicy:
        return HttpPolicy(
            connect_timeout=self.provider_connect_timeout,
            read_timeout=self.provider_read_timeout,
            max_attempts=self.provider_max_attempts,
        )

    def seller(self) -> SellerConfig:
        return SellerConfig(
            bizno=self.invoicebot_seller_bizno,
            name=self.invoicebot_seller_name,
            ceo_name=self.invoicebot_seller_ceo,
            address=self.invoicebot_seller_address,
            email=self.invoicebot_seller_email,
        )

    def popbill(self) -> PopbillConfig:
        extra: dict[str, Any] = {}
        if self.popbill_corp_num:
            extra["corp_num"] = self.popbill_corp_num
        return PopbillConfig(
            link_id=self.popbill_link_id,
            secret_key=self.popbill_secret_key,
            user_id=self.popbill_user_id,
            api_url=self.popbill_api_url,
            auth_url=self.popbill_auth_url,
            is_test=self.popbill_is_test,
            policy=self.http_policy(),
            **extra,
        )

    def payssam(self) -> PayssamConfig:
        return PayssamConfig(
            api_key=self.payssam_api_key,
            member=self.payssam_member,
            merchant=self.payssam_merchant,
            api_url=self.payssam_api_url,
            policy=self.http_policy(),
        )

    def hiworks(self) -> HiworksConfig:
        return HiworksConfig(
            office_token=self.hiworks_office_token,
            bill_access_token=self.hiworks_bill_access_token,
            api_url=self.hiworks_api_url,
            policy=self.http_policy(),
        )

    def abillify(self) -> AbillifyConfig:
        return AbillifyConfig(
            username=self.abillify_username,
            password=self.abillify_password,
            api_url=self.abillify_api_url,
            policy=self.http_policy(),
            vat_rates=parse_vat_rates(self.invoicebot_abillify_vat_rates),
            default_vat_rate=parse_vat_rates(self.invoicebot_abillify_default_vat_rate)[0],
            currency=self.invoicebot_abillify_currency,
        )

    def database_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix):])
        return None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `invoicebot.toml`, with explicit overrides on top."""
    return Settings(**overrides)

"""Provider configuration.

Plain pydantic models (no environment reading here: `bot.settings` builds them from
the environment and `invoicebot.toml`). A config with no credentials means "run
against the built-in sandbox", and the sandbox accepts the documented demo
credentials below.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, SecretStr

from providers.http import HttpPolicy

__all__ = [
    "DEFAULT_ABILLIFY_VAT_RATE",
    "DEFAULT_ABILLIFY_VAT_RATES",
    "DEMO_ABILLIFY",
    "DEMO_HIWORKS",
    "DEMO_PAYSSAM",
    "DEMO_POPBILL",
    "DEMO_SELLER_BIZNO",
    "AbillifyConfig",
    "HiworksConfig",
    "PayssamConfig",
    "PopbillConfig",
    "SellerConfig",
    "parse_vat_rates",
]

#: Seller used by the sandboxes and demos (Popbill's published test business number).
DEMO_SELLER_BIZNO = "6798700433"


class SellerConfig(BaseModel):
    """Our own business, printed on every document as the supplier."""

    model_config = ConfigDict(frozen=True)

    bizno: str = DEMO_SELLER_BIZNO
    name: str = "인보이스봇 주식회사"
    ceo_name: str = "홍길동"
    address: str = "서울특별시 중구 세종대로 110"
    biz_type: str = "서비스"
    biz_class: str = "소프트웨어"
    contact_name: str = "재무팀"
    email: str = "finance@example.com"
    phone: str = "02-1234-5678"


class _ProviderConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_url: str | None = None  # None: the provider's default (or the sandbox when not configured)
    policy: HttpPolicy = HttpPolicy()
    #: force the SANDBOX label even with credentials (e.g. pointing at a sandbox started elsewhere)
    sandbox: bool = False

    @property
    def configured(self) -> bool:
        return False  # each provider says what "has credentials" means


class PopbillConfig(_ProviderConfig):
    link_id: str | None = None
    secret_key: SecretStr | None = None
    corp_num: str = DEMO_SELLER_BIZNO  # the member business number the calls act for
    user_id: str | None = None
    auth_url: str | None = None
    is_test: bool = True  # Popbill's own test environment (popbill-test.linkhub.co.kr)
    ip_restrict: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.link_id and self.secret_key)


class PayssamConfig(_ProviderConfig):
    api_key: SecretStr | None = None
    member: str | None = None
    merchant: str | None = None
    callback_url: str | None = None  # where Payssam posts payment callbacks (…/webhooks/payssam)

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.member and self.merchant)


class HiworksConfig(_ProviderConfig):
    office_token: SecretStr | None = None
    bill_access_token: SecretStr | None = None
    reseller_code: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.office_token and self.bill_access_token)


#: the VAT rates (percent) an EU seller offers per line unless configured (Germany: standard, reduced,
#: zero for reverse charge and exports), and the rate of a line that names none
DEFAULT_ABILLIFY_VAT_RATES: tuple[Decimal, ...] = (Decimal(19), Decimal(7), Decimal(0))
DEFAULT_ABILLIFY_VAT_RATE = Decimal(19)


def parse_vat_rates(text: str) -> tuple[Decimal, ...]:
    """``"19, 7, 0%"`` -> (19, 7, 0): percentages from 0 to 100 with at most two decimals, at least one."""
    rates: list[Decimal] = []
    for part in (p.strip().rstrip("%").strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            rate = Decimal(part)
        except InvalidOperation:
            raise ValueError(f"VAT rate {part!r} is not a number (e.g. 19,7,0)") from None
        if not rate.is_finite() or not 0 <= rate <= 100 or rate != rate.quantize(Decimal("0.01")):
            raise ValueError(f"VAT rate {part!r} must be a percentage from 0 to 100 (e.g. 19 or 5.5)")
        rates.append(rate.normalize() if rate else Decimal(0))
    if not rates:
        raise ValueError("give at least one VAT rate (e.g. 19,7,0)")
    return tuple(dict.fromkeys(rates))


class AbillifyConfig(_ProviderConfig):
    username: str | None = None
    password: SecretStr | None = None
    #: the rates a line may carry and the default (INVOICEBOT_ABILLIFY_VAT_RATES, _DEFAULT_VAT_RATE)
    vat_rates: tuple[Decimal, ...] = DEFAULT_ABILLIFY_VAT_RATES
    default_vat_rate: Decimal = DEFAULT_ABILLIFY_VAT_RATE
    #: the currency a new Abillify invoice starts in (INVOICEBOT_ABILLIFY_CURRENCY)
    currency: str = "EUR"

    @property
    def configured(self) -> bool:
        return bool(self.username and self.password)


# Documented demo credentials the sandboxes accept when no credentials are configured.
DEMO_POPBILL = PopbillConfig(
    link_id="INVOICEBOT",
    # base64("invoicebot-sandbox-demo-secret-key"): a published demo value, not a secret
    secret_key=SecretStr("aW52b2ljZWJvdC1zYW5kYm94LWRlbW8tc2VjcmV0LWtleQ=="),
    corp_num=DEMO_SELLER_BIZNO,
    user_id="testkorea",
    sandbox=True,
)
DEMO_PAYSSAM = PayssamConfig(
    api_key=SecretStr("SANDBOX-API-KEY"), member="SANDBOX-MEMBER", merchant="SANDBOX-MERCHANT", sandbox=True
)
DEMO_HIWORKS = HiworksConfig(
    office_token=SecretStr("sandbox-office-token"),
    bill_access_token=SecretStr("sandbox-bill-access-token"),
    sandbox=True,
)
DEMO_ABILLIFY = AbillifyConfig(username="sandbox", password=SecretStr("sandbox-password"), sandbox=True)

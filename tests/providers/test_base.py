"""Provider rules the commands layer checks through `Capabilities` (providers/base.py)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pytest

from providers import abillify, hiworks, payssam, popbill
from providers.base import Capabilities, implements
from providers.errors import NotSupported, RequestInvalid
from providers.models import DocumentKind, Provider
from providers.payssam.client import MAX_PRICE
from providers.registry import CAPABILITIES

POPBILL = popbill.PopbillService.capabilities
PAYSSAM = payssam.service.CAPABILITIES
HIWORKS = hiworks.service.CAPABILITIES
ABILLIFY = abillify.service.CAPABILITIES


@pytest.mark.parametrize("caps", [POPBILL, PAYSSAM, HIWORKS])
def test_korean_providers_issue_in_krw_only(caps: Capabilities) -> None:
    caps.require_currency("KRW")
    with pytest.raises(NotSupported) as err:
        caps.require_currency("EUR")
    assert err.value.code == "currency"
    assert "KRW only, not EUR" in err.value.message
    assert err.value.user_hint and "KRW" in err.value.user_hint


def test_abillify_issues_in_any_currency() -> None:
    assert ABILLIFY.currencies is None
    for code in ("EUR", "USD", "KRW", "JPY"):
        ABILLIFY.require_currency(code)


def test_payssam_caps_the_total_at_ten_digits_of_won() -> None:
    assert PAYSSAM.max_total == MAX_PRICE == 9_999_999_999
    PAYSSAM.require_total(MAX_PRICE, "KRW")
    with pytest.raises(RequestInvalid) as err:
        PAYSSAM.require_total(MAX_PRICE + 1, "KRW")
    assert err.value.code == "max_total"
    assert "9,999,999,999 KRW" in err.value.message


@pytest.mark.parametrize("caps", [POPBILL, HIWORKS, ABILLIFY])
def test_other_providers_set_no_total_of_their_own(caps: Capabilities) -> None:
    assert caps.max_total is None
    caps.require_total(10**15, "KRW")


def test_payssam_bills_need_a_mobile_number() -> None:
    assert PAYSSAM.needs_mobile(DocumentKind.BILL)
    assert PAYSSAM.require_mobile(DocumentKind.BILL, "+82 10-1234-5678") == "01012345678"
    for phone in (None, ""):
        with pytest.raises(RequestInvalid) as err:
            PAYSSAM.require_mobile(DocumentKind.BILL, phone)
        assert err.value.code == "invalid_phone"
        assert "no phone number" in err.value.message
    with pytest.raises(RequestInvalid) as err:
        PAYSSAM.require_mobile(DocumentKind.BILL, "02-123-4567")
    assert "not a mobile number" in err.value.message
    assert err.value.user_hint and "010-1234-5678" in err.value.user_hint


def test_documents_that_do_not_go_to_a_phone_need_no_mobile_number() -> None:
    assert not POPBILL.needs_mobile(DocumentKind.TAX_INVOICE)
    assert POPBILL.require_mobile(DocumentKind.TAX_INVOICE, None) is None
    assert POPBILL.require_mobile(DocumentKind.CASH_RECEIPT, "02-123-4567") is None


def test_defaults_allow_everything_new_rules_would_refuse() -> None:
    caps = Capabilities(provider=Provider.ABILLIFY, kinds=frozenset({DocumentKind.INVOICE}))
    assert (caps.currencies, caps.max_total, caps.mobile_kinds) == (None, None, frozenset())


def test_the_registry_maps_every_provider_to_its_services_capabilities() -> None:
    assert set(CAPABILITIES) == set(Provider)
    assert CAPABILITIES[Provider.PAYSSAM] is PAYSSAM
    assert CAPABILITIES[Provider.POPBILL] is POPBILL
    assert all(caps.provider is provider for provider, caps in CAPABILITIES.items())


@runtime_checkable
class _Pdf(Protocol):
    async def pdf(self) -> bytes: ...


class _WithPdf:
    async def pdf(self) -> bytes:
        return b"%PDF"


class _WithoutPdf:
    pass


def test_a_capability_is_the_same_answer_as_isinstance_worked_out_once_per_class(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert implements(_WithPdf(), _Pdf) and not implements(_WithoutPdf(), _Pdf) and not implements(None, _Pdf)
    asked: list[object] = []
    original = type(_Pdf).__instancecheck__

    def counting(cls: type, obj: object) -> bool:
        asked.append(obj)
        return original(cls, obj)  # type: ignore[no-any-return]

    monkeypatch.setattr(type(_Pdf), "__instancecheck__", counting)
    for _ in range(3):
        assert implements(_WithPdf(), _Pdf)
    assert asked == [], "the class's answer is kept: the protocol's members are not looked up again"

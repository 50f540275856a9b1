"""The provider limits the sweep plans with agree with the seeds and with the services."""

from __future__ import annotations

from providers import popbill
from providers.limits import LIMITS, ProviderLimits, limits_for
from providers.models import Provider
from tests.paths import shared_path


def test_every_provider_declares_its_limits_with_a_source() -> None:
    assert set(LIMITS) == set(Provider)
    assert all(limit.max_concurrent >= 1 and limit.source for limit in LIMITS.values())


def test_hiworks_daily_budget_is_the_one_its_documentation_states() -> None:
    seed = shared_path("seeds", "004_7197ba483d379884.txt").read_text(encoding="utf-8")
    assert "오피스 당 최대 <strong>1,000건/일</strong>" in seed
    hiworks = LIMITS[Provider.HIWORKS]
    assert hiworks.daily_calls == 1000
    assert hiworks.bulk_daily_calls is not None and 0 < hiworks.bulk_daily_calls < 1000  # people keep a share


def test_popbill_batch_is_its_getinfos_maximum() -> None:
    assert LIMITS[Provider.POPBILL].batch_size == popbill.PopbillService.capabilities.batch_size == 1000


def test_a_service_may_declare_its_own_limits() -> None:
    class Own:
        limits = ProviderLimits(max_concurrent=2, daily_calls=50)

    assert limits_for(Provider.HIWORKS, Own()).daily_calls == 50
    assert limits_for(Provider.HIWORKS, object()) is LIMITS[Provider.HIWORKS]

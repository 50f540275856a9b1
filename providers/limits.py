"""What each provider lets us do per unit of time: declared once, here, with where each number comes from.

A long read such as the daily status sweep runs each provider at its `max_concurrent` calls
(providers in parallel with each other), spaces calls to `per_second` when one is declared,
and plans within `daily_calls` when the provider meters calls by the day. Where the
provider's documentation is silent the number is an assumption, and says so: change it here
when a provider tells you otherwise.

Sources (``../shared/seeds``, ``../shared/reference``):

* **Popbill**: getInfos takes at most 1,000 keys a call (seed 001 "getInfos: Maximum: 1,000
  invoices"; reference/popbill.md getInfos "max 1000"). The seeds and the reference are silent
  on concurrency, rates and daily quotas; reads are not metered in the price list we know.
  Assumed: 4 batch calls at once (each carries up to 1,000 keys, so 4 is already 4,000
  documents in flight), no rate, no daily budget.
* **Payssam**: reference/providers.md §1 "Rate limits: NOT FOUND"; the only client seen spaces
  its bulk *sends* 100 ms apart by its own choice (S12), which says nothing about reads.
  Assumed: 16 reads at once (the service's own read concurrency since it was written), no
  rate, no daily budget.
* **Hiworks**: seed 004 "제한 정책": with an ``officeToken``, at most **1,000 calls a day per
  office** (성공 기준, successful calls), shared by every caller of the token; reference
  §3.3 saw ``x-ratelimit-limit: 1000`` on responses. The seed does not say when the day starts:
  assumed midnight Korean time (Hiworks is a Korean service). Concurrency is not documented:
  assumed 8. We count every call we make, successful or not, which can only under-spend.
* **Abillify**: reference §2.6: HTTP 429 exists (A18), numeric limits NOT FOUND; the HTTP
  layer honours a 429's ``Retry-After``. Assumed: 16 reads at once, no rate, no daily budget.

Batch reads (``batch_size``): only Popbill documents one (getInfos, 1,000 keys). Payssam's
``/bill/read`` reads a single bill and there is no period or list query (reference §1.4);
Hiworks has no list or search call (§3.2); Abillify lists invoices per identity or order only,
with no global list and no batch get (§2.2), and a per-identity list would read closed
invoices too. Those three are read one document a call.

What bounds a sweep's wall time (`python -m bench --only sweep`, 10,000 documents): not the
planning or the batching (every provider has its `max_concurrent` calls in flight from the
first 0.1 s to its last document, with no gaps), but the slowest provider's sequential rounds:
Hiworks' 900 budgeted reads at 8 at once are 113 rounds, so every millisecond a call spends
beyond the provider's own latency (its answer waiting behind the other providers' answers for
the event loop) costs 0.11 s of wall. That is why the provider clients' CPU per call matters
(`providers._h1`, `providers.http`), and why raising a concurrency above these assumptions is
not the fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from zoneinfo import ZoneInfo

from providers.models import Provider

__all__ = ["LIMITS", "ProviderLimits", "calls_spent_seen", "limits_for"]


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    """The call limits we assume for one provider (see the module docstring for the sources).

    Args:
        max_concurrent: calls in flight at once, at most.
        per_second: calls started per second, at most (None: no rate of its own).
        daily_calls: calls per day, at most, shared by everyone using the same credentials (None: unmetered).
        day_zone: the IANA zone whose midnight starts a new day for `daily_calls`.
        batch_size: documents one status call reads (1 where the provider has no batch read).
        reserve_for_people: of `daily_calls`, what a bulk job such as the sweep leaves for people's
            own commands (issue, status) during the rest of the day.
        source: where the numbers come from, in a few words (shown by the benchmark).
    """

    max_concurrent: int
    per_second: float | None = None
    daily_calls: int | None = None
    day_zone: str = "Asia/Seoul"
    batch_size: int = 1
    reserve_for_people: int = 0
    source: str = ""

    @property
    def bulk_daily_calls(self) -> int | None:
        """The calls a day a bulk job may spend (None: unmetered)."""
        if self.daily_calls is None:
            return None
        return max(0, self.daily_calls - self.reserve_for_people)


LIMITS: Mapping[Provider, ProviderLimits] = MappingProxyType({
    Provider.POPBILL: ProviderLimits(
        max_concurrent=4, batch_size=1000,
        source="getInfos max 1,000 keys (seed 001); concurrency not documented: assumed 4"),
    Provider.PAYSSAM: ProviderLimits(
        max_concurrent=16,
        source="no rate limit published (reference §1): assumed 16 reads at once"),
    Provider.HIWORKS: ProviderLimits(
        max_concurrent=8, daily_calls=1000, reserve_for_people=100,
        source="1,000 calls a day per office (seed 004 제한 정책); concurrency not documented: assumed 8"),
    Provider.ABILLIFY: ProviderLimits(
        max_concurrent=16,
        source="429 exists, no numbers published (reference §2.6): assumed 16 reads at once"),
})


def limits_for(provider: Provider, service: object | None = None) -> ProviderLimits:
    """The limits of `provider`: a service's own ``limits`` attribute when it declares one (a
    per-workspace client with another contract), else the table above."""
    own = getattr(service, "limits", None)
    if isinstance(own, ProviderLimits):
        return own
    return LIMITS[provider]


def calls_spent_seen(service: object, limits: ProviderLimits, now: dt.datetime) -> int | None:
    """The calls the provider itself says were spent today, from the last rate-limit headers its
    client saw (Hiworks: ``x-ratelimit-limit`` / ``x-ratelimit-remaining``, `HiworksClient.rate_limit`);
    None when the client saw none today. The provider counts every caller of the credentials
    (people's commands, other replicas, other tools), which our own count cannot see."""
    seen = getattr(getattr(service, "client", None), "rate_limit", None)
    limit, remaining, seen_at = (getattr(seen, name, None) for name in ("limit", "remaining", "seen_at"))
    if not isinstance(limit, int) or not isinstance(remaining, int) or not isinstance(seen_at, dt.datetime):
        return None
    zone = ZoneInfo(limits.day_zone)
    if seen_at.astimezone(zone).date() != now.astimezone(zone).date():
        return None  # yesterday's count: the provider's day has turned
    return max(0, limit - remaining)

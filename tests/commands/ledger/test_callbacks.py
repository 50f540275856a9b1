"""CallbackRepo: provider callbacks are deduplicated per provider and stored redacted."""

from __future__ import annotations

import asyncio

from commands.ledger import Store


async def test_callbacks_are_deduplicated(store: Store) -> None:
    payload = {"billId": "INV-000001", "apprState": "F", "hash": "secret-hash"}

    firsts = await asyncio.gather(*(store.record_callback("payssam", "INV-000001:F", payload) for _ in range(10)))

    assert firsts.count(True) == 1
    assert await store.record_callback("payssam", "INV-000001:C", payload)
    assert await store.record_callback("abillify", "INV-000001:F", payload)  # keys are per provider
    (latest, *_) = await store.callbacks.recent("payssam")
    assert latest.payload == {"billId": "INV-000001", "apprState": "F", "hash": "***"}

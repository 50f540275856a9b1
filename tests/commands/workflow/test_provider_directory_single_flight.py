"""A burst of requests past the directory's ttl reads the workspace's row once, not once each.

At c=200 every status asked `ProviderDirectory` for its workspace (twice: the service's binding
and the document's account); when the 15 s ttl ran out mid-burst, each sent its own
`workspace_settings` SELECT. Reads under way are shared, and a save made meanwhile is not
overwritten by a row read before it.
"""

from __future__ import annotations

import asyncio

from cryptography.fernet import Fernet

from commands.ledger import Store
from providers.models import Provider
from tests.commands.workflow.conftest import Env
from tests.commands.workflow.test_provider_directory import ALPHA, POPBILL_CREDS, wire


def count_reads(store: Store) -> list[object]:
    reads: list[object] = []
    get = store.workspace_settings.get

    async def counted(scope):  # type: ignore[no-untyped-def]
        reads.append(scope)
        return await get(scope)

    store.workspace_settings.get = counted  # type: ignore[method-assign]
    return reads


async def test_a_burst_past_the_ttl_reads_the_row_once(env: Env) -> None:
    settings, directory, builder = wire(env, key=Fernet.generate_key().decode())
    await settings.replace_credentials(ALPHA, POPBILL_CREDS, actor="U_ADA")
    reads = count_reads(env.store)

    found = await asyncio.gather(*(directory.providers_for("T_ALPHA") for _ in range(40)))

    assert len(reads) == 1 and len(builder.built) == 1
    assert all(f[Provider.POPBILL] is builder.built[0][1] for f in found)
    directory._ttl = 0.0  # every entry is past its ttl now
    await asyncio.gather(*(directory.providers_for("T_ALPHA") for _ in range(40)))
    assert len(reads) == 2 and len(builder.built) == 1  # same row: the same services, checked again


async def test_a_save_during_a_read_is_not_overwritten_by_it(env: Env) -> None:
    settings, directory, builder = wire(env, key=Fernet.generate_key().decode())
    await settings.replace_credentials(ALPHA, POPBILL_CREDS, actor="U_ADA")
    get = env.store.workspace_settings.get
    release = asyncio.Event()

    async def slow(scope):  # type: ignore[no-untyped-def]
        row = await get(scope)  # read before the save below
        await release.wait()
        return row

    env.store.workspace_settings.get = slow  # type: ignore[method-assign]
    first = asyncio.create_task(directory.providers_for("T_ALPHA"))
    await asyncio.sleep(0.05)
    env.store.workspace_settings.get = get  # type: ignore[method-assign]
    await settings.replace_credentials(ALPHA, {"popbill_link_id": "ALPHA2"}, actor="U_ADA")  # invalidates
    release.set()
    old = (await first)[Provider.POPBILL]

    newer = (await directory.providers_for("T_ALPHA"))[Provider.POPBILL]
    assert newer is not old and builder.built[-1][0]["popbill_link_id"] == "ALPHA2"
    await directory.aclose()
    assert {id(old), id(newer)} <= set(map(id, builder.closed))

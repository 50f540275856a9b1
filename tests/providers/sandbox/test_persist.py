"""Sandbox state in a file: a restarted sandbox still knows its documents, its clock and its port."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import httpx
import pytest

from providers.config import SellerConfig
from providers.payssam._wire import send_hash
from providers.registry import ProviderConfigs, build_sandboxes, start_providers
from providers.sandbox.abillify import AbillifySandbox
from providers.sandbox.hiworks import HiworksSandbox
from providers.sandbox.payssam import PayssamSandbox
from providers.sandbox.persist import SandboxStateFile
from providers.sandbox.popbill import PopbillSandbox
from tests.local_http import LOCAL_TLS, free_port


def new_bill(bill_id: str) -> dict[str, object]:
    return {"apiKey": "sandbox-api-key", "member": "sandbox-member", "merchant": "sandbox-merchant", "bill": {
        "billId": bill_id, "sendType": "TALK", "productName": "컨설팅", "price": "110000", "memberName": "김고객",
        "phone": "01012345678", "callbackUrl": "http://127.0.0.1:9/cb",
        "hash": send_hash(bill_id, "01012345678", "110000")}}


async def test_a_restarted_sandbox_knows_what_it_was_told_before(tmp_path: Path) -> None:
    first = PayssamSandbox()
    first.state_file = SandboxStateFile(tmp_path / "payssam.state")
    await first.start()
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=first.base_url, trust_env=False) as http:
        body = new_bill("INVZ2D000001")
        body.update(apiKey=first.api_key, member=first.member, merchant=first.merchant)
        assert (await http.post("/partner/bill", json=body)).json()["code"] == "0000"
        await http.post("/_sandbox/clock", json={"advance": 3600})
    await first.stop()

    second = PayssamSandbox()
    second.state_file = SandboxStateFile(tmp_path / "payssam.state")
    assert "INVZ2D000001" not in second.bills  # a fresh sandbox has only the demo data ...
    await second.start()  # ... until it loads the file
    try:
        assert "INVZ2D000001" in second.bills and "DEMO0001" in second.bills
        assert second.clock.offset == 3600
    finally:
        await second.stop()


@pytest.mark.parametrize("cls", [PopbillSandbox, PayssamSandbox, HiworksSandbox, AbillifySandbox])
def test_every_sandbox_state_round_trips_with_its_shared_objects(tmp_path: Path, cls: type) -> None:
    sandbox = cls()
    before = sandbox.snapshot()
    file = SandboxStateFile(tmp_path / "state")
    file.save(sandbox)
    restored = cls()
    restored.reset_state()  # empty
    assert file.load(restored)
    assert restored.snapshot().keys() == before.keys()
    if isinstance(restored, PopbillSandbox):  # the ItemKey index still points at the same documents
        assert restored.docs and all(restored.items[doc.item_key] is doc for doc in restored.docs.values())


def test_a_file_naming_other_callables_is_refused_and_the_demo_data_kept(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("owned",))

    path = tmp_path / "payssam.state"
    path.write_bytes(pickle.dumps({"format": 1, "state": {"attributes": {"bills": Evil()}}}))
    sandbox = PayssamSandbox()
    assert not SandboxStateFile(path).load(sandbox)
    assert "DEMO0001" in sandbox.bills


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    sandbox = HiworksSandbox()
    file = SandboxStateFile(tmp_path / "dir" / "hiworks.state")
    file.save(sandbox)
    file.save(sandbox)
    assert [p.name for p in (tmp_path / "dir").iterdir()] == ["hiworks.state"]


def test_build_sandboxes_gives_each_its_file_beside_the_state_dir(tmp_path: Path) -> None:
    sandboxes = build_sandboxes(ProviderConfigs(), state_dir=tmp_path)
    assert {s.name: s.state_file.path for s in sandboxes if s.state_file} == {
        name: tmp_path / f"{name}.state" for name in ("popbill", "payssam", "hiworks", "abillify")}
    assert all(s.state_file is None for s in build_sandboxes(ProviderConfigs()))



async def test_fixed_ports_are_used_and_a_taken_one_falls_back(tmp_path: Path) -> None:
    wanted = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        runtime = await start_providers(ProviderConfigs(), SellerConfig(), state_dir=tmp_path,
                                        ports={"payssam": wanted, "hiworks": busy})
        try:
            assert runtime.sandbox_urls["payssam"] == f"http://127.0.0.1:{wanted}"
            assert runtime.sandbox_urls["hiworks"] != f"http://127.0.0.1:{busy}"
        finally:
            await runtime.aclose()
    assert (tmp_path / "payssam.state").exists()

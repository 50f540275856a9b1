"""The official Popbill Node SDK (npm `popbill`, unmodified) as an outside client of the sandbox.

Our client and our sandbox were written from the same reading, so they agree with each other;
this test asks whether the sandbox also agrees with what LinkHub's own SDK sends. The SDK is
installed from the npm registry into a cache directory (``$INVOICEBOT_NODE_CACHE``, default
``~/.cache/invoicebot/popbill-node``) and `popbill_node/runner.js` runs its calls with only its
transport (`https.request`) pointed at the sandbox's loopback port.

Skipped only when node or npm are not installed (``scripts/test`` installs them on CI).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from providers.config import DEMO_POPBILL
from providers.sandbox.popbill import PopbillSandbox

HERE = Path(__file__).resolve().parent / "popbill_node"
SDK_VERSION = json.loads((HERE / "package.json").read_text())["dependencies"]["popbill"]
CORP = DEMO_POPBILL.corp_num


def _cache_dir() -> Path:
    configured = os.environ.get("INVOICEBOT_NODE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "invoicebot" / "popbill-node"


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    """A directory whose node_modules holds the pinned `popbill` SDK, installed once and kept."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the official Popbill Node SDK cannot run "
                    "(apt-get install nodejs npm; scripts/test does this when run as root)")
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    installed = cache / "node_modules" / "popbill" / "package.json"
    # pytest-xdist workers may reach this at once: one installs, the others wait for it
    with (cache / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists() or json.loads(installed.read_text()).get("version") != SDK_VERSION:
            shutil.copyfile(HERE / "package.json", cache / "package.json")
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=cache,
                           check=True, timeout=300)
    return cache


async def _run_sdk(sdk: Path, sandbox: PopbillSandbox, **env: str) -> dict[str, Any]:
    assert DEMO_POPBILL.link_id and DEMO_POPBILL.secret_key
    proc = await asyncio.create_subprocess_exec(
        "node", str(HERE / "runner.js"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "POPBILL_NODE_MODULES": str(sdk), "SANDBOX_URL": sandbox.base_url,
             "LINK_ID": DEMO_POPBILL.link_id, "SECRET_KEY": DEMO_POPBILL.secret_key.get_secret_value(),
             "CORP_NUM": CORP, **env})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


@pytest.fixture
async def sandbox():
    sb = PopbillSandbox()
    await sb.start()
    yield sb
    await sb.stop()


def _website_cashbill(sandbox: PopbillSandbox) -> str:
    return next(d.item_key for d in sandbox.items.values() if d.kind == "cashbill" and d.key is None)


async def test_the_node_sdk_runs_the_twelve_calls_against_the_sandbox(node_sdk, sandbox) -> None:
    filed = sandbox.docs[("cashbill", CORP, "DEMO-CB-002")]  # filed with the NTS (304): revoked, not cancelled
    ran = await _run_sdk(node_sdk, sandbox, RUN_ID="1", WEB_CASHBILL_ITEMKEY=_website_cashbill(sandbox),
                         FILED_CASHBILL_CONFIRM=filed.confirm_num, FILED_CASHBILL_DATE=filed.body["tradeDate"])
    assert ran["hosts"] == ["auth.linkhub.co.kr", "popbill-test.linkhub.co.kr"]  # the SDK's own hosts, IsTest
    calls = {c["name"]: c for c in ran["calls"]}
    failed = {name: c["error"] for name, c in calls.items() if not c["ok"]}
    assert failed == {}
    r = {name: c["result"] for name, c in calls.items()}
    assert r["taxinvoice.registIssue"]["code"] == 1 and len(r["taxinvoice.registIssue"]["ntsConfirmNum"]) == 24
    info = r["taxinvoice.getInfo"]
    assert (info["stateCode"], info["invoicerMgtKey"], info["ntsconfirmNum"]) == (
        300, "NODE-TI-1", r["taxinvoice.registIssue"]["ntsConfirmNum"])
    assert len(info["regDT"]) == 8 and info["lateIssueYN"] == "false"
    detail = r["taxinvoice.getDetailInfo"]
    assert [d["itemName"] for d in detail["detailList"]] == ["품목명1번", "품목명2번"]
    assert detail["addContactList"][0]["email"] == "test1@test.com"
    for name in ("taxinvoice.sendEmail", "taxinvoice.cancelIssue", "taxinvoice.delete", "cashbill.cancelIssue",
                 "cashbill.delete", "taxinvoice.sendToNTS", "cashbill.assignMgtKey", "cashbill.revokeRegistIssue"):
        assert r[name]["code"] == 1, name
    revoked = sandbox.docs[("cashbill", CORP, "NODE-RV-1")].body
    assert (revoked["tradeType"], revoked["orgConfirmNum"], revoked["totalAmount"]) == (
        "취소거래", filed.confirm_num, filed.body["totalAmount"])
    assert r["cashbill.registIssue"]["confirmNum"] and "tradeDT" not in r["cashbill.registIssue"]  # SDK drops it
    assert r["cashbill.getInfo"]["stateCode"] == 300 and r["cashbill.getInfo"]["mgtKey"] == "NODE-CB-1"
    one = r["closedown.checkCorpNum"]
    assert (one["corpNum"], one["state"], one["stateDate"]) == ("1231212312", "2", "20230331")
    assert [s["state"] for s in r["closedown.checkCorpNums"]] == ["1", "2", "3"]
    # the documents are gone where the SDK deleted them, and the assigned key now names the website receipt
    assert ("taxinvoice", CORP, "NODE-TI-1") not in sandbox.docs and ("cashbill", CORP, "NODE-CB-1") not in sandbox.docs
    assert ("cashbill", CORP, "NODE-AS-1") in sandbox.docs


async def test_the_node_sdk_reads_search_pages_as_documented(node_sdk, sandbox) -> None:
    ran = await _run_sdk(node_sdk, sandbox, RUN_ID="2")
    r = {c["name"]: c.get("result", c.get("error")) for c in ran["calls"]}
    page = r["taxinvoice.search"]
    assert page["code"] == 1 and page["perPage"] == "1" and len(page["list"]) == 1  # Strings, as seed 001 types them
    assert page["pageCount"] == page["total"] and int(page["total"]) >= 2  # one per page: as many pages as invoices
    assert r["cashbill.search"]["code"] == 1


async def test_the_node_sdk_token_request_carries_milliseconds(node_sdk, sandbox) -> None:
    await _run_sdk(node_sdk, sandbox, RUN_ID="3")
    token_requests = sandbox.requests_to(r"^/POPBILL_TEST/Token$", "POST")
    assert token_requests
    date = {k.lower(): v for k, v in token_requests[0]["headers"]}["x-lh-date"]
    assert len(date) == 24 and date[19] == "." and date.endswith("Z")  # JavaScript's toISOString

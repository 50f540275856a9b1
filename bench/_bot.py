"""The bot as the ack, status and start benchmarks run it: its command line, its one seeded
document, and waiting until it serves Slack.

One definition for the three benchmarks, so they measure the same bot the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import time
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from bench._common import Child, python
from commands.ledger import Store, write_engine
from commands.ledger.schema import documents
from providers.config import DEMO_ABILLIFY, DEMO_HIWORKS, DEMO_PAYSSAM, DEMO_POPBILL

__all__ = ["BOT_TOKEN", "CHANNEL", "POPBILL_KEY", "SIGNING_SECRET", "STATUS_REF", "bot_argv",
           "remote_provider_env", "seed_status_document", "wait_ready"]

SIGNING_SECRET = "bench-signing-secret-not-real-0000"
BOT_TOKEN = "xoxb-bench"  # not token-shaped on purpose: nothing here is a credential
STATUS_REF = "INV-000001"
POPBILL_KEY = "DEMO-TI-002"  # issued today in the Popbill sandbox's seed: stateCode 300
CHANNEL = "C_FINANCE"


def bot_argv(port: int) -> list[str]:
    """`invoicebot serve --http`; under cProfile when INVOICEBOT_BENCH_PROFILE names a file (where the
    CPU goes: the profile is written when the bot stops)."""
    serve = ["serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    profile = os.environ.get("INVOICEBOT_BENCH_PROFILE")
    if profile:
        return [python(), "-m", "cProfile", "-o", profile, "-m", "bot.cli", *serve]
    exe = Path(python()).parent / "invoicebot"
    if exe.exists():
        return [str(exe), *serve]
    found = shutil.which("invoicebot")
    return [found, *serve] if found else [python(), "-m", "bot.cli", *serve]


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else ""


def remote_provider_env(urls: dict[str, str]) -> dict[str, str]:
    """Settings that point every provider at the sandboxes of another process (`bench._servers
    sandboxes`), with their published demo credentials: the bot talks to them as it talks to real
    providers, over HTTP, and their CPU is not the bot's. (Without credentials `serve` would run
    the sandboxes in a thread of its own process, where their request handling would share the
    bot's interpreter lock and be counted as the bot's CPU.)"""
    env = {
        "POPBILL_LINK_ID": DEMO_POPBILL.link_id or "", "POPBILL_SECRET_KEY": _secret(DEMO_POPBILL.secret_key),
        "POPBILL_USER_ID": DEMO_POPBILL.user_id or "",
        "PAYSSAM_API_KEY": _secret(DEMO_PAYSSAM.api_key), "PAYSSAM_MEMBER": DEMO_PAYSSAM.member or "",
        "PAYSSAM_MERCHANT": DEMO_PAYSSAM.merchant or "",
        "HIWORKS_OFFICE_TOKEN": _secret(DEMO_HIWORKS.office_token),
        "HIWORKS_BILL_ACCESS_TOKEN": _secret(DEMO_HIWORKS.bill_access_token),
        "ABILLIFY_USERNAME": DEMO_ABILLIFY.username or "", "ABILLIFY_PASSWORD": _secret(DEMO_ABILLIFY.password),
    }
    for name, url in urls.items():
        env[f"{name.upper()}_API_URL"] = url
    if "popbill" in urls:
        env["POPBILL_AUTH_URL"] = urls["popbill"]
    return env


async def seed_status_document(url: str) -> None:
    """One issued Popbill document for `/invoice status INV-000001` (the sandbox knows its MgtKey)."""
    store = await Store.open(url, migrate=True)
    now = dt.datetime.now(dt.UTC)
    try:
        async with write_engine(store.engine).begin() as conn:
            await conn.execute(sa.insert(documents), [{
                "id": 1, "ref": STATUS_REF, "provider": "popbill", "kind": "tax_invoice", "provider_id": POPBILL_KEY,
                "origin": "bot", "sandbox": True, "buyer_name": "데모 거래처", "buyer_bizno": "1168200276",
                "supply": 100_000, "vat": 10_000, "total": 110_000, "currency": "KRW", "lifecycle": "issued",
                "state": "issued", "raw_state": "300", "issued_at": now, "created_at": now, "updated_at": now,
                "links": {}, "channel_id": CHANNEL, "thread_ts": None, "requested_by": "U_ALICE",
            }])
    finally:
        await store.close()


async def wait_ready(child: Child, url: str, timeout: float = 90.0) -> None:
    """Until `/health` answers 200: the bot serves Slack. A 503 is not enough: `serve` answers
    "starting" before it has loaded, and requests sent then would time its start-up, not its work."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited ({child.proc.returncode})\n{child.log_tail()}")
            try:
                async with session.get(url + "/health", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} was not ready (/health 200) within {timeout:.0f} s\n{child.log_tail()}")

"""The README's "run" path: `invoicebot console` driven through standard input.

A new user issues a document, a second user approves it, then status, resend, destroy
(approved again) and a closure check — for a Popbill tax invoice, a Payssam bill and a
Hiworks invoice, each against its sandbox, all in one scripted session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # the console as a process, a whole day through standard input

FORM = """\
{provider}
{kind}
220-81-62517
-
주식회사 구매자
김대표
buyer@example.com
010-1234-5678
{override}Consulting | 2 | 50000
Support | 1 | 30000

-
-
-
-
"""


#: prompts between the buyer's phone and the items, each kept at its initial value: Popbill and Hiworks
#: check the buyer's closure (휴폐업) and offer an override; Payssam asks the bill's VAT (issue 11: a
#: VAT-free bill); Abillify the currency, the VAT rate and the VAT treatment
EXTRA_PROMPTS = {"popbill": "-\n", "hiworks": "-\n", "payssam": "-\n", "abillify": "-\n-\n-\n"}


def flow(n: int, provider: str, kind: str, resend: str) -> str:
    """Lines for one document: each approval card's Approve is clicked by its label, so new buttons
    elsewhere (status, resubmit) do not shift the script."""
    return "\n".join([
        ":as U_ALICE",
        f"/invoice issue {provider}",
        FORM.format(provider=provider, kind=kind, override=EXTRA_PROMPTS.get(provider, "")).rstrip("\n"),
        ":as U_BOB",
        ":click Approve",
        f"/invoice status INV-{n:06d}",
        f"/invoice resend INV-{n:06d} {resend}",
        ":as U_ALICE",
        f"/invoice destroy INV-{n:06d} wrong buyer",
        ":as U_CAROL",
        ":click Approve",
        f"/invoice status INV-{n:06d}",
    ])


def run_console(tmp_path: Path, script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POPBILL_", "PAYSSAM_", "HIWORKS_",
                                                                    "ABILLIFY_", "INVOICEBOT_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", *args],
        input=script, capture_output=True, text=True, cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO_ROOT)},
        timeout=240, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _part_of(out: str, provider: str) -> str:
    """The console's output from ``/invoice issue <provider>`` to the next issue command (or the end)."""
    start = max(0, out.find(f"> /invoice issue {provider}"))
    end = out.find("> /invoice issue ", start + 1)
    return out[start:end if end != -1 else None][:8000]


def test_a_new_user_runs_the_whole_day_in_the_console(tmp_path: Path) -> None:
    parts = [flow(n, provider, kind, resend) for n, (provider, kind, resend) in enumerate(
        [("popbill", "tax_invoice", "email buyer@example.com"), ("payssam", "bill", "talk"),
         ("hiworks", "statement", "email")], start=1)]
    script = "\n".join(parts) + "\n/invoice closure 679-87-00433 123-12-12312 220-88-75476\n:quit\n"
    out = run_console(tmp_path, script)

    assert (tmp_path / "invoicebot.db").exists()  # the embedded default: a SQLite file here
    assert "Providers on their SANDBOX: popbill, payssam, hiworks, abillify" in out
    for provider, what in (("popbill", "tax invoice INV-000001"), ("payssam", "bill INV-000002"),
                           ("hiworks", "statement INV-000003")):
        said = _part_of(out, provider)  # what the console printed for that document, should a check fail
        assert re.search(rf"Approved and done: issue {what}", out), f"{what}; the console said:\n{said}"
        assert re.search(rf"Approved and done: destroy {what}", out), f"{what}; the console said:\n{said}"
    # Popbill: issued, resent by e-mail, then cancelled and deleted.
    assert "INV-000001 issued at popbill" in out
    assert "INV-000001 resent by email" in out
    # Payssam: the KakaoTalk message resent, the unpaid bill destroyed.
    assert "INV-000002 issued at payssam" in out
    # Hiworks cannot resend through its API, and says so instead of failing.
    assert "hiworks cannot resend" in out
    assert "deleted" in out and "destroyed" in out
    # Closure: active, closed with its date, suspended.
    assert "closed (폐업) 123-12-12312 since Fri, 31 Mar 2023" in out
    assert "suspended (휴업) 220-88-75476" in out
    assert "Traceback" not in out


def test_the_requester_cannot_approve_in_the_console_either(tmp_path: Path) -> None:
    script = "\n".join([
        ":as U_BOB",
        "/invoice issue payssam",
        FORM.format(provider="payssam", kind="bill", override=EXTRA_PROMPTS["payssam"]).rstrip("\n"),
        "1",
        ":quit",
    ]) + "\n"
    out = run_console(tmp_path, script)
    assert "four-eyes" in out
    assert "Approved and done" not in out


def test_a_payment_at_the_sandbox_comes_back_to_the_documents_thread(tmp_path: Path) -> None:
    script = "\n".join([
        "/invoice issue payssam",
        FORM.format(provider="payssam", kind="bill", override=EXTRA_PROMPTS["payssam"]).rstrip("\n"),
        ":as U_BOB",
        "1",
        ":pay INV-000001",
        "/invoice status INV-000001",
        ":quit",
    ]) + "\n"
    out = run_console(tmp_path, script)
    paid = out.index("(the customer paid INV-000001")
    assert "Payment received for INV-000001" in out[paid:out.index("> /invoice status")]
    assert "State: ✅ paid (F)" in out


def test_a_restarted_console_still_knows_its_sandbox_documents(tmp_path: Path) -> None:
    """The sandboxes keep their state beside the database, so status after a restart agrees with it."""
    first = "\n".join([
        "/invoice issue payssam",
        FORM.format(provider="payssam", kind="bill", override=EXTRA_PROMPTS["payssam"]).rstrip("\n"),
        ":as U_BOB",
        "1",
        ":quit",
    ]) + "\n"
    assert "INV-000001 issued at payssam" in run_console(tmp_path, first)
    assert (tmp_path / "invoicebot.db.sandbox" / "payssam.state").exists()

    out = run_console(tmp_path, "/invoice status INV-000001\n:quit\n")

    status = out[out.index("> /invoice status"):]
    assert "unpaid" in status
    assert "does not know this document" not in status and "could not be reached" not in status
    assert "Traceback" not in out


def test_a_bare_issue_form_follows_the_provider_and_kind_answers(tmp_path: Path) -> None:
    """Issues 9 and 11: `/invoice issue` without a provider, then Popbill and a cash receipt: the console
    sends each choice as Slack does, the app rebuilds the form, and the cash receipt's own fields are asked
    (usage, identity number, 과세/비과세) while the business number, due date and 영수/청구 are not."""
    script = "\n".join([
        ":as U_ALICE", "/invoice issue", "popbill", "cash_receipt",
        "김고객", "-", "-", "-",  # buyer name, representative, e-mail, phone
        "-", "expense_proof", "220-81-62517",  # 과세/비과세 (kept taxable), usage, identity number
        "Books | 2 | 50000", "", "", "-",  # items, write date (today), memo
        ":as U_BOB", "1", ":quit", ""])
    out = run_console(tmp_path, script)
    asked = [line for line in out.splitlines() if line.startswith("   ") and ":" in line]
    assert any(line.startswith("   Usage (소득공제용/지출증빙용) [") for line in asked), out[-3000:]
    assert any(line.startswith("   Identity number (식별번호): 220-81-62517") for line in asked)
    for never in ("Buyer business number", "Due date", "Purpose (영수/청구)"):  # listed when the form opened
        assert not any(line.startswith(f"   {never}") for line in asked), never
    assert "issue cash receipt INV-000001" in out and "INV-000001 issued at popbill" in out, out[-3000:]

"""Shared steps for the fault and security suites: issue through the modal, approve on the
card, add sandbox faults from the test thread, and read back what the database and the
provider sandboxes hold."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from commands.ledger import ApprovalRecord, AuditEventRecord
from providers.payssam import bill_id_for
from providers.sandbox.base import FaultRule, Sandbox
from tests.app.harness import BotHarness, text_of

#: short provider limits: a hung provider costs half a second, a retried read one more try
FAST: dict[str, Any] = {"provider_read_timeout": 0.5, "provider_max_attempts": 2}

BUYER: dict[str, str] = {
    "buyer_bizno": "220-81-62517",
    "buyer_name": "주식회사 구매자",
    "buyer_ceo": "김대표",
    "buyer_email": "buyer@example.com",
    "buyer_phone": "010-1234-5678",
    "items": "Consulting | 2 | 50000",
}

#: the `/invoice issue …` text that opens the modal for each provider's main document
ISSUE_COMMAND = {
    "popbill": "issue popbill tax",
    "payssam": "issue payssam bill",
    "hiworks": "issue hiworks tax",
    "abillify": "issue abillify invoice",
}

#: (path regex, method, header value of X-HTTP-Method-Override or None) of each provider's issue write
ISSUE_CALL: dict[str, tuple[str, str, str | None]] = {
    "popbill": (r"^/Taxinvoice$", "POST", "ISSUE"),
    "payssam": (r"/bill$", "POST", None),
    "hiworks": (r"^/v4/invoices$", "POST", None),
    "abillify": (r"/invoices$", "POST", None),
}

#: each provider's read of one document (what reconciliation calls before any retry)
FIND_CALL: dict[str, tuple[str, str]] = {
    "popbill": (r"^/Taxinvoice/SELL/[^/]+$", "GET"),
    "payssam": (r"/bill/read$", "POST"),
    "abillify": (r"/invoices", "GET"),
}

#: words that would mean a raw exception reached a person
TRACEBACK_MARKERS = ("Traceback", 'File "/', "site-packages", " object at 0x", "<class ", "NoneType",
                     "object has no attribute", "KeyError", "TypeError", "AttributeError", "IndexError",
                     "ValueError", "ValidationError", "pydantic_core", "sqlalchemy", "aiohttp.")


def header(request: Mapping[str, Any], name: str) -> str | None:
    for key, value in request.get("headers") or []:
        if key.lower() == name.lower():
            return str(value)
    return None


def add_fault(bot: BotHarness, provider: str, rule: FaultRule) -> None:
    """Add a fault rule to a sandbox that runs on the harness's sandbox thread."""
    sandbox = bot.sandbox(provider)
    thread = bot.runtime.providers.thread
    assert thread is not None, "the harness runs sandboxes on their own thread"
    thread.call(lambda: sandbox.add_fault(rule))


def requests_at(bot: BotHarness, provider: str) -> list[dict[str, Any]]:
    """A copy of the requests a sandbox received (taken on its own thread)."""
    sandbox = bot.sandbox(provider)
    thread = bot.runtime.providers.thread
    assert thread is not None
    return thread.call(lambda: [dict(r) for r in sandbox.requests])


def issue_calls(bot: BotHarness, provider: str) -> list[dict[str, Any]]:
    path, method, override = ISSUE_CALL[provider]
    return [r for r in requests_at(bot, provider)
            if re.search(path, r["path"]) and r["method"] == method
            and (override is None or header(r, "X-HTTP-Method-Override") == override)]


def call_sequence(bot: BotHarness, provider: str) -> list[str]:
    """'issue' and 'find' in the order the sandbox received them (other calls left out)."""
    path, method, override = ISSUE_CALL[provider]
    find_path, find_method = FIND_CALL.get(provider, ("^$", "GET"))
    sequence = []
    for r in requests_at(bot, provider):
        if (re.search(path, r["path"]) and r["method"] == method
                and (override is None or header(r, "X-HTTP-Method-Override") == override)):
            sequence.append("issue")
        elif re.search(find_path, r["path"]) and r["method"] == find_method and not header(
                r, "X-HTTP-Method-Override"):
            sequence.append("find")
    return sequence


def assert_find_before_every_resend(sequence: Sequence[str]) -> None:
    """Between two issue writes there is always a read of the document."""
    issues = [i for i, call in enumerate(sequence) if call == "issue"]
    for first, second in itertools.pairwise(issues):
        assert "find" in sequence[first + 1:second], f"issued again without looking first: {sequence}"


def sandbox_documents(bot: BotHarness, provider: str, key: str) -> int:
    """How many documents the provider holds for our reference `key` (e.g. INV-000001)."""
    sandbox: Sandbox = bot.sandbox(provider)
    thread = bot.runtime.providers.thread
    assert thread is not None
    state = thread.call(sandbox.snapshot)
    if provider == "popbill":
        return sum(1 for d in state["documents"] if d["mgtKey"] == key)
    if provider == "payssam":
        return sum(1 for bill_id in state["bills"] if bill_id == bill_id_for(key))
    if provider == "hiworks":
        return sum(1 for d in _values(state.get("documents")) if d.get("serial") == key and not d.get("deleted"))
    return sum(1 for inv in _values(state.get("invoices")) if key in json.dumps(inv, ensure_ascii=False))


def _values(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        return list(data.values())
    return list(data or [])


async def request_issue(bot: BotHarness, provider: str, *, user: str = "U_ALICE",
                        answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill the issue modal for `provider` as `user`; returns the approval card posted."""
    before = len(bot.cards())
    await bot.command(ISSUE_COMMAND[provider], user=user)
    response = await bot.submit(bot.last_modal(), {**BUYER, **(answers or {})}, user=user)
    assert response.status_code == 200 and not response.text, response.text
    cards = bot.cards()
    assert len(cards) == before + 1, bot.slack.calls("chat.postMessage")
    return cards[-1]


async def issue_approved(bot: BotHarness, provider: str) -> dict[str, Any]:
    """Issue a document of `provider` with no fault: request it and approve it."""
    card = await request_issue(bot, provider)
    await bot.click(card, "approval_approve", user="U_BOB")
    return card_now(bot, card)


def card_now(bot: BotHarness, card: Mapping[str, Any]) -> dict[str, Any]:
    """The card as it is now (updates applied)."""
    return next(c for c in bot.cards() if c["ts"] == card["ts"])


async def approval(bot: BotHarness, approval_id: int) -> ApprovalRecord:
    found = await bot.runtime.store.approvals.get(approval_id)
    assert found is not None
    return found


async def audit(bot: BotHarness, approval_id: int) -> list[AuditEventRecord]:
    return await bot.runtime.store.audit.search(approval_id=approval_id)


def outcomes(events: Sequence[AuditEventRecord], operation: str) -> list[str]:
    return [str(e.outcome) for e in events if e.operation == operation]


def everything_shown(bot: BotHarness) -> list[str]:
    """Every text the app showed anyone: messages, updates, ephemerals, DMs, replies, modals."""
    shown: list[str] = []
    for call in bot.slack.calls():
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"):
            shown.append(text_of(call.args))
        elif call.method in ("views.open", "views.update", "views.push", "views.publish"):
            shown.append(json.dumps(call.args.get("view"), ensure_ascii=False))
    return shown


def assert_no_traceback_shown(bot: BotHarness, *extra: str, echoed: Sequence[str] = (), since: int = 0) -> None:
    """No exception text in anything shown (from the `since`-th Slack call on); `echoed` is
    user input the app may legitimately quote back, removed before looking."""
    for text in [*everything_shown(bot)[since:], *extra]:
        for quoted in echoed:
            for form in _forms(quoted):
                text = text.replace(form, "")
        for marker in TRACEBACK_MARKERS:
            assert marker not in text, f"{marker!r} shown to a user: {text[:800]}"


def _forms(quoted: str) -> list[str]:
    """How a quoted input may appear in a message: as typed, JSON-escaped, or mrkdwn-escaped."""
    escaped = quoted.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    forms = {quoted, json.dumps(quoted, ensure_ascii=False)[1:-1], escaped,
             json.dumps(escaped, ensure_ascii=False)[1:-1]}
    return sorted((f for f in forms if f), key=len, reverse=True)


def draft(provider: str = "popbill", *, name: str = "주식회사 구매자", amount: int = 50_000) -> Any:
    """An issue draft as the modal would produce it (for tests that need many requests fast)."""
    import datetime as dt

    from commands.workflow import IssueDraft
    from providers.models import DocumentKind, LineItem, Party, Provider

    kinds = {"popbill": DocumentKind.TAX_INVOICE, "payssam": DocumentKind.BILL,
             "hiworks": DocumentKind.TAX_INVOICE, "abillify": DocumentKind.INVOICE}
    return IssueDraft(
        provider=Provider(provider), kind=kinds[provider],
        buyer=Party(name=name, bizno="2208162517", ceo_name="김대표", email="buyer@example.com",
                    phone="01012345678"),
        items=[LineItem(name="Consulting", quantity=2, unit_price=amount)],
        write_date=dt.date.today(),
    )


async def create_requests(bot: BotHarness, count: int, provider: str = "popbill") -> list[dict[str, Any]]:
    """`count` pending issue requests by U_ALICE, each with its card in the approvals channel."""
    from tests.app.harness import FINANCE

    runtime = bot.runtime
    cards = []
    for _ in range(count):
        view = await runtime.service.request_issue(draft(provider), "U_ALICE", FINANCE)
        posted = await runtime.notifier.post_card(view, FINANCE)
        assert posted is not None
        await runtime.service.attach_card(view.id, *posted)
        cards.append(next(c for c in bot.cards() if c["ts"] == posted[1]))
    return cards

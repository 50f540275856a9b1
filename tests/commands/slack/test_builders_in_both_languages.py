"""Every message builder renders in Korean and in English, with no language leaking into the other.

The builders are discovered (every ``build_*`` and ``*_text`` function of `commands.slack`), so
a new builder without a sample here fails `test_every_builder_has_a_sample`. Korean output must
contain Hangul and none of the English phrases our catalog translates; English output may
contain Hangul only where it is Korean by nature (provider and document names such as 결제선생,
세금계산서, 휴업, and the Korean terms the English labels carry in brackets).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

import commands.slack
from commands.i18n import _, use_locale
from commands.i18n.core import LOCALE_DIR
from commands.ledger import ApprovalAction, Lifecycle
from commands.ledger import digest_queries as q
from commands.slack import formatting
from commands.slack.blocks import ApprovalCard, ApprovalState, ClosureRow, DocumentCard, provider_link
from commands.slack.blocks.deadlines import deadline_card
from commands.slack.digest.data import DigestData, WindowBasis
from commands.slack.parser import CommandError
from commands.workflow import ApprovalView, DocumentView
from commands.workflow.bulk import BulkPreview, RowCheck
from commands.workflow.bulk_parse import RowProblem
from commands.workflow.deadlines import DeadlineReport, issue_note
from commands.workflow.export import ExportLayout
from commands.workflow.progress import BulkProgress
from commands.workflow.workspace_settings import EffectiveSettings
from providers.models import (
    Amounts,
    BusinessState,
    DocumentKind,
    DocumentState,
    IssueRequest,
    LineItem,
    Party,
    Provider,
)

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
HANGUL = re.compile("[\uac00-\ud7a3]+")

#: functions named like builders that are not messages (data, pieces of a line, a translator)
NOT_MESSAGES = frozenset({"build_digest_data", "buyer_text", "provider_words", "rate_text"})


def card(**overrides: Any) -> DocumentCard:
    values: dict[str, Any] = {
        "ref": "INV-000123", "provider": Provider.POPBILL, "kind": DocumentKind.TAX_INVOICE, "sandbox": True,
        "buyer_name": "Acme", "buyer_bizno": "2208162517",
        "amounts": Amounts(supply=1_000_000, vat=100_000, total=1_100_000),
        "state": DocumentState.FILED, "raw_state": "304", "provider_id": "20260302-001",
        "links": {"popup": "https://popbill.example/popup", "pdf": "https://popbill.example/pdf"},
        "history": tuple((NOW, "x") for _ in range(20)), "requester": "U1", "created_at": NOW,
        "write_date": TODAY, "due_date": TODAY, "memo": "m",
        "items": tuple(LineItem(name="Item", quantity=Decimal(1), unit_price=100) for _ in range(12)),
    }
    values.update(overrides)
    return DocumentCard(**values)


def approval(state: ApprovalState = ApprovalState.PENDING, **overrides: Any) -> ApprovalCard:
    values: dict[str, Any] = {"id": "42", "action": "issue", "document": card(), "requester": "U1", "state": state,
                              "expires_at": NOW, "decider": "U2", "decided_at": NOW, "reason": "r",
                              "retryable": True, "hint": "h"}
    values.update(overrides)
    return ApprovalCard(**values)


def row(i: int, provider: Provider = Provider.PAYSSAM) -> q.DocumentRow:
    return q.DocumentRow(
        id=i, ref=f"INV-{i:06d}", provider=provider, kind=DocumentKind.BILL, sandbox=True, buyer_name="Acme",
        buyer_bizno=None, total=1_000 * i, currency="KRW", lifecycle=Lifecycle.ISSUED, state=DocumentState.UNPAID,
        raw_state="W", detail="d", due_date=TODAY - dt.timedelta(days=2), issued_at=NOW, created_at=NOW,
        updated_at=NOW, requested_by="U1",
    )


def digest_data(quiet: bool = False) -> DigestData:
    if quiet:
        return DigestData(now=NOW, since=NOW - dt.timedelta(days=1), basis=WindowBasis.FIRST)
    rows = tuple(row(i) for i in range(1, 4))
    many = q.Listing(count=20, rows=rows, totals={"KRW": 6_000})
    approvals = q.Listing(count=20, rows=tuple(
        q.ApprovalRow(id=i, action="destroy", requester="U1", created_at=NOW - dt.timedelta(days=3), expires_at=None,
                      document=row(i, Provider.POPBILL)) for i in range(1, 3)))
    changes = q.Listing(count=20, rows=(q.ClosureChangeRow(bizno="2208162517", buyer_name="Acme",
                                                           previous=BusinessState.ACTIVE,
                                                           current=BusinessState.CLOSED, state_date=TODAY,
                                                           checked_at=NOW),))
    return DigestData(
        now=NOW, since=NOW - dt.timedelta(days=1), basis=WindowBasis.CAPPED,
        issued=(q.IssuedTotal(Provider.POPBILL, "KRW", False, 2, 2_200_000),),
        cancelled=(q.IssuedTotal(Provider.PAYSSAM, "KRW", True, 1, 11_000),), pending=approvals,
        failures={"filing_failed": many, "provider_error": many, "outcome_unknown": many},
        unpaid_payssam=many, expiring_payssam=many, unpaid_abillify=many, overdue=many, closure_changes=changes,
        unreachable={"hiworks": "timeout"}, sandbox_providers=frozenset({Provider.PAYSSAM}),
    )


def home_args(approver: bool) -> tuple[Any, ...]:
    approvals = q.Listing(count=12, rows=tuple(
        q.ApprovalRow(id=i, action="issue", requester="U2", created_at=NOW - dt.timedelta(hours=3), expires_at=NOW,
                      document=row(i)) for i in range(1, 3)))
    last = q.PostedRun(channel_id="C1", day=TODAY, posted_at=NOW, message_ts="1.2",
                       summary={"issued": 2, "issued_totals": {"KRW": 10}, "pending": 1, "closure_changes": 2})
    return ("U1", approvals if approver else q.Listing(), [row(1)] if approver else [], last if approver else None,
            [Provider.PAYSSAM])


def late_deadline() -> Any:
    return deadline_card(issue_note(dt.date(2026, 2, 10), 1_000_000, dt.date(2026, 7, 28)))


def bulk_view() -> ApprovalView:
    document = DocumentView(ref="INV-000009", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE)
    first = [{"row": 2, "buyer": "Acme", "bizno": "2208162517", "amount": 1100}]
    return ApprovalView(id=7, action=ApprovalAction.BULK_ISSUE, state=ApprovalState.PENDING, document=document,
                        requester="U1", created_at=NOW, required_approvals=2, approved_by=("U2",),
                        payload={"bulk": {"rows": 3, "provider": "popbill", "total": 3300, "currency": "KRW",
                                          "file_name": "f.csv", "first": first}})


def bulk_preview() -> BulkPreview:
    request = IssueRequest(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, key="K1",
                           buyer=Party(name="Acme", bizno="2208162517"), write_date=TODAY,
                           items=[LineItem(name="Item", quantity=Decimal(1), unit_price=1000)])
    rows = (RowCheck(number=2, request=request, override="reopened", overridden=True, closure=BusinessState.CLOSED,
                     warnings=("w",)),)
    return BulkPreview(provider=Provider.POPBILL, rows=rows, problems=())


def _bulk_samples() -> dict[str, list[Callable[[], Any]]]:
    from commands.slack.blocks import bulk

    problems = [RowProblem(row=2, column="buyer_name", message="x"), RowProblem(row=None, column=None, message="y")]
    return {
        "build_bulk_modal": [lambda: bulk.build_bulk_modal("{}")],
        "build_bulk_problems": [lambda: bulk.build_bulk_problems("f.csv", problems, 3)[1]],
        "build_bulk_preview": [lambda: bulk.build_bulk_preview(bulk_preview(), "F1", "f.csv")[1]],
        "build_bulk_card": [lambda: bulk.build_bulk_card(bulk_view())],
        "bulk_card_text": [lambda: bulk.bulk_card_text(bulk_view())],
        "build_bulk_progress": [
            lambda: bulk.build_bulk_progress(BulkProgress(approval_id=7, batch_id=1, total=3, issued=1, failed=0))[1],
            lambda: bulk.build_bulk_progress(BulkProgress(approval_id=7, batch_id=1, total=3, issued=2, failed=1,
                                                          finished=True))[1]],
    }


def _samples() -> dict[str, list[Callable[[], Any]]]:
    """Calls of every builder, run inside the locale under test (so titles passed in are translated too)."""
    from commands.slack import blocks, home
    from commands.slack.blocks import amend, deadlines, settings
    from commands.slack.digest import message
    from commands.slack.modal import view

    closure = [ClosureRow(bizno="2208162517", state=s, state_date=TODAY, checked_at=NOW, changed=True,
                          previous_state=BusinessState.ACTIVE) for s in BusinessState]
    pending = [approval(s) for s in ApprovalState]
    return {
        "build_approval_message": [
            *(lambda s=s: blocks.build_approval_message(approval(s)) for s in ApprovalState),
            lambda: blocks.build_approval_message(approval(document=card(deadline=late_deadline()))),
            lambda: blocks.build_approval_message(approval(document=card(deadline=deadline_card(
                issue_note(dt.date(2026, 2, 10), 1_000_000, dt.date(2026, 3, 6)))))),
        ],
        "approval_text": [lambda: blocks.approval_text(approval())],
        "build_reject_modal": [lambda: blocks.build_reject_modal("42")],
        "build_status_message": [lambda: blocks.build_status_message(card(detail="d"))],
        "status_text": [lambda: blocks.status_text(card())],
        "build_provider_link_message": [
            lambda: provider_link.build_provider_link_message("INV-000001", Provider.POPBILL, "https://popbill.example/p"),
            lambda: provider_link.build_provider_link_message("INV-000001", Provider.POPBILL, "javascript:void(0)"),
        ],
        "provider_link_text": [lambda: provider_link.provider_link_text("INV-000001", Provider.POPBILL)],
        "build_list_message": [lambda: blocks.build_list_message([card()], total=500, filters="f"),
                               lambda: blocks.build_list_message([])],
        "list_text": [lambda: blocks.list_text([card()])],
        "build_pending_list_message": [lambda: blocks.build_pending_list_message(pending, total=200),
                                       lambda: blocks.build_pending_list_message([])],
        "pending_list_text": [lambda: blocks.pending_list_text(pending)],
        "build_closure_message": [lambda: blocks.build_closure_message(closure, sandbox=True),
                                  lambda: blocks.build_closure_message([])],
        "closure_text": [lambda: blocks.closure_text(closure, sandbox=True)],
        "build_progress_message": [lambda: blocks.build_progress_message(_("Preparing the export"), 1, 2)],
        "progress_text": [lambda: blocks.progress_text(_("Checking {count} numbers").format(count=3), 1, 3)],
        "build_error_message": [lambda: blocks.build_error_message(
            _("The closure check failed"), _("Something went wrong on our side."), _("Type the command again."))],
        "error_text": [lambda: blocks.error_text(_("The closure check failed"),
                                                 _("Something went wrong on our side."))],
        "build_command_error_message": [lambda: blocks.build_command_error_message(CommandError("x"))],
        "amounts_text": [lambda: blocks.document.amounts_text(card().amounts)],
        "build_issue_modal": [lambda: view.build_issue_modal(errors={"b": "e"}, today=TODAY)],
        "build_home_view": [lambda: home.build_home_view(*home_args(True), is_approver=True, now=NOW),
                            lambda: home.build_home_view(*home_args(False), now=NOW)],
        "build_closure_modal": [lambda: home.build_closure_modal()],
        "build_digest_blocks": [lambda: message.build_digest_blocks(digest_data(), SEOUL),
                                lambda: message.build_digest_blocks(digest_data(quiet=True), SEOUL)],
        "digest_text": [lambda: message.digest_text(digest_data(), SEOUL)],
        "build_help_message": [lambda: blocks.build_help_message(), lambda: blocks.build_help_message("issue")],
        "help_text": [lambda: blocks.help_text("issue")],
        "build_export_message": [lambda: blocks.build_export_message("x.csv", 0, TODAY, TODAY, sandbox=True, size=9),
                                 lambda: blocks.build_export_message("x.csv", 3, TODAY, TODAY,
                                                                     layout=ExportLayout.HOMETAX)],
        "export_text": [lambda: blocks.export_text("x.csv", 3, TODAY, TODAY)],
        "build_amend_modal": [lambda: amend.build_amend_modal("INV-000123", today=TODAY)],
        **_bulk_samples(),
        "build_deadlines_message": [
            lambda: deadlines.build_deadlines_message(DeadlineReport(today=TODAY, within_days=5))],
        "deadlines_text": [lambda: deadlines.deadlines_text(DeadlineReport(today=TODAY, within_days=5))],
        "build_settings_modal": [
            lambda: settings.build_settings_modal(EffectiveSettings(approvers=frozenset({"U1"}), language="ko",
                                                                    two_approvals_above=5_000_000),
                                                  {"popbill_secret_key": True}),
            lambda: settings.build_settings_modal(EffectiveSettings(), None)],
    }


def discovered_builders() -> Iterator[str]:
    """Every public ``build_*`` / ``*_text`` function defined in commands.slack (the parser aside)."""
    for info in pkgutil.walk_packages(commands.slack.__path__, "commands.slack."):
        if ".parser" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
                    and (name.startswith("build_") or name.endswith("_text"))):
                yield name


def rendered(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return json.dumps([b.to_dict() for b in value], ensure_ascii=False)
    return json.dumps(value.to_dict(), ensure_ascii=False)


@cache
def english_leaks() -> tuple[str, ...]:
    """English phrases (two words or more) of every message our catalog words differently in Korean."""
    with (LOCALE_DIR / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ko")
    phrases = set()
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        for fragment in re.split(r"\{\w*\}", message.id):
            fragment = fragment.strip(" :.,—()*`“”")
            if re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", fragment) and fragment not in message.string:
                phrases.add(fragment)
    return tuple(sorted(phrases))


@cache
def korean_by_nature() -> frozenset[str]:
    """Hangul words English text carries on purpose: in the English catalog and the shared labels."""
    words: set[str] = set()
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        for message in read_po(handle, locale="en"):
            for text in ([message.string] if isinstance(message.string, str) else list(message.string)):
                words.update(HANGUL.findall(text or ""))
    for label in shared_labels():
        words.update(HANGUL.findall(label))
    words.add("한국어")  # a language is offered by its own name, whatever the reader's language
    return frozenset(words)


@cache
def shared_labels() -> tuple[str, ...]:
    """The labels `commands.slack.formatting` owns (states, kinds, providers), longest first.

    Their translation is the label functions' concern and is tested with them; here they are
    taken out of Korean output before looking for English phrases of our own messages.
    """
    labels: set[str] = set()
    for value in vars(formatting).values():
        if isinstance(value, str):
            labels.add(value)
        elif isinstance(value, Mapping):
            labels.update(item for item in value.values() if isinstance(item, str))
    return tuple(sorted(labels, key=len, reverse=True))


SAMPLES = _samples()
CASES = [(name, i) for name, calls in SAMPLES.items() for i in range(len(calls))]


def test_every_builder_has_a_sample() -> None:
    builders = set(discovered_builders()) - NOT_MESSAGES
    assert builders, "no builders discovered"
    assert builders <= set(SAMPLES), f"add a sample for: {sorted(builders - set(SAMPLES))}"
    assert set(SAMPLES) <= builders, f"samples of builders that are gone: {sorted(set(SAMPLES) - builders)}"


@pytest.mark.parametrize(("name", "index"), CASES)
def test_a_builder_speaks_korean_without_english_phrases(name: str, index: int) -> None:
    with use_locale("ko"):
        text = rendered(SAMPLES[name][index]())
    assert HANGUL.search(text), f"{name} has no Korean: {text[:300]}"
    for label in shared_labels():
        text = text.replace(label, "")
    leaks = [phrase for phrase in english_leaks() if phrase in text]
    assert not leaks, f"{name} leaks English into Korean: {leaks}"


@pytest.mark.parametrize(("name", "index"), CASES)
def test_a_builder_speaks_english_with_only_korean_names(name: str, index: int) -> None:
    with use_locale("en"):
        text = rendered(SAMPLES[name][index]())
    stray = set(HANGUL.findall(text)) - korean_by_nature()
    assert not stray, f"{name} shows Korean in English: {sorted(stray)}"

"""Block Kit builders: what each message shows, and that Slack's limits always hold."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from commands.slack.blocks import (
    ApprovalCard,
    ApprovalState,
    ClosureRow,
    DocumentCard,
    approval_text,
    build_approval_message,
    build_closure_message,
    build_command_error_message,
    build_error_message,
    build_export_message,
    build_help_message,
    build_list_message,
    build_pending_list_message,
    build_progress_message,
    build_reject_modal,
    build_status_message,
    closure_text,
    document_card_line,
    list_text,
    parse_reject_submission,
    progress_text,
    status_text,
)
from commands.slack.formatting import (
    format_bizno,
    format_bytes,
    format_date,
    format_datetime,
    format_krw,
    format_money,
)
from commands.slack.ids import APPROVE_ACTION_ID, REJECT_ACTION_ID, REJECT_CALLBACK_ID
from commands.slack.parser import USAGE, CommandError
from providers.models import Amounts, BusinessState, DocumentKind, DocumentState, LineItem, Provider

NOW = dt.datetime(2024, 5, 17, 5, 30, tzinfo=dt.UTC)  # 14:30 in Seoul


def serialise(blocks: list[Block]) -> list[dict[str, Any]]:
    """What WebClient sends: this is where slack_sdk enforces Slack's limits."""
    dicts = [b.to_dict() for b in blocks]
    assert len(dicts) <= 50, "Slack refuses messages with more than 50 blocks"
    for block in dicts:
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000  # not checked by slack_sdk
    return dicts


def text_of(blocks: list[Block]) -> str:
    return json.dumps(serialise(blocks), ensure_ascii=False)


def card(**overrides: Any) -> DocumentCard:
    values: dict[str, Any] = {
        "ref": "INV-000123", "provider": Provider.POPBILL, "kind": DocumentKind.TAX_INVOICE,
        "buyer_name": "Acme Korea", "buyer_bizno": "2208162517",
        "amounts": Amounts(supply=1_000_000, vat=100_000, total=1_100_000),
        "state": DocumentState.FILED, "raw_state": "304", "provider_id": "20240517-001",
        "links": {"popup": "https://popbill.example/popup?x=1", "pdf": "https://popbill.example/pdf"},
        "history": ((NOW - dt.timedelta(hours=1), "issued"), (NOW, "NTS accepted")),
        "requester": "U0KIM", "created_at": NOW, "write_date": dt.date(2024, 5, 17),
        "items": (LineItem(name="Consulting", quantity=Decimal(1), unit_price=1_000_000),),
    }
    values.update(overrides)
    return DocumentCard(**values)


def approval(**overrides: Any) -> ApprovalCard:
    values: dict[str, Any] = {"id": "42", "action": "issue", "document": card(state=DocumentState.UNKNOWN),
                              "requester": "U0KIM", "expires_at": NOW + dt.timedelta(hours=24)}
    values.update(overrides)
    return ApprovalCard(**values)


def actions_of(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b for b in serialise(blocks) if b["type"] == "actions"]


# -- formatting ---------------------------------------------------------------------------


def test_money() -> None:
    assert format_krw(1_234_500) == "₩1,234,500"
    assert format_krw(-1000) == "-₩1,000"
    assert format_money(12345, "EUR") == "€123.45"
    assert format_money(5, "usd") == "$0.05"
    assert format_money(1000, "JPY") == "¥1,000"
    assert format_money(1234, "KWD") == "KWD1.234"  # Babel's en pattern for a currency without a symbol (issue 10)


def test_business_numbers_dates_and_sizes() -> None:
    assert format_bizno("2208162517") == "220-81-62517"
    assert format_datetime(NOW) == "2024-05-17 14:30 KST"
    assert format_datetime(NOW, ZoneInfo("Europe/Berlin")) == "2024-05-17 07:30 CEST"
    assert format_datetime(dt.datetime(2024, 5, 17, 20, 0)) == "2024-05-18 05:00 KST"  # naive is UTC
    assert format_date(dt.datetime(2024, 5, 17, 20, 0, tzinfo=dt.UTC)) == "Sat, 18 May 2024"  # Babel day (issue 10)
    assert format_bytes(12 * 1024 + 100) == "12 KB"
    assert format_bytes(300) == "300 B"


def test_document_line_for_lists_the_digest_and_app_home() -> None:
    line = document_card_line(card())
    assert line == ("`INV-000123` · Popbill tax invoice · Acme Korea · ₩1,100,000 · ✅ filed with NTS · "
                    "Fri, 17 May 2024")
    assert "🧪" in document_card_line(card(sandbox=True))


# -- sandbox marker ------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox", [True, False])
def test_every_message_about_a_sandbox_document_says_sandbox(sandbox: bool) -> None:
    doc = card(sandbox=sandbox)
    messages = [
        build_status_message(doc),
        build_approval_message(approval(document=doc)),
        build_approval_message(approval(document=doc, state=ApprovalState.SUCCEEDED, decider="U0LEE")),
        build_list_message([doc]),
        build_closure_message([ClosureRow(bizno="2208162517", state=BusinessState.ACTIVE)], sandbox=sandbox),
        build_export_message("export.csv", 3, dt.date(2024, 5, 1), dt.date(2024, 5, 17), sandbox=sandbox),
    ]
    for blocks in messages:
        assert ("SANDBOX" in text_of(blocks)) is sandbox
    assert status_text(doc).startswith("[SANDBOX]") is sandbox
    assert approval_text(approval(document=doc)).startswith("[SANDBOX]") is sandbox


def test_the_sandbox_notice_is_a_context_block_saying_nothing_real_was_issued() -> None:
    blocks = serialise(build_status_message(card(sandbox=True)))
    assert blocks[1]["type"] == "context"
    assert "SANDBOX* — no real document was issued" in blocks[1]["elements"][0]["text"]


# -- approvals -----------------------------------------------------------------------------


def test_a_pending_approval_has_approve_and_reject_buttons_carrying_the_approval_id() -> None:
    blocks = build_approval_message(approval())
    [actions] = actions_of(blocks)
    approve, reject = actions["elements"]
    assert (approve["action_id"], approve["value"], approve["style"]) == (APPROVE_ACTION_ID, "42", "primary")
    assert (reject["action_id"], reject["value"], reject["style"]) == (REJECT_ACTION_ID, "42", "danger")
    assert approve["confirm"]["confirm"]["text"] == "Approve"
    assert "Acme Korea" in approve["confirm"]["text"]["text"]
    assert "confirm" not in reject
    text = text_of(blocks)
    assert "₩1,100,000" in text and "<@U0KIM>" in text and "220-81-62517" in text
    assert "Consulting" in text and "Expires" in text


def test_the_approve_confirmation_mentions_the_sandbox() -> None:
    [actions] = actions_of(build_approval_message(approval(document=card(sandbox=True))))
    assert "SANDBOX" in actions["elements"][0]["confirm"]["text"]["text"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ApprovalState.APPROVED, "Approved by <@U0LEE>"),
        (ApprovalState.EXECUTING, "sending to Popbill"),
        (ApprovalState.SUCCEEDED, "Issued: NTS number 2024"),
        (ApprovalState.REJECTED, "Rejected by <@U0LEE>"),
        (ApprovalState.EXPIRED, "Nobody decided before"),
        (ApprovalState.FAILED, "but it failed"),
        (ApprovalState.UNKNOWN, "may or may not have been done"),
    ],
)
def test_decided_approvals_have_no_buttons_and_say_who_decided_and_what_happened(
    state: ApprovalState, expected: str
) -> None:
    blocks = build_approval_message(approval(state=state, decider="U0LEE", decided_at=NOW, reason="wrong buyer",
                                             outcome="Issued: NTS number 2024", hint="Fix the number",
                                             retryable=True))
    assert actions_of(blocks) == []
    text = text_of(blocks)
    assert expected in text
    if state is ApprovalState.REJECTED:
        assert "wrong buyer" in text
    if state in (ApprovalState.FAILED, ApprovalState.UNKNOWN):
        assert "What to do: Fix the number Retry with `/invoice retry 42`." in text


def test_storage_states_and_integer_ids_map_onto_the_card() -> None:
    from commands.ledger import ApprovalState as StoredState

    assert {s.value for s in StoredState} == {s.value for s in ApprovalState}
    assert approval(id=42).id == "42"


def test_an_approval_with_100_items_and_huge_names_still_serialises() -> None:
    items = tuple(LineItem(name=f"{n:02d}" + "가" * 98, quantity=Decimal("1.5"), unit_price=999_999_999)
                  for n in range(100))
    doc = card(buyer_name="Ä" * 5000, items=items, memo="m" * 5000, ref="INV-" + "9" * 200,
               detail="d" * 10_000)
    blocks = build_approval_message(approval(document=doc, warnings=("w" * 3000,) * 20, reason="r" * 5000))
    text = text_of(blocks)
    assert "… and 90 more line(s)" in text
    assert len(serialise([build_approval_message(approval(document=doc))[0]])[0]["text"]["text"]) <= 150


def test_user_text_cannot_inject_mentions_or_links() -> None:
    text = text_of(build_status_message(card(buyer_name="<!channel> <https://evil|click>")))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_the_reject_modal_asks_for_a_reason_and_carries_the_approval_id() -> None:
    view = build_reject_modal("42").to_dict()
    assert view["callback_id"] == REJECT_CALLBACK_ID
    assert view["private_metadata"] == "42"
    [reason] = view["blocks"]
    assert reason["type"] == "input" and not reason.get("optional")
    assert parse_reject_submission({"reason": {"reason_input": {"value": "  wrong amount "}}}) == ("wrong amount", {})
    assert parse_reject_submission({"reason": {"reason_input": {"value": None}}})[1] == {
        "reason": "Say why, so the requester knows what to change."}


# -- status ------------------------------------------------------------------------------


def test_status_shows_state_amounts_links_and_history() -> None:
    blocks = build_status_message(card(detail="NTS accepted the document"))
    text = text_of(blocks)
    assert "✅ filed with NTS" in text and "`304`" in text
    assert "₩1,100,000" in text and "supply ₩1,000,000" in text and "VAT ₩100,000" in text
    assert "2024-05-17 14:30 KST — NTS accepted" in text
    [links] = actions_of(blocks)
    assert [(e["text"]["text"], e["url"]) for e in links["elements"]] == [
        ("🔗 Open in provider", "https://popbill.example/popup?x=1"), ("🔗 PDF", "https://popbill.example/pdf")]


def test_status_skips_links_slack_would_refuse_and_trims_long_history() -> None:
    history = tuple((NOW + dt.timedelta(minutes=n), f"event {n}") for n in range(40))
    doc = card(links={"pdf": "https://x/" + "a" * 3100, "weird": "javascript:alert(1)"}, history=history)
    blocks = build_status_message(doc)
    assert actions_of(blocks) == []
    text = text_of(blocks)
    assert "25 earlier event(s)" in text and "event 39" in text and "event 24" not in text


# -- lists --------------------------------------------------------------------------------


def test_a_thousand_row_list_is_cut_with_and_n_more() -> None:
    cards = [card(ref=f"INV-{n:06d}", buyer_name="B" * 300) for n in range(1000)]
    blocks = build_list_message(cards, title="Documents", filters="filed · popbill")
    text = text_of(blocks)
    assert "INV-000099" in text and "INV-000100" not in text
    assert "… and 900 more" in text and "/invoice export" in text
    assert list_text(cards) == "1000 document(s)"


def test_a_list_page_with_a_larger_total() -> None:
    text = text_of(build_list_message([card()], total=250))
    assert "250 document(s)" in text and "… and 249 more" in text


def test_an_empty_list_says_so() -> None:
    assert "Nothing matches" in text_of(build_list_message([]))


def test_the_pending_list() -> None:
    text = text_of(build_pending_list_message([approval(id=str(n)) for n in range(150)]))
    assert "150 request(s)" in text and "… and 50 more" in text
    assert "Nothing is waiting" in text_of(build_pending_list_message([]))


# -- closure ---------------------------------------------------------------------------------


def test_closure_results_put_closed_and_suspended_first_with_dates() -> None:
    rows = [
        ClosureRow(bizno="1018207409", state=BusinessState.ACTIVE, tax_type="general taxable", checked_at=NOW),
        ClosureRow(bizno="2208162517", state=BusinessState.CLOSED, state_date=dt.date(2024, 3, 1), changed=True,
                   previous_state=BusinessState.ACTIVE),
        ClosureRow(bizno="1234567890", state=BusinessState.SUSPENDED, state_date=dt.date(2024, 4, 2),
                   warning="check digit does not match"),
    ]
    blocks = build_closure_message(rows)
    text = text_of(blocks)
    assert text.index("220-81-62517") < text.index("123-45-67890") < text.index("101-82-07409")
    assert "⛔ closed (폐업) `220-81-62517` since Fri, 1 Mar 2024" in text
    assert "🔔 *changed* (was active)" in text
    assert "⏸️ suspended (휴업) `123-45-67890` since Tue, 2 Apr 2024" in text
    assert "check digit does not match" in text
    assert "Checked 2024-05-17 14:30 KST" in text
    assert closure_text(rows) == "Closure check: 3 number(s), 2 closed or suspended"


def test_a_hundred_closure_rows_serialise() -> None:
    rows = [ClosureRow(bizno=f"{n:010d}", state=BusinessState.ACTIVE, tax_type="t" * 500, warning="w" * 500)
            for n in range(100)]
    assert len(serialise(build_closure_message(rows, sandbox=True))) <= 50


# -- progress, errors, export, help ----------------------------------------------------------


def test_progress() -> None:
    text = text_of(build_progress_message("Checking 120 numbers", 40, 120))
    assert "Checking 120 numbers… 40/120" in text and "33%" in text
    assert progress_text("Checking 120 numbers", 40, 120) == "Checking 120 numbers… 40/120"
    serialise(build_progress_message("x", 500, 0))


def test_error_message_says_what_happened_and_what_to_do() -> None:
    blocks = serialise(build_error_message("Popbill did not answer", "The request timed out after 10 s.",
                                           "Check `/invoice status INV-000123` before retrying."))
    text = json.dumps(blocks, ensure_ascii=False)
    assert "What happened" in text and "What to do" in text and "timed out" in text


def test_a_parser_refusal_becomes_a_message_with_the_usage_line() -> None:
    text = text_of(build_command_error_message(CommandError("`status` needs a reference.", subcommand="status")))
    assert "needs a reference" in text and USAGE["status"].replace("<", "\\u003c") not in text
    assert "/invoice status" in text


def test_export_done() -> None:
    text = text_of(build_export_message("invoices-2024-05.csv", 12, dt.date(2024, 5, 1), dt.date(2024, 5, 17),
                                        size=12_800))
    assert "invoices-2024-05.csv" in text and "(12 KB)" in text and "12 document(s)" in text


def test_help_lists_every_subcommand_and_details_one() -> None:
    text = text_of(build_help_message())
    for usage in USAGE.values():
        assert usage.split(" ")[1] in text
    topic = text_of(build_help_message("digest"))
    assert "digest schedule 09:00" in topic


# -- fuzzing --------------------------------------------------------------------------------

_any_text = st.text(max_size=400)
_when = st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC)))
_cards = st.builds(
    DocumentCard,
    ref=st.text(min_size=1, max_size=300), provider=st.sampled_from(Provider), kind=st.sampled_from(DocumentKind),
    sandbox=st.booleans(), buyer_name=st.one_of(st.none(), _any_text), buyer_bizno=st.one_of(st.none(), _any_text),
    state=st.sampled_from(DocumentState), raw_state=st.one_of(st.none(), _any_text),
    provider_id=st.one_of(st.none(), _any_text),
    links=st.dictionaries(st.text(min_size=1, max_size=40), st.one_of(_any_text, _any_text.map("https://x/".__add__)),
                          max_size=8),
    history=st.lists(st.tuples(_when, _any_text), max_size=30).map(tuple),
    requester=st.one_of(st.none(), _any_text), created_at=_when, detail=st.one_of(st.none(), st.text(max_size=5000)),
    memo=st.one_of(st.none(), st.text(max_size=5000)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_cards, state=st.sampled_from(ApprovalState), reason=st.one_of(st.none(), st.text(max_size=3000)),
       action=st.text(min_size=1, max_size=100), approval_id=st.text(min_size=1, max_size=64))
def test_builders_serialise_whatever_the_text(doc: DocumentCard, state: ApprovalState, reason: str | None,
                                              action: str, approval_id: str) -> None:
    card_ = ApprovalCard(id=approval_id, action=action, document=doc, requester="U1", state=state, reason=reason,
                         outcome=reason, hint=reason, decider="U2", expires_at=NOW)
    serialise(build_status_message(doc))
    serialise(build_approval_message(card_))
    serialise(build_list_message([doc] * 3, filters=reason))
    serialise(build_pending_list_message([card_]))
    serialise(build_error_message(action, reason or "", reason or ""))
    serialise(build_progress_message(action, 3, 7))
    build_reject_modal(approval_id).to_dict()

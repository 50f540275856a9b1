"""The issue modal: what it asks, how submissions are validated, and the console round trip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console.render import build_view_state, modal_to_prompts
from commands.slack.formatting import format_money
from commands.slack.ids import ISSUE_CALLBACK_ID
from commands.slack.modal import IssueBlocks, IssueDraft, build_issue_modal, parse_issue_submission, parse_items
from providers.models import DocumentKind, LineItem, Party, Provider, Purpose

TODAY = dt.date(2024, 5, 17)
GOOD_BIZNO = "220-81-62517"  # check digit matches
BAD_CHECKSUM_BIZNO = "123-45-67890"  # ten digits, check digit does not match

B = IssueBlocks


def submit(answers: dict[str, Any], **kwargs: Any) -> tuple[IssueDraft | None, dict[str, str], list[str]]:
    """Fill the real modal through the console helpers and parse the submission, as Slack would."""
    view = build_issue_modal(today=TODAY)
    # a required input left empty cannot come from Slack's client, but is still refused if it does
    values = build_view_state(modal_to_prompts(view), answers, enforce_required=False)
    return parse_issue_submission(values, today=TODAY, **kwargs)


def tax_invoice(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        B.PROVIDER: "popbill",
        B.KIND: "tax_invoice",
        B.BUYER_BIZNO: GOOD_BIZNO,
        B.BUYER_NAME: "Acme Korea",
        B.BUYER_EMAIL: "billing@acme.co.kr",
        B.ITEMS: "Consulting, May | 1 | 1,500,000\nLicence\t3\t₩33,333",
    }
    answers.update(overrides)
    return answers


# -- the view ------------------------------------------------------------------------------


def test_the_modal_asks_for_everything_an_issue_needs() -> None:
    view = build_issue_modal(today=TODAY).to_dict()
    assert view["callback_id"] == ISSUE_CALLBACK_ID
    assert view["type"] == "modal"
    block_ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
    assert block_ids == [B.PROVIDER, B.KIND, B.BUYER_BIZNO, B.BIZNO_CONFIRM, B.BUYER_NAME, B.BUYER_CEO,
                         B.BUYER_EMAIL, B.BUYER_PHONE, B.CLOSURE_OVERRIDE, B.ITEMS, B.WRITE_DATE, B.DUE_DATE,
                         B.PURPOSE, B.MEMO]
    write_date = next(b for b in view["blocks"] if b.get("block_id") == B.WRITE_DATE)
    assert write_date["element"]["initial_date"] == "2024-05-17"
    items = next(b for b in view["blocks"] if b.get("block_id") == B.ITEMS)
    assert items["element"]["multiline"] is True
    assert "name | quantity | unit price" in items["hint"]["text"]


def test_the_command_preselects_provider_and_kind_and_offers_only_that_providers_kinds() -> None:
    prompts = {p.block_id: p for p in modal_to_prompts(build_issue_modal(Provider.HIWORKS, DocumentKind.STATEMENT))}
    assert prompts[B.PROVIDER].initial == "hiworks"
    assert prompts[B.KIND].initial == "statement"
    assert {v for v, _ in prompts[B.KIND].options} == {"tax_invoice", "zero_rated_invoice", "exempt_invoice",
                                                       "statement"}


def test_a_kind_the_provider_lacks_is_not_offered_and_a_single_kind_is_preselected() -> None:
    # issue 9: only the provider's supported kinds, and its only kind chosen for the user
    view = build_issue_modal(Provider.PAYSSAM, DocumentKind.TAX_INVOICE)
    prompts = {p.block_id: p for p in modal_to_prompts(view)}
    assert [v for v, _ in prompts[B.KIND].options] == ["bill"]
    assert prompts[B.KIND].initial == "bill"


@pytest.mark.parametrize(("provider", "kind"), [(Provider.PAYSSAM, "bill"), (Provider.ABILLIFY, "invoice")])
def test_a_provider_with_one_kind_has_it_preselected(provider: Provider, kind: str) -> None:
    prompts = {p.block_id: p for p in modal_to_prompts(build_issue_modal(provider))}
    assert prompts[B.KIND].initial == kind
    assert [v for v, _ in prompts[B.KIND].options] == [kind]


def test_the_closure_override_is_offered_only_where_the_provider_checks_closure() -> None:
    assert B.CLOSURE_OVERRIDE in {p.block_id for p in modal_to_prompts(build_issue_modal(Provider.HIWORKS))}
    assert B.CLOSURE_OVERRIDE not in {p.block_id for p in modal_to_prompts(build_issue_modal(Provider.PAYSSAM))}
    prefilled = build_issue_modal(Provider.POPBILL, override_reason="reopened in May").to_dict()
    block = next(b for b in prefilled["blocks"] if b.get("block_id") == B.CLOSURE_OVERRIDE)
    assert block["element"]["initial_value"] == "reopened in May"


def test_errors_are_listed_at_the_top_of_a_rerendered_modal() -> None:
    view = build_issue_modal(errors={B.BUYER_NAME: "Enter the buyer's name."}).to_dict()
    assert view["blocks"][0]["block_id"] == "errors"
    assert "Enter the buyer's name." in view["blocks"][0]["text"]["text"]


def test_private_metadata_is_carried() -> None:
    assert build_issue_modal(private_metadata='{"channel":"C1"}').to_dict()["private_metadata"] == '{"channel":"C1"}'


# -- valid submissions ------------------------------------------------------------------------


def test_a_tax_invoice_submission_becomes_a_draft_with_computed_amounts() -> None:
    draft, errors, warnings = submit(tax_invoice(**{B.BUYER_PHONE: "010-1234-5678", B.PURPOSE: "receipt",
                                                    B.MEMO: "May retainer", B.DUE_DATE: "2024-05-31"}))
    assert errors == {} and warnings == []
    assert draft == IssueDraft(
        provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
        buyer=Party(name="Acme Korea", bizno="2208162517", email="billing@acme.co.kr", phone="01012345678"),
        items=[LineItem(name="Consulting, May", quantity=Decimal(1), unit_price=1_500_000),
               LineItem(name="Licence", quantity=Decimal(3), unit_price=33_333)],
        write_date=TODAY, purpose=Purpose.RECEIPT, memo="May retainer", due_date=dt.date(2024, 5, 31),
    )
    amounts = draft.to_request("INV-000001").amounts()
    # VAT is 10% per line, rounded half-up: 150,000 + round(9,999.9) = 160,000
    assert (amounts.supply, amounts.vat, amounts.total) == (1_599_999, 160_000, 1_759_999)


def test_zero_rated_documents_carry_no_vat() -> None:
    draft, errors, _ = submit(tax_invoice(**{B.KIND: "zero_rated_invoice"}))
    assert errors == {} and draft is not None
    assert draft.to_request("INV-000002").amounts().vat == 0


def test_a_two_column_line_means_quantity_one_and_decimal_quantities_round_the_supply() -> None:
    items, problems = parse_items("Hosting | 99,000\nHours | 2.5 | 33,333")
    assert problems == []
    assert items[0].quantity == 1 and items[0].unit_price == 99_000
    assert items[1].supply_amount() == 83_333  # 83,332.5 rounded half-up


def test_a_foreign_currency_takes_minor_units() -> None:
    draft, errors, _ = submit({B.PROVIDER: "abillify", B.KIND: "invoice", B.BUYER_NAME: "Muster GmbH",
                               B.ITEMS: "Beratung | 2 | 12.50"}, currencies={Provider.ABILLIFY: "EUR"})
    assert errors == {} and draft is not None
    assert draft.currency == "EUR" and draft.items[0].unit_price == 1250
    assert format_money(draft.to_request("draft").amounts().supply, draft.currency) == "€25.00"


def test_a_payssam_bill_needs_no_business_number_but_a_mobile_phone() -> None:
    draft, errors, _ = submit({B.PROVIDER: "payssam", B.KIND: "bill", B.BUYER_NAME: "Kim",
                               B.BUYER_PHONE: "+82 10 9876 5432", B.ITEMS: "Tuition | 1 | 300,000"})
    assert errors == {} and draft is not None
    assert draft.buyer.phone == "01098765432" and draft.buyer.bizno is None


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "block_id", "expected"),
    [
        ({B.PROVIDER: None}, B.PROVIDER, "Choose a provider"),
        ({B.KIND: None}, B.KIND, "Choose what to issue"),
        ({B.PROVIDER: "abillify"}, B.KIND, "Abillify cannot issue a Tax invoice"),
        ({B.BUYER_BIZNO: None}, B.BUYER_BIZNO, "needs the buyer's business number"),
        ({B.BUYER_BIZNO: "12-34"}, B.BUYER_BIZNO, "has 4 digits"),
        ({B.BUYER_BIZNO: BAD_CHECKSUM_BIZNO}, B.BUYER_BIZNO, "submit again to use it anyway"),
        ({B.BUYER_NAME: None}, B.BUYER_NAME, "Enter the buyer's name"),
        ({B.BUYER_NAME: "x" * 101}, B.BUYER_NAME, "100 at most"),
        ({B.BUYER_EMAIL: "billing@"}, B.BUYER_EMAIL, "not an e-mail address"),
        ({B.BUYER_PHONE: "12"}, B.BUYER_PHONE, "not a phone number"),
        ({B.ITEMS: None}, B.ITEMS, "Add at least one line item"),
        ({B.ITEMS: "Consulting 1 1500000"}, B.ITEMS, "Line 1"),
        ({B.ITEMS: "A | 1 | 10\nB | two | 10"}, B.ITEMS, "Line 2: quantity “two”"),
        ({B.ITEMS: "A | 0 | 10"}, B.ITEMS, "must be a positive number"),
        ({B.ITEMS: "A | 1 | 10.5"}, B.ITEMS, "won has no decimals"),
        ({B.ITEMS: "A | 1 | -10"}, B.ITEMS, "must be an amount"),
        ({B.ITEMS: " | 1 | 10"}, B.ITEMS, "has no name"),
        ({B.ITEMS: "A | 1 | 0"}, B.ITEMS, "needs an amount"),
        ({B.ITEMS: "A | 1 | 99999999999999"}, B.ITEMS, "too large"),
        ({B.ITEMS: "\n".join(f"item {n} | 1 | 1000" for n in range(100))}, B.ITEMS, "at most 99"),
        ({B.DUE_DATE: "2024-05-01"}, B.DUE_DATE, "before the write date"),
        ({B.MEMO: "m" * 201}, B.MEMO, "200 at most"),
    ],
)
def test_each_problem_is_reported_on_its_own_input(overrides: dict[str, Any], block_id: str, expected: str) -> None:
    draft, errors, _ = submit(tax_invoice(**overrides))
    assert draft is None
    assert expected in errors[block_id]
    assert set(errors) == {block_id}


def test_hiworks_without_the_representative_is_refused_on_that_field() -> None:
    """Issue 9: Hiworks marks ceoName required (seed 004); before, this reached an approver and failed after."""
    draft, errors, _ = submit(tax_invoice(**{B.PROVIDER: "hiworks"}))
    assert draft is None
    assert set(errors) == {B.BUYER_CEO}
    assert "representative" in errors[B.BUYER_CEO] and "hiworks" in errors[B.BUYER_CEO]
    draft, errors, _ = submit(tax_invoice(**{B.PROVIDER: "hiworks", B.BUYER_CEO: "김대표"}))
    assert draft is not None and not errors


def test_hiworks_without_an_email_is_refused_on_that_field() -> None:
    _, errors, _ = submit(tax_invoice(**{B.PROVIDER: "hiworks", B.BUYER_CEO: "김대표", B.BUYER_EMAIL: None}))
    assert set(errors) == {B.BUYER_EMAIL}


@pytest.mark.parametrize("provider", ["popbill", "hiworks"])
def test_a_quantity_with_more_decimals_than_the_provider_allows_is_refused_on_the_items(provider: str) -> None:
    draft, errors, _ = submit(tax_invoice(**{B.PROVIDER: provider, B.BUYER_CEO: "김대표",
                                             B.ITEMS: "Consulting | 1.2345 | 10,000"}))
    assert draft is None
    assert "Line 1" in errors[B.ITEMS] and "allows 2" in errors[B.ITEMS]
    draft, errors, _ = submit(tax_invoice(**{B.PROVIDER: provider, B.BUYER_CEO: "김대표",
                                             B.ITEMS: "Consulting | 1.25 | 10,000"}))
    assert draft is not None, errors


def test_the_override_reason_is_carried_on_the_draft() -> None:
    draft, errors, _ = submit(tax_invoice(**{B.CLOSURE_OVERRIDE: "reopened in May"}))
    assert not errors
    assert draft is not None and draft.override_reason == "reopened in May"
    assert "override_reason" not in draft.to_request("INV-000001").model_dump()


def test_payssam_without_a_mobile_phone_is_refused() -> None:
    answers = {B.PROVIDER: "payssam", B.KIND: "bill", B.BUYER_NAME: "Kim", B.ITEMS: "Tuition | 300,000"}
    assert "mobile phone" in submit(answers)[1][B.BUYER_PHONE]
    assert "needs a mobile number" in submit({**answers, B.BUYER_PHONE: "02-123-4567"})[1][B.BUYER_PHONE]
    assert "at most" in submit({**answers, B.BUYER_PHONE: "010-1234-5678",
                                B.ITEMS: "Car | 1 | 10,000,000,000"})[1][B.ITEMS]


def test_a_checksum_mismatch_is_accepted_once_the_user_confirms_the_number() -> None:
    draft, errors, _ = submit(tax_invoice(**{B.BUYER_BIZNO: BAD_CHECKSUM_BIZNO}))
    assert draft is None and "tick “The number is correct”" in errors[B.BUYER_BIZNO]
    draft, errors, warnings = submit(tax_invoice(**{B.BUYER_BIZNO: BAD_CHECKSUM_BIZNO, B.BIZNO_CONFIRM: "yes"}))
    assert errors == {} and draft is not None
    assert draft.buyer.bizno == "1234567890"
    assert "check digit" in warnings[0]


def test_late_and_future_write_dates_are_warnings_not_errors() -> None:
    _, errors, warnings = submit(tax_invoice(**{B.WRITE_DATE: "2024-03-31"}))
    assert errors == {} and "late issue" in warnings[0]
    _, errors, warnings = submit(tax_invoice(**{B.WRITE_DATE: "2024-05-20"}))
    assert errors == {} and "in the future" in warnings[0]


def test_a_submission_of_the_wrong_shape_is_answered_with_errors() -> None:
    draft, errors, _ = parse_issue_submission({"provider": "popbill", B.ITEMS: {"x": 1}, B.WRITE_DATE: None},
                                              today=TODAY)
    assert draft is None
    assert {B.PROVIDER, B.KIND, B.BUYER_NAME, B.ITEMS, B.WRITE_DATE} <= set(errors)


def test_the_console_refuses_an_empty_required_input_like_slacks_client() -> None:
    with pytest.raises(ValueError, match="Buyer name"):
        build_view_state(modal_to_prompts(build_issue_modal()), tax_invoice(**{B.BUYER_NAME: ""}))
    with pytest.raises(ValueError, match="not one of the choices"):
        build_view_state(modal_to_prompts(build_issue_modal()), tax_invoice(**{B.PROVIDER: "dhl"}))


# -- round trips ----------------------------------------------------------------------------


def test_a_prefilled_modal_submitted_unchanged_gives_back_the_same_draft() -> None:
    draft, errors, _ = submit(tax_invoice(**{B.ITEMS: "Consulting | 1.5 | 1,000,000\nMug | 2 | 8,900",
                                             B.DUE_DATE: "2024-06-10", B.BUYER_CEO: "Lee"}))
    assert draft is not None and errors == {}
    view = build_issue_modal(initial=draft, today=TODAY)
    values = build_view_state(modal_to_prompts(view), {})
    again, errors, _ = parse_issue_submission(values, today=TODAY)
    assert errors == {}
    assert again == draft


def test_the_state_built_for_the_modal_has_slacks_exact_shape() -> None:
    view = build_issue_modal(today=TODAY)
    values = build_view_state(modal_to_prompts(view), tax_invoice(**{B.BIZNO_CONFIRM: "1"}))
    assert values[B.PROVIDER][B.action(B.PROVIDER)] == {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "Popbill", "emoji": True}, "value": "popbill"},
    }
    assert values[B.WRITE_DATE][B.action(B.WRITE_DATE)] == {"type": "datepicker", "selected_date": "2024-05-17"}
    assert values[B.BUYER_CEO][B.action(B.BUYER_CEO)] == {"type": "plain_text_input", "value": None}
    assert values[B.BUYER_EMAIL][B.action(B.BUYER_EMAIL)] == {"type": "email_text_input",
                                                              "value": "billing@acme.co.kr"}
    confirm = values[B.BIZNO_CONFIRM][B.action(B.BIZNO_CONFIRM)]
    assert confirm["type"] == "checkboxes" and confirm["selected_options"][0]["value"] == "bizno_confirmed"


# -- fuzzing --------------------------------------------------------------------------------

_text_state = st.one_of(st.none(), st.text(max_size=300), st.integers(), st.lists(st.text(max_size=5), max_size=2))


@st.composite
def _submissions(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in (B.BUYER_BIZNO, B.BUYER_NAME, B.BUYER_CEO, B.BUYER_EMAIL, B.BUYER_PHONE, B.ITEMS, B.MEMO):
        values[block] = {B.action(block): {"type": "plain_text_input", "value": draw(_text_state)}}
    for block, choices in ((B.PROVIDER, [p.value for p in Provider]), (B.KIND, [k.value for k in DocumentKind]),
                           (B.PURPOSE, ["charge", "receipt"])):
        value = draw(st.one_of(st.sampled_from(choices), st.text(max_size=10), st.none()))
        values[block] = {B.action(block): {"type": "static_select", "selected_option": draw(
            st.sampled_from([None, {"value": value}, value]))}}
    for block in (B.WRITE_DATE, B.DUE_DATE):
        date = draw(st.one_of(st.none(), st.dates().map(str), st.text(max_size=12)))
        values[block] = {B.action(block): {"type": "datepicker", "selected_date": date}}
    values[B.BIZNO_CONFIRM] = {B.action(B.BIZNO_CONFIRM): {"type": "checkboxes", "selected_options": draw(
        st.sampled_from([[], [{"value": "bizno_confirmed"}], None, "x"]))}}
    lines = draw(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=12), st.text(max_size=16)), max_size=5))
    use_lines: bool = draw(st.booleans())
    if lines and use_lines:
        values[B.ITEMS] = {B.action(B.ITEMS): {"type": "plain_text_input",
                                               "value": "\n".join(" | ".join(t) for t in lines)}}
    return values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_submissions())
def test_any_submission_gives_a_draft_or_errors_never_an_exception(values: dict[str, Any]) -> None:
    draft, errors, warnings = parse_issue_submission(values, today=TODAY)
    assert (draft is None) == bool(errors)
    for message in [*errors.values(), *warnings]:
        assert message and "Traceback" not in message and "validation error" not in message
    assert set(errors) <= {getattr(B, name) for name in dir(B) if name.isupper()}

"""Validating a submitted issue modal into an `IssueDraft`, or errors keyed by block id.

One validator per group of fields (provider and kind, buyer, contacts, items, dates,
purpose and memo). Each reads only its own fields and returns a `Checked`: the value,
the errors keyed by block id and the warnings. `parse_issue_submission` merges them in
the modal's order, so a listener can answer ``ack(response_action="errors", errors=...)``
with every problem at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from commands.slack.formatting import KIND_LABELS, PROVIDER_LABELS, SEOUL, clip, format_money
from commands.slack.modal.fields import (
    CHECK_FIELD_BLOCKS,
    CONFIRM_VALUE,
    DEFAULT_KINDS,
    NEEDS_BIZNO,
    IssueBlocks,
    checked,
    date_value,
    selected,
    text_value,
)
from commands.slack.modal.items import MAX_AMOUNT, parse_items
from commands.slack.modal.money import MoneyAnswers, form_shape, read_money
from commands.workflow.checks import ChecksFailed, FieldProblem, issue_problems
from commands.workflow.drafts import IssueDraft
from providers.base import Capabilities
from providers.bizno import InvalidBizno, check_bizno
from providers.models import DocumentKind, LineItem, Party, Provider, Purpose
from providers.phone import MOBILE_EXAMPLE, is_mobile, normalise_phone
from providers.registry import CAPABILITIES

__all__ = ["Checked", "parse_issue_submission", "problem_errors", "submission_errors"]

B = IssueBlocks
T = TypeVar("T")


@dataclass(frozen=True)
class Checked(Generic[T]):
    """What one validator found: the value read, errors by block id, warnings for the approver."""

    value: T
    errors: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Buyer:
    bizno: str | None
    name: str | None
    ceo: str | None


@dataclass(frozen=True)
class _Dates:
    write: dt.date | None
    due: dt.date | None


def _choice(values: Mapping[str, Any], offered: Mapping[Provider, Collection[DocumentKind]],
            ) -> Checked[tuple[Provider | None, DocumentKind | None]]:
    """Provider and kind, and whether that provider issues that kind."""
    errors: dict[str, str] = {}
    provider_value = selected(values, B.PROVIDER)
    provider = Provider(provider_value) if provider_value in {p.value for p in Provider} else None
    if provider is None:
        errors[B.PROVIDER] = "Choose a provider."
    kind_value = selected(values, B.KIND)
    kind = DocumentKind(kind_value) if kind_value in {k.value for k in DocumentKind} else None
    if kind is None:
        errors[B.KIND] = "Choose what to issue."
    if provider is not None and kind is not None and kind not in offered.get(provider, ()):
        kinds = ", ".join(KIND_LABELS[k] for k in DocumentKind if k in offered.get(provider, ())) or "nothing"
        errors[B.KIND] = clip(f"{PROVIDER_LABELS[provider]} cannot issue a {KIND_LABELS[kind]}. It offers: {kinds}.",
                              1000)
    return Checked((provider, kind), errors)


def _bizno(values: Mapping[str, Any], kind: DocumentKind | None) -> Checked[str | None]:
    """The buyer's business number: required for tax-office kinds; a failed check digit must be confirmed."""
    text = text_value(values, B.BUYER_BIZNO)
    if text is None:
        if kind in NEEDS_BIZNO:
            return Checked(None, {B.BUYER_BIZNO: "A tax invoice or statement needs the buyer's business number "
                                                 "(10 digits)."})
        return Checked(None)
    try:
        number = check_bizno(text)
    except InvalidBizno as exc:
        return Checked(None, {B.BUYER_BIZNO: clip(str(exc), 500)})
    if not number.warning:
        return Checked(number.number)
    if checked(values, B.BIZNO_CONFIRM, CONFIRM_VALUE):
        return Checked(number.number, warnings=(number.warning,))
    return Checked(number.number, {B.BUYER_BIZNO: f"{number.warning} If it is right, tick “The number is correct” "
                                                  "below and submit again to use it anyway."})


def _buyer(values: Mapping[str, Any], kind: DocumentKind | None) -> Checked[_Buyer]:
    """Business number, name and representative."""
    bizno = _bizno(values, kind)
    errors = dict(bizno.errors)
    name = text_value(values, B.BUYER_NAME)
    if name is None:
        errors[B.BUYER_NAME] = "Enter the buyer's name."
    elif len(name) > 100:
        errors[B.BUYER_NAME] = f"The name is {len(name)} characters; 100 at most."
    ceo = text_value(values, B.BUYER_CEO)
    if ceo is not None and len(ceo) > 100:
        errors[B.BUYER_CEO] = f"The name is {len(ceo)} characters; 100 at most."
    return Checked(_Buyer(bizno.value, name, ceo), errors, bizno.warnings)


def _contacts(values: Mapping[str, Any], provider: Provider | None) -> Checked[tuple[str | None, str | None]]:
    """(email, phone digits); a provider that delivers by KakaoTalk or SMS needs a mobile number."""
    errors: dict[str, str] = {}
    email = text_value(values, B.BUYER_EMAIL)
    if email is not None and not re.fullmatch(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+", email):
        errors[B.BUYER_EMAIL] = "That is not an e-mail address (e.g. billing@example.co.kr)."
    phone_text = text_value(values, B.BUYER_PHONE)
    phone = normalise_phone(phone_text) if phone_text is not None else None
    needs_mobile = provider is not None and bool(CAPABILITIES[provider].mobile_kinds)
    name = PROVIDER_LABELS[provider].split(" (")[0] if provider is not None else ""
    if phone_text is not None and phone is None:
        errors[B.BUYER_PHONE] = f"That is not a phone number (e.g. {MOBILE_EXAMPLE})."
    elif needs_mobile and phone is None:
        errors[B.BUYER_PHONE] = f"{name} sends the bill to the buyer's mobile phone: enter it (010-…)."
    elif needs_mobile and phone is not None and not is_mobile(phone):
        errors[B.BUYER_PHONE] = f"{name} needs a mobile number (010-…) to send the bill by KakaoTalk."
    return Checked((email, phone), errors)


def _join(problems: list[str]) -> str:
    text = " ".join(problems[:3])
    if len(problems) > 3:
        text += f" (and {len(problems) - 3} more)"
    return clip(text, 1000)


def _items(values: Mapping[str, Any], provider: Provider | None, kind: DocumentKind | None,
           money: MoneyAnswers) -> Checked[list[LineItem]]:
    """The line items, and a total that is neither zero nor beyond what can be billed."""
    currency = money.currency
    items, problems = parse_items(text_value(values, B.ITEMS), currency)
    if problems:
        return Checked(items, {B.ITEMS: _join(problems)})
    if kind is None:
        return Checked(items)
    tax_type = money.taxation or kind.tax_type
    total = sum(i.supply_amount() + i.vat_amount(tax_type, money.vat_rate) for i in items)
    if total <= 0:
        return Checked(items, {B.ITEMS: f"The total is {format_money(0, currency)}; a document needs an amount."})
    if total > MAX_AMOUNT:
        return Checked(items, {B.ITEMS: "The total is too large."})
    ceiling = CAPABILITIES[provider].max_total if provider is not None else None
    if provider is not None and ceiling is not None and total > ceiling:
        name = PROVIDER_LABELS[provider].split(" (")[0]
        return Checked(items, {B.ITEMS: f"{name} bills at most {format_money(ceiling, currency)}."})
    return Checked(items)


def _late(write_date: dt.date, today: dt.date) -> bool:
    """Whether a tax invoice for `write_date` is issued after the 10th of the next month."""
    year, month = (write_date.year + 1, 1) if write_date.month == 12 else (write_date.year, write_date.month + 1)
    return today > dt.date(year, month, 10)


def _dates(values: Mapping[str, Any], kind: DocumentKind | None, today: dt.date) -> Checked[_Dates]:
    """Write date (required; future or late issue only warns) and an optional due date after it."""
    errors: dict[str, str] = {}
    warnings: list[str] = []
    write_date, bad_write = date_value(values, B.WRITE_DATE)
    if write_date is None:
        errors[B.WRITE_DATE] = "Pick a valid date." if bad_write else "Pick the write date."
    else:
        if write_date > today:
            warnings.append(f"The write date {write_date} is in the future; most providers refuse that.")
        if kind in NEEDS_BIZNO and _late(write_date, today):
            warnings.append(f"The write date {write_date} is past the 10th of the following month: "
                            "this is a late issue (지연발급) and may carry a penalty.")
    due_date, bad_due = date_value(values, B.DUE_DATE)
    if bad_due:
        errors[B.DUE_DATE] = "Pick a valid date."
    elif due_date is not None and write_date is not None and due_date < write_date:
        errors[B.DUE_DATE] = f"The due date is before the write date ({write_date})."
    return Checked(_Dates(write_date, due_date), errors, tuple(warnings))


def _purpose_and_memo(values: Mapping[str, Any]) -> Checked[tuple[Purpose, str | None]]:
    purpose_value = selected(values, B.PURPOSE)
    purpose = Purpose(purpose_value) if purpose_value in {p.value for p in Purpose} else Purpose.CHARGE
    memo = text_value(values, B.MEMO)
    if memo is not None and len(memo) > 200:
        return Checked((purpose, memo), {B.MEMO: f"The memo is {len(memo)} characters; 200 at most."})
    return Checked((purpose, memo))


def parse_issue_submission(
    view_state_values: Mapping[str, Any],
    *,
    today: dt.date | None = None,
    offered: Mapping[Provider, Collection[DocumentKind]] | None = None,
    currencies: Mapping[Provider, str] | None = None,
    capabilities: Mapping[Provider, Capabilities] | None = None,
) -> tuple[IssueDraft | None, dict[str, str], list[str]]:
    """Validate a submitted issue modal.

    Args:
        view_state_values: ``view["state"]["values"]`` of the view_submission.
        today: for date checks (Asia/Seoul today by default).
        offered: kinds per provider (capabilities); DEFAULT_KINDS otherwise.
        currencies: the currency each provider bills in (KRW unless told; the form's own currency
            input wins where the provider offers a choice).
        capabilities: the live providers' capabilities (VAT rates, currencies); the declared ones otherwise.

    Returns:
        (draft, errors, warnings): `draft` is None when `errors` (block_id -> message,
        ready for ``response_action="errors"``) is not empty. Warnings are worth
        showing to the approver but do not block.
    """
    values = view_state_values
    today = today or dt.datetime.now(SEOUL).date()
    choice = _choice(values, offered or DEFAULT_KINDS)
    provider, kind = choice.value
    currency = (currencies or {}).get(provider, "KRW") if provider else "KRW"
    shape = form_shape(capabilities or CAPABILITIES, provider, kind)
    money, money_errors = read_money(values, shape, kind, currency)
    buyer = _buyer(values, kind)
    contacts = _contacts(values, provider)
    items = _items(values, provider, kind, money)
    dates = _dates(values, kind, today)
    extras = _purpose_and_memo(values)
    parts: list[Checked[Any]] = [choice, buyer, contacts, Checked(money, money_errors), items, dates, extras]
    errors = {block: message for part in parts for block, message in part.errors.items()}
    warnings = [warning for part in parts for warning in part.warnings]
    if (errors or provider is None or kind is None or buyer.value.name is None
            or dates.value.write is None):
        return None, errors, warnings
    email, phone = contacts.value
    purpose, memo = extras.value
    draft = IssueDraft(
        provider=provider, kind=kind,
        buyer=Party(name=buyer.value.name, bizno=buyer.value.bizno, ceo_name=buyer.value.ceo, email=email,
                    phone=phone),
        items=items.value, write_date=dates.value.write, purpose=purpose, memo=memo, currency=money.currency,
        due_date=None if shape.cash else dates.value.due,
        override_reason=None if shape.cash else text_value(values, B.CLOSURE_OVERRIDE),
        taxation=money.taxation, vat_rate=money.vat_rate, trade_usage=money.trade_usage,
        identity_number=money.identity_number,
    )
    # the workflow's own validation step, run here too so each problem lands on its field
    errors = problem_errors(issue_problems((capabilities or CAPABILITIES)[provider], draft))
    return (None if errors else draft), errors, warnings


def problem_errors(problems: Sequence[FieldProblem]) -> dict[str, str]:
    """The checks' problems as ``response_action="errors"`` errors, each on its input."""
    errors: dict[str, str] = {}
    for problem in problems:
        block = CHECK_FIELD_BLOCKS.get(problem.field, B.PROVIDER)
        errors[block] = clip(f"{errors[block]} {problem.message}" if block in errors else problem.message, 1000)
    return errors


def submission_errors(exc: Exception, fallback: str) -> dict[str, str]:
    """The errors to answer a refused submission with: per field for the checks, else `fallback`
    (the refusal in words) on the provider input."""
    if isinstance(exc, ChecksFailed):
        return problem_errors(exc.problems)
    return {B.PROVIDER: clip(fallback, 1900)}

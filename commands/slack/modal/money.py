"""The issue modal's money and cash-receipt inputs: currency, VAT treatment, VAT rate, usage, identity.

Which of them a form shows follows the provider's declared `Capabilities`: a currency and a VAT
rate where the provider bills in several currencies with the seller's rates (Abillify), a VAT
treatment where the kind leaves it open (a VAT-free Payssam bill, a 비과세 cash receipt), and for a
cash receipt the usage (소득공제용 / 지출증빙용) and the identity number in place of the buyer's
business number, due date and 영수/청구, which do not apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_sdk.models.blocks import Block, InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.blocks.basic_components import PlainTextObject

from commands.i18n import N_, _
from commands.slack.formatting import clip
from commands.slack.modal.fields import IssueBlocks, selected, text_value
from commands.workflow.drafts import IssueDraft
from providers.base import Capabilities
from providers.currency import COMMON_CURRENCIES, is_iso_currency
from providers.identity import InvalidIdentity, check_identity
from providers.models import DocumentKind, Provider, TaxType, TradeUsage

__all__ = ["FormShape", "MoneyAnswers", "form_shape", "money_inputs", "rate_text", "read_money"]

B = IssueBlocks
a = IssueBlocks.action

_TAXATION_LABELS = {
    TaxType.TAXABLE: N_("Taxable (과세): VAT added"),
    TaxType.ZERO_RATED: N_("Zero-rated (영세율): 0% VAT"),
    TaxType.EXEMPT: N_("VAT-free / exempt (면세): no VAT"),
}
_CASH_TAXATION_LABELS = {
    TaxType.TAXABLE: N_("과세: taxable, VAT included in the total"),
    TaxType.EXEMPT: N_("비과세: tax-free, no VAT"),
}
_USAGE_LABELS = {
    TradeUsage.INCOME_DEDUCTION: N_("소득공제용: income deduction (a person)"),
    TradeUsage.EXPENSE_PROOF: N_("지출증빙용: expense proof (a business)"),
}


@dataclass(frozen=True)
class FormShape:
    """What the form asks beyond the common fields, for one provider and kind."""

    cash: bool = False  # a cash receipt: usage and identity instead of business number, due date, purpose
    taxations: tuple[TaxType, ...] = ()  # offered VAT treatments (none shown when only one)
    currency_choice: bool = False
    default_currency: str = "KRW"
    rates: tuple[Decimal, ...] = ()
    default_rate: Decimal | None = None


def form_shape(capabilities: Mapping[Provider, Capabilities], provider: Provider | None,
               kind: DocumentKind | None) -> FormShape:
    """The extra inputs for `provider` and `kind` (none while either is unknown, except the currency)."""
    caps = capabilities.get(provider) if provider is not None else None
    if caps is None:
        return FormShape()
    kind = kind if kind is not None else caps.single_kind()
    taxations = tuple(t for t in TaxType if kind is not None and t in caps.taxations_for(kind))
    return FormShape(
        cash=kind is not None and kind in caps.identity_kinds,
        taxations=taxations if len(taxations) > 1 else (),
        currency_choice=caps.currency_choice,
        default_currency=caps.default_currency,
        rates=caps.vat_rates,
        default_rate=caps.default_vat_rate,
    )


def rate_text(rate: Decimal) -> str:
    """``Decimal('19')`` -> ``19%``."""
    return f"{rate.normalize():f}%"


def _plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def _select(block_id: str, label: str, options: list[Option], initial: str | None, *, optional: bool = False,
            hint: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=_plain(label), optional=optional, hint=_plain(hint) if hint else None,
        element=StaticSelectElement(action_id=a(block_id), options=options,
                                    initial_option=next((o for o in options if o.value == initial), None)),
    )


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=_plain(clip(label, 75)))


def money_inputs(shape: FormShape, initial: IssueDraft | None, currency: str | None = None) -> list[Block]:
    """Currency, VAT rate, VAT treatment, and a cash receipt's usage and identity number."""
    blocks: list[Block] = []
    if shape.currency_choice:
        chosen = (initial.currency if initial else None) or currency or shape.default_currency
        codes = list(dict.fromkeys([chosen, *COMMON_CURRENCIES]))
        blocks.append(_select(B.CURRENCY, _("Currency"), [_option(c, c) for c in codes], chosen,
                              hint=_("Amounts are in this currency's units, e.g. 120.50 for EUR.")))
    if shape.rates:
        rate = (initial.vat_rate if initial and initial.vat_rate is not None else shape.default_rate)
        blocks.append(_select(
            B.VAT_RATE, _("VAT rate"), [_option(format(r, "f"), rate_text(r)) for r in shape.rates],
            format(rate, "f") if rate is not None else None,
            hint=_("For every line without its own rate; a line may add one: name | quantity | price | 7%.")))
    if shape.taxations:
        labels = _CASH_TAXATION_LABELS if shape.cash else _TAXATION_LABELS
        chosen_tax = initial.tax_type if initial else TaxType.TAXABLE
        blocks.append(_select(B.TAXATION, _("Taxation (과세/비과세)") if shape.cash else _("VAT"),
                              [_option(t.value, _(labels[t])) for t in shape.taxations if t in labels],
                              chosen_tax.value))
    if shape.cash:
        usage = initial.trade_usage.value if initial and initial.trade_usage else None
        blocks.append(_select(B.TRADE_USAGE, _("Usage (소득공제용/지출증빙용)"),
                              [_option(u.value, _(label)) for u, label in _USAGE_LABELS.items()], usage))
        blocks.append(InputBlock(
            block_id=B.IDENTITY, label=_plain(_("Identity number (식별번호)")),
            hint=_plain(_("Income deduction: the buyer's mobile phone or cash-receipt card number. "
                          "Expense proof: the buyer's business number or card number.")),
            element=PlainTextInputElement(action_id=a(B.IDENTITY), max_length=30,
                                          placeholder=_plain("010-1234-5678"),
                                          initial_value=initial.identity_number if initial else None),
        ))
    return blocks


@dataclass(frozen=True)
class MoneyAnswers:
    """What the money and cash-receipt inputs said (None: not asked or not answered)."""

    currency: str
    taxation: TaxType | None = None
    vat_rate: Decimal | None = None
    trade_usage: TradeUsage | None = None
    identity_number: str | None = None


def _rate(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value is not None else None
    except InvalidOperation:
        return None


def read_money(values: Mapping[str, Any], shape: FormShape, kind: DocumentKind | None,
               fallback_currency: str) -> tuple[MoneyAnswers, dict[str, str]]:
    """The answers and the errors by block id."""
    errors: dict[str, str] = {}
    currency = fallback_currency
    if shape.currency_choice:
        currency = (selected(values, B.CURRENCY) or shape.default_currency).upper()
        if not is_iso_currency(currency):
            errors[B.CURRENCY] = _("Choose a currency.")
    rate = _rate(selected(values, B.VAT_RATE)) if shape.rates else None
    if shape.rates and rate is None:
        rate = shape.default_rate
    taxation_value = selected(values, B.TAXATION) if shape.taxations else None
    taxation = TaxType(taxation_value) if taxation_value in {t.value for t in shape.taxations} else None
    if kind is not None and taxation is kind.tax_type:
        taxation = None  # the kind's own treatment: nothing to record
    usage: TradeUsage | None = None
    identity: str | None = None
    if shape.cash:
        usage_value = selected(values, B.TRADE_USAGE)
        usage = TradeUsage(usage_value) if usage_value in {u.value for u in TradeUsage} else None
        if usage is None:
            errors[B.TRADE_USAGE] = _("Choose income deduction (소득공제용) or expense proof (지출증빙용).")
        identity = text_value(values, B.IDENTITY)
        if identity is None:
            errors[B.IDENTITY] = _("Enter the number the cash receipt is issued to.")
        elif usage is not None:
            try:
                identity = check_identity(usage, identity)
            except InvalidIdentity as exc:
                errors[B.IDENTITY] = clip(str(exc), 1000)
    return MoneyAnswers(currency, taxation, rate, usage, identity), errors

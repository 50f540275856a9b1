"""The "issue a document" modal: the view we open and the validation of what comes back.

`build_issue_modal` returns a `slack_sdk.models.views.View` (so Slack's limits are
checked when it is serialised). `parse_issue_submission` turns the submitted
`view.state.values` into an :class:`IssueDraft`, or into errors keyed by block_id
that a listener returns as ``ack(response_action="errors", errors=...)``.

Line items are one multiline text field, one item per line ``name | qty | unit price``:
finance people keep line items in a spreadsheet, and a pasted spreadsheet range
(tab-separated) is accepted as it is, which beats filling a fixed grid of inputs.

A business number whose check digit does not match is refused once, with a checkbox
"the number is correct" to tick before submitting again: some real numbers fail the
check digit, so the user must be able to insist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    EmailInputElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from commands.slack.formatting import (
    KIND_LABELS,
    PROVIDER_LABELS,
    SEOUL,
    clip,
    currency_exponent,
    escape_mrkdwn,
    format_money,
)
from commands.slack.ids import ISSUE_CALLBACK_ID
from commands.slack.parser import normalise_phone
from commands.workflow.drafts import IssueDraft
from providers.bizno import InvalidBizno, check_bizno
from providers.models import (
    DocumentKind,
    LineItem,
    Party,
    Provider,
    Purpose,
)

__all__ = [
    "DEFAULT_KINDS",
    "ISSUE_CALLBACK_ID",
    "MAX_ITEMS",
    "IssueBlocks",
    "IssueDraft",
    "build_issue_modal",
    "format_items",
    "parse_issue_submission",
    "parse_items",
]

MAX_ITEMS = 99  # Popbill's detail list holds at most 99 lines; no provider takes more
MAX_QUANTITY = Decimal(10_000_000)
MAX_AMOUNT = 10**13  # minor units; far above any real document, below every provider's field width
PAYSSAM_MAX_PRICE = 9_999_999_999  # Payssam's price is at most 10 digits

#: Which kinds each provider issues, unless the caller passes the live capabilities.
DEFAULT_KINDS: Mapping[Provider, frozenset[DocumentKind]] = {
    Provider.POPBILL: frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE,
                                 DocumentKind.EXEMPT_INVOICE, DocumentKind.CASH_RECEIPT}),
    Provider.PAYSSAM: frozenset({DocumentKind.BILL}),
    Provider.HIWORKS: frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE,
                                 DocumentKind.EXEMPT_INVOICE, DocumentKind.STATEMENT}),
    Provider.ABILLIFY: frozenset({DocumentKind.INVOICE}),
}

#: Kinds filed with the tax office, which always need the buyer's business number.
_NEEDS_BIZNO = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE,
                          DocumentKind.EXEMPT_INVOICE, DocumentKind.STATEMENT})

_PURPOSE_LABELS: Mapping[Purpose, str] = {
    Purpose.CHARGE: "청구 — payment requested",
    Purpose.RECEIPT: "영수 — already paid",
}

_CONFIRM_VALUE = "bizno_confirmed"


class IssueBlocks:
    """Block ids of the modal's inputs (errors are keyed by these)."""

    PROVIDER = "provider"
    KIND = "kind"
    BUYER_BIZNO = "buyer_bizno"
    BIZNO_CONFIRM = "bizno_confirm"
    BUYER_NAME = "buyer_name"
    BUYER_CEO = "buyer_ceo"
    BUYER_EMAIL = "buyer_email"
    BUYER_PHONE = "buyer_phone"
    ITEMS = "items"
    WRITE_DATE = "write_date"
    DUE_DATE = "due_date"
    PURPOSE = "purpose"
    MEMO = "memo"

    @staticmethod
    def action(block_id: str) -> str:
        """Each input's action_id is its block_id plus ``_input``."""
        return f"{block_id}_input"


# -- building --------------------------------------------------------------------------


def _plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def _option(value: str, label: str, description: str | None = None) -> Option:
    return Option(value=value, text=_plain(clip(label, 75)),
                  description=_plain(clip(description, 75)) if description else None)


def _provider_options() -> list[Option]:
    return [_option(p.value, PROVIDER_LABELS[p]) for p in Provider]


def _kind_options(
    kinds: Collection[DocumentKind], offered: Mapping[Provider, Collection[DocumentKind]]
) -> list[Option]:
    options = []
    for kind in DocumentKind:
        if kind not in kinds:
            continue
        by = [PROVIDER_LABELS[p].split(" (")[0] for p in Provider if kind in offered.get(p, ())]
        options.append(_option(kind.value, KIND_LABELS[kind], ", ".join(by) if by else None))
    return options


def format_items(items: list[LineItem], currency: str = "KRW") -> str:
    """Line items back into the modal's text form, e.g. to prefill a retried document."""
    exponent = currency_exponent(currency)
    lines = []
    for item in items:
        quantity = format(item.quantity.normalize(), "f")
        price = Decimal(item.unit_price).scaleb(-exponent)
        lines.append(f"{item.name} | {quantity} | {price:,.{exponent}f}")
    return "\n".join(lines)


def build_issue_modal(
    provider: Provider | None = None,
    kind: DocumentKind | None = None,
    initial: IssueDraft | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    today: dt.date | None = None,
    offered: Mapping[Provider, Collection[DocumentKind]] | None = None,
    private_metadata: str | None = None,
) -> View:
    """The modal for ``/invoice issue``.

    Args:
        provider, kind: preselected from the command (``/invoice issue popbill tax``).
        initial: values to prefill, e.g. when retrying a failed document.
        errors: messages by block_id, shown at the top (for a re-rendered view; a
            submission answers with ``response_action="errors"`` instead).
        today: the default write date (today in Asia/Seoul).
        offered: kinds per provider (the providers' capabilities); DEFAULT_KINDS otherwise.
        private_metadata: carried back on submission (e.g. the channel to answer in).
    """
    offered = offered or DEFAULT_KINDS
    today = today or dt.datetime.now(SEOUL).date()
    provider = initial.provider if initial else provider
    kind = initial.kind if initial else kind
    kinds: Collection[DocumentKind] = list(DocumentKind)
    if provider is not None and (kind is None or kind in offered.get(provider, ())):
        kinds = offered.get(provider, ()) or list(DocumentKind)
    a = IssueBlocks.action
    B = IssueBlocks
    blocks: list[Block] = []
    if errors:
        lines = [f"• {escape_mrkdwn(clip(msg, 300))}" for msg in list(errors.values())[:10]]
        blocks.append(SectionBlock(block_id="errors",
                                   text=MarkdownTextObject(text=clip("⚠️ *Please fix:*\n" + "\n".join(lines), 3000))))
    provider_options = _provider_options()
    blocks.append(InputBlock(
        block_id=B.PROVIDER, label=_plain("Provider"),
        element=StaticSelectElement(
            action_id=a(B.PROVIDER), placeholder=_plain("Choose a provider"), options=provider_options,
            initial_option=next((o for o in provider_options if provider and o.value == provider.value), None),
        ),
    ))
    kind_options = _kind_options(kinds, offered)
    blocks.append(InputBlock(
        block_id=B.KIND, label=_plain("Document"),
        element=StaticSelectElement(
            action_id=a(B.KIND), placeholder=_plain("What to issue"), options=kind_options,
            initial_option=next((o for o in kind_options if kind and o.value == kind.value), None),
        ),
    ))
    buyer = initial.buyer if initial else None
    blocks.append(InputBlock(
        block_id=B.BUYER_BIZNO, label=_plain("Buyer business number (사업자등록번호)"), optional=True,
        hint=_plain("10 digits, hyphens optional. Required for tax invoices, exempt invoices and statements."),
        element=PlainTextInputElement(action_id=a(B.BUYER_BIZNO), placeholder=_plain("123-45-67890"),
                                      initial_value=buyer.bizno if buyer and buyer.bizno else None, max_length=20),
    ))
    blocks.append(InputBlock(
        block_id=B.BIZNO_CONFIRM, label=_plain("Only if the number was refused"), optional=True,
        hint=_plain("Some real numbers fail the check digit. Tick this to use the number anyway."),
        element=CheckboxesElement(action_id=a(B.BIZNO_CONFIRM), options=[
            _option(_CONFIRM_VALUE, "The number is correct — use it anyway"),
        ]),
    ))
    blocks.append(InputBlock(
        block_id=B.BUYER_NAME, label=_plain("Buyer name (상호)"),
        element=PlainTextInputElement(action_id=a(B.BUYER_NAME), placeholder=_plain("Acme Korea Co., Ltd."),
                                      initial_value=buyer.name if buyer else None, max_length=100),
    ))
    blocks.append(InputBlock(
        block_id=B.BUYER_CEO, label=_plain("Representative (대표자)"), optional=True,
        element=PlainTextInputElement(action_id=a(B.BUYER_CEO),
                                      initial_value=buyer.ceo_name if buyer and buyer.ceo_name else None,
                                      max_length=100),
    ))
    blocks.append(InputBlock(
        block_id=B.BUYER_EMAIL, label=_plain("Buyer e-mail"), optional=True,
        hint=_plain("Where the provider sends the document."),
        element=EmailInputElement(action_id=a(B.BUYER_EMAIL), placeholder=_plain("billing@example.co.kr"),
                                  initial_value=buyer.email if buyer and buyer.email else None),
    ))
    blocks.append(InputBlock(
        block_id=B.BUYER_PHONE, label=_plain("Buyer mobile phone"), optional=True,
        hint=_plain("Required for Payssam: the bill is sent to this phone by KakaoTalk."),
        element=PlainTextInputElement(action_id=a(B.BUYER_PHONE), placeholder=_plain("010-1234-5678"),
                                      initial_value=buyer.phone if buyer and buyer.phone else None, max_length=20),
    ))
    blocks.append(InputBlock(
        block_id=B.ITEMS, label=_plain("Line items"),
        hint=_plain("One item per line: name | quantity | unit price (VAT excluded). "
                    "Paste rows from a spreadsheet as they are (tabs work too); `name | price` means quantity 1. "
                    "Supply and 10% VAT are computed per line, rounded to the won "
                    "(no VAT for zero-rated or exempt documents)."),
        element=PlainTextInputElement(
            action_id=a(B.ITEMS), multiline=True, max_length=3000,
            placeholder=_plain("Consulting, May | 1 | 1,500,000"),
            initial_value=clip(format_items(initial.items, initial.currency), 3000) if initial else None,
        ),
    ))
    blocks.append(InputBlock(
        block_id=B.WRITE_DATE, label=_plain("Write date (작성일자)"),
        element=DatePickerElement(action_id=a(B.WRITE_DATE),
                                  initial_date=(initial.write_date if initial else today).isoformat()),
    ))
    blocks.append(InputBlock(
        block_id=B.DUE_DATE, label=_plain("Due date"), optional=True,
        hint=_plain("When payment is due (a Payssam bill expires then)."),
        element=DatePickerElement(action_id=a(B.DUE_DATE),
                                  initial_date=initial.due_date.isoformat() if initial and initial.due_date else None),
    ))
    purpose_options = [_option(p.value, label) for p, label in _PURPOSE_LABELS.items()]
    purpose = initial.purpose if initial else Purpose.CHARGE
    blocks.append(InputBlock(
        block_id=B.PURPOSE, label=_plain("Purpose (영수/청구)"),
        element=StaticSelectElement(action_id=a(B.PURPOSE), options=purpose_options,
                                    initial_option=next(o for o in purpose_options if o.value == purpose.value)),
    ))
    blocks.append(InputBlock(
        block_id=B.MEMO, label=_plain("Memo"), optional=True,
        element=PlainTextInputElement(action_id=a(B.MEMO), multiline=True, max_length=200,
                                      initial_value=initial.memo if initial and initial.memo else None),
    ))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text="Nothing is sent yet: submitting asks an approver first, and shows the computed totals.")]))
    return View(
        type="modal", callback_id=ISSUE_CALLBACK_ID, title=_plain("Issue a document"),
        submit=_plain("Request approval"), close=_plain("Cancel"), blocks=blocks,
        private_metadata=private_metadata,
    )


# -- parsing ---------------------------------------------------------------------------


def _state(values: Any, block_id: str) -> dict[str, Any]:
    """The state dict of a block's single action, tolerating any shape."""
    if not isinstance(values, Mapping):
        return {}
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return {}
    action = block.get(IssueBlocks.action(block_id))
    if not isinstance(action, Mapping):
        action = next((v for v in block.values() if isinstance(v, Mapping)), {})
    return dict(action)


def _text(values: Any, block_id: str) -> str | None:
    raw = _state(values, block_id).get("value")
    if not isinstance(raw, str):
        return None
    text = raw.replace("\x00", "").strip()
    return text or None


def _selected(values: Any, block_id: str) -> str | None:
    option = _state(values, block_id).get("selected_option")
    if isinstance(option, Mapping) and isinstance(option.get("value"), str):
        return str(option["value"])
    return None


def _date(values: Any, block_id: str) -> tuple[dt.date | None, bool]:
    """(date, was_invalid)."""
    raw = _state(values, block_id).get("selected_date")
    if raw is None:
        return None, False
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None, True
    try:
        return dt.date.fromisoformat(raw), False
    except ValueError:
        return None, True


def _checked(values: Any, block_id: str, value: str) -> bool:
    selected = _state(values, block_id).get("selected_options")
    if not isinstance(selected, list):
        return False
    return any(isinstance(o, Mapping) and o.get("value") == value for o in selected)


_NUMBER_JUNK = re.compile(r"[\s,₩원€$£¥]|KRW|EUR|USD", re.IGNORECASE)


def _decimal(text: str) -> Decimal | None:
    cleaned = _NUMBER_JUNK.sub("", text)
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid numbers
        return None


def parse_items(text: str | None, currency: str = "KRW") -> tuple[list[LineItem], list[str]]:
    """Parse the line-items field. Returns (items, problems); items are valid only without problems."""
    if not text:
        return [], ["Add at least one line item: name | quantity | unit price."]
    exponent = currency_exponent(currency)
    items: list[LineItem] = []
    problems: list[str] = []
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        return [], ["Add at least one line item: name | quantity | unit price."]
    if len(lines) > MAX_ITEMS:
        return [], [f"{len(lines)} line items; a document holds at most {MAX_ITEMS}. Split it in two."]
    for number, line in lines:
        separator = "\t" if "\t" in line else "|"
        parts = [p.strip() for p in line.split(separator)]
        shown = clip(line, 40)
        if len(parts) == 2:
            parts = [parts[0], "1", parts[1]]
        if len(parts) != 3:
            problems.append(f"Line {number} (“{shown}”): write name | quantity | unit price.")
            continue
        name, qty_text, price_text = parts
        if not name:
            problems.append(f"Line {number}: the item has no name.")
            continue
        if len(name) > 100:
            problems.append(f"Line {number}: the name is {len(name)} characters; 100 at most.")
            continue
        quantity = _decimal(qty_text)
        if quantity is None or quantity <= 0 or quantity > MAX_QUANTITY or _decimals(quantity) > 4:
            problems.append(f"Line {number}: quantity “{clip(qty_text, 20)}” must be a positive number "
                            "(up to 4 decimals).")
            continue
        price = _decimal(price_text)
        if price is None or price < 0:
            problems.append(f"Line {number}: unit price “{clip(price_text, 20)}” must be an amount, e.g. 1,500,000.")
            continue
        minor = price.scaleb(exponent)
        if minor != minor.to_integral_value():
            unit = "won has no decimals" if exponent == 0 else f"{currency} has {exponent} decimals"
            problems.append(f"Line {number}: unit price “{clip(price_text, 20)}” — {unit}.")
            continue
        unit_price = int(minor)
        supply = (quantity * unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if unit_price > MAX_AMOUNT or supply > MAX_AMOUNT:
            problems.append(f"Line {number}: the amount is too large.")
            continue
        items.append(LineItem(name=name, quantity=quantity.normalize(), unit_price=unit_price))
    return items, problems


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _join(problems: list[str]) -> str:
    text = " ".join(problems[:3])
    if len(problems) > 3:
        text += f" (and {len(problems) - 3} more)"
    return clip(text, 1000)


def parse_issue_submission(
    view_state_values: Mapping[str, Any],
    *,
    today: dt.date | None = None,
    offered: Mapping[Provider, Collection[DocumentKind]] | None = None,
    currencies: Mapping[Provider, str] | None = None,
) -> tuple[IssueDraft | None, dict[str, str], list[str]]:
    """Validate a submitted issue modal.

    Args:
        view_state_values: ``view["state"]["values"]`` of the view_submission.
        today: for date checks (Asia/Seoul today by default).
        offered: kinds per provider (capabilities); DEFAULT_KINDS otherwise.
        currencies: the currency each provider bills in (KRW unless told).

    Returns:
        (draft, errors, warnings): `draft` is None when `errors` (block_id -> message,
        ready for ``response_action="errors"``) is not empty. Warnings are worth
        showing to the approver but do not block.
    """
    offered = offered or DEFAULT_KINDS
    today = today or dt.datetime.now(SEOUL).date()
    values = view_state_values
    B = IssueBlocks
    errors: dict[str, str] = {}
    warnings: list[str] = []

    provider: Provider | None = None
    provider_value = _selected(values, B.PROVIDER)
    if provider_value in {p.value for p in Provider}:
        provider = Provider(provider_value)
    else:
        errors[B.PROVIDER] = "Choose a provider."
    kind: DocumentKind | None = None
    kind_value = _selected(values, B.KIND)
    if kind_value in {k.value for k in DocumentKind}:
        kind = DocumentKind(kind_value)
    else:
        errors[B.KIND] = "Choose what to issue."
    if provider is not None and kind is not None and kind not in offered.get(provider, ()):
        kinds = ", ".join(KIND_LABELS[k] for k in DocumentKind if k in offered.get(provider, ())) or "nothing"
        errors[B.KIND] = clip(f"{PROVIDER_LABELS[provider]} cannot issue a {KIND_LABELS[kind]}. It offers: {kinds}.",
                              1000)

    bizno: str | None = None
    bizno_text = _text(values, B.BUYER_BIZNO)
    if bizno_text is None:
        if kind in _NEEDS_BIZNO:
            errors[B.BUYER_BIZNO] = "A tax invoice or statement needs the buyer's business number (10 digits)."
    else:
        try:
            checked = check_bizno(bizno_text)
        except InvalidBizno as exc:
            errors[B.BUYER_BIZNO] = clip(str(exc), 500)
        else:
            bizno = checked.number
            if checked.warning:
                if _checked(values, B.BIZNO_CONFIRM, _CONFIRM_VALUE):
                    warnings.append(checked.warning)
                else:
                    errors[B.BUYER_BIZNO] = (
                        f"{checked.warning} If it is right, tick “The number is correct” below and "
                        "submit again to use it anyway."
                    )

    name = _text(values, B.BUYER_NAME)
    if name is None:
        errors[B.BUYER_NAME] = "Enter the buyer's name."
    elif len(name) > 100:
        errors[B.BUYER_NAME] = f"The name is {len(name)} characters; 100 at most."
    ceo = _text(values, B.BUYER_CEO)
    if ceo is not None and len(ceo) > 100:
        errors[B.BUYER_CEO] = f"The name is {len(ceo)} characters; 100 at most."

    email = _text(values, B.BUYER_EMAIL)
    if email is not None and not re.fullmatch(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+", email):
        errors[B.BUYER_EMAIL] = "That is not an e-mail address (e.g. billing@example.co.kr)."
    phone: str | None = None
    phone_text = _text(values, B.BUYER_PHONE)
    if phone_text is not None:
        phone = normalise_phone(phone_text)
        if phone is None:
            errors[B.BUYER_PHONE] = "That is not a phone number (e.g. 010-1234-5678)."
            phone = None
    if provider is Provider.PAYSSAM and B.BUYER_PHONE not in errors:
        if phone is None:
            errors[B.BUYER_PHONE] = "Payssam sends the bill to the buyer's mobile phone: enter it (010-…)."
        elif not re.fullmatch(r"01[016789]\d{7,8}", phone):
            errors[B.BUYER_PHONE] = "Payssam needs a mobile number (010-…) to send the bill by KakaoTalk."

    currency = (currencies or {}).get(provider, "KRW") if provider else "KRW"
    items, problems = parse_items(_text(values, B.ITEMS), currency)
    if problems:
        errors[B.ITEMS] = _join(problems)
    elif kind is not None:
        tax_type = kind.tax_type
        total = sum(i.supply_amount() + i.vat_amount(tax_type) for i in items)
        if total <= 0:
            errors[B.ITEMS] = f"The total is {format_money(0, currency)}; a document needs an amount."
        elif total > MAX_AMOUNT:
            errors[B.ITEMS] = "The total is too large."
        elif provider is Provider.PAYSSAM and total > PAYSSAM_MAX_PRICE:
            errors[B.ITEMS] = f"Payssam bills at most {format_money(PAYSSAM_MAX_PRICE, currency)}."

    write_date, bad_write = _date(values, B.WRITE_DATE)
    if write_date is None:
        errors[B.WRITE_DATE] = "Pick a valid date." if bad_write else "Pick the write date."
    else:
        if write_date > today:
            warnings.append(f"The write date {write_date} is in the future; most providers refuse that.")
        if kind in _NEEDS_BIZNO and _late(write_date, today):
            warnings.append(f"The write date {write_date} is past the 10th of the following month: "
                            "this is a late issue (지연발급) and may carry a penalty.")
    due_date, bad_due = _date(values, B.DUE_DATE)
    if bad_due:
        errors[B.DUE_DATE] = "Pick a valid date."
    elif due_date is not None and write_date is not None and due_date < write_date:
        errors[B.DUE_DATE] = f"The due date is before the write date ({write_date})."

    purpose_value = _selected(values, B.PURPOSE)
    purpose = Purpose(purpose_value) if purpose_value in {p.value for p in Purpose} else Purpose.CHARGE
    memo = _text(values, B.MEMO)
    if memo is not None and len(memo) > 200:
        errors[B.MEMO] = f"The memo is {len(memo)} characters; 200 at most."

    if errors or provider is None or kind is None or name is None or write_date is None:
        return None, errors, warnings
    draft = IssueDraft(
        provider=provider, kind=kind,
        buyer=Party(name=name, bizno=bizno, ceo_name=ceo, email=email, phone=phone),
        items=items, write_date=write_date, purpose=purpose, memo=memo, currency=currency, due_date=due_date,
    )
    return draft, errors, warnings


def _late(write_date: dt.date, today: dt.date) -> bool:
    """Whether a tax invoice for `write_date` is issued after the 10th of the next month."""
    year, month = (write_date.year + 1, 1) if write_date.month == 12 else (write_date.year, write_date.month + 1)
    return today > dt.date(year, month, 10)

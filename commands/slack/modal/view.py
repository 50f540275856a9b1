"""The "issue a document" modal we open (``/invoice issue``, App Home's button, a retry).

Returns a `slack_sdk.models.views.View`, so Slack's limits are checked when it is
serialised. A business number whose check digit does not match is refused once, with a
checkbox "the number is correct" to tick before submitting again: some real numbers
fail the check digit, so the user must be able to insist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
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

from commands.i18n import _
from commands.slack.formatting import KIND_LABELS, PROVIDER_LABELS, SEOUL, clip, escape_mrkdwn
from commands.slack.ids import ISSUE_CALLBACK_ID, ISSUE_PROVIDER_ACTION_ID, issue_kind_action_id
from commands.slack.modal.fields import CONFIRM_VALUE, DEFAULT_KINDS, PURPOSE_LABELS, IssueBlocks
from commands.slack.modal.items import format_items
from commands.slack.modal.keep import keep_entries
from commands.slack.modal.money import FormShape, form_shape, money_inputs, rate_text
from commands.workflow.drafts import IssueDraft
from providers.base import BuyerField, Capabilities
from providers.models import DocumentKind, Party, Provider, Purpose
from providers.registry import CAPABILITIES

__all__ = ["build_issue_modal"]

B = IssueBlocks
a = IssueBlocks.action


def _plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=True)


def _option(value: str, label: str, description: str | None = None) -> Option:
    return Option(value=value, text=_plain(clip(label, 75)),
                  description=_plain(clip(description, 75)) if description else None)


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


def _error_summary(errors: Mapping[str, str] | None) -> list[Block]:
    if not errors:
        return []
    lines = [f"• {escape_mrkdwn(clip(msg, 300))}" for msg in list(errors.values())[:10]]
    return [SectionBlock(block_id="errors",
                         text=MarkdownTextObject(text=clip("⚠️ *Please fix:*\n" + "\n".join(lines), 3000)))]


def _choice_inputs(provider: Provider | None, kind: DocumentKind | None,
                   offered: Mapping[Provider, Collection[DocumentKind]]) -> list[Block]:
    """Provider and kind; a preselected provider narrows the kinds to what it offers (and picks the
    kind when it offers only one, as Payssam and Abillify do)."""
    kinds: Collection[DocumentKind] = list(DocumentKind)
    if provider is not None and offered.get(provider):
        kinds = offered[provider]
        if kind not in kinds:
            kind = next(iter(kinds)) if len(kinds) == 1 else None
    provider_options = [_option(p.value, PROVIDER_LABELS[p]) for p in Provider]
    kind_options = _kind_options(kinds, offered)
    # both dispatch block_actions: the form is rebuilt for the choice (features/issue_dispatch.py)
    return [
        InputBlock(block_id=B.PROVIDER, label=_plain("Provider"), dispatch_action=True, element=StaticSelectElement(
            action_id=ISSUE_PROVIDER_ACTION_ID, placeholder=_plain("Choose a provider"), options=provider_options,
            initial_option=next((o for o in provider_options if provider and o.value == provider.value), None),
        )),
        InputBlock(block_id=B.KIND, label=_plain("Document"), dispatch_action=True, element=StaticSelectElement(
            action_id=issue_kind_action_id(provider.value if provider else None),
            placeholder=_plain("What to issue"), options=kind_options,
            initial_option=next((o for o in kind_options if kind and o.value == kind.value), None),
        )),
    ]


def _buyer_inputs(buyer: Party | None, cash: bool = False) -> list[Block]:
    blocks: list[Block] = list(_all_buyer_inputs(buyer))
    # a cash receipt carries an identity number instead of the buyer's business number
    return [b for b in blocks if b.block_id not in (B.BUYER_BIZNO, B.BIZNO_CONFIRM)] if cash else blocks


def _all_buyer_inputs(buyer: Party | None) -> list[InputBlock]:
    return [
        InputBlock(
            block_id=B.BUYER_BIZNO, label=_plain("Buyer business number (사업자등록번호)"), optional=True,
            hint=_plain("10 digits, hyphens optional. Required for tax invoices, exempt invoices and statements."),
            element=PlainTextInputElement(action_id=a(B.BUYER_BIZNO), placeholder=_plain("123-45-67890"),
                                          initial_value=buyer.bizno if buyer and buyer.bizno else None,
                                          max_length=20),
        ),
        InputBlock(
            block_id=B.BIZNO_CONFIRM, label=_plain("Only if the number was refused"), optional=True,
            hint=_plain("Some real numbers fail the check digit. Tick this to use the number anyway."),
            element=CheckboxesElement(action_id=a(B.BIZNO_CONFIRM), options=[
                _option(CONFIRM_VALUE, "The number is correct — use it anyway"),
            ]),
        ),
        InputBlock(
            block_id=B.BUYER_NAME, label=_plain("Buyer name (상호)"),
            element=PlainTextInputElement(action_id=a(B.BUYER_NAME), placeholder=_plain("Acme Korea Co., Ltd."),
                                          initial_value=buyer.name if buyer else None, max_length=100),
        ),
        InputBlock(
            block_id=B.BUYER_CEO, label=_plain("Representative (대표자)"), optional=True,
            hint=_required_hint(BuyerField.CEO_NAME),
            element=PlainTextInputElement(action_id=a(B.BUYER_CEO),
                                          initial_value=buyer.ceo_name if buyer and buyer.ceo_name else None,
                                          max_length=100),
        ),
        InputBlock(
            block_id=B.BUYER_EMAIL, label=_plain("Buyer e-mail"), optional=True,
            hint=_plain("Where the provider sends the document."),
            element=EmailInputElement(action_id=a(B.BUYER_EMAIL), placeholder=_plain("billing@example.co.kr"),
                                      initial_value=buyer.email if buyer and buyer.email else None),
        ),
        InputBlock(
            block_id=B.BUYER_PHONE, label=_plain("Buyer mobile phone"), optional=True,
            hint=_plain("Required for Payssam: the bill is sent to this phone by KakaoTalk."),
            element=PlainTextInputElement(action_id=a(B.BUYER_PHONE), placeholder=_plain("010-1234-5678"),
                                          initial_value=buyer.phone if buyer and buyer.phone else None,
                                          max_length=20),
        ),
    ]


def _required_hint(field: BuyerField) -> PlainTextObject | None:
    """"Required for …" from the providers' declared required buyer fields."""
    needing = [PROVIDER_LABELS[p].split(" (")[0] for p, caps in CAPABILITIES.items()
               if any(field in caps.required_buyer_fields(k) for k in caps.kinds)]
    return _plain(_("Required for {providers}.").format(providers=", ".join(needing))) if needing else None


def _override_input(provider: Provider | None, reason: str | None) -> list[Block]:
    """The override reason for a closed or unregistered buyer, where the provider checks closure."""
    if provider is not None and not CAPABILITIES[provider].closure_check:
        return []
    return [InputBlock(
        block_id=B.CLOSURE_OVERRIDE, label=_plain(_("Override reason (only if the buyer is closed)")), optional=True,
        hint=_plain(_("The buyer's closure status (휴폐업) is checked when you submit. If it is closed or not "
                      "registered and you must issue anyway, say why; it then needs one more approval.")),
        element=PlainTextInputElement(action_id=a(B.CLOSURE_OVERRIDE), max_length=300,
                                      initial_value=reason or None),
    )]


def _items_input(initial: IssueDraft | None, shape: FormShape | None = None) -> Block:
    hint = ("One item per line: name | quantity | unit price (VAT excluded). "
            "Paste rows from a spreadsheet as they are (tabs work too); `name | price` means quantity 1. "
            "Supply and 10% VAT are computed per line, rounded to the won "
            "(no VAT for zero-rated or exempt documents).")
    if shape is not None and shape.rates:
        hint = _("One item per line: name | quantity | unit price (net, e.g. 120.50), and optionally | VAT rate "
                 "(one of {rates}). VAT is computed per line and rounded to the currency's minor unit.").format(
            rates=", ".join(rate_text(r) for r in shape.rates))
    return InputBlock(
        block_id=B.ITEMS, label=_plain("Line items"),
        hint=_plain(clip(hint, 150)),
        element=PlainTextInputElement(
            action_id=a(B.ITEMS), multiline=True, max_length=3000,
            placeholder=_plain("Consulting, May | 1 | 1,500,000"),
            initial_value=clip(format_items(initial.items, initial.currency), 3000) if initial else None,
        ),
    )


def _document_inputs(initial: IssueDraft | None, today: dt.date, cash: bool = False) -> list[Block]:
    """Dates, purpose and memo (a cash receipt has no due date and no 영수/청구)."""
    blocks: list[Block] = list(_all_document_inputs(initial, today))
    return [b for b in blocks if b.block_id not in (B.DUE_DATE, B.PURPOSE)] if cash else blocks


def _all_document_inputs(initial: IssueDraft | None, today: dt.date) -> list[InputBlock]:
    purpose_options = [_option(p.value, label) for p, label in PURPOSE_LABELS.items()]
    purpose = initial.purpose if initial else Purpose.CHARGE
    return [
        InputBlock(
            block_id=B.WRITE_DATE, label=_plain("Write date (작성일자)"),
            element=DatePickerElement(action_id=a(B.WRITE_DATE),
                                      initial_date=(initial.write_date if initial else today).isoformat()),
        ),
        InputBlock(
            block_id=B.DUE_DATE, label=_plain("Due date"), optional=True,
            hint=_plain("When payment is due (a Payssam bill expires then)."),
            element=DatePickerElement(
                action_id=a(B.DUE_DATE),
                initial_date=initial.due_date.isoformat() if initial and initial.due_date else None),
        ),
        InputBlock(
            block_id=B.PURPOSE, label=_plain("Purpose (영수/청구)"),
            element=StaticSelectElement(action_id=a(B.PURPOSE), options=purpose_options,
                                        initial_option=next(o for o in purpose_options if o.value == purpose.value)),
        ),
        InputBlock(
            block_id=B.MEMO, label=_plain("Memo"), optional=True,
            element=PlainTextInputElement(action_id=a(B.MEMO), multiline=True, max_length=200,
                                          initial_value=initial.memo if initial and initial.memo else None),
        ),
    ]


def build_issue_modal(
    provider: Provider | None = None,
    kind: DocumentKind | None = None,
    initial: IssueDraft | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    today: dt.date | None = None,
    offered: Mapping[Provider, Collection[DocumentKind]] | None = None,
    private_metadata: str | None = None,
    override_reason: str | None = None,
    capabilities: Mapping[Provider, Capabilities] | None = None,
    currency: str | None = None,
    keep: Mapping[str, Any] | None = None,
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
        override_reason: prefills the closure override (``/invoice issue … override <reason>``).
        capabilities: the live providers' capabilities (their VAT rates, currencies); the declared ones otherwise.
        currency: preselects the currency where the provider bills in several (``/invoice issue abillify usd``).
        keep: ``view.state.values`` of the form being rebuilt for another provider or kind: every entry the
            new form still has an input for is kept (`modal.keep`).
    """
    offered = offered or DEFAULT_KINDS
    today = today or dt.datetime.now(SEOUL).date()
    provider = initial.provider if initial else provider
    kind = initial.kind if initial else kind
    shape = form_shape(capabilities or CAPABILITIES, provider, kind)
    blocks: list[Block] = [
        *_error_summary(errors),
        *_choice_inputs(provider, kind, offered),
        *_buyer_inputs(initial.buyer if initial else None, shape.cash),
        *([] if shape.cash else _override_input(provider, initial.override_reason if initial else override_reason)),
        *money_inputs(shape, initial, currency),
        _items_input(initial, shape),
        *_document_inputs(initial, today, shape.cash),
        ContextBlock(elements=[MarkdownTextObject(
            text="Nothing is sent yet: submitting asks an approver first, and shows the computed totals.")]),
    ]
    keep_entries(blocks, keep)
    return View(
        type="modal", callback_id=ISSUE_CALLBACK_ID, title=_plain("Issue a document"),
        submit=_plain("Request approval"), close=_plain("Cancel"), blocks=blocks,
        private_metadata=private_metadata,
    )

"""Amendments, send-to-NTS and PDF in Block Kit: a document's own buttons, the amendment form, the links.

* `document_buttons`: "Amend" on a filed Popbill/Hiworks tax invoice, "Send to NTS" on an issued,
  not yet filing Popbill tax invoice, "PDF" where the provider hands out PDFs. Each button's
  value is the document's ref.
* `build_amend_modal` / `parse_amend_submission`: the reason (1-6) and what it needs (the
  corrected supply for 1, the change for 2, the returned part for 3, nothing for 4 and 6, the
  L/C details for 5 as the memo), the date of the change and a memo.
* `amendment_fields`: the link between an original and its amendments, on the status card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from commands.i18n import N_, _
from commands.slack.blocks.kit import context, plain
from commands.slack.blocks.models import DocumentCard
from commands.slack.formatting import clip, escape_mrkdwn
from commands.slack.ids import (
    AMEND_CALLBACK_ID,
    AMEND_DATE_ACTION_ID,
    AMEND_DATE_BLOCK_ID,
    AMEND_NOTE_ACTION_ID,
    AMEND_NOTE_BLOCK_ID,
    AMEND_REASON_ACTION_ID,
    AMEND_REASON_BLOCK_ID,
    AMEND_SUPPLY_ACTION_ID,
    AMEND_SUPPLY_BLOCK_ID,
    DOC_AMEND_ACTION_ID,
    DOC_PDF_ACTION_ID,
    DOC_SEND_NTS_ACTION_ID,
)
from providers.models import DocumentKind, DocumentState, Provider

__all__ = ["REASON_LABELS", "amendment_fields", "build_amend_modal", "document_buttons", "parse_amend_submission"]

REASON_LABELS: Mapping[int, str] = {
    1: N_("1 · clerical error (기재사항 착오정정): cancel and reissue corrected"),
    2: N_("2 · supply amount changed (공급가액 변동): the difference"),
    3: N_("3 · goods returned (환입): the returned part"),
    4: N_("4 · contract cancelled (계약의 해제): the whole, negative"),
    5: N_("5 · local L/C opened later (내국신용장 사후개설): zero-rated"),
    6: N_("6 · issued twice by mistake (착오에 의한 이중발급): the duplicate"),
}

_TAX_KINDS = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE})
_AMENDABLE = frozenset({Provider.POPBILL, Provider.HIWORKS})
_NOT_YET_FILING = frozenset({DocumentState.ISSUED, DocumentState.SENT})


def can_amend(card: DocumentCard) -> bool:
    return card.provider in _AMENDABLE and card.kind in _TAX_KINDS and card.state is DocumentState.FILED


def document_buttons(card: DocumentCard, *, pdf: bool, send_nts: bool) -> list[Block]:
    """The buttons acting on this document (none when nothing applies)."""
    buttons: list[ButtonElement] = []
    if can_amend(card):
        buttons.append(ButtonElement(text=plain(_("✏️ Amend"), 75), action_id=DOC_AMEND_ACTION_ID, value=card.ref))
    issued = card.lifecycle.value == "issued"
    if send_nts and issued and card.kind in _TAX_KINDS and card.state in _NOT_YET_FILING:
        buttons.append(ButtonElement(text=plain(_("🏛️ Send to NTS now"), 75), action_id=DOC_SEND_NTS_ACTION_ID,
                                     value=card.ref))
    if pdf and card.provider_id and issued:
        buttons.append(ButtonElement(text=plain(_("📄 PDF"), 75), action_id=DOC_PDF_ACTION_ID, value=card.ref))
    if not buttons:
        return []
    return [ActionsBlock(block_id=clip(f"doc:{card.ref}", 255), elements=buttons)]


def amendment_fields(card: DocumentCard) -> list[tuple[str, str]]:
    """Status fields linking an original and its amendments."""
    pairs: list[tuple[str, str]] = []
    if card.amends:
        label = REASON_LABELS.get(card.modify_code or 0)
        reason = _(label).split(":")[0] if label else ""
        pairs.append((_("Amends"), f"`{escape_mrkdwn(clip(card.amends, 40))}` {reason}".strip()))
    if card.amendments:
        pairs.append((_("Amended by"), ", ".join(f"`{escape_mrkdwn(clip(r, 40))}`" for r in card.amendments[:20])))
    return pairs


def build_amend_modal(ref: str, *, today: dt.date) -> View:
    """The amendment form for document `ref` (kept in private_metadata)."""
    options = [Option(value=str(code), text=plain(_(label), 75)) for code, label in REASON_LABELS.items()]
    return View(
        type="modal", callback_id=AMEND_CALLBACK_ID, private_metadata=ref,
        title=plain(_("Amend {ref}").format(ref=ref), 24), submit=plain(_("Ask approval"), 24),
        close=plain(_("Cancel"), 24),
        blocks=[
            context(_("수정세금계산서: every produced document carries the reason and the original's NTS number, "
                      "and goes through approval.")),
            InputBlock(block_id=AMEND_REASON_BLOCK_ID, label=plain(_("Reason")),
                       element=StaticSelectElement(action_id=AMEND_REASON_ACTION_ID, options=options,
                                                   placeholder=plain(_("Choose the reason")))),
            InputBlock(block_id=AMEND_SUPPLY_BLOCK_ID, label=plain(_("Supply amount")), optional=True,
                       hint=plain(_("1: the corrected supply total (empty keeps the lines) · 2: the change, e.g. "
                                    "-50000 · 3: the supply of the returned goods · 4, 5, 6: leave empty")),
                       element=PlainTextInputElement(action_id=AMEND_SUPPLY_ACTION_ID, max_length=20)),
            InputBlock(block_id=AMEND_DATE_BLOCK_ID, label=plain(_("Date of the change")), optional=True,
                       hint=plain(_("2, 3, 4: when it happened (default today) · 1: the corrected write date")),
                       element=DatePickerElement(action_id=AMEND_DATE_ACTION_ID, initial_date=today.isoformat())),
            InputBlock(block_id=AMEND_NOTE_BLOCK_ID, label=plain(_("Memo")), optional=True,
                       hint=plain(_("5: the L/C number and its opening date")),
                       element=PlainTextInputElement(action_id=AMEND_NOTE_ACTION_ID, max_length=200)),
        ],
    )


def _value(values: Mapping[str, Any], block: str, action: str, key: str = "value") -> Any:
    entry = values.get(block)
    field = entry.get(action) if isinstance(entry, Mapping) else None
    return field.get(key) if isinstance(field, Mapping) else None


def parse_amend_submission(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the `AmendDraft` fields, errors by block) from a submitted amendment form."""
    errors: dict[str, str] = {}
    option = _value(values, AMEND_REASON_BLOCK_ID, AMEND_REASON_ACTION_ID, "selected_option")
    reason = int(option["value"]) if isinstance(option, Mapping) and str(option.get("value", "")).isdigit() else 0
    if not 1 <= reason <= 6:
        errors[AMEND_REASON_BLOCK_ID] = _("Choose a reason.")
    text = str(_value(values, AMEND_SUPPLY_BLOCK_ID, AMEND_SUPPLY_ACTION_ID) or "").replace(",", "").strip()
    supply: int | None = None
    if text:
        try:
            supply = int(text)
        except ValueError:
            errors[AMEND_SUPPLY_BLOCK_ID] = _("Write a whole number of won, e.g. -50000.")
    if reason in (2, 3) and not supply and AMEND_SUPPLY_BLOCK_ID not in errors:
        errors[AMEND_SUPPLY_BLOCK_ID] = _("This reason needs the amount (2: the change, 3: the returned part).")
    picked = _value(values, AMEND_DATE_BLOCK_ID, AMEND_DATE_ACTION_ID, "selected_date")
    when = dt.date.fromisoformat(picked) if isinstance(picked, str) and picked else None
    note = str(_value(values, AMEND_NOTE_BLOCK_ID, AMEND_NOTE_ACTION_ID) or "").strip() or None
    return {"reason": reason, "supply": supply, "write_date": when, "note": note}, errors

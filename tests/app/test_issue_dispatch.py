"""Issues 9 and 11 over signed HTTP: the issue modal follows its provider and kind selects.

Opened without a provider (`/invoice issue`, App Home), a choice in the form's provider or kind
select sends a ``block_actions`` from the view; the app answers with ``views.update`` (with the
view's hash) of the same form for that provider and kind, every typed entry kept.
"""

from __future__ import annotations

import time
from typing import Any

from bot.console.forms import build_view_state, modal_to_prompts
from tests.app.harness import BotHarness, text_of


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def _blocks(view: dict[str, Any]) -> set[str]:
    return {str(b.get("block_id")) for b in view["blocks"]}


def _kinds(view: dict[str, Any]) -> list[str]:
    return [o["value"] for o in _block(view, "kind")["element"]["options"]]


def _initial(view: dict[str, Any], block_id: str) -> Any:
    element = _block(view, block_id)["element"]
    option = element.get("initial_option")
    return option["value"] if option else element.get("initial_value") or element.get("initial_date")


async def _choose(bot: BotHarness, view: dict[str, Any], block_id: str, answers: dict[str, Any],
                  ) -> dict[str, Any]:
    """Type `answers` into the form, then pick in `block_id`'s select; the view as it is afterwards."""
    values = build_view_state(modal_to_prompts(view), answers, enforce_required=False)
    before = len(bot.calls("views.update"))
    response = await bot.send(bot.factory.view_select(user_id="U_ALICE", view=view, block_id=block_id,
                                                      values=values))
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    updates = bot.calls("views.update")[before:]
    assert len(updates) == 1, updates
    assert updates[0].args.get("hash") == view["hash"]  # a stale update is refused by Slack
    return dict(updates[0].response.get("view") or view)


async def _bare_form(bot: BotHarness) -> dict[str, Any]:
    await bot.command("issue")
    view = bot.last_modal()
    assert _block(view, "provider").get("dispatch_action") is True
    assert _block(view, "kind").get("dispatch_action") is True
    assert len(_kinds(view)) == 7  # nothing chosen yet: every kind
    return view


async def test_choosing_hiworks_offers_only_hiworks_kinds_and_keeps_what_was_typed(bot: BotHarness) -> None:
    view = await _bare_form(bot)
    typed = {"buyer_name": "주식회사 구매자", "items": "Consulting | 2 | 50000", "memo": "May retainer",
             "buyer_email": "buyer@example.com", "write_date": "2026-05-04"}
    updated = await _choose(bot, view, "provider", {"provider": "hiworks", **typed})
    assert sorted(_kinds(updated)) == ["exempt_invoice", "statement", "tax_invoice", "zero_rated_invoice"]
    assert _initial(updated, "provider") == "hiworks"
    for block_id, value in typed.items():
        assert _initial(updated, block_id) == value, block_id
    assert updated["private_metadata"] == view["private_metadata"]  # the submission answers in the same channel
    assert updated["callback_id"] == "invoice_issue"


async def test_choosing_payssam_preselects_the_bill_and_asks_its_vat(bot: BotHarness) -> None:
    view = await _bare_form(bot)
    assert "taxation" not in _blocks(view)
    updated = await _choose(bot, view, "provider", {"provider": "payssam", "buyer_phone": "010-1234-5678"})
    assert _kinds(updated) == ["bill"] and _initial(updated, "kind") == "bill"
    assert "taxation" in _blocks(updated)
    assert _initial(updated, "buyer_phone") == "010-1234-5678"


async def test_popbill_then_cash_shows_usage_identity_and_taxation_and_hides_bizno_due_date_purpose(
        bot: BotHarness) -> None:
    view = await _bare_form(bot)
    typed = {"buyer_name": "김고객", "items": "Books | 1 | 11000", "buyer_bizno": "220-81-62517"}
    popbill = await _choose(bot, view, "provider", {"provider": "popbill", **typed})
    assert "cash_receipt" in _kinds(popbill) and {"buyer_bizno", "due_date", "purpose"} <= _blocks(popbill)
    cash = await _choose(bot, popbill, "kind", {"provider": "popbill", "kind": "cash_receipt", **typed})
    assert {"trade_usage", "identity_number", "taxation"} <= _blocks(cash)
    assert not {"buyer_bizno", "bizno_confirm", "due_date", "purpose", "closure_override"} & _blocks(cash)
    assert _initial(cash, "kind") == "cash_receipt"
    assert (_initial(cash, "buyer_name"), _initial(cash, "items")) == ("김고객", "Books | 1 | 11000")

    # the submission of the switched form issues a cash receipt
    response = await bot.submit(cash, {"buyer_name": "김고객", "items": "Books | 1 | 11000",
                                       "trade_usage": "expense_proof", "identity_number": "220-81-62517",
                                       "taxation": "taxable"}, user="U_ALICE")
    assert response.text in ("", "null"), response.text
    assert "cash receipt" in text_of(bot.cards()[-1]).lower()
    await bot.click(bot.cards()[-1], "approval_approve", user="U_BOB")
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.kind.value == "cash_receipt" and doc.lifecycle.value == "issued"


async def test_switching_popbill_to_payssam_replaces_a_kind_payssam_does_not_issue(bot: BotHarness) -> None:
    view = await _bare_form(bot)
    popbill = await _choose(bot, view, "provider", {"provider": "popbill"})
    tax = await _choose(bot, popbill, "kind", {"provider": "popbill", "kind": "tax_invoice"})
    payssam = await _choose(bot, tax, "provider", {"provider": "payssam", "kind": "tax_invoice"})
    assert _initial(payssam, "kind") == "bill"
    # the kind select's action id follows the provider, so Slack shows the new preselection
    assert _block(payssam, "kind")["element"]["action_id"] != _block(tax, "kind")["element"]["action_id"]


async def test_a_stale_hash_changes_nothing(bot: BotHarness) -> None:
    view = await _bare_form(bot)
    await _choose(bot, view, "provider", {"provider": "hiworks"})
    current = bot.slack.view(view["id"])
    # a second choice carrying the hash the form had before the first update
    values = build_view_state(modal_to_prompts(view), {"provider": "payssam"}, enforce_required=False)
    response = await bot.send(bot.factory.view_select(user_id="U_ALICE", view=view, block_id="provider",
                                                      values=values))
    assert response.status_code == 200
    last = bot.calls("views.update")[-1]
    assert last.response.get("error") == "hash_conflict"
    assert bot.slack.view(view["id"])["hash"] == current["hash"]
    assert sorted(_kinds(bot.slack.view(view["id"]))) == sorted(_kinds(current))
    assert not bot.ephemerals("U_ALICE")  # nothing said: the newer change's update wins


async def test_the_choice_is_acknowledged_before_the_update(bot: BotHarness) -> None:
    view = await _bare_form(bot)
    values = build_view_state(modal_to_prompts(view), {"provider": "abillify"}, enforce_required=False)
    started = time.monotonic()
    response = await bot.send(bot.factory.view_select(user_id="U_ALICE", view=view, block_id="provider",
                                                      values=values), settle=False)
    assert response.status_code == 200 and time.monotonic() - started < 3
    await bot.slack.wait_for("views.update", timeout=10)
    updated = dict(bot.calls("views.update")[-1].response["view"])
    assert _kinds(updated) == ["invoice"] and {"currency", "vat_rate", "taxation"} <= _blocks(updated)

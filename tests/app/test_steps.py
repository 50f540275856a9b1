"""Workflow Builder custom steps over signed HTTP: ``function_executed`` events in Slack's
format (``event_callback``, the function's definition from manifest.yml, an execution id and
the execution's own token), completed with ``functions.completeSuccess`` / ``completeError``
on the Web API double."""

from __future__ import annotations

from typing import Any

import yaml

from bot.console.slack_double.functions import Completion
from tests.app.harness import APPROVALS, BotHarness, text_of
from tests.paths import REPO_ROOT

BUYER_BIZNO = "220-81-62517"
CLOSED = "123-12-12312"  # 폐업 at the Popbill sandbox


def _parameters(declared: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's parameters as Slack lists them in the event."""
    required = set(declared.get("required", []))
    return [{"name": name, **spec, "is_required": name in required}
            for name, spec in declared["properties"].items()]


def function_executed(callback_id: str, inputs: dict[str, Any], execution_id: str, token: str) -> dict[str, Any]:
    """The event Slack sends when a workflow reaches one of the app's steps."""
    declared = yaml.safe_load((REPO_ROOT / "manifest.yml").read_text(encoding="utf-8"))["functions"][callback_id]
    return {
        "type": "function_executed",
        "function": {
            "id": f"Fn{callback_id.upper()[:8]}", "callback_id": callback_id, "title": declared["title"],
            "description": declared["description"], "type": "app",
            "input_parameters": _parameters(declared["input_parameters"]),
            "output_parameters": _parameters(declared["output_parameters"]),
            "app_id": "A0INVOICE", "date_created": 1764460800, "date_updated": 1764460800, "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": f"Wx{execution_id[2:]}",
        "event_ts": "1764460800.000100",
        "bot_access_token": token,
    }


async def run_step(bot: BotHarness, callback_id: str, inputs: dict[str, Any]) -> str:
    """Start an execution at the double and deliver its event; returns the execution id."""
    execution_id, token = bot.slack.start_function()
    response = await bot.send(bot.factory.event(function_executed(callback_id, inputs, execution_id, token)))
    assert response.status_code == 200
    return execution_id


def completion(bot: BotHarness, execution_id: str) -> Completion | None:
    return bot.slack.functions.completion(execution_id)


def request_inputs(**overrides: Any) -> dict[str, Any]:
    return {"provider": "popbill", "kind": "tax", "requester": "U_ALICE", "buyer_business_number": BUYER_BIZNO,
            "buyer_name": "주식회사 구매자", "buyer_ceo": "김대표", "buyer_email": "buyer@example.com",
            "items": "Consulting | 2 | 50000\nSupport | 1 | 30000", **overrides}


def card_for(bot: BotHarness, ref: str) -> dict[str, Any]:
    cards = [m for m in bot.slack.messages_in(APPROVALS) if ref in text_of(m)]
    assert cards, f"no approval card for {ref}"
    return cards[-1]


async def test_request_step_completes_with_our_ref_and_the_providers_ids_once_approved(bot: BotHarness) -> None:
    execution_id = await run_step(bot, "request_invoice", request_inputs())
    # the same approval as /invoice issue: a card, nothing issued, the step still open
    card = card_for(bot, "INV-000001")
    assert "approval_approve" in text_of(card)
    assert completion(bot, execution_id) is None
    assert bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST") == []
    # Slack delivers the event again: no second request
    event = function_executed("request_invoice", request_inputs(), execution_id, "xwfp-unused")
    await bot.send(bot.factory.event(event, retry_num=1))
    assert len([m for m in bot.slack.messages_in(APPROVALS) if "approval_approve" in text_of(m)]) == 1

    await bot.click(card, "approval_approve", user="U_BOB")
    done = completion(bot, execution_id)
    assert done is not None and done.ok, done
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued"
    assert done.outputs["reference"] == "INV-000001"
    assert doc.provider_id and done.outputs["provider_document_id"] == doc.provider_id
    assert done.outputs["provider_reference"] == str(doc.document_ref)
    assert len(bot.slack.calls("functions.completeSuccess")) == 1
    # completed with the execution's own token, which is spent now
    assert done.own_token
    assert execution_id not in bot.slack.functions.open


async def test_request_step_fails_with_the_rejection(bot: BotHarness) -> None:
    execution_id = await run_step(bot, "request_invoice", request_inputs(provider="hiworks"))
    assert completion(bot, execution_id) is None, completion(bot, execution_id)
    card = card_for(bot, "INV-000001")
    await bot.click(card, "approval_reject", user="U_BOB")
    await bot.submit(bot.last_modal(), {"reason": "wrong amount"}, user="U_BOB")
    done = completion(bot, execution_id)
    assert done is not None and not done.ok
    assert done.error is not None and "INV-000001" in done.error and "rejected" in done.error
    assert "wrong amount" in done.error and "U_BOB" in done.error
    assert bot.slack.calls("functions.completeSuccess") == []


async def test_request_step_refuses_bad_inputs_with_the_forms_message(bot: BotHarness) -> None:
    execution_id = await run_step(bot, "request_invoice", request_inputs(provider="payssam", kind="tax"))
    done = completion(bot, execution_id)
    assert done is not None and not done.ok
    assert done.error is not None and done.error.startswith("kind:") and "cannot issue" in done.error
    assert bot.cards() == []  # nothing was requested

    no_requester = await run_step(bot, "request_invoice", request_inputs(requester=""))
    refused = completion(bot, no_requester)
    assert refused is not None and not refused.ok and refused.error and "requester" in refused.error


async def test_status_step_completes_at_once_with_state_tax_type_and_dates(bot: BotHarness) -> None:
    execution_id = await run_step(bot, "check_business_status", {"business_number": CLOSED})
    done = completion(bot, execution_id)
    assert done is not None and done.ok, done
    assert done.outputs["business_number"] == "1231212312"
    assert done.outputs["state"] == "closed"
    assert done.outputs["state_date"] == "2023-03-31"
    assert done.outputs.get("tax_type")

    bad = await run_step(bot, "check_business_status", {"business_number": "12345"})
    failed = completion(bot, bad)
    assert failed is not None and not failed.ok and failed.error


async def test_wait_step_completes_when_the_request_is_decided(bot: BotHarness) -> None:
    await bot.command("issue popbill")
    modal = bot.last_modal()
    await bot.submit(modal, {"provider": "popbill", "kind": "tax_invoice", "buyer_bizno": BUYER_BIZNO,
                             "buyer_name": "구매자", "items": "Consulting | 1 | 10000"}, user="U_ALICE")
    execution_id = await run_step(bot, "wait_for_approval", {"request": "INV-000001"})
    assert completion(bot, execution_id) is None
    await bot.click(card_for(bot, "INV-000001"), "approval_approve", user="U_CAROL")
    done = completion(bot, execution_id)
    assert done is not None and done.ok
    assert done.outputs["decision"] == "approved" and done.outputs["decider"] == "U_CAROL"

    missing = await run_step(bot, "wait_for_approval", {"request": "INV-000099"})
    refused = completion(bot, missing)
    assert refused is not None and not refused.ok and refused.error and "INV-000099" in refused.error


async def test_a_step_whose_request_ended_unseen_completes_from_the_sweep(bot: BotHarness) -> None:
    """The request is decided while no listener sees it (as across a restart): the sweep job
    completes the step from the stored execution id, once, with the execution's own token."""
    from commands.slack.features.steps import complete_finished_steps

    execution_id = await run_step(bot, "request_invoice", request_inputs())
    record = await bot.runtime.store.steps.get(execution_id)
    assert record is not None and record.approval_id is not None
    assert record.bot_token == bot.slack.functions.open[execution_id]
    decision = await bot.runtime.deps.service.decide(record.approval_id, "U_BOB", False, "not this month")
    assert decision.approval.state.value == "rejected"
    assert completion(bot, execution_id) is None  # nobody told the step yet

    assert await complete_finished_steps(bot.runtime.deps) == 1
    assert await complete_finished_steps(bot.runtime.deps) == 0
    done = completion(bot, execution_id)
    assert done is not None and not done.ok and done.error and "not this month" in done.error
    assert done.own_token
    call = bot.slack.last("functions.completeError")
    assert call.ok
    stored = await bot.runtime.store.steps.get(execution_id)
    assert stored is not None and stored.state == "done" and stored.bot_token is None

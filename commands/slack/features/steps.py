"""Workflow Builder custom steps (Bolt's `app.function`), declared under ``functions`` in manifest.yml.

================================  ==========================================================
``request_invoice``               an issue request through the same checks, approvals and
                                  policies as `/invoice issue`; open until the request is
                                  issued (success: our ref, the provider's ids) or rejected,
                                  expired or failed (error)
``check_business_status``         a closure (휴폐업) check of one business number, at once
``wait_for_approval``             open until the named request is decided (decision, decider)
================================  ==========================================================

Slack delivers ``function_executed`` at least once: the execution id is claimed first
(`StepRepo.claim`), so a retried delivery never requests twice. A step waiting on a request
is completed from the request's outcome by the notifier's outcome listener (every decision,
execution, expiry, recovery and retry updates the request's card), by any replica, exactly
once (`StepRepo.finish`); a sweep job completes what a restart left behind. Completion uses
the execution's own token (``bot_access_token`` in the event, kept until completion).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.complete.async_complete import AsyncComplete
from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.ledger.steps import StepExecutionRecord
from commands.slack.features.announce import announce
from commands.slack.features.deps import SlackDeps
from commands.slack.features.issue import live_capabilities
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain
from commands.workflow import ApprovalView, WorkflowError
from commands.workflow.access import current_workspace
from commands.workflow.steps import (
    REQUEST_STEP,
    STATUS_STEP,
    WAIT_STEP,
    StepOutcome,
    closure_outcome,
    find_request,
    request_outcome,
    wait_outcome,
)
from providers.errors import ProviderError

__all__ = ["STEPS_JOB_ID", "complete_finished_steps", "complete_step", "register"]

log = logging.getLogger("invoicebot.steps")

#: the sweep completing steps whose request ended while no process was there to see it
STEPS_JOB_ID = "complete-steps"
STEPS_INTERVAL_SECONDS = 60

#: Slack's answers worth trying again later (anything else will not get better)
_TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})

_OUTCOMES: Mapping[str, Callable[[ApprovalView], StepOutcome | None]] = {
    REQUEST_STEP: request_outcome, WAIT_STEP: wait_outcome}


def _client_for(deps: SlackDeps, record: StepExecutionRecord) -> AsyncWebClient:
    """The execution's own token when Slack gave one, else the workspace's client."""
    base = deps.notifier.client
    if not record.bot_token:
        return base
    return AsyncWebClient(token=record.bot_token, base_url=base.base_url, timeout=base.timeout,
                          retry_handlers=base.retry_handlers)


async def complete_step(deps: SlackDeps, execution_id: str, outcome: StepOutcome) -> bool:
    """Complete the step once (whichever process gets here first); False when another did, or
    Slack could not be told (a transient failure leaves it open for the sweep)."""
    record = await deps.store.steps.finish(execution_id)
    if record is None:
        return False
    client = _client_for(deps, record)
    try:
        if outcome.ok:
            await AsyncComplete(client, execution_id)(outcome.outputs)
        else:
            await AsyncFail(client, execution_id)(outcome.error or _("The step failed."))
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        log.warning("could not complete step %s: %s", execution_id, error)
        if error in _TRANSIENT:
            await deps.store.steps.reopen(record)
        return False
    except (aiohttp.ClientError, TimeoutError):
        log.warning("could not reach Slack to complete step %s", execution_id, exc_info=True)
        await deps.store.steps.reopen(record)
        return False
    log.info("step %s (%s) completed: %s", execution_id, record.callback_id, "ok" if outcome.ok else "error")
    return True


async def _on_request_update(deps: SlackDeps, approval: ApprovalView) -> None:
    """The notifier's outcome listener: complete the steps waiting on `approval` once it ended."""
    for record in await deps.store.steps.open_for(approval.id):
        outcome = _OUTCOMES.get(record.callback_id, request_outcome)(approval)
        if outcome is not None:
            await complete_step(deps, record.function_execution_id, outcome)


async def complete_finished_steps(deps: SlackDeps) -> int:
    """Complete every open step whose request has ended (after a restart, or a lost completion)."""
    done = 0
    for record in await deps.store.steps.open_waiting():
        if record.approval_id is None:
            continue
        try:
            approval = await deps.service.get_approval(record.approval_id)
        except WorkflowError:
            continue
        outcome = _OUTCOMES.get(record.callback_id, request_outcome)(approval)
        if outcome is not None and await complete_step(deps, record.function_execution_id, outcome):
            done += 1
    return done


async def _claim(deps: SlackDeps, event: Mapping[str, Any], context: AsyncBoltContext, step: str) -> str | None:
    """The execution id, for the first delivery of this execution only."""
    execution_id = str(event.get("function_execution_id") or context.function_execution_id or "")
    if not execution_id:
        return None
    workspace = current_workspace()
    token = context.function_bot_access_token or event.get("bot_access_token")
    first = await deps.store.steps.claim(execution_id, step, bot_token=str(token) if token else None,
                                         team_id=workspace.team_id if workspace else None,
                                         enterprise_id=workspace.enterprise_id if workspace else None)
    if not first:
        log.info("step %s delivered again: already handled", execution_id)
    return execution_id if first else None


def _refusal(exc: Exception) -> str:
    failure = explain("", exc)
    return failure.what + (f" ({failure.hint})" if failure.hint else "")


async def _request_invoice(deps: SlackDeps, execution_id: str, inputs: Mapping[str, Any],
                           client: AsyncWebClient) -> None:
    from commands.slack.step_inputs import read_request_inputs  # on first use (idle RSS)

    read = read_request_inputs(inputs, today=deps.today(), offered=deps.offered(),
                               capabilities=live_capabilities(deps))
    if read.error is not None or read.draft is None:
        await complete_step(deps, execution_id, StepOutcome(error=read.error or _("Check the step's inputs.")))
        return
    channel = read.channel or read.requester
    try:
        approval = await deps.service.request_issue(read.draft, read.requester, channel)
    except (WorkflowError, ProviderError) as exc:
        await complete_step(deps, execution_id, StepOutcome(error=_refusal(exc)))
        return
    await deps.store.steps.attach(execution_id, approval.id)
    await announce(deps, approval, channel, client, read.warnings)
    outcome = request_outcome(approval)  # issued at once when issuing needs no approval
    if outcome is not None:
        await complete_step(deps, execution_id, outcome)


async def _check_status(deps: SlackDeps, execution_id: str, inputs: Mapping[str, Any]) -> None:
    number = str(inputs.get("business_number") or "").strip()
    if not number:
        await complete_step(deps, execution_id, StepOutcome(error=_("business_number: enter the number to check.")))
        return
    actor = str(inputs.get("requester") or f"workflow:{execution_id}")[:64]
    try:
        result = await deps.service.closure([number], actor)
    except (WorkflowError, ProviderError) as exc:
        await complete_step(deps, execution_id, StepOutcome(error=_refusal(exc)))
        return
    await complete_step(deps, execution_id, closure_outcome(result))


async def _wait_for_approval(deps: SlackDeps, execution_id: str, inputs: Mapping[str, Any]) -> None:
    text = str(inputs.get("request") or "").strip()
    if not text:
        await complete_step(deps, execution_id, StepOutcome(
            error=_("request: give a request number or a document ref (INV-000123).")))
        return
    try:
        approval = await find_request(deps.service.context, text, f"workflow:{execution_id}"[:64])
    except (WorkflowError, ProviderError) as exc:
        await complete_step(deps, execution_id, StepOutcome(error=_refusal(exc)))
        return
    await deps.store.steps.attach(execution_id, approval.id)
    outcome = wait_outcome(approval)
    if outcome is not None:
        await complete_step(deps, execution_id, outcome)


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """The three steps, the outcome listener, and the sweep."""

    async def on_request_invoice(event: dict[str, Any], inputs: dict[str, Any], context: AsyncBoltContext,
                                 client: AsyncWebClient) -> None:
        if (execution_id := await _claim(deps, event, context, REQUEST_STEP)) is not None:
            await _request_invoice(deps, execution_id, inputs, client)

    async def on_check_status(event: dict[str, Any], inputs: dict[str, Any], context: AsyncBoltContext) -> None:
        if (execution_id := await _claim(deps, event, context, STATUS_STEP)) is not None:
            await _check_status(deps, execution_id, inputs)

    async def on_wait(event: dict[str, Any], inputs: dict[str, Any], context: AsyncBoltContext) -> None:
        if (execution_id := await _claim(deps, event, context, WAIT_STEP)) is not None:
            await _wait_for_approval(deps, execution_id, inputs)

    async def on_update(approval: ApprovalView) -> None:
        await _on_request_update(deps, approval)

    app.function(REQUEST_STEP)(on_request_invoice)
    app.function(STATUS_STEP)(on_check_status)
    app.function(WAIT_STEP)(on_wait)
    deps.notifier.outcome_listeners.append(on_update)
    if scheduler is not None:
        async def sweep() -> None:
            await complete_finished_steps(deps)

        scheduler.add_job(sweep, IntervalTrigger(seconds=STEPS_INTERVAL_SECONDS, timezone=scheduler.tz),
                          id=STEPS_JOB_ID, misfire_grace_time=STEPS_INTERVAL_SECONDS)

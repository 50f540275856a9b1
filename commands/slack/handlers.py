"""What each Slack interaction does: parse, acknowledge, call the service, answer in Block Kit.

Listeners in `commands.slack.listeners` are one line each; the logic lives here so it reads in
one place. The rule everywhere: acknowledge first (Slack waits 3 s and a trigger_id
lives 3 s), then do the slow work and answer through `respond` or the Web API.
Errors become a clear message that says what happened and what to do; no traceback
ever reaches a user.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from commands.ledger import Store
from commands.slack.authz import ApproverDirectory
from commands.slack.blocks import (
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
    error_text,
    help_text,
    list_text,
    parse_reject_submission,
    pending_list_text,
    status_text,
)
from commands.slack.cards import approval_card, closure_rows, document_card, history_from_audit
from commands.slack.ids import REJECT_REASON_BLOCK_ID
from commands.slack.modal import build_issue_modal, parse_issue_submission
from commands.slack.notify import Notifier
from commands.slack.pacing import AckPacer
from commands.slack.parser import (
    ClosureCommand,
    Command,
    CommandError,
    DestroyCommand,
    DigestCommand,
    ExportCommand,
    HelpCommand,
    IssueCommand,
    ListCommand,
    ResendCommand,
    RetryCommand,
    StatusCommand,
    parse_command,
)
from commands.workflow import (
    ApprovalView,
    ClosureItem,
    DecisionOutcome,
    DecisionResult,
    ExecutionResult,
    InvoiceService,
    WorkflowError,
)
from commands.workflow.drafts import IssueDraft
from providers.base import InvoiceProvider
from providers.errors import ProviderError
from providers.models import DocumentKind, Provider, ResendRequest

__all__ = ["DigestPort", "HandlerDeps", "Handlers"]

log = logging.getLogger("invoicebot.commands")

#: numbers per provider call when a closure check reports progress
CLOSURE_CHUNK = 100
#: above this many numbers the answer shows progress while it works
CLOSURE_PROGRESS_THRESHOLD = 20

DigestPort = Callable[[DigestCommand, str, str, AsyncWebClient], Awaitable[Sequence[Block]]]


@dataclass
class HandlerDeps:
    """What the handlers need; built once by `bot.runtime`."""

    service: InvoiceService
    store: Store
    providers: Mapping[Provider, InvoiceProvider]
    approvers: ApproverDirectory
    notifier: Notifier
    tz: ZoneInfo
    #: `/invoice digest …`: (command, channel, user, client) -> answer blocks (bot.runtime wires it)
    digest: DigestPort | None = None
    #: refreshes the App Home of a user after something changed for them
    refresh_home: Callable[[str, AsyncWebClient], Awaitable[None]] | None = None
    #: holds slow work back while a burst of requests is still being acknowledged
    pacer: AckPacer = field(default_factory=AckPacer)

    def offered(self) -> dict[Provider, frozenset[DocumentKind]]:
        return {p: frozenset(s.capabilities.kinds) for p, s in self.providers.items()}

    def any_sandbox(self) -> bool:
        return any(s.sandbox for s in self.providers.values())


def _error_blocks(title: str, exc: BaseException) -> tuple[str, list[Block]]:
    """A user-facing message for a service or provider error."""
    if isinstance(exc, WorkflowError):
        what, todo = exc.message, exc.user_hint or "Check the command and try again."
    elif isinstance(exc, ProviderError):
        what, todo = str(exc), exc.user_hint or "Try again in a minute; if it keeps failing, tell an admin."
    else:
        what, todo = "Something went wrong on our side.", "Try again; if it keeps failing, tell an admin."
    return error_text(title, what), build_error_message(title, what, todo)


@functools.lru_cache(maxsize=256)
def _issue_modal(provider: Provider | None, kind: DocumentKind | None, today: dt.date,
                 offered: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any]:
    """The issue modal as Slack JSON, validated once per (provider, kind, day): serialising
    `slack_sdk.models` checks every limit and costs milliseconds on the acknowledging path."""
    kinds = {Provider(p): frozenset(DocumentKind(k) for k in ks) for p, ks in offered}
    return build_issue_modal(provider, kind, offered=kinds, today=today).to_dict()


def _private_metadata(channel: str, thread_ts: str | None = None) -> str:
    return json.dumps({"channel": channel, "thread_ts": thread_ts}, separators=(",", ":"))


def _read_metadata(raw: str | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class Handlers:
    """Every listener's body. Bolt passes arguments by name (`ack`, `body`, `respond`, `client`)."""

    def __init__(self, deps: HandlerDeps) -> None:
        self.deps = deps

    # ------------------------------------------------------------------ /invoice

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         client: AsyncWebClient) -> None:
        user = str(command.get("user_id", ""))
        channel = str(command.get("channel_id", ""))
        try:
            parsed = parse_command(command.get("text"), today=dt.datetime.now(self.deps.tz).date())
        except CommandError as error:
            await ack(text=error.message, blocks=build_command_error_message(error), response_type="ephemeral")
            return
        if isinstance(parsed, HelpCommand):
            await ack(text=help_text(parsed.topic), blocks=build_help_message(parsed.topic),
                      response_type="ephemeral")
            return
        if isinstance(parsed, IssueCommand):
            await ack()
            await self.deps.pacer.wait()  # tens of ms of a trigger_id's 3 s
            await self.open_issue_modal(client, str(command.get("trigger_id", "")), channel, user,
                                        parsed.provider, parsed.kind, respond)
            return
        await ack()
        await self.deps.pacer.wait()
        try:
            await self._dispatch(parsed, user, channel, respond, client)
        except (WorkflowError, ProviderError) as exc:
            text, blocks = _error_blocks(f"/invoice {parsed.name} failed", exc)
            await respond(text=text, blocks=blocks, response_type="ephemeral")
        except Exception:
            log.exception("/invoice %s failed", parsed.name)
            text, blocks = _error_blocks(f"/invoice {parsed.name} failed", RuntimeError())
            await respond(text=text, blocks=blocks, response_type="ephemeral")

    async def _dispatch(self, parsed: Command, user: str, channel: str, respond: AsyncRespond,
                        client: AsyncWebClient) -> None:
        if isinstance(parsed, StatusCommand):
            await self.status(str(parsed.ref), respond)
        elif isinstance(parsed, ResendCommand):
            request = ResendRequest(channel=parsed.channel, address=parsed.address)
            approval = await self.deps.service.request_resend(str(parsed.ref), request, user, channel)
            await self._after_request(approval, channel, respond, client, verb="resend")
        elif isinstance(parsed, DestroyCommand):
            approval = await self.deps.service.request_destroy(str(parsed.ref), parsed.reason, user, channel)
            await self._after_request(approval, channel, respond, client, verb="destroy")
        elif isinstance(parsed, ClosureCommand):
            await self.closure(parsed.biznos, parsed.warnings, user, respond)
        elif isinstance(parsed, ListCommand):
            await self.list_documents(parsed, user, respond)
        elif isinstance(parsed, ExportCommand):
            await self.export(parsed, channel, respond, client)
        elif isinstance(parsed, RetryCommand):
            await self.retry(parsed, user, respond)
        elif isinstance(parsed, DigestCommand):
            if self.deps.digest is None:
                await respond(text="Digests are not available in this mode.", response_type="ephemeral")
                return
            blocks = await self.deps.digest(parsed, channel, user, client)
            await respond(text=f"/invoice digest {parsed.action}", blocks=list(blocks), response_type="ephemeral")

    # ------------------------------------------------------------------ issue

    async def open_issue_modal(self, client: AsyncWebClient, trigger_id: str, channel: str, user: str,
                               provider: Provider | None, kind: DocumentKind | None,
                               respond: AsyncRespond | None = None) -> None:
        today = dt.datetime.now(self.deps.tz).date()
        offered = tuple(sorted((p.value, tuple(sorted(k.value for k in kinds)))
                               for p, kinds in self.deps.offered().items()))
        view = dict(_issue_modal(provider, kind, today, offered), private_metadata=_private_metadata(channel))
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("views.open failed for %s: %s", user, error)
            if respond is not None:
                await respond(
                    text="The issue form could not be opened.",
                    blocks=build_error_message(
                        "The issue form could not be opened",
                        f"Slack said `{error}` (a form has to open within 3 seconds of the command).",
                        "Type the command again.",
                    ),
                    response_type="ephemeral",
                )

    async def on_issue_submission(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                  client: AsyncWebClient) -> None:
        user = str(body.get("user", {}).get("id", ""))
        values = view.get("state", {}).get("values", {})
        metadata = _read_metadata(view.get("private_metadata"))
        channel = str(metadata.get("channel") or user)
        draft, errors, warnings = parse_issue_submission(
            values, today=dt.datetime.now(self.deps.tz).date(), offered=self.deps.offered()
        )
        if errors or draft is None:
            await ack(response_action="errors", errors=errors or {"provider": "Please check the form."})
            return
        service = self.deps.service
        if not service.needs_approval("issue"):
            # Issuing right away calls the provider: that must not hold the submission's answer.
            await ack()
            await self._issue(draft, user, channel, metadata.get("thread_ts"), client, warnings)
            return
        try:
            # Only database writes, before the ack on purpose: a refusal belongs on the form.
            approval = await service.request_issue(draft, user, channel, metadata.get("thread_ts"))
        except WorkflowError as exc:
            await ack(response_action="errors", errors={"provider": exc.message[:1900]})
            return
        await ack()
        await self._announce(approval, channel, client, warnings)

    async def _issue(self, draft: IssueDraft, user: str, channel: str, thread_ts: str | None,
                     client: AsyncWebClient, warnings: Sequence[str]) -> None:
        try:
            approval = await self.deps.service.request_issue(draft, user, channel, thread_ts)
        except (WorkflowError, ProviderError) as exc:
            text, blocks = _error_blocks("The document was not issued", exc)
            await self.deps.notifier.ephemeral(channel, user, text, blocks)
            return
        await self._announce(approval, channel, client, warnings)

    async def _announce(self, approval: ApprovalView, channel: str, client: AsyncWebClient,
                        warnings: Sequence[str] = ()) -> None:
        """Post the request's card and tell the requester where it went."""
        notifier = self.deps.notifier
        posted = await notifier.post_card(approval, channel)
        if posted is not None:
            approval = await self.deps.service.attach_card(approval.id, *posted)
        ref = approval.document.ref
        if approval.is_pending:
            where = f"<#{posted[0]}>" if posted else "the approvals channel"
            text = (f"📨 {approval.action.value.capitalize()} request for *{ref}* is waiting for approval in {where}. "
                    f"Approvers: {self.deps.approvers.describe()}.")
        else:
            text = approval_card(approval).outcome or f"{ref}: {approval.state.value}"
        if warnings:
            text += "\n⚠️ " + "\n⚠️ ".join(warnings)
        await notifier.ephemeral(channel, approval.requester, text)
        if self.deps.refresh_home is not None:
            await self.deps.refresh_home(approval.requester, client)

    async def _after_request(self, approval: ApprovalView, channel: str, respond: AsyncRespond,
                             client: AsyncWebClient, *, verb: str) -> None:
        if approval.is_pending:
            await self._announce(approval, channel, client)
            return
        card = approval_card(approval)
        ok = approval.state.value == "succeeded"
        title = f"{approval.document.ref}: {verb} {'done' if ok else 'failed'}"
        lines = [card.outcome or ""]
        if card.hint:
            lines.append(f"👉 {card.hint}")
        if ok:
            await respond(text=f"✅ {title}\n" + "\n".join(x for x in lines if x), response_type="ephemeral")
        else:
            await respond(text=title, blocks=build_error_message(title, card.outcome or "the provider refused",
                                                                  card.hint or "Check the document and try again."),
                          response_type="ephemeral")

    # ------------------------------------------------------------------ status, list, export

    async def status(self, ref_text: str, respond: AsyncRespond) -> None:
        view = await self.deps.service.status(ref_text)
        history: tuple[tuple[dt.datetime | None, str], ...] = ()
        if view.id is not None:
            events = await self.deps.store.audit.search(document_id=view.id, limit=40)
            history = history_from_audit(events)
        card = document_card(view, history=history)
        await respond(text=status_text(card), blocks=build_status_message(card, self.deps.tz),
                      response_type="ephemeral")

    async def list_documents(self, parsed: ListCommand, user: str, respond: AsyncRespond) -> None:
        if parsed.pending:
            approvals = await self.deps.service.pending_approvals(limit=100)
            cards = [approval_card(a) for a in approvals]
            await respond(text=pending_list_text(cards), blocks=build_pending_list_message(cards, tz=self.deps.tz),
                          response_type="ephemeral")
            return
        views = await self.deps.service.list_documents(state=parsed.state, provider=parsed.provider, limit=100)
        doc_cards = [document_card(v) for v in views]
        filters = " ".join(x for x in (parsed.state and parsed.state.value,
                                       parsed.provider and parsed.provider.value) if x) or None
        await respond(text=list_text(doc_cards), blocks=build_list_message(doc_cards, filters=filters,
                                                                           tz=self.deps.tz),
                      response_type="ephemeral")

    async def export(self, parsed: ExportCommand, channel: str, respond: AsyncRespond,
                     client: AsyncWebClient) -> None:
        await respond(text="Preparing the export…", blocks=build_progress_message("Preparing the export", 0, 1),
                      response_type="ephemeral")
        data = await self.deps.service.export_csv(parsed.start, parsed.end)
        rows = max(0, data.count(b"\r\n") - 1)
        name = f"invoices-{parsed.start.isoformat()}-{parsed.end.isoformat()}.csv"
        try:
            await client.files_upload_v2(channel=channel, content=data, filename=name, title=name,
                                         initial_comment=f"Documents from {parsed.start} to {parsed.end}")
        except SlackApiError as exc:
            error = exc.response.get("error")
            await respond(replace_original=True, text="The export could not be uploaded.",
                          blocks=build_error_message("The export could not be uploaded",
                                                     f"Slack said `{error}`.",
                                                     "Invite the bot to this channel and try again."))
            return
        await respond(replace_original=True, text=f"Export ready: {name}",
                      blocks=build_export_message(name, rows, parsed.start, parsed.end,
                                                  sandbox=self.deps.any_sandbox(), size=len(data)))

    async def closure(self, biznos: Sequence[str], warnings: Sequence[str], user: str,
                      respond: AsyncRespond) -> None:
        total = len(biznos)
        show_progress = total > CLOSURE_PROGRESS_THRESHOLD
        if show_progress:
            await respond(text=f"Checking {total} numbers…",
                          blocks=build_progress_message(f"Checking {total} numbers", 0, total),
                          response_type="ephemeral")
        items: list[ClosureItem] = []
        sandbox = False
        for start in range(0, total, CLOSURE_CHUNK):
            chunk = list(biznos[start:start + CLOSURE_CHUNK])
            result = await self.deps.service.closure(chunk, user)
            if result.error:
                text, blocks = _error_blocks("The closure check failed",
                                             WorkflowError(result.error, user_hint=result.error_hint))
                await respond(text=text, blocks=blocks, replace_original=show_progress, response_type="ephemeral")
                return
            if result.provider is not None and result.provider in self.deps.providers:
                sandbox = sandbox or self.deps.providers[result.provider].sandbox
            items.extend(result.items)
            if show_progress and start + CLOSURE_CHUNK < total:
                done = min(total, start + CLOSURE_CHUNK)
                await respond(replace_original=True, text=f"Checking {total} numbers… {done}/{total}",
                              blocks=build_progress_message(f"Checking {total} numbers", done, total))
        rows = closure_rows(items)
        await respond(text=closure_text(rows, sandbox=sandbox), blocks=build_closure_message(rows, sandbox=sandbox,
                                                                                             tz=self.deps.tz),
                      replace_original=show_progress, response_type="ephemeral")

    async def retry(self, parsed: RetryCommand, user: str, respond: AsyncRespond) -> None:
        service = self.deps.service
        if parsed.approval_id is not None:
            result = await service.retry(parsed.approval_id, user)
        else:
            assert parsed.ref is not None
            result = await service.retry_document(str(parsed.ref), user)
        await self._report_execution(result, respond)
        await self.deps.notifier.update_card(result.approval)

    async def _report_execution(self, result: ExecutionResult, respond: AsyncRespond) -> None:
        card = approval_card(result.approval)
        if result.ok:
            await respond(text=f"✅ {card.document.ref}: {result.message or 'done'}", response_type="ephemeral")
        else:
            await respond(text=f"{card.document.ref}: {result.message}",
                          blocks=build_error_message(f"{card.document.ref}: not done",
                                                     result.message or "the provider refused",
                                                     result.user_hint or "Check the request and try again."),
                          response_type="ephemeral")

    # ------------------------------------------------------------------ approvals

    async def on_approve(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Acknowledge first, then record the decision and run it.

        Recording before the ack would survive a crash between the two, but under a burst of
        clicks (a thousand duplicates in the fault suite) the database work pushes acks past
        Slack's 3 seconds; a click lost to a crash leaves the card with its buttons, visibly
        pending, for the approver to click again.
        """
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        approval_id = self._approval_id(body)
        if approval_id is None:
            return
        try:
            result = await self.deps.service.decide(approval_id, user, True, execute=False)
        except WorkflowError as exc:
            await self._tell_clicker(body, user, f"🚫 {exc.message}" + (f" ({exc.user_hint})" if exc.user_hint else ""))
            return
        await self._after_decision(body, user, result, client)

    async def on_reject_click(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        approval_id = self._approval_id(body)
        user = str(body.get("user", {}).get("id", ""))
        if approval_id is None:
            return
        approval = await self.deps.service.get_approval(approval_id)
        refusal = self._refusal(approval, user)
        if refusal is None and not approval.is_pending:
            refusal = f"This request is already {approval.state.value}."
        if refusal is not None:
            await self._tell_clicker(body, user, refusal)
            return
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id", "")),
                                    view=build_reject_modal(str(approval_id)))
        except SlackApiError as exc:
            await self._tell_clicker(body, user, f"The reject form could not be opened ({exc.response.get('error')}). "
                                                 "Click Reject again.")

    def _refusal(self, approval: ApprovalView, user: str) -> str | None:
        if self.deps.service.four_eyes and approval.requester == user:
            return "You made this request, so someone else has to decide it (four-eyes rule)."
        return None

    async def on_reject_submission(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                   client: AsyncWebClient) -> None:
        reason, errors = parse_reject_submission(view.get("state", {}).get("values", {}))
        if errors or reason is None:
            await ack(response_action="errors", errors=errors)
            return
        user = str(body.get("user", {}).get("id", ""))
        try:
            approval_id = int(str(view.get("private_metadata", "")))
        except ValueError:
            await ack()
            return
        try:
            result = await self.deps.service.decide(approval_id, user, False, reason)
        except WorkflowError as exc:
            await ack(response_action="errors", errors={REJECT_REASON_BLOCK_ID: exc.message[:1900]})
            await self._tell_clicker(body, user, f"🚫 {exc.message}")
            return
        await ack()
        await self.deps.pacer.wait()
        await self._after_decision(body, user, result, client)

    @staticmethod
    def _approval_id(body: Mapping[str, Any]) -> int | None:
        actions = body.get("actions") or [{}]
        try:
            return int(str(actions[0].get("value", "")))
        except (TypeError, ValueError):
            return None

    async def _after_decision(self, body: dict[str, Any], user: str, result: DecisionResult,
                              client: AsyncWebClient) -> None:
        """Run an approved request, then update its card and tell the people involved."""
        approval = result.approval
        notifier = self.deps.notifier
        if result.outcome in (DecisionOutcome.ALREADY_DECIDED, DecisionOutcome.EXPIRED):
            await self._tell_clicker(body, user, result.message)
            await notifier.update_card(approval)
            return
        if result.outcome is DecisionOutcome.APPROVED and result.execution is None:
            await notifier.update_card(approval)  # approved: the buttons go before the provider call
            try:
                approval = (await self.deps.service.execute(approval.id)).approval
            except Exception:
                log.exception("executing approval %s failed", approval.id)
                approval = await self.deps.service.get_approval(approval.id)
        await notifier.update_card(approval)
        await notifier.tell_requester(approval)
        if self.deps.refresh_home is not None:
            await self.deps.refresh_home(user, client)
            await self.deps.refresh_home(approval.requester, client)

    async def _tell_clicker(self, body: Mapping[str, Any], user: str, text: str) -> None:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if channel:
            await self.deps.notifier.ephemeral(str(channel), user, text)
        else:  # a click in the App Home or a modal: a DM
            await self.deps.notifier.tell_user(user, text)

    # ------------------------------------------------------------------ reminders

    async def on_reminder_resend(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The digest's "Resend" button: the same path and approval rules as `/invoice resend`."""
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        ref = str((body.get("actions") or [{}])[0].get("value", ""))
        channel = str((body.get("channel") or {}).get("id") or user)
        try:
            approval = await self.deps.service.request_resend(ref, ResendRequest(), user, channel)
        except (WorkflowError, ProviderError) as exc:
            await self._tell_clicker(body, user, _error_blocks(f"Resending {ref} failed", exc)[0])
            return
        if approval.is_pending:
            await self._announce(approval, channel, client)
        else:
            card = approval_card(approval)
            await self._tell_clicker(body, user, f"{ref}: {card.outcome or approval.state.value}")

"""Telling Slack about approvals and documents: cards, their updates, DMs and thread replies.

Every call here is best effort after the database already holds the truth: a Slack
failure (a refusal, a text or HTML body, no answer at all) is logged and never undoes,
repeats or holds up a provider call. A card update is bounded by `CARD_UPDATE_TIMEOUT`, so
a Slack that hangs costs an approval seconds, not the recovery job's interval. Cards and thread
replies are read by a channel, so they are written in the channel language; a DM to the
requester in the requester's (`commands.slack.language`); text handed in ready made is
already in the language of the request it answers. Every
user-typed string is escaped (`escape_mrkdwn`) before it reaches a `text` or mrkdwn field.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _, use_locale
from commands.ledger import ApprovalAction, Store, utc_now
from commands.slack.blocks import approval_text, build_approval_message
from commands.slack.blocks.kit import user_mention
from commands.slack.blocks.models import ApprovalCard
from commands.slack.cards import approval_card
from commands.slack.clients import current_client, use_client
from commands.slack.formatting import clip, escape_mrkdwn
from commands.slack.ids import RESUBMIT_ACTION_ID
from commands.slack.language import Languages
from commands.slack.slack_errors import SLACK_FAILURES, slack_error
from commands.workflow import ApprovalView
from commands.workflow.access import Workspace, bind_workspace
from commands.workflow.resubmit import REOPENABLE

__all__ = ["CARD_UPDATE_TIMEOUT", "Notifier", "OutcomeListener", "requester_message", "resubmit_button"]

log = logging.getLogger("invoicebot.notify")

#: seconds a card update may take before it is given up (the next update shows the truth)
CARD_UPDATE_TIMEOUT = 10.0

#: told of every request whose card is updated (decisions, votes, executions, expiry, recovery, retries)
OutcomeListener = Callable[[ApprovalView], Awaitable[None]]


def resubmit_button(approval: ApprovalView) -> list[Block]:
    """"Edit and resubmit" for an issue request that ended without a document (the requester's
    message only: the workflow refuses anyone else who clicks it)."""
    if approval.action is not ApprovalAction.ISSUE or approval.state not in REOPENABLE:
        return []
    if approval.state.value == "failed" and approval.retryable:
        return []  # retried with /invoice retry, not edited: both would issue a document
    button = ButtonElement(text=PlainTextObject(text=_("Edit and resubmit"), emoji=True),
                           action_id=RESUBMIT_ACTION_ID, value=str(approval.id))
    return [ActionsBlock(block_id=f"resubmit_{approval.id}", elements=[button])]


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def requester_message(approval: ApprovalView, card: ApprovalCard) -> tuple[str, list[Block]]:
    """What the requester is told about their request: the card's line, who decided and why."""
    text = approval_text(card)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    reason = escape_mrkdwn(clip(" ".join(approval.reason.split()), 1000)) if approval.reason else ""
    if approval.decider:
        if approval.state.value == "rejected":
            line = _("Rejected by {user}: “{reason}”") if reason else _("Rejected by {user}")
        else:
            line = _("Decided by {user}: “{reason}”") if reason else _("Decided by {user}")
        blocks.append(_context(line.format(user=user_mention(approval.decider), reason=reason)))
    elif reason:
        blocks.append(_context(_("Reason: {reason}").format(reason=reason)))
    if approval.outcome_message and approval.outcome_message not in text:
        blocks.append(_context(escape_mrkdwn(clip(approval.outcome_message, 2000))))
    if approval.user_hint:
        blocks.append(_context("👉 " + escape_mrkdwn(clip(approval.user_hint, 1990))))
    blocks.extend(resubmit_button(approval))
    return text, blocks


class Notifier:
    """Posts and updates approval cards and tells people what happened.

    Args:
        client: the Web API client.
        store: to find a document's thread (its issue approval card).
        approvals_channel: where cards go; None means the channel the request came from.
        four_eyes: whether cards say the requester may not approve (INVOICEBOT_FOUR_EYES).
        languages: who reads which language (None: everything in the current locale).
    """

    def __init__(self, client: AsyncWebClient, store: Store, approvals_channel: str | None, tz: ZoneInfo,
                 *, four_eyes: bool = True, clock: Callable[[], dt.datetime] = utc_now,
                 languages: Languages | None = None) -> None:
        self.default_client = client
        self.store = store
        self.approvals_channel = approvals_channel
        self.tz = tz
        #: e.g. Workflow Builder steps waiting on a request (`features.steps`); their failures are logged
        self.outcome_listeners: list[OutcomeListener] = []
        self.four_eyes = four_eyes
        self.clock = clock  # "today" for the tax deadline a card shows (an issue request's depends on the day)
        self.languages = languages
        #: the approvals channel of the workspace being served (its settings); None: `approvals_channel`
        self.channel_source: Callable[[], Awaitable[str | None]] | None = None
        #: a workspace's own Web API client for work no Slack request started (OAuth installs:
        #: `bot.oauth.WorkspaceTokens.client_for`); None: `default_client` posts everywhere
        self.client_for: Callable[[Workspace], Awaitable[AsyncWebClient | None]] | None = None

    async def client_of(self, workspace: Workspace | None) -> AsyncWebClient | None:
        """The client that posts as `workspace` (None when it is not installed any more)."""
        if self.client_for is None or workspace is None:
            return self.default_client
        return await self.client_for(workspace)

    @contextlib.asynccontextmanager
    async def posting_as(self, team_id: str | None, enterprise_id: str | None = None) -> AsyncIterator[bool]:
        """Post as workspace `team_id` (None: the bot's own): its settings, its client and its channel
        language, for work no Slack request started (jobs, the sweep, recovery), where nothing else
        says whose it is. Yields False when that workspace is not installed any more."""
        workspace = Workspace(team_id, enterprise_id) if team_id else None
        with bind_workspace(workspace):
            client = await self.client_of(workspace)
            if client is None:
                log.warning("workspace %s is not installed: nothing posted for it", team_id)
                yield False
                return
            with use_client(client), use_locale(await self.channel_language()):
                yield True

    async def channel_language(self) -> str | None:
        """The language of channel messages (None: keep the current one)."""
        return await self.languages.for_channel() if self.languages is not None else None

    async def person_language(self, user: str) -> str | None:
        """The language `user` reads (None: keep the current one)."""
        return await self.languages.for_person(user) if self.languages is not None else None

    def card(self, approval: ApprovalView) -> ApprovalCard:
        """The approval's card model as this deployment shows it."""
        return approval_card(approval, today=self.clock().astimezone(self.tz).date(), tz=self.tz).model_copy(
            update={"four_eyes": self.four_eyes})

    @property
    def client(self) -> AsyncWebClient:
        """The client of the workspace being served (its installed token), else the default one."""
        return current_client() or self.default_client

    async def post_card(self, approval: ApprovalView, fallback_channel: str) -> tuple[str, str] | None:
        """Post the approval card; returns (channel, ts) or None when Slack refused."""
        card = self.card(approval)
        configured = await self.channel_source() if self.channel_source is not None else self.approvals_channel
        channel = configured or approval.origin_channel_id or fallback_channel
        with use_locale(await self.channel_language()):
            text, blocks = approval_text(card), build_approval_message(card, self.tz)
        try:
            response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SLACK_FAILURES as exc:
            log.warning("could not post approval card %s to %s: %s", approval.id, channel, slack_error(exc))
            return None
        return str(response["channel"]), str(response["ts"])

    async def update_card(self, approval: ApprovalView) -> None:
        """Replace the card with its current state (decided cards have no buttons), giving up
        after `CARD_UPDATE_TIMEOUT`: nothing waits on a card for longer than that. The outcome
        listeners are told first (a request made by a workflow step may have no card)."""
        await self._tell_listeners(approval)
        if not approval.channel_id or not approval.message_ts:
            return
        with use_locale(await self.channel_language()):
            if approval.action is ApprovalAction.BULK_ISSUE:  # a batch's card shows the batch, not one document
                from commands.slack.blocks.bulk import build_bulk_card, bulk_card_text  # bulk: on first use

                text, blocks = bulk_card_text(approval), build_bulk_card(approval)
            else:
                card = self.card(approval)
                text, blocks = approval_text(card), build_approval_message(card, self.tz)
        try:
            await asyncio.wait_for(self.client.chat_update(
                channel=approval.channel_id, ts=approval.message_ts, text=text, blocks=blocks,
            ), CARD_UPDATE_TIMEOUT)
        except SLACK_FAILURES as exc:
            log.warning("could not update approval card %s: %s", approval.id, slack_error(exc))

    async def _tell_listeners(self, approval: ApprovalView) -> None:
        for listener in self.outcome_listeners:
            try:
                await listener(approval)
            except Exception:  # a listener's failure must not keep the card from updating
                log.exception("outcome listener failed for request %s", approval.id)

    async def tell_user(self, user: str, text: str, blocks: Sequence[Block] | None = None) -> None:
        """A direct message from the app."""
        try:
            opened = await self.client.conversations_open(users=user)
            channel = opened["channel"]["id"]
            await self.client.chat_postMessage(channel=channel, text=text, blocks=list(blocks) if blocks else None)
        except SLACK_FAILURES as exc:
            log.warning("could not DM %s: %s", user, slack_error(exc))

    async def tell_requester(self, approval: ApprovalView) -> None:
        """DM the requester how their request stands, in the requester's language."""
        with use_locale(await self.person_language(approval.requester)):
            if approval.action is ApprovalAction.BULK_ISSUE:
                # the requester's copy never carries the decision buttons
                from commands.slack.blocks.bulk import build_bulk_card, bulk_card_text  # bulk: on first use

                text = bulk_card_text(approval)
                blocks = [b for b in build_bulk_card(approval) if not isinstance(b, ActionsBlock)]
            else:
                text, blocks = requester_message(approval, self.card(approval))
        await self.tell_user(approval.requester, text, blocks)

    async def ephemeral(self, channel: str, user: str, text: str, blocks: Sequence[Block] | None = None) -> None:
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text,
                                                 blocks=list(blocks) if blocks else None)
        except SLACK_FAILURES as exc:
            log.warning("could not post ephemeral to %s in %s: %s", user, channel, slack_error(exc))

    async def tell_clicker(self, body: Mapping[str, Any], user: str, text: str) -> None:
        """Answer whoever clicked: privately in the channel of the click, else (App Home, a
        modal) in a DM. Every refusal of a click goes through here, so they all read alike."""
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if channel:
            await self.ephemeral(str(channel), user, text)
        else:
            await self.tell_user(user, text)

    async def document_thread(self, document_id: int) -> tuple[str, str] | None:
        """The (channel, ts) of the document's issue approval card: its thread."""
        approvals = await self.store.approvals.search(document_id=document_id, action=ApprovalAction.ISSUE, limit=1)
        for approval in approvals:
            if approval.channel_id and approval.message_ts:
                return approval.channel_id, approval.message_ts
        return None

    async def post_in_thread(self, document_id: int, text: str, blocks: Sequence[Block] | None = None) -> bool:
        """Reply in the document's thread; False when the document has no card."""
        where = await self.document_thread(document_id)
        if where is None:
            return False
        channel, ts = where
        try:
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text,
                                               blocks=list(blocks) if blocks else None)
        except SLACK_FAILURES as exc:
            log.warning("could not post in the thread of document %s: %s", document_id, slack_error(exc))
            return False
        return True

"""The one `/invoice` listener: parse the text, then hand the subcommand to the feature that owns it.

Features add their subcommands to the table (`router.add(StatusCommand, handler)`); the
router parses, queues the handler on the `AckPacer` and acknowledges, so the ack path is
parse-and-answer only; the handler runs after the ack when no other ack is waiting, and a
refusal becomes the user's message. When the queue is full the ack itself says the bot is busy
and nothing was done. A handler added with ``acks_itself=True`` (help answers in the ack) gets
the raw invocation; ``urgent=True`` (issue must open a modal within the trigger_id's 3 s) runs
before other queued work and is not claimed against replays (opening a form twice changes
nothing). Every other command that changes something is claimed against replays
(`ReplayGate`) after the ack and before its handler runs: a replayed `/invoice resend` is
answered "already handled" and resends nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.blocks import build_command_error_message
from commands.slack.busy import DatabaseBusy
from commands.slack.features.replies import explain
from commands.slack.middleware import ReplayGate, settle_language
from commands.slack.pacing import AckPacer, busy_answer
from commands.slack.parser import Command, CommandError, parse_command
from commands.workflow import WorkflowError
from providers.errors import ProviderError

__all__ = ["CommandListener", "CommandRouter", "Invocation", "Subcommand"]

log = logging.getLogger("invoicebot.commands")


@dataclass(frozen=True)
class Invocation:
    """One `/invoice` call: who, where, and how to answer."""

    ack: AsyncAck
    respond: AsyncRespond
    client: AsyncWebClient
    user: str
    channel: str
    trigger_id: str


Subcommand = Callable[[Invocation, Any], Awaitable[None]]
CommandListener = Callable[..., Awaitable[None]]

#: subcommands that only read: a replay of one may simply be answered again
READ_ONLY = frozenset({"help", "status", "list", "closure"})


@dataclass(frozen=True)
class _Route:
    kind: type
    handler: Subcommand
    when: Callable[[Any], bool] | None
    acks_itself: bool
    urgent: bool = False


class CommandRouter:
    """The subcommand table; first matching route wins (add the narrower `when` first)."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def add(self, kind: type, handler: Subcommand, *, when: Callable[[Any], bool] | None = None,
            acks_itself: bool = False, urgent: bool = False) -> None:
        """Route parsed commands of `kind` (and matching `when`) to `handler`."""
        self._routes.append(_Route(kind, handler, when, acks_itself, urgent))

    def route(self, parsed: Command) -> _Route | None:
        for route in self._routes:
            if isinstance(parsed, route.kind) and (route.when is None or route.when(parsed)):
                return route
        return None

    def listener(self, *, today: Callable[[], dt.date], pacer: AckPacer,
                 gate: ReplayGate | None = None) -> CommandListener:
        """The Bolt listener for `/invoice` (Bolt passes its arguments by name)."""

        async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                             client: AsyncWebClient, context: AsyncBoltContext | None = None) -> None:
            try:
                parsed = parse_command(command.get("text"), today=today())
            except CommandError:
                await settle_language(context)  # the answer has words: in the person's language
                try:
                    parse_command(command.get("text"), today=today())
                except CommandError as error:
                    await ack(text=error.message, blocks=build_command_error_message(error), response_type="ephemeral")
                return
            invocation = Invocation(ack, respond, client, str(command.get("user_id", "")),
                                    str(command.get("channel_id", "")), str(command.get("trigger_id", "")))
            route = self.route(parsed)
            if route is not None and route.acks_itself:
                await settle_language(context)
                await route.handler(invocation, parsed)
                return
            work = functools.partial(self._after_ack, route, invocation, parsed, gate, context)
            if not pacer.submit(work, urgent=route is not None and route.urgent, name=f"/invoice {parsed.name}"):
                await settle_language(context)
                await ack(text=busy_answer(), response_type="ephemeral")
                return
            await ack()

        return on_command

    async def _after_ack(self, route: _Route | None, invocation: Invocation, parsed: Command,
                         gate: ReplayGate | None, context: AsyncBoltContext | None) -> None:
        """The command's work, queued by the listener: the language, the replay claim, the handler."""
        await settle_language(context)
        replayable = parsed.name in READ_ONLY or (route is not None and route.urgent)
        if gate is not None and context is not None and not replayable \
                and not await _first_delivery(gate, context, invocation.respond):
            return
        await self._run(route, invocation, parsed)

    @staticmethod
    async def _run(route: _Route | None, invocation: Invocation, parsed: Command) -> None:
        title = _("/invoice {subcommand} failed").format(subcommand=parsed.name)
        try:
            if route is None:
                await invocation.respond(text=_("`/invoice {subcommand}` is not available in this mode.").format(
                    subcommand=parsed.name), response_type="ephemeral")
                return
            await route.handler(invocation, parsed)
        except (WorkflowError, ProviderError) as exc:
            failure = explain(title, exc)
            await invocation.respond(text=failure.text(), blocks=failure.blocks(), response_type="ephemeral")
        except Exception as exc:
            log.exception("/invoice %s failed", parsed.name)
            failure = explain(title, exc)
            await invocation.respond(text=failure.text(), blocks=failure.blocks(), response_type="ephemeral")


async def _first_delivery(gate: ReplayGate, context: AsyncBoltContext, respond: AsyncRespond) -> bool:
    """True when the command should run: not a replay, and recorded as handled."""
    try:
        if await gate.first(context):
            return True
        await respond(text=_("This request was already handled; nothing was done again."), response_type="ephemeral")
    except DatabaseBusy:
        await respond(text=_("⚠️ The bot's database is busy and your command could not be recorded, so nothing was "
                             "done. Try again in a minute."), response_type="ephemeral")
    return False

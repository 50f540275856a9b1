"""The one `/invoice` listener: parse the text, then hand the subcommand to the feature that owns it.

Features add their subcommands to the table (`router.add(StatusCommand, handler)`); the
router acknowledges, waits for the burst's acks (`AckPacer`), calls the handler and turns a
refusal into the user's message. A handler added with ``acks_itself=True`` (help answers in
the ack, issue must open a modal within the trigger_id's 3 s) gets the raw invocation.
Every other command that changes something is claimed against replays (`ReplayGate`) after
the ack and before its handler runs: a replayed `/invoice resend` is answered "already
handled" and resends nothing.
"""

from __future__ import annotations

import datetime as dt
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
from commands.slack.middleware import ReplayGate
from commands.slack.pacing import AckPacer
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


class CommandRouter:
    """The subcommand table; first matching route wins (add the narrower `when` first)."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def add(self, kind: type, handler: Subcommand, *, when: Callable[[Any], bool] | None = None,
            acks_itself: bool = False) -> None:
        """Route parsed commands of `kind` (and matching `when`) to `handler`."""
        self._routes.append(_Route(kind, handler, when, acks_itself))

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
            except CommandError as error:
                await ack(text=error.message, blocks=build_command_error_message(error), response_type="ephemeral")
                return
            invocation = Invocation(ack, respond, client, str(command.get("user_id", "")),
                                    str(command.get("channel_id", "")), str(command.get("trigger_id", "")))
            route = self.route(parsed)
            if route is not None and route.acks_itself:
                await route.handler(invocation, parsed)
                return
            await ack()
            await pacer.wait()
            if (gate is not None and context is not None and parsed.name not in READ_ONLY
                    and not await _first_delivery(gate, context, respond)):
                return
            await self._run(route, invocation, parsed)

        return on_command

    @staticmethod
    async def _run(route: _Route | None, invocation: Invocation, parsed: Command) -> None:
        title = f"/invoice {parsed.name} failed"
        try:
            if route is None:
                await invocation.respond(text=f"`/invoice {parsed.name}` is not available in this mode.",
                                         response_type="ephemeral")
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

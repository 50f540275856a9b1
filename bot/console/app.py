"""`invoicebot console`: a local stand-in for Slack.

It sends the requests Slack would send (signed, in Slack's formats) through the same
Bolt app `serve` runs, and renders what the app asks Slack to do as text: messages,
ephemerals, updates, DMs, uploaded files and modals. A modal becomes a series of
prompts, buttons become numbered choices, and `:as USER` switches the acting user so
an approval can be shown. Interactive on a terminal; scriptable on standard input,
one command or answer per line (a multi-line answer ends with an empty line).

    /invoice …        a slash command in the current channel
    3                 click choice 3
    :click Approve    click the newest choice whose label starts with "Approve" (scripts need no numbers)
    :as U_BOB         act as another user          :channel C_OPS   switch channel
    :home             open your App Home            :wait 2          let background work run
    :pay INV-000002   the customer pays a Payssam bill or Abillify invoice (its sandbox calls back)
    :help             this text                     :quit            leave

Provider callbacks reach the console's bot: it serves its `/webhooks/` on a loopback port and
gives that address to the sandboxes, so a payment shows up in the document's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.callback_auth import callback_signer
from bot.console.forms import Prompt, build_view_state, modal_to_prompts
from bot.console.render import render_call, render_message
from bot.console.sandboxes import SANDBOX_PORTS, WEBHOOK_PORT, listening_socket, sandbox_state_dir
from bot.console.settle import settle_tasks
from bot.console.slack_double import RecordedCall, SlackDoubleThread, SlackWebApiDouble
from bot.console.slack_requests import SignedRequest, SlackRequestFactory
from bot.console.terminal import Terminal
from bot.runtime import Runtime, SettingsError, start_runtime
from bot.serve import start_http
from bot.settings import Settings
from bot.webhooks import abillify_workflow_url
from commands.i18n import _, use_locale

__all__ = ["Console", "run_console", "settle_tasks"]

log = logging.getLogger("invoicebot.console")

CONSOLE_TOKEN = "xoxb-local"  # noqa: S105 - accepted only by the local Web API double
DEFAULT_APPROVERS = ("U_BOB", "U_CAROL")
USERS = {"U_ALICE": "alice", "U_BOB": "bob", "U_CAROL": "carol"}
CHANNELS = {"C_FINANCE": "finance", "C_APPROVALS": "approvals"}


@dataclass(frozen=True)
class _Clickable:
    """A numbered button, with where it was shown, so a click builds the payload Slack would."""

    action_id: str
    value: str | None
    block_id: str | None
    channel: str | None
    message: dict[str, Any] | None
    view: dict[str, Any] | None
    label: str


class Console:
    """The console session. `run()` reads lines until `:quit` or the end of input."""

    def __init__(self, settings: Settings, *, user: str, channel: str, approvers: list[str] | None,
                 out: TextIO = sys.stdout, inp: TextIO = sys.stdin) -> None:
        self.base_settings = settings
        self.user = user
        self.channel = channel
        self.approvers = approvers
        self.terminal = Terminal(out, inp)
        self.secret = secrets.token_hex(16)
        self.calls: queue.Queue[RecordedCall] = queue.Queue()
        self.double = SlackWebApiDouble(valid_tokens={CONSOLE_TOKEN}, on_call=self._on_call)
        self.double_thread = SlackDoubleThread(self.double)
        self.factory = SlackRequestFactory(self.secret, team_id=self.double.team_id, api_app_id=self.double.app_id)
        self.choices: dict[int, _Clickable] = {}
        self.next_choice = 1
        self.modals: list[dict[str, Any]] = []
        self.runtime: Runtime | None = None
        self.home_requested = False  # App Home updates are shown only after :home
        self.webhooks: web.AppRunner | None = None

    # -- setup ----------------------------------------------------------------------
    async def _on_call(self, call: RecordedCall) -> None:
        self.calls.put(call)

    async def start(self) -> None:
        base_url = self.double_thread.start()
        webhook_socket = listening_socket(WEBHOOK_PORT)
        webhook_port = int(webhook_socket.getsockname()[1])
        for user_id, name in USERS.items():
            self.double.add_user(user_id, name=name)
        for channel_id, name in CHANNELS.items():
            self.double.add_channel(name, channel_id)
        approvers = self.approvers or sorted(self.base_settings.approvers) or list(DEFAULT_APPROVERS)
        settings = self._settings(base_url, webhook_port, approvers)
        self.runtime = await start_runtime(settings, sandbox_in_thread=True, sandbox_ports=SANDBOX_PORTS,
                                           sandbox_state_dir=sandbox_state_dir(settings))
        self.webhooks = await start_http(self.runtime, "127.0.0.1", webhook_port, slack_events=False,
                                         sock=webhook_socket)
        abillify = self.runtime.providers.sandbox_urls.get("abillify")
        if abillify:  # workflow webhooks (payments) come back to the bot too
            async with httpx.AsyncClient(timeout=10) as admin:
                url = abillify_workflow_url(f"http://127.0.0.1:{webhook_port}", callback_signer(settings))
                await admin.post(abillify + "/_sandbox/webhook", json={"url": url})
        sandboxed = ", ".join(p.value for p in self.runtime.providers.sandboxed()) or _("none")
        self.say(_("invoicebot console — you are {user} in {channel}. Approvers: {approvers}. "
                   "Providers on their SANDBOX: {sandboxed}.").format(
            user=self.user, channel=f"#{self._name(self.channel)}", approvers=", ".join(approvers),
            sandboxed=sandboxed))
        self.say(_("Type /invoice help, a choice number, :as USER, :home, :help or :quit."))

    def _settings(self, slack_api_url: str, webhook_port: int, approvers: list[str]) -> Settings:
        """The user's settings pointed at the double, with a fresh signing secret and local webhooks."""
        return self.base_settings.model_copy(update={
            "slack_bot_token": SecretStr(CONSOLE_TOKEN),
            "slack_signing_secret": SecretStr(self.secret),
            "slack_app_token": None,
            "slack_api_url": slack_api_url,
            "invoicebot_approvers": ",".join(approvers),
            "invoicebot_public_url": self.base_settings.invoicebot_public_url or f"http://127.0.0.1:{webhook_port}",
        })

    async def stop(self) -> None:
        await self.settle()
        self.drain()
        if self.webhooks is not None:
            await self.webhooks.cleanup()
        if self.runtime is not None:
            await self.runtime.aclose()
        self.double_thread.stop()

    # -- output ---------------------------------------------------------------------
    @property
    def out(self) -> TextIO:
        return self.terminal.out

    def say(self, text: str) -> None:
        self.terminal.say(text)

    def _name(self, channel: str | None) -> str:
        return CHANNELS.get(channel or "", channel or "?")

    def drain(self) -> None:
        """Print what the app asked Slack to do since last time; remember buttons and modals."""
        while True:
            try:
                call = self.calls.get_nowait()
            except queue.Empty:
                return
            self._show(call)

    def _show(self, call: RecordedCall) -> None:
        args, response = call.args, call.response
        if call.method == "views.publish" and not (self.home_requested and args.get("user_id") == self.user):
            return  # another user's App Home, or one nobody is looking at
        if call.method in ("views.open", "views.push") and response.get("ok"):
            self.modals.append(dict(response.get("view") or args.get("view") or {}))
        blocks = args.get("blocks")
        if call.method == "views.publish":
            blocks = (args.get("view") or {}).get("blocks")
        if not blocks or call.method in ("views.open", "views.push", "views.update") or not response.get(
                "ok", call.method == "response_url"):
            line = render_call(call.method, args, response, channel_names=CHANNELS)
            if line:
                self.say(line)
            return
        header = render_call(call.method, {**args, "blocks": [], "text": ""}, response,
                             channel_names=CHANNELS).split("\n")[0]
        rendered = render_message(blocks, start=self.next_choice)
        self.say(header)
        self.say("   " + rendered.text.replace("\n", "\n   "))
        channel, message, view = self._target(call)
        for choice in rendered.choices:
            self.choices[choice.number] = _Clickable(choice.action_id, choice.value, choice.block_id, channel,
                                                     message, view, choice.label)
            self.next_choice = max(self.next_choice, choice.number + 1)

    def _target(self, call: RecordedCall) -> tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]:
        if call.method == "views.publish":
            return None, None, dict(call.response.get("view") or {})
        message = dict(call.response.get("message") or {})
        channel = call.response.get("channel") or call.args.get("channel")
        ts = call.response.get("ts") or call.args.get("ts")
        if ts:
            message.setdefault("ts", ts)
        message.setdefault("blocks", call.args.get("blocks"))
        return (str(channel) if channel else self.channel), message, None

    # -- input --------------------------------------------------------------------------
    async def run(self) -> int:
        await self.start()
        try:
            while True:
                line = await self.terminal.read_line("> ")
                if line is None:
                    break
                if not await self.handle(line.strip()):
                    break
        finally:
            await self.stop()
        return 0

    async def handle(self, line: str) -> bool:
        """One line of input; False to quit."""
        if not line or line.startswith("#"):
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        if line == ":help":
            self.say(__doc__ or "")
        elif line.startswith(":as "):
            self.user = line.split(maxsplit=1)[1].strip()
            self.home_requested = False
            self.say(_("(you are now {user})").format(user=self.user))
        elif line.startswith(":channel "):
            self.channel = line.split(maxsplit=1)[1].strip()
            self.say(_("(you are now in {channel})").format(channel=f"#{self._name(self.channel)}"))
        elif line.startswith(":wait"):
            parts = line.split()
            await asyncio.sleep(float(parts[1]) if len(parts) > 1 else 1.0)
            await self.settle()
        elif line.startswith(":pay "):
            await self.pay(line.split(maxsplit=1)[1].strip())
        elif line == ":home":
            self.home_requested = True
            await self.send(self.factory.app_home_opened(self.user))
        elif line.startswith("/"):
            command, _sep, text = line.partition(" ")
            response_url = self.double.response_url(channel=self.channel)
            await self.send(self.factory.slash_command(text, user_id=self.user, channel_id=self.channel,
                                                       response_url=response_url, command=command))
        elif line.isdigit():
            await self.click(int(line))
        elif line.startswith(":click "):
            await self.click_label(line.split(maxsplit=1)[1].strip())
        else:
            self.say(_("Not understood: type a /command, a choice number, or :help."))
        return True

    async def pay(self, ref: str) -> None:
        """Play the customer paying a document at its sandbox, which then calls the bot back."""
        assert self.runtime is not None
        doc = await self.runtime.store.documents.get_by_ref(ref.upper())
        urls = self.runtime.providers.sandbox_urls
        if doc is None or not doc.provider_id:
            self.say(_("{ref} is not an issued document.").format(ref=ref))
            return
        if doc.provider.value == "payssam" and "payssam" in urls:
            url, body = urls["payssam"] + "/_sandbox/bill/pay", {"billId": doc.provider_id, "payType": "CARD_VAN"}
        elif doc.provider.value == "abillify" and "abillify" in urls:
            url, body = urls["abillify"] + f"/_sandbox/invoices/{doc.provider_id}/pay", {}
        else:
            self.say(_("Only Payssam bills and Abillify invoices on their sandboxes can be paid here ({ref} is "
                       "{provider}).").format(ref=ref, provider=doc.provider.value))
            return
        async with httpx.AsyncClient(timeout=10) as admin:
            answer = await admin.post(url, json=body)
        if answer.status_code != 200:
            self.say(_("The sandbox refused the payment: {answer}").format(answer=answer.text[:300]))
            return
        self.say(_("(the customer paid {ref}; waiting for the provider's callback)").format(ref=ref))
        await asyncio.sleep(1.5)  # the sandbox calls back in the background
        await self.settle()
        self.drain()

    async def click_label(self, label: str) -> None:
        """Press the most recently shown button whose label starts with `label` (case-insensitive)."""
        wanted = label.casefold()
        numbers = [n for n, c in self.choices.items() if c.label.strip().casefold().startswith(wanted)]
        if not numbers:
            self.say(_("No choice is labelled “{label}”.").format(label=label))
            return
        await self.click(max(numbers))

    async def click(self, number: int) -> None:
        """Press a numbered button as the current user: in a view, or in the message it was shown in."""
        target = self.choices.get(number)
        if target is None:
            self.say(_("There is no choice {number}.").format(number=number))
            return
        self.say(_("(clicked “{label}” as {user})").format(label=target.label, user=self.user))
        if target.view is not None:
            request = self.factory.block_action(user_id=self.user, action_id=target.action_id, value=target.value,
                                                block_id=target.block_id, view=target.view)
        else:
            ts = (target.message or {}).get("ts")
            response_url = self.double.response_url(channel=target.channel, ts=str(ts) if ts else None)
            request = self.factory.block_action(user_id=self.user, action_id=target.action_id, value=target.value,
                                                block_id=target.block_id, channel_id=target.channel,
                                                message=target.message, response_url=response_url)
        await self.send(request)

    # -- dispatch -------------------------------------------------------------------------
    async def send(self, request: SignedRequest) -> dict[str, Any] | None:
        """Dispatch through the app as Slack would, show its answer, then fill any modal it opened."""
        assert self.runtime is not None
        response = await self._dispatch(request)
        body = _json(response.body)
        if response.status != 200:
            self.say("⚠️ " + _("the app answered HTTP {status}: {body}").format(status=response.status,
                                                                                 body=response.body[:200]))
        elif body and (body.get("text") or body.get("blocks")):
            rendered = render_message(body.get("blocks"), start=self.next_choice)
            self.say("↩️ " + _("reply (only you see it):") + "\n   " + (rendered.text or str(body.get("text"))).replace(
                "\n", "\n   "))
        await self.settle()
        self.drain()
        while self.modals:
            await self.fill_modal(self.modals.pop(0))
        return body

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait until the app's background work (listeners after their ack) has finished."""
        await settle_tasks(timeout)

    async def _dispatch(self, request: SignedRequest) -> BoltResponse:
        """Hand a request to the app in a task of its own, as a Slack request would run: what the
        request sets for itself (its person's language) stays with it, not with the console."""
        assert self.runtime is not None
        return await asyncio.create_task(self.runtime.app.async_dispatch(_bolt_request(request)))

    async def fill_modal(self, view: dict[str, Any]) -> None:
        """Ask every input of a modal and submit it; ask again the fields the app or Slack refused."""
        prompts = modal_to_prompts(view)
        title = ((view.get("title") or {}).get("text")) or _("form")
        self.say("📝 " + _("“{title}” — answer each field (Enter keeps the default; - leaves an optional field "
                          "empty):").format(title=title))
        answers: dict[str, Any] = {}
        todo = list(prompts)
        while True:
            asked = await self._ask(view, todo, answers)
            if asked is None:
                self.say(_("(form abandoned)"))
                return
            view, prompts = asked
            try:
                values = build_view_state(prompts, answers)
            except ValueError as exc:
                self.say(f"⚠️ {exc}")
                todo = [p for p in prompts if p.label in str(exc)] or prompts
                continue
            request = self.factory.view_submission(user_id=self.user, view=view, values=values)
            assert self.runtime is not None
            response = await self._dispatch(request)
            body = _json(response.body) or {}
            errors = body.get("errors") if body.get("response_action") == "errors" else None
            if errors:
                for block_id, message in errors.items():
                    self.say(f"⚠️ {block_id}: {message}")
                todo = [p for p in prompts if p.block_id in errors] or prompts
                continue
            await self.settle()
            self.drain()
            return

    async def _ask(self, view: dict[str, Any], todo: list[Prompt], answers: dict[str, Any],
                   ) -> tuple[dict[str, Any], list[Prompt]] | None:
        """Ask `todo` in order; after an answer to a select that dispatches (the issue form's provider
        and kind), the app rebuilds the form as in Slack, and the new form's unanswered inputs are asked
        next. The form as it is then, and its inputs; None when the input ended."""
        prompts = modal_to_prompts(view)
        pending = list(todo)
        while pending:
            prompt = pending.pop(0)
            answer = await self.terminal.ask(prompt)
            if answer is None:
                return None
            answers[prompt.block_id] = answer
            if prompt.dispatch:
                updated = await self._choose(view, prompts, answers, prompt.block_id)
                if updated is not None:
                    view, prompts = updated, modal_to_prompts(updated)
                    pending = [p for p in prompts if p.block_id not in answers]
        return view, prompts

    async def _choose(self, view: dict[str, Any], prompts: list[Prompt], answers: dict[str, Any],
                      block_id: str) -> dict[str, Any] | None:
        """Send the choice in `block_id` as Slack does (``block_actions`` from the view); the form the app
        updated it to, or None when it did not (an answer that is not a choice is asked again at submit)."""
        try:
            values = build_view_state(prompts, answers, enforce_required=False)
        except ValueError:
            return None
        request = self.factory.view_select(user_id=self.user, view=view, block_id=block_id, values=values)
        assert self.runtime is not None
        await self.runtime.app.async_dispatch(_bolt_request(request))
        await self.settle()
        self.drain()
        view_id = str(view.get("id") or "")
        updated = self.double.views.views.get(view_id)
        return dict(updated) if updated and updated.get("hash") != view.get("hash") else None


def _bolt_request(request: SignedRequest) -> AsyncBoltRequest:
    headers: dict[str, str | Sequence[str]] = dict(request.headers)
    return AsyncBoltRequest(body=request.body, headers=headers)


def _json(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if text and text.lstrip().startswith("{") else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def console_language(settings: Settings) -> str:
    """The console's own language: INVOICEBOT_LANGUAGE, or in "auto" its users' Slack locale (en-US)."""
    return settings.invoicebot_language if settings.invoicebot_language != "auto" else "en"


def run_console(settings: Settings, *, user: str, channel: str, approvers: list[str] | None,
                out: TextIO | None = None, inp: TextIO | None = None,
                runner: Callable[..., Any] = asyncio.run) -> int:
    console = Console(settings, user=user, channel=channel, approvers=approvers,
                      out=out or sys.stdout, inp=inp or sys.stdin)
    try:
        # the console's own words (prompts, narration) in the workspace language; the app's
        # answers follow each person's language as in Slack (the double's users: en-US)
        with use_locale(console_language(settings)):
            return int(runner(console.run()))
    except SettingsError as exc:
        print(f"invoicebot console: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            print("", file=console.out)
        return 130

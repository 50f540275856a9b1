"""App Home: what is waiting for me, what I asked for, and what the last digest said.

`load_home(store, user, is_approver)` reads a `HomeData` (a few small indexed queries);
`build_home_view(...)` turns it into a ``home`` `View` (pure, at most 100 blocks). The
Approve/Reject buttons carry the same action ids and value (the approval id) as the
approval card, so one pair of listeners serves both. "Issue a document" (``home_issue``)
opens the issue modal; "Check closure" (``home_closure``) opens `build_closure_modal()`,
whose submission `parse_closure_submission()` reads with the ``/invoice closure`` parser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from commands.i18n import _
from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.ledger.workspaces import WorkspaceScope
from commands.slack.blocks.kit import LINE_LIMIT, channel_mention, context, plain, section, user_mention
from commands.slack.digest import summary_line
from commands.slack.formatting import (
    SEOUL,
    clip,
    document_line,
    escape_mrkdwn,
    format_datetime,
    provider_label,
)
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    CLOSURE_ACTION_ID,
    CLOSURE_BLOCK_ID,
    CLOSURE_MODAL_CALLBACK_ID,
    HOME_CLOSURE_ACTION_ID,
    HOME_ISSUE_ACTION_ID,
    HOME_SETTINGS_ACTION_ID,
    REJECT_ACTION_ID,
)
from commands.slack.parser import ClosureCommand, CommandError, parse_command
from providers.models import Provider

__all__ = [
    "CLOSURE_ACTION_ID",
    "CLOSURE_BLOCK_ID",
    "CLOSURE_MODAL_CALLBACK_ID",
    "HOME_CLOSURE_ACTION_ID",
    "HOME_ISSUE_ACTION_ID",
    "HomeData",
    "build_closure_modal",
    "build_home_view",
    "load_home",
    "parse_closure_submission",
]


_APPROVALS_SHOWN = 10
_RECENT_SHOWN = 10

@dataclass(frozen=True)
class HomeData:
    """Everything App Home shows one user."""

    user: str
    is_approver: bool = False
    approvals: q.Listing[q.ApprovalRow] = field(default_factory=q.Listing)
    recent: tuple[q.DocumentRow, ...] = ()
    last_digest: q.PostedRun | None = None
    sandbox_providers: frozenset[Provider] = frozenset()
    #: admins get a "Settings" button (the workspace's settings modal)
    is_admin: bool = False

    def view(self, tz: dt.tzinfo = SEOUL, *, now: dt.datetime | None = None) -> View:
        return build_home_view(self.user, self.approvals, self.recent, self.last_digest, self.sandbox_providers,
                               is_approver=self.is_approver, tz=tz, now=now, is_admin=self.is_admin)


async def load_home(
    store: Store, user: str, is_approver: bool, *, sandbox_providers: Iterable[Provider] = (),
    workspace: WorkspaceScope | None = None, is_admin: bool = False,
) -> HomeData:
    """Read App Home for `user` in `workspace`: approvals they may decide (never their own), their
    recent requests and the last posted digest, all of that workspace (or of none)."""
    approvals: q.Listing[q.ApprovalRow] = q.Listing()
    if is_approver:
        approvals = await q.pending_approvals(store, limit=_APPROVALS_SHOWN, exclude_requester=user,
                                              workspace=workspace)
    return HomeData(
        user=user,
        is_approver=is_approver,
        approvals=approvals,
        recent=tuple(await q.recent_requests(store, user, limit=_RECENT_SHOWN, workspace=workspace)),
        last_digest=await q.latest_posted_run(store, workspace),
        sandbox_providers=frozenset(sandbox_providers),
        is_admin=is_admin,
    )


def _plain(text: str, limit: int = 75) -> PlainTextObject:
    """Button and modal texts: Slack's 75-character limit unless told."""
    return plain(text, limit)


def _line(row: q.DocumentRow, sandbox: frozenset[Provider], tz: dt.tzinfo) -> str:
    """One document as every surface writes it: one label from `document_label`."""
    line = document_line(row.ref, provider=row.provider, kind=row.kind, buyer_name=row.buyer_name, total=row.total,
                         currency=row.currency, state=row.state, lifecycle=row.lifecycle,
                         sandbox=row.sandbox or row.provider in sandbox, when=row.created_at, tz=tz)
    return clip(line, LINE_LIMIT)


def _ago(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"


def _approval_blocks(a: q.ApprovalRow, sandbox: frozenset[Provider], tz: dt.tzinfo, now: dt.datetime) -> list[Block]:
    doc = a.document
    expires = f" · expires {format_datetime(a.expires_at, tz)}" if a.expires_at else ""
    text = (f"*{escape_mrkdwn(a.action.capitalize())}* {_line(doc, sandbox, tz)}\n"
            f"asked by {user_mention(a.requester)} {_ago(now - a.created_at)}{expires}")
    sandbox_note = " in the SANDBOX (nothing real happens)" if doc.sandbox or doc.provider in sandbox else ""
    confirm = ConfirmObject(
        title=_plain(f"{a.action.capitalize()} {doc.ref}?", 100),
        text=_plain(f"{a.action.capitalize()} this document for {doc.buyer_name or 'the buyer'} through "
                    f"{provider_label(doc.provider)}{sandbox_note}.", 300),
        confirm=_plain("Approve", 30), deny=_plain("Not yet", 30),
    )
    return [
        section(text),
        ActionsBlock(block_id=clip(f"home_approval:{a.id}", 255), elements=[
            ButtonElement(text=_plain("Approve"), action_id=APPROVE_ACTION_ID, value=str(a.id), style="primary",
                          confirm=confirm),
            ButtonElement(text=_plain("Reject"), action_id=REJECT_ACTION_ID, value=str(a.id), style="danger"),
        ]),
    ]


def build_home_view(
    user: str,
    approvals: q.Listing[q.ApprovalRow],
    recent: Iterable[q.DocumentRow],
    last_digest: q.PostedRun | None,
    sandbox_providers: Iterable[Provider] = (),
    *,
    is_approver: bool = False,
    tz: dt.tzinfo = SEOUL,
    now: dt.datetime | None = None,
    is_admin: bool = False,
) -> View:
    """The App Home tab of `user` (a ``home`` view, at most 100 blocks)."""
    now = now or dt.datetime.now(dt.UTC)
    sandbox = frozenset(sandbox_providers)
    blocks: list[Block] = [HeaderBlock(text=_plain("🧾 Invoicing", 150))]
    if sandbox:
        names = ", ".join(provider_label(p).split(" (")[0] for p in sorted(sandbox))
        blocks.append(context(f"🧪 *SANDBOX*: {names} — documents there are not real"))
    blocks.append(ActionsBlock(block_id="home_actions", elements=[
        ButtonElement(text=_plain("Issue a document"), action_id=HOME_ISSUE_ACTION_ID, style="primary"),
        ButtonElement(text=_plain("Check closure"), action_id=HOME_CLOSURE_ACTION_ID),
        *([ButtonElement(text=_plain(_("Settings")), action_id=HOME_SETTINGS_ACTION_ID)] if is_admin else []),
    ]))
    blocks.append(DividerBlock())
    if is_approver:
        blocks.append(section(f"*Waiting for your approval ({approvals.count})*" if approvals
                               else "*Waiting for your approval*\nNothing right now. 🎉"))
        for a in approvals.rows[:_APPROVALS_SHOWN]:
            blocks += _approval_blocks(a, sandbox, tz, now)
        if approvals.more:
            blocks.append(context(f"…and {approvals.more} more — `/invoice list pending`"))
        blocks.append(DividerBlock())
    rows = list(recent)[:_RECENT_SHOWN]
    if rows:
        blocks.append(section("*Your recent requests*\n" + "\n".join(_line(r, sandbox, tz) for r in rows)))
    else:
        blocks.append(section("*Your recent requests*\nNone yet. Start with *Issue a document* or `/invoice issue`."))
    blocks.append(DividerBlock())
    if last_digest is not None:
        blocks.append(section(f"*Last digest* in {channel_mention(last_digest.channel_id)}, "
                               f"{format_datetime(last_digest.posted_at, tz)}\n"
                               f"{escape_mrkdwn(summary_line(last_digest.summary))}"))
    else:
        blocks.append(section("*Last digest*\nNo digest yet. `/invoice digest schedule 09:00` in a channel "
                               "starts one."))
    blocks.append(context(f"Updated {format_datetime(now, tz)} for {user_mention(user)}"))
    return View(type="home", blocks=blocks[:100])


def build_closure_modal(initial: str | None = None) -> View:
    """A small modal asking for business numbers to check (휴폐업 조회)."""
    return View(
        type="modal", callback_id=CLOSURE_MODAL_CALLBACK_ID,
        title=_plain("Check closure", 24), submit=_plain("Check", 24), close=_plain("Cancel", 24),
        blocks=[
            InputBlock(
                block_id=CLOSURE_BLOCK_ID, label=_plain("Business numbers", 2000),
                hint=_plain("One per line, or separated by commas or spaces. Up to 100.", 2000),
                element=PlainTextInputElement(action_id=CLOSURE_ACTION_ID, multiline=True, initial_value=initial,
                                              placeholder=_plain("123-45-67890", 150)),
            ),
        ],
    )


def parse_closure_submission(view_state_values: Mapping[str, object]) -> tuple[ClosureCommand | None, dict[str, str]]:
    """(the closure command, errors keyed by block id) from a submitted closure modal.

    Uses the ``/invoice closure`` parser, so the modal and the command accept the same input
    and refuse it with the same words (answer errors with ``ack(response_action="errors")``).
    """
    block = view_state_values.get(CLOSURE_BLOCK_ID)
    action = block.get(CLOSURE_ACTION_ID) if isinstance(block, Mapping) else None
    value = action.get("value") if isinstance(action, Mapping) else None
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        return None, {CLOSURE_BLOCK_ID: "Enter at least one business number, e.g. 123-45-67890."}
    try:
        command = parse_command(f"closure {text}")
    except CommandError as exc:
        problem = exc.problem + (f" {exc.hint}" if exc.hint else "")
        return None, {CLOSURE_BLOCK_ID: clip(problem, 2000)}
    if not isinstance(command, ClosureCommand):  # pragma: no cover - "closure …" always parses as one
        return None, {CLOSURE_BLOCK_ID: "Enter business numbers only."}
    return command, {}

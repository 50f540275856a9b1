"""The Slack side, one module per feature, each with `register(app, deps, scheduler)`.

A feature's subcommand, buttons, modals and jobs read in one place (as slack-machine plugins
do). `register_all` installs the global middleware and the one `/invoice` listener, then
lets every feature add its part::

    deps = SlackDeps(service=..., store=..., providers=..., approvers=..., notifier=..., tz=...)
    register_all(app, deps, scheduler)   # scheduler: None when nothing runs on a timer
    await scheduler.start()

==========  =====================================================================
issue       `/invoice issue`, the App Home "Issue" button, the issue modal
approvals   Approve/Reject buttons, the reject modal, `list pending`, expiry job
status      `/invoice status`, `/invoice list`
closure     `/invoice closure`, the App Home closure button and modal
export      `/invoice export`
digest      `/invoice digest …`, the schedule re-read job
sweep       the daily status sweep and its thread notices
home        App Home on `app_home_opened` (`refresh_home` for the others)
resend      `/invoice resend`, the digest reminder's Resend button
resubmit    "Edit and resubmit" on a rejected/expired/failed request, its prefilled form
destroy     `/invoice destroy`
retry       `/invoice retry`
bulk        `/invoice bulk`, the upload form, the batch's preview, progress and results file
help        `/invoice help`
language    `/invoice lang` (the middleware sets each request's language)
amend       `/invoice amend`, the "Amend" button and the amendment form (수정세금계산서)
send_nts    `/invoice send-nts`, the "Send to NTS now" button (즉시전송)
pdf         `/invoice pdf`, the "PDF" button: the provider's PDF uploaded to the thread
deadlines   `/invoice deadlines` (기한): tax invoices near or past a tax deadline
settings    App Home "Settings" (admins): the workspace's settings and provider credentials
steps       Workflow Builder custom steps (`function_executed`): request, status check, wait
==========  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt.async_app import AsyncApp

from commands.slack.features import (
    amend,
    approvals,
    bulk,
    closure,
    deadlines,
    destroy,
    digest,
    export,
    help,
    home,
    issue,
    language,
    pdf,
    resend,
    resubmit,
    retry,
    send_nts,
    settings,
    status,
    steps,
    sweep,
)
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.ids import COMMAND
from commands.slack.middleware import ReplayGate, bind_request_workspace, person_language, request_arrival

__all__ = ["FEATURES", "JobScheduler", "SlackDeps", "register_all"]

Register = Callable[[AsyncApp, SlackDeps, JobScheduler | None], None]

#: every feature's `register`, in the order their routes are tried
FEATURES: tuple[Register, ...] = (
    help.register,
    issue.register,
    approvals.register,  # `list pending` before status's `list`
    status.register,
    closure.register,
    export.register,
    digest.register,
    sweep.register,
    home.register,
    resend.register,
    resubmit.register,
    destroy.register,
    retry.register,
    language.register,
    bulk.register,
    amend.register,
    send_nts.register,
    settings.register,
    pdf.register,
    deadlines.register,
    steps.register,
)


def register_all(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Install the middleware, the `/invoice` listener and every feature on `app`.

    Args:
        scheduler: where features add their jobs; None runs no timed work (digests then
            answer that they are not available).
    """
    gate = ReplayGate(deps.store, deps.clock)
    app.use(request_arrival(gate, deps.pacer.gate))
    app.use(bind_request_workspace())
    app.use(person_language(deps.languages))  # after the workspace: its client asks Slack for the locale
    app.command(COMMAND)(deps.router.listener(today=deps.today, pacer=deps.pacer, gate=gate))
    for register in FEATURES:
        register(app, deps, scheduler)

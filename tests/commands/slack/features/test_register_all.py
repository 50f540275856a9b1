"""`register_all`: every listener, App Home always, jobs only with a scheduler, with stable ids."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.base import BaseTrigger
from slack_bolt.async_app import AsyncApp

from commands.slack.authz import ApproverDirectory
from commands.slack.features import SlackDeps, register_all
from commands.slack.features.issue_dispatch import CHOICE_ACTIONS
from commands.slack.features.jobs import EXPIRY_JOB_ID, RECOVERY_JOB_ID, SWEEP_JOB_ID, SYNC_JOB_ID, Job, JobScheduler
from commands.slack.features.steps import STEPS_JOB_ID
from commands.slack.ids import (
    AMEND_CALLBACK_ID,
    APPROVE_ACTION_ID,
    APPROVE_LATE_ACTION_ID,
    BULK_CALLBACK_ID,
    BULK_CANCEL_ACTION_ID,
    BULK_SUBMIT_ACTION_ID,
    CLOSURE_MODAL_CALLBACK_ID,
    COMMAND,
    DOC_AMEND_ACTION_ID,
    DOC_OPEN_ACTION_ID,
    DOC_OPEN_LINK_ACTION_ID,
    DOC_PDF_ACTION_ID,
    DOC_SEND_NTS_ACTION_ID,
    HOME_CLOSURE_ACTION_ID,
    HOME_ISSUE_ACTION_ID,
    ISSUE_CALLBACK_ID,
    REJECT_ACTION_ID,
    REJECT_CALLBACK_ID,
    REMINDER_RESEND_ACTION_ID,
    RESUBMIT_ACTION_ID,
    RESUBMIT_CALLBACK_ID,
)
from commands.slack.notify import OutcomeListener
from commands.workflow.steps import REQUEST_STEP, STATUS_STEP, WAIT_STEP

SEOUL = ZoneInfo("Asia/Seoul")


class RecordingApp:
    """Records what Bolt would be asked to listen for."""

    def __init__(self) -> None:
        self.listeners: list[tuple[str, str]] = []
        self.middleware = 0

    def use(self, _middleware: object) -> None:
        self.middleware += 1

    def _record(self, kind: str, key: str) -> Callable[[object], object]:
        self.listeners.append((kind, key))
        return lambda listener: listener

    def command(self, key: str) -> Callable[[object], object]:
        return self._record("command", key)

    def action(self, key: str, **_options: object) -> Callable[[object], object]:
        return self._record("action", key)

    def view(self, key: str) -> Callable[[object], object]:
        return self._record("view", key)

    def event(self, key: str) -> Callable[[object], object]:
        return self._record("event", key)

    def function(self, key: str) -> Callable[[object], object]:
        return self._record("function", key)


class RecordingScheduler:
    tz = SEOUL

    def __init__(self) -> None:
        self.jobs: dict[str, BaseTrigger | None] = {}

    def add_job(self, func: Job, trigger: BaseTrigger, *, id: str, name: str | None = None,
                misfire_grace_time: int | None = None) -> None:
        self.jobs[id] = trigger

    def add_daily_sweep(self, func: Job, *, id: str) -> None:
        self.jobs[id] = None

    async def restore(self) -> int:
        return 0


class RecordingNotifier:
    """Where features hook into every request's card update (custom steps do)."""

    def __init__(self) -> None:
        self.outcome_listeners: list[OutcomeListener] = []


def make_deps() -> SlackDeps:
    nothing = cast(Any, None)
    return SlackDeps(service=nothing, store=nothing, providers={}, approvers=ApproverDirectory([], None),
                     notifier=cast(Any, RecordingNotifier()), tz=SEOUL,
                     clock=lambda: dt.datetime(2026, 3, 2, tzinfo=dt.UTC))


def test_every_listener_is_registered_once_and_app_home_without_a_scheduler() -> None:
    app = RecordingApp()
    register_all(cast(AsyncApp, app), make_deps(), None)

    assert sorted(app.listeners) == sorted([
        ("command", COMMAND),
        ("view", ISSUE_CALLBACK_ID),
        *(("action", action_id) for action_id in CHOICE_ACTIONS),  # the issue form's provider and kind selects
        ("action", HOME_ISSUE_ACTION_ID),
        ("action", APPROVE_ACTION_ID),
        ("action", APPROVE_LATE_ACTION_ID),
        ("action", REJECT_ACTION_ID),
        ("view", REJECT_CALLBACK_ID),
        ("action", HOME_CLOSURE_ACTION_ID),
        ("view", CLOSURE_MODAL_CALLBACK_ID),
        ("event", "app_home_opened"),
        ("action", REMINDER_RESEND_ACTION_ID),
        ("action", DOC_AMEND_ACTION_ID),
        ("view", AMEND_CALLBACK_ID),
        ("action", DOC_SEND_NTS_ACTION_ID),
        ("action", DOC_PDF_ACTION_ID),
        ("action", DOC_OPEN_ACTION_ID),  # status: "Open in provider" fetches a fresh URL
        ("action", DOC_OPEN_LINK_ACTION_ID),
        ("action", RESUBMIT_ACTION_ID),
        ("view", RESUBMIT_CALLBACK_ID),
        ("view", BULK_CALLBACK_ID),
        ("action", BULK_SUBMIT_ACTION_ID),
        ("action", BULK_CANCEL_ACTION_ID),
        ("function", REQUEST_STEP),
        ("function", STATUS_STEP),
        ("function", WAIT_STEP),
    ])
    assert app.middleware == 3  # request arrival, the request's workspace, the person's language


def test_features_register_their_jobs_with_stable_ids_and_registering_again_replaces_them() -> None:
    scheduler = RecordingScheduler()
    for _ in range(2):
        register_all(cast(AsyncApp, RecordingApp()), make_deps(), cast(JobScheduler, scheduler))

    assert sorted(scheduler.jobs) == sorted([EXPIRY_JOB_ID, RECOVERY_JOB_ID, SWEEP_JOB_ID, SYNC_JOB_ID,
                                             STEPS_JOB_ID])


def test_deps_are_complete_when_built_and_never_assigned_later() -> None:
    deps = make_deps()
    with pytest.raises(dataclasses.FrozenInstanceError):
        deps.clock = dt.datetime.now  # type: ignore[misc]
    assert deps.today() == dt.date(2026, 3, 2)  # 09:00 in Seoul on the injected clock

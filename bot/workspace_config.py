"""Wiring per-workspace settings into the process: defaults from the environment, the
encryption key, and the hooks the role directory, the policy and the notifier read.

`commands.workflow.workspace_settings` decides what a workspace's settings are; this module
only builds it from `Settings` and plugs it in, so `bot.runtime` gains two calls, not logic.
"""

from __future__ import annotations

import dataclasses

from bot.settings import Settings
from commands.ledger import Store
from commands.slack.authz import ApproverDirectory
from commands.slack.notify import Notifier
from commands.workflow import InvoiceService
from commands.workflow.credentials import vault_from_key
from commands.workflow.workspace_settings import SettingsDefaults, WorkspaceSettings

__all__ = ["build_workspace_settings", "defaults_of", "wire_workspace_settings"]


def defaults_of(settings: Settings) -> SettingsDefaults:
    """The environment's values: every workspace's settings until its admins change one."""
    return SettingsDefaults(
        approvers=settings.approvers,
        admins=settings.admins,
        approvals_channel=settings.invoicebot_approvals_channel,
        two_approvals_above=settings.invoicebot_two_approvals_above,
        language=str(getattr(settings, "invoicebot_language", None) or "auto"),
    )


def build_workspace_settings(settings: Settings, store: Store) -> WorkspaceSettings:
    """Per-workspace settings over the environment's; raises `InvalidKey` (a `ValueError`) for a
    malformed INVOICEBOT_ENCRYPTION_KEY, so a typo stops the start rather than refusing later."""
    key = settings.invoicebot_encryption_key
    vault = vault_from_key(key.get_secret_value() if key else None)
    return WorkspaceSettings(store, defaults_of(settings), vault=vault)


def wire_workspace_settings(workspace_settings: WorkspaceSettings, service: InvoiceService,
                            approvers: ApproverDirectory, notifier: Notifier) -> None:
    """Make the role directory, the approval policy and the approvals channel per workspace."""
    approvers.use_workspace_roles(workspace_settings.role_ids)
    service.context = dataclasses.replace(service.context,
                                          policy_source=workspace_settings.policy_source(service.context.policy))
    notifier.channel_source = workspace_settings.approvals_channel


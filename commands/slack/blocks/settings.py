"""The workspace settings modal (App Home → Settings, admins only) and how its submission is read.

One input per setting, prefilled with the workspace's effective value; people are picked with
``multi_users_select`` and user groups typed as ids (``S…``: Slack has no user-group picker).
An input left empty means "the environment's default". Provider credentials are never sent
back to Slack: each shows "set" / "not set" and an empty replace field (empty keeps the stored
value). Without an encryption key the credentials section says why it is unavailable and
has no inputs at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from commands.i18n import _
from commands.slack.blocks.kit import context, plain, section
from commands.slack.ids import SETTINGS_MODAL_CALLBACK_ID
from commands.workflow.credentials import CREDENTIAL_FIELDS
from commands.workflow.workspace_settings import EffectiveSettings

__all__ = ["CREDENTIAL_BLOCK_PREFIX", "block_for", "build_settings_modal", "parse_settings_submission"]

#: block ids of the credential replace fields: ``cred_<field>``
CREDENTIAL_BLOCK_PREFIX = "cred_"
_ACTION = "value"
_USERS, _GROUPS = "_users", "_groups"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: only ids are ever echoed into the modal (a stored value is validated, but the modal does not rely on it)
_ID = re.compile(r"^[A-Z][A-Z0-9_]{1,40}$")


def block_for(field: str) -> str:
    """The block a setting's error is shown under (role settings: their people picker)."""
    return field + _USERS if field in ("approvers", "admins") else field


def _valid_time(value: str | None) -> str | None:
    """A stored time only when Slack's time picker accepts it (HH:mm); else the picker starts empty."""
    return value if value is not None and _HHMM.match(value) else None


def _slack_id(value: str | None) -> str | None:
    return value if value is not None and _ID.match(value) else None


def _role_inputs(field: str, label: str, ids: frozenset[str]) -> list[Block]:
    users = sorted(i for i in ids if i[:1] in "UW" and _ID.match(i))
    groups = sorted(i for i in ids if i[:1] == "S" and _ID.match(i))
    return [
        InputBlock(block_id=field + _USERS, label=plain(label, 2000), optional=True,
                   element=UserMultiSelectElement(action_id=_ACTION, initial_users=users or None,
                                                  placeholder=plain(_("People"), 150))),
        InputBlock(block_id=field + _GROUPS, label=plain(_("{role}: user groups").format(role=label), 2000),
                   optional=True, hint=plain(_("User group ids (S…), separated by commas."), 2000),
                   element=PlainTextInputElement(action_id=_ACTION, initial_value=", ".join(groups) or None)),
    ]


def _channel_input(field: str, label: str, value: str | None) -> InputBlock:
    return InputBlock(block_id=field, label=plain(label, 2000), optional=True,
                      element=ConversationSelectElement(action_id=_ACTION, initial_conversation=_slack_id(value),
                                                        filter=ConversationFilter(include=["public", "private"])))


def _language_input(value: str) -> InputBlock:
    names = {"auto": _("Automatic (each person's Slack language)"), "ko": "한국어", "en": "English"}
    options = [Option(value=k, text=plain(v, 75)) for k, v in names.items()]
    initial = next((o for o in options if o.value == value), options[0])  # an unknown value shows "auto"
    return InputBlock(block_id="language", label=plain(_("Language"), 2000), optional=True,
                      element=StaticSelectElement(action_id=_ACTION, options=options, initial_option=initial))


def _credential_blocks(status: Mapping[str, bool] | None) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), section("*" + _("Provider credentials") + "*")]
    if status is None:
        blocks.append(context(_("Provider credentials cannot be stored: this bot has no encryption key "
                                "(INVOICEBOT_ENCRYPTION_KEY).")))
        return blocks
    blocks.append(context(_("Stored encrypted and never shown again. Leave a field empty to keep its value.")))
    for field, label in CREDENTIAL_FIELDS.items():
        state = _("set") if status.get(field) else _("not set")
        blocks.append(InputBlock(block_id=CREDENTIAL_BLOCK_PREFIX + field, optional=True,
                                 label=plain(_("{label} ({state}): replace").format(label=_(label), state=state), 2000),
                                 element=PlainTextInputElement(action_id=_ACTION)))
    return blocks


def build_settings_modal(settings: EffectiveSettings, credentials: Mapping[str, bool] | None) -> View:
    """The settings modal for one workspace; `credentials` is each field's set/not-set (None: no key)."""
    blocks: list[Block] = [
        context(_("Empty fields use this bot's defaults (its environment settings).")),
        *_role_inputs("approvers", _("Approvers"), settings.approvers),
        *_role_inputs("admins", _("Admins"), settings.admins),
        _channel_input("approvals_channel", _("Approvals channel"), settings.approvals_channel),
        InputBlock(block_id="two_approvals_above", label=plain(_("Two approvals above (won)"), 2000), optional=True,
                   hint=plain(_("A document total above this needs two different approvers."), 2000),
                   element=PlainTextInputElement(action_id=_ACTION, initial_value=(
                       str(settings.two_approvals_above) if settings.two_approvals_above is not None else None))),
        _language_input(settings.language),
        InputBlock(block_id="digest_time", label=plain(_("Daily digest time"), 2000), optional=True,
                   element=TimePickerElement(action_id=_ACTION, initial_time=_valid_time(settings.digest_time))),
        _channel_input("digest_channel", _("Daily digest channel"), settings.digest_channel),
        *_credential_blocks(credentials),
    ]
    return View(type="modal", callback_id=SETTINGS_MODAL_CALLBACK_ID, title=plain(_("Workspace settings"), 24),
                submit=plain(_("Save"), 24), close=plain(_("Cancel"), 24), blocks=blocks)


def _value(state: Mapping[str, Any]) -> Any:
    element = state.get(_ACTION) or {}
    for key in ("selected_users", "selected_conversation", "selected_channel", "selected_time"):
        if key in element:
            return element[key]
    if "selected_option" in element:
        option = element["selected_option"]
        return option.get("value") if isinstance(option, Mapping) else None
    return element.get("value")


def parse_settings_submission(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The raw settings (for `validate`) and the credential replacements of a submission."""
    raw: dict[str, Any] = {}
    replacements: dict[str, str] = {}
    for block_id, state in values.items():
        if not isinstance(state, Mapping):
            continue
        value = _value(state)
        if block_id.startswith(CREDENTIAL_BLOCK_PREFIX):
            if isinstance(value, str) and value.strip():
                replacements[block_id.removeprefix(CREDENTIAL_BLOCK_PREFIX)] = value.strip()
            continue
        for role in ("approvers", "admins"):
            if block_id in (role + _USERS, role + _GROUPS):
                ids = list(value or []) if block_id.endswith(_USERS) else str(value or "").replace(",", " ").split()
                raw[role] = [*raw.get(role, []), *ids]
                break
        else:
            raw[block_id] = value
    return raw, replacements

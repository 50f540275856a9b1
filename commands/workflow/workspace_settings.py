"""Per-workspace settings: what an admin changed from App Home, over the environment's defaults.

The environment (INVOICEBOT_APPROVERS, INVOICEBOT_ADMINS, INVOICEBOT_APPROVALS_CHANNEL,
INVOICEBOT_TWO_APPROVALS_ABOVE, the language and the digest schedule) stays the configuration
of a single-workspace bot. A workspace an admin configured has a `workspace_settings` row with
only the values they set; `WorkspaceSettings.effective` is the one place that lays the row
over the defaults, and the role directory, the approval policy, the approvals channel and the
digest schedule all read that result for the workspace being served. An empty field in the
modal means "the environment's default", so clearing a value never strands a workspace.

Example::

    settings = WorkspaceSettings(store, SettingsDefaults(approvers=frozenset({"U_BOB"})))
    clean, errors = validate({"two_approvals_above": "5000000", "language": "ko"})
    await settings.save(WorkspaceScope("T1"), clean, actor="U_ADA")
    (await settings.effective(WorkspaceScope("T1"))).two_approvals_above   # 5000000
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from commands.i18n import _
from commands.ledger import Store
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.context import Policy
from commands.workflow.credentials import CREDENTIAL_FIELDS, CredentialVault
from commands.workflow.errors import NotAllowed
from commands.workflow.roles import Role
from commands.workflow.workspaces import current_scope

__all__ = ["FIELDS", "LANGUAGES", "EffectiveSettings", "SettingsDefaults", "WorkspaceSettings", "validate"]

#: every setting a workspace may change (the keys of a row's ``overrides``)
FIELDS = ("approvers", "admins", "approvals_channel", "two_approvals_above", "language", "digest_time",
          "digest_channel")
LANGUAGES = ("auto", "ko", "en")

_PERSON_OR_GROUP = re.compile(r"^[UWS][A-Z0-9_]{2,40}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9_]{2,40}$")
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class SettingsDefaults:
    """The environment's values: every workspace's settings until an admin changes one."""

    approvers: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    approvals_channel: str | None = None
    two_approvals_above: int | None = None
    language: str = "auto"
    digest_time: str | None = None
    digest_channel: str | None = None


@dataclass(frozen=True)
class EffectiveSettings(SettingsDefaults):
    """A workspace's settings as the bot applies them; `customised` names the fields its row set."""

    customised: frozenset[str] = frozenset()


def _ids(value: Any) -> list[str]:
    items: Iterable[Any] = value.replace(",", " ").split() if isinstance(value, str) else (value or [])
    return [str(i).strip() for i in items if str(i).strip()]


def _check(field: str, value: Any) -> tuple[Any, str | None]:
    """One field's clean value (None: not set, use the default) or the line saying why it is refused."""
    if field in ("approvers", "admins"):
        ids = _ids(value)
        bad = [i for i in ids if not _PERSON_OR_GROUP.match(i)]
        if bad:
            return None, _("{field}: {bad} is not a Slack user (U…/W…) or user group (S…) id").format(
                field=field, bad=", ".join(bad[:3]))
        return (sorted(set(ids)) or None), None
    text = str(value).strip() if value is not None else ""
    if not text:
        return None, None
    if field in ("approvals_channel", "digest_channel"):
        return (text, None) if _CHANNEL.match(text) else (None, _("{field}: {value} is not a channel id (C…/G…)")
                                                          .format(field=field, value=text[:40]))
    if field == "two_approvals_above":
        digits = text.replace(",", "").replace("_", "")
        if not digits.isdigit():
            return None, _("two_approvals_above: {value} is not a whole amount of won (0 or more)").format(
                value=text[:40])
        return int(digits), None
    if field == "language":
        return (text, None) if text in LANGUAGES else (None, _("language: {value} is not one of ko, en, auto")
                                                       .format(value=text[:20]))
    if field == "digest_time":
        return (text, None) if _TIME_OF_DAY.match(text) else (None, _("digest_time: {value} is not HH:MM (24-hour)")
                                                              .format(value=text[:20]))
    raise KeyError(field)


def validate(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The overrides to store (fields left empty are dropped) and one line per bad value, by field."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        if field not in raw:
            continue
        value, error = _check(field, raw[field])
        if error:
            errors[field] = error
        elif value is not None:
            clean[field] = value
    if ("digest_time" in clean) != ("digest_channel" in clean) and not errors.keys() & {"digest_time",
                                                                                       "digest_channel"}:
        missing = "digest_channel" if "digest_time" in clean else "digest_time"
        errors[missing] = _("{field}: a digest needs both a time and a channel").format(field=missing)
    return clean, errors


def effective(defaults: SettingsDefaults, overrides: Mapping[str, Any]) -> EffectiveSettings:
    """`overrides` (a stored row's, already validated) over `defaults`: the one resolution."""
    values = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(SettingsDefaults)}
    set_here = {k for k in FIELDS if overrides.get(k) not in (None, "", [])}
    for key in set_here:
        value = overrides[key]
        values[key] = frozenset(value) if key in ("approvers", "admins") else value
    return EffectiveSettings(**values, customised=frozenset(set_here))


class WorkspaceSettings:
    """Reads (cached for `ttl` seconds per workspace) and writes workspaces' settings.

    Args:
        store: where rows live.
        defaults: the environment's values.
        vault: encrypts credentials; None when INVOICEBOT_ENCRYPTION_KEY is not set.
        ttl: how long a read is trusted; another replica's change shows after at most this long
            (a change made here shows at once).
    """

    def __init__(self, store: Store, defaults: SettingsDefaults, *, vault: CredentialVault | None = None,
                 ttl: float = 15.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.defaults = defaults
        self.vault = vault
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, EffectiveSettings]] = {}
        #: the one read in flight per workspace: a burst arriving as the cached value expires waits for
        #: it instead of sending the same SELECT once per request
        self._reading: dict[str, asyncio.Future[EffectiveSettings]] = {}
        #: bumped by every save, so a read that started before it never caches what it read
        self._saves: dict[str, int] = {}
        #: called with the workspace whenever its credentials are replaced (its provider clients are rebuilt)
        self.on_credentials_saved: list[Callable[[WorkspaceScope], None]] = []

    async def effective(self, scope: WorkspaceScope | None) -> EffectiveSettings:
        """`scope`'s settings (the defaults for the bot's own work and a single-workspace bot's requests)."""
        if scope is None:
            return effective(self.defaults, {})
        cached = self._cache.get(scope.team_id)
        if cached and self._monotonic() - cached[0] < self._ttl:
            return cached[1]
        reading = self._reading.get(scope.team_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read(scope))
            self._reading[scope.team_id] = reading
            reading.add_done_callback(functools.partial(self._read_done, scope.team_id))
        return await asyncio.shield(reading)

    def _read_done(self, team: str, reading: asyncio.Future[EffectiveSettings]) -> None:
        if self._reading.get(team) is reading:
            del self._reading[team]

    async def _read(self, scope: WorkspaceScope) -> EffectiveSettings:
        saves = self._saves.get(scope.team_id, 0)
        row = await self.store.workspace_settings.get(scope)
        resolved = effective(self.defaults, row.overrides if row else {})
        if self._saves.get(scope.team_id, 0) == saves:
            self._cache[scope.team_id] = (self._monotonic(), resolved)
        return resolved

    async def current(self) -> EffectiveSettings:
        """The settings of the workspace being served."""
        return await self.effective(current_scope())

    async def save(self, scope: WorkspaceScope, overrides: Mapping[str, Any], *, actor: str) -> EffectiveSettings:
        """Replace `scope`'s overrides with `overrides` (validated by `validate`)."""
        await self.store.workspace_settings.save(scope, overrides={k: overrides[k] for k in FIELDS if k in overrides},
                                                 updated_by=actor)
        self._saves[scope.team_id] = self._saves.get(scope.team_id, 0) + 1
        self._cache.pop(scope.team_id, None)
        self._reading.pop(scope.team_id, None)
        return await self.effective(scope)

    def _require_vault(self) -> CredentialVault:
        if self.vault is None:
            raise NotAllowed(_("Provider credentials cannot be stored: this bot has no encryption key."),
                             user_hint=_("Ask whoever runs the bot to set INVOICEBOT_ENCRYPTION_KEY (a Fernet key)."),
                             code="no_encryption_key")
        return self.vault

    async def credential_status(self, scope: WorkspaceScope) -> dict[str, bool]:
        """Which credentials `scope` has set (never their values)."""
        row = await self.store.workspace_settings.get(scope)
        stored = row.credentials if row else None
        if self.vault is None or not stored:
            return dict.fromkeys(CREDENTIAL_FIELDS, False)  # without the key nothing can be read back
        return CredentialVault.status(self.vault.open(stored))

    async def replace_credentials(self, scope: WorkspaceScope, replacements: Mapping[str, str], *, actor: str) -> None:
        """Write the non-empty `replacements` over `scope`'s stored credentials (encrypted)."""
        vault = self._require_vault()
        if not any(v and v.strip() for v in replacements.values()):
            return
        row = await self.store.workspace_settings.get(scope)
        await self.store.workspace_settings.save(scope, credentials=vault.merged(row.credentials if row else None,
                                                                                 replacements), updated_by=actor)
        for listener in self.on_credentials_saved:
            listener(scope)

    async def credentials(self, scope: WorkspaceScope) -> dict[str, str]:
        """`scope`'s clear credentials, for building its provider clients (never for display or logs)."""
        vault = self._require_vault()
        row = await self.store.workspace_settings.get(scope)
        return vault.open(row.credentials if row else None)

    async def role_ids(self) -> dict[Role, frozenset[str]] | None:
        """The approvers and admins of the workspace being served, when its admins set them
        (None: the environment's directory answers, groups and requesters included)."""
        scope = current_scope()
        if scope is None:
            return None
        settings = await self.effective(scope)
        if not settings.customised & {"approvers", "admins"}:
            return None
        return {Role.APPROVER: settings.approvers, Role.ADMIN: settings.admins}

    async def approvals_channel(self) -> str | None:
        """Where the workspace being served wants approval cards (None: where the request came from)."""
        return (await self.current()).approvals_channel

    def policy_source(self, base: Policy) -> Callable[[], Awaitable[Policy]]:
        """The policy of the workspace being served: `base` with that workspace's amount rule."""

        async def current_policy() -> Policy:
            above = (await self.current()).two_approvals_above
            return base if above == base.two_approvals_above else dataclasses.replace(base, two_approvals_above=above)

        return current_policy

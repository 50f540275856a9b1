"""Configuration mistakes as one line each: the setting, what is wrong, a valid example.

Every `invoicebot` subcommand loads the settings and opens the database the same way; a
mistake there used to end in a traceback or a raw pydantic dump. `settings_error_lines`
turns a failed load into lines such as::

    INVOICEBOT_APPROVAL_ACTIONS: unknown action 'delete' (choose from issue, destroy, resend);
    e.g. INVOICEBOT_APPROVAL_ACTIONS=issue,destroy      (printed as one line)

and `database_error_line` words a database that cannot be opened, without its password.
Values of secret settings are never echoed.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings

__all__ = [
    "DATABASE_ERRORS",
    "ConfigurationError",
    "database_error_line",
    "load_settings_checked",
    "provider_config_lines",
    "settings_error_lines",
]

#: what opening an unreachable or misconfigured database raises
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OSError, SQLAlchemyError, TimeoutError)

#: a valid example per setting where the default is not a good one to show
EXAMPLES: dict[str, str] = {
    "database_url": "postgresql+asyncpg://invoicebot:secret@db.example.com/invoicebot",
    "invoicebot_approvers": "U012ABCDEF,S0FINANCE",
    "invoicebot_approval_actions": "issue,destroy",
    "invoicebot_approvals_channel": "C012ABCDEF",
    "invoicebot_public_url": "https://invoicebot.example.com",
    "invoicebot_sandbox_faults": '{"popbill": {"latency_ms": 2000}}',
    "invoicebot_env": "production",
    "invoicebot_log_format": "json",
    "slack_signing_secret": "<the app's Signing Secret>",
    "slack_bot_token": "xoxb-…",
    "slack_app_token": "xapp-…",
}

_FIELD_IN_MESSAGE = re.compile(r'field "([a-z0-9_]+)"')
_MAX_SHOWN = 60


class ConfigurationError(Exception):
    """The configuration cannot be used; `lines` say why, one mistake a line."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def example(field: str) -> str:
    """``NAME=value`` with a valid value for the setting `field`."""
    name = field.upper()
    if field in EXAMPLES:
        return f"{name}={EXAMPLES[field]}"
    info = Settings.model_fields.get(field)
    default = None if info is None else info.default
    if default is None or isinstance(default, SecretStr) or default == "" or callable(default):
        return f"{name}=…"
    if isinstance(default, bool):
        return f"{name}={'true' if default else 'false'}"
    return f"{name}={default}"


def _is_secret(field: str) -> bool:
    info = Settings.model_fields.get(field)
    return info is not None and "SecretStr" in str(info.annotation)


def _line(error: Any) -> str:
    loc = [str(x) for x in error.get("loc") or ()]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not loc:
        return f"configuration: {message}"
    field, inner = loc[0], ".".join(loc[1:])
    shown = error.get("input")
    if error.get("type", "").endswith("_parsing") and isinstance(shown, str) and not _is_secret(field):
        message = f"{shown[:_MAX_SHOWN]!r}: {message}"
    where = f" ({inner})" if inner else ""
    return f"{field.upper()}{where}: {message}; e.g. {example(field)}"


def settings_error_lines(exc: BaseException) -> list[str]:
    """One line per mistake for an exception raised while loading the settings."""
    if isinstance(exc, ValidationError):
        return [_line(error) for error in exc.errors()]
    if isinstance(exc, SettingsError):
        found = _FIELD_IN_MESSAGE.search(str(exc))
        if found:
            field = found.group(1)
            return [f"{field.upper()}: not valid JSON; e.g. {example(field)}"]
        return [f"configuration: {str(exc)[:200]}"]
    if isinstance(exc, tomllib.TOMLDecodeError):
        return [f"invoicebot.toml (or INVOICEBOT_CONFIG): not valid TOML: {exc}"]
    return [f"configuration: {str(exc)[:200]}"]


def provider_config_lines(provider: str, exc: ValidationError) -> list[str]:
    """A provider configuration refused by its own model, worded by the settings that feed it."""
    lines = []
    for error in exc.errors():
        loc = [str(x) for x in error.get("loc") or ()]
        field = f"{provider}_{loc[0]}" if loc else provider
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        lines.append(f"{field.upper()}: {message}; e.g. {example(field)}")
    return lines


def database_error_line(url: str, exc: BaseException) -> str:
    """The database cannot be opened: where (password hidden), why (the error's kind), an example."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = "(an unreadable URL)"
    reason = type(exc).__name__
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:160] if str(exc) else ""
    if detail:
        reason = f"{reason}: {detail}"
    return f"DATABASE_URL: cannot open {shown} ({reason}); check that the server is running and reachable, " \
           f"e.g. {example('database_url')}"


def load_settings_checked(**overrides: Any) -> Settings:
    """`Settings` from the environment and the file, or `ConfigurationError` with one line per mistake."""
    try:
        return Settings(**overrides)
    except (ValueError, tomllib.TOMLDecodeError) as exc:  # ValidationError and SettingsError are ValueErrors
        raise ConfigurationError(settings_error_lines(exc)) from None

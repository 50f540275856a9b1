"""The `invoicebot` command.

    invoicebot serve [--http] [--host H] [--port 3000]   run the Slack app
    invoicebot console [--as USER] [--channel CHANNEL] [--lang ko|en]  a local stand-in for Slack
    invoicebot sandbox [--host H] [--port-base N]       only the provider sandboxes
    invoicebot migrate                                  apply database migrations
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.logs import setup_logging
from bot.signals import wait_for_signal
from bot.startup_gc import collector_held
from commands.i18n import SUPPORTED_LOCALES, use_locale

if TYPE_CHECKING:
    from bot.early_health import EarlyHealth
    from bot.settings import Settings

# The console (its forms, renderer and Slack double), the sandboxes and Alembic are imported
# by the subcommand that runs them: `serve` must not pay for them at every start (bench/start.py).
# Even the settings (pydantic, SQLAlchemy, every provider's config) are imported after `serve`
# has bound its port and answers /health with "starting" (`bot.early_health`).

__all__ = ["main"]

SANDBOX_ORDER = ("popbill", "payssam", "hiworks", "abillify")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoicebot", description="Slack chat-ops bot for invoicing teams.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the Slack app (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    serve.add_argument("--http", action="store_true", help="HTTP mode even when SLACK_APP_TOKEN is set")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on")  # noqa: S104
    serve.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")

    console = sub.add_parser("console", help="use the bot without Slack, on a terminal or from standard input")
    console.add_argument("--as", dest="user", default="U_ALICE", help="acting Slack user id (default U_ALICE)")
    console.add_argument("--channel", default="C_FINANCE", help="channel id the commands come from")
    console.add_argument("--approver", action="append", default=None,
                         help="approver user id (repeatable; default U_BOB when INVOICEBOT_APPROVERS is unset)")
    console.add_argument("--lang", choices=SUPPORTED_LOCALES, default=None,
                         help="the language the bot speaks in the console (default: English)")

    sandbox = sub.add_parser("sandbox", help="serve every provider sandbox on loopback until interrupted")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port-base", type=int, default=0,
                         help="popbill on N, payssam N+1, hiworks N+2, abillify N+3 (default: free ports)")

    sub.add_parser("migrate", help="apply the database migrations to DATABASE_URL")
    return parser


async def run_sandboxes(settings: Settings, host: str, port_base: int) -> None:
    """Serve every provider sandbox, printing ``name url`` lines (what scripts and tests read)."""
    from bot.runtime import provider_configs
    from providers.registry import build_sandboxes

    configs = provider_configs(settings)
    sandboxes = {s.name: s for s in build_sandboxes(configs, settings.invoicebot_sandbox_faults,
                                                     seller=settings.seller())}
    try:
        for offset, name in enumerate(SANDBOX_ORDER):
            port = port_base + offset if port_base else 0
            url = await sandboxes[name].start(host, port)
            print(f"{name} {url}", flush=True)
        await wait_for_signal()
    finally:
        for sandbox in sandboxes.values():
            await sandbox.stop()


def run_console(settings: Settings, *, user: str, channel: str, approvers: list[str] | None) -> int:
    """`bot.console.app.run_console`, imported when the console runs (not at every `serve`)."""
    from bot.console.app import run_console as run

    return run(settings, user=user, channel=channel, approvers=approvers)


def _console(settings: Settings, args: argparse.Namespace) -> int:
    """The console in `--lang`: the current locale set here is copied into the console's event loop.

    Where the settings carry a workspace language, it is set too, so per-person language
    lookups agree with the flag.
    """
    if args.lang and "invoicebot_language" in type(settings).model_fields:
        settings = settings.model_copy(update={"invoicebot_language": args.lang})
    with use_locale(args.lang):
        return run_console(settings, user=args.user, channel=args.channel, approvers=args.approver)


def _listen_early(args: argparse.Namespace) -> EarlyHealth | None:
    """`serve`'s port, bound before anything heavy is imported (None for other commands)."""
    if args.command != "serve":
        return None
    from bot.early_health import EarlyHealth

    try:
        return EarlyHealth(args.host, args.port)
    except OSError as exc:  # the port is taken: said once, plainly, as the server would have
        print(f"invoicebot serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the exit status (2 for a configuration error)."""
    args = _parser().parse_args(argv)
    early = _listen_early(args)
    if early is None:
        return _run(args, early)
    # `serve`: no middle or full collections while it imports and starts the bot; `serve` resumes
    # them once ready (`bot.startup_gc`)
    with collector_held():
        return _run(args, early)


def _run(args: argparse.Namespace, early: EarlyHealth | None) -> int:
    """The subcommand `args` names, its settings loaded."""
    if args.command == "serve":
        from bot.lazy_orm import defer_orm

        defer_orm()  # before the settings import the ledger: SQLAlchemy's ORM only if something uses it
    from bot.config_errors import ConfigurationError, load_settings_checked

    try:
        settings = load_settings_checked()
    except ConfigurationError as exc:
        if early is not None:
            early.close()
        for line in exc.lines:  # one line per mistake, naming the setting and a valid example
            print(f"invoicebot: configuration error: {line}", file=sys.stderr)
        return 2
    level = settings.invoicebot_log_level
    if args.command == "console" and "INVOICEBOT_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # the console's own output is the conversation; logs only for trouble
    setup_logging(level, fmt=settings.invoicebot_log_format)
    if args.command == "sandbox":
        from bot.runtime import SettingsError

        try:
            asyncio.run(run_sandboxes(settings, args.host, args.port_base))
        except SettingsError as exc:
            print(f"invoicebot sandbox: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "migrate":
        from bot.config_errors import DATABASE_ERRORS, database_error_line
        from commands.ledger import migrate

        try:
            migrate(settings.database_url)
        except DATABASE_ERRORS as exc:
            print(f"invoicebot migrate: {database_error_line(settings.database_url, exc)}", file=sys.stderr)
            return 2
        print("database is at the latest migration")
        return 0
    if args.command == "serve":
        from bot.serve import serve

        return asyncio.run(serve(settings, force_http=args.http, host=args.host, port=args.port, early=early))
    if args.command == "console":
        return _console(settings, args)
    return 2  # argparse's `required=True` makes this unreachable


if __name__ == "__main__":
    sys.exit(main())

"""The `invoicebot` command.

    invoicebot serve [--http] [--host H] [--port 3000]   run the Slack app
    invoicebot console [--as USER] [--channel CHANNEL]  a local stand-in for Slack
    invoicebot sandbox [--host H] [--port-base N]       only the provider sandboxes
    invoicebot migrate                                  apply database migrations
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from bot.logs import setup_logging
from bot.settings import Settings, load_settings
from bot.signals import wait_for_signal

# Each subcommand imports what it runs, when it runs: `serve` must not pay for the console
# (its forms, renderer and Slack double) at every start (benchmarked in bench/start.py).

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

    sandbox = sub.add_parser("sandbox", help="serve every provider sandbox on loopback until interrupted")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port-base", type=int, default=0,
                         help="popbill on N, payssam N+1, hiworks N+2, abillify N+3 (default: free ports)")

    sub.add_parser("migrate", help="apply the database migrations to DATABASE_URL")
    return parser


async def run_sandboxes(settings: Settings, host: str, port_base: int) -> None:
    """Serve every provider sandbox, printing ``name url`` lines (what scripts and tests read)."""
    from providers.registry import ProviderConfigs, build_sandboxes

    configs = ProviderConfigs(settings.popbill(), settings.payssam(), settings.hiworks(), settings.abillify())
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the exit status (2 for a configuration error)."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"invoicebot: configuration error:\n{exc}", file=sys.stderr)
        return 2
    level = settings.invoicebot_log_level
    if args.command == "console" and "INVOICEBOT_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # the console's own output is the conversation; logs only for trouble
    setup_logging(level, fmt=settings.invoicebot_log_format)
    if args.command == "sandbox":
        asyncio.run(run_sandboxes(settings, args.host, args.port_base))
        return 0
    if args.command == "migrate":
        from commands.ledger import migrate

        migrate(settings.database_url)
        print("database is at the latest migration")
        return 0
    if args.command == "serve":
        from bot.serve import serve

        return asyncio.run(serve(settings, force_http=args.http, host=args.host, port=args.port))
    if args.command == "console":
        from bot.console.app import run_console

        return run_console(settings, user=args.user, channel=args.channel, approvers=args.approver)
    return 2  # argparse's `required=True` makes this unreachable


if __name__ == "__main__":
    sys.exit(main())

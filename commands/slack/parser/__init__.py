"""Parse the text after ``/invoice`` into a typed command.

`parse_command(text)` returns one of the command models (a pydantic discriminated
union on `name`, see `parser.models`) or raises :class:`CommandError`, whose message says
what was wrong and what to type instead. It never raises anything else, whatever the
text: Slack users paste anything, and a traceback in a chat reply helps nobody.

The package: `errors` (usage lines and the refusal), `models`, `tokens` (references,
phone numbers, dates, time zones, suggestions) and `subcommands` (one parser each).

Example:
    >>> parse_command("status inv-123")
    StatusCommand(name='status', ref=RefArg(key='INV-000123', provider=None, kind=None, provider_id=None))
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from pydantic import ValidationError

from commands.i18n import _
from commands.slack.parser.errors import SUBCOMMANDS, SUMMARY, USAGE, CommandError
from commands.slack.parser.korean import SUBCOMMAND_KO, nfc
from commands.slack.parser.models import (
    DEFAULT_TIMEZONE,
    AmendCommand,
    BulkCommand,
    ClosureCommand,
    Command,
    DeadlinesCommand,
    DestroyCommand,
    DigestCommand,
    ExportCommand,
    HelpCommand,
    IssueCommand,
    LangCommand,
    ListCommand,
    PdfCommand,
    RefArg,
    ResendCommand,
    RetryCommand,
    SendNtsCommand,
    StatusCommand,
)
from commands.slack.parser.subcommands import (
    MAX_CLOSURE_NUMBERS,
    SUBCOMMAND_PARSERS,
    parse_closure,
    parse_export,
)
from commands.slack.parser.tokens import OUR_REF, is_mobile, normalise_phone, parse_ref, show, suggest, unescape_slack

__all__ = [
    "MAX_CLOSURE_NUMBERS",
    "SUBCOMMANDS",
    "SUMMARY",
    "USAGE",
    "AmendCommand",
    "BulkCommand",
    "ClosureCommand",
    "Command",
    "CommandError",
    "DeadlinesCommand",
    "DestroyCommand",
    "DigestCommand",
    "ExportCommand",
    "HelpCommand",
    "IssueCommand",
    "LangCommand",
    "ListCommand",
    "PdfCommand",
    "RefArg",
    "ResendCommand",
    "RetryCommand",
    "SendNtsCommand",
    "StatusCommand",
    "is_mobile",
    "normalise_phone",
    "parse_command",
    "parse_ref",
    "unescape_slack",
]


def _dispatch(sub: str, words: list[str], cleaned: str, today: dt.date) -> Command | None:
    """The command for subcommand `sub`, or None when there is no such subcommand."""
    if sub == "closure":
        return parse_closure(cleaned[len(words[0]):])
    if sub == "export":
        return parse_export(words[1:], today)
    parser = SUBCOMMAND_PARSERS.get(sub)
    return parser(words[1:]) if parser is not None else None


def _no_such_subcommand(word: str) -> CommandError:
    if OUR_REF.match(word) or ":" in word:
        return CommandError(_("What should I do with {word}?").format(word=show(word)),
                            hint=_("To see it, type `/invoice status {ref}`.").format(ref=word[:40].replace("`", "")))
    choices = [*SUBCOMMANDS, *(ko for ko, en in SUBCOMMAND_KO.items() if en in USAGE)]
    suggestion = suggest(word.lower(), choices)
    if suggestion:
        usage = _(USAGE[SUBCOMMAND_KO.get(suggestion, suggestion)])
        return CommandError(_("There is no subcommand {word}. Did you mean `{suggestion}`?").format(
            word=show(word), suggestion=suggestion), hint=_("Usage: `{usage}`").format(usage=usage))
    return CommandError(_("There is no subcommand {word}.").format(word=show(word)),
                        hint=_("Subcommands: {names}.").format(names=", ".join(f"`{s}`" for s in SUBCOMMANDS)))


def parse_command(text: str | None, *, today: dt.date | None = None) -> Command:
    """Parse the text of ``/invoice …``.

    Args:
        text: the slash command's `text` as Slack sent it (possibly escaped).
        today: the date defaults are computed from (Asia/Seoul today by default).

    Raises:
        CommandError: anything we cannot act on; the message tells the user what to type.
    """
    # NFC: decomposed Hangul (macOS, some IMEs) must match the Korean words
    cleaned = nfc(unescape_slack(text or "")).replace("\x00", "").strip()
    if today is None:
        today = dt.datetime.now(zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)).date()
    if not cleaned:
        return HelpCommand()
    words = cleaned.split()
    sub = SUBCOMMAND_KO.get(words[0], words[0].lower())  # 발행 is `issue`, and so on
    try:
        command = _dispatch(sub, words, cleaned, today)
    except ValidationError as exc:  # a model refused a value the checks above let through
        raise CommandError(_("I could not understand that `{subcommand}` command ({count} problem(s)).").format(
            subcommand=sub, count=exc.error_count()),
                           subcommand=sub if sub in USAGE else None) from None
    if command is None:
        raise _no_such_subcommand(words[0])
    return command

"""Parsers of the life-cycle subcommands: ``amend`` (수정세금계산서), ``send-nts`` (즉시전송) and ``pdf``.

``/invoice amend <ref>`` opens the amendment form; with a reason it asks at once::

    amend INV-000001 4                    contract cancelled: a negative invoice for the whole
    amend INV-000001 2 -50000             supply amount changed by -50,000
    amend INV-000001 3 30000              goods worth 30,000 (supply) returned
    amend INV-000001 1 120000 memo…       clerical error: cancel, and reissue with supply 120,000
    amend INV-000001 5 L/C M1234…         local L/C opened later (the rest is the memo)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from commands.slack.parser.errors import CommandError
from commands.slack.parser.models import AmendCommand, Command, PdfCommand, SendNtsCommand
from commands.slack.parser.tokens import parse_ref, show

__all__ = ["LIFECYCLE_PARSERS"]

_AMOUNT = re.compile(r"^[+-]?\d{1,3}(,\d{3})*$|^[+-]?\d+$")
_NEEDS_AMOUNT = {2: "the change of the supply amount, e.g. `-50000`", 3: "the supply amount returned, e.g. `30000`"}


def _amount(token: str) -> int | None:
    return int(token.replace(",", "")) if _AMOUNT.match(token) else None


def _parse_amend(args: list[str]) -> AmendCommand:
    if not args:
        raise CommandError("`amend` needs the document's reference.", subcommand="amend")
    ref = parse_ref(args[0], subcommand="amend")
    if len(args) == 1:
        return AmendCommand(ref=ref)
    if not args[1].isdigit() or not 1 <= int(args[1]) <= 6:
        raise CommandError(f"{show(args[1])} is not a reason: use 1 to 6.", subcommand="amend",
                           hint="1 clerical error, 2 supply amount changed, 3 goods returned, 4 contract cancelled, "
                                "5 local L/C opened later, 6 issued twice by mistake.")
    reason, rest = int(args[1]), args[2:]
    supply = _amount(rest[0]) if rest and reason in (1, 2, 3) else None
    if supply is not None:
        rest = rest[1:]
    if reason in _NEEDS_AMOUNT and not supply:
        raise CommandError(f"Reason {reason} needs {_NEEDS_AMOUNT[reason]}.", subcommand="amend")
    note = " ".join(rest).strip() or None
    if note and len(note) > 200:
        raise CommandError("The memo has at most 200 characters.", subcommand="amend")
    return AmendCommand(ref=ref, reason=reason, supply=supply, note=note)


def _one_ref(subcommand: str) -> Callable[[list[str]], Command]:
    def parse(args: list[str]) -> Command:
        if len(args) != 1:
            raise CommandError(f"`{subcommand}` takes one document reference.", subcommand=subcommand)
        ref = parse_ref(args[0], subcommand=subcommand)
        return SendNtsCommand(ref=ref) if subcommand == "send-nts" else PdfCommand(ref=ref)
    return parse


LIFECYCLE_PARSERS: Mapping[str, Callable[[list[str]], Command]] = {
    "amend": _parse_amend,
    "send-nts": _one_ref("send-nts"), "sendnts": _one_ref("send-nts"), "send_nts": _one_ref("send-nts"),
    "pdf": _one_ref("pdf"),
}

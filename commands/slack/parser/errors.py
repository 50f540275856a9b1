"""The usage lines of every subcommand and the one refusal the parser raises.

Kept apart from the parsers so help, refusals and the Block Kit error message read the
same usage line from one table.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SUBCOMMANDS", "SUMMARY", "USAGE", "CommandError"]

#: One usage line per subcommand, shown in refusals and in help.
USAGE: Mapping[str, str] = {
    "help": "/invoice help [subcommand]",
    "issue": "/invoice issue [popbill|payssam|hiworks|abillify] [tax|zero|exempt|statement|cash|bill|invoice] "
             "[override <reason>]",
    "status": "/invoice status <ref>   (INV-000123, popbill:<MgtKey>, payssam:<billId>, …)",
    "resend": "/invoice resend <ref> [email [address] | sms [number] | fax <number> | talk]",
    "destroy": "/invoice destroy <ref> [reason…]",
    "closure": "/invoice closure <business number> [<business number> …]   (up to 100, commas or spaces)",
    "list": "/invoice list [state|pending] [provider]",
    "export": "/invoice export [hometax] [from YYYY-MM-DD] [to YYYY-MM-DD]",
    "digest": "/invoice digest schedule HH:MM [timezone] | digest off | digest now | digest show",
    "retry": "/invoice retry <approval id or ref>",
    "bulk": "/invoice bulk [form|template]   (share a CSV or XLSX file in the channel first, or use the form)",
    "amend": "/invoice amend <ref> [reason 1-6] [amount] [memo…]   (no reason: the form)",
    "send-nts": "/invoice send-nts <ref>   (file an issued Popbill tax invoice with the NTS now)",
    "pdf": "/invoice pdf <ref>   (post the provider's PDF in the document's thread)",
    "deadlines": "/invoice deadlines [days]   (기한)",
}

#: What each subcommand does, for help.
SUMMARY: Mapping[str, str] = {
    "help": "Show this help, or the details of one subcommand.",
    "issue": "Open the form to issue a document (asks for approval before anything is sent).",
    "status": "Ask the provider for a document's current state, amounts, links and history.",
    "resend": "Send a document's notification again (e-mail, SMS, fax or KakaoTalk).",
    "destroy": "Cancel or destroy an issued document (needs approval).",
    "closure": "Check whether businesses are active, suspended (휴업) or closed (폐업).",
    "list": "List recent documents (by state: `sent`, `paid`, `cancelled`, `rejected`, …) or approvals (`pending`).",
    "export": "Export documents written (작성일자) in a date range as CSV, issued and cancelled (default: this month); "
              "`hometax`: issued e-tax invoices in the columns of Hometax's list.",
    "digest": "Schedule, stop, show or send now the daily digest in this channel.",
    "retry": "Retry a failed approval or document once the problem is fixed.",
    "bulk": "Issue many documents from a CSV or XLSX file, approved once as a batch; `template` sends the file "
            "to fill in.",
    "amend": "Amend a filed tax invoice (수정세금계산서): 1 error, 2 amount change, 3 return, 4 cancelled contract, "
             "5 local L/C, 6 duplicate.",
    "send-nts": "Send an issued Popbill tax invoice to the NTS now (즉시전송).",
    "pdf": "Post a document's PDF in its thread.",
    "deadlines": "Tax invoices near or past their issuance or NTS transmission deadline, with the penalties at risk.",
}

SUBCOMMANDS: tuple[str, ...] = tuple(USAGE)


class CommandError(Exception):
    """The text is not a command we understand. The message is meant for the user.

    Attributes:
        problem: what was wrong.
        usage: the usage line of the subcommand involved (or None).
        subcommand: the subcommand involved (or None).
    """

    def __init__(self, problem: str, *, subcommand: str | None = None, hint: str | None = None) -> None:
        self.problem = problem
        self.subcommand = subcommand
        self.usage = USAGE.get(subcommand) if subcommand else None
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.problem]
        if self.hint:
            parts.append(self.hint)
        if self.usage:
            parts.append(f"Usage: `{self.usage}`")
        elif not self.subcommand:
            parts.append("Type `/invoice help` to see every subcommand.")
        return "\n".join(parts)


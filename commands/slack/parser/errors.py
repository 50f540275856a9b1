"""The usage lines of every subcommand and the one refusal the parser raises.

Kept apart from the parsers so help, refusals and the Block Kit error message read the
same usage line from one table.
"""

from __future__ import annotations

from collections.abc import Mapping

from commands.i18n import N_, _

__all__ = ["SUBCOMMANDS", "SUMMARY", "USAGE", "CommandError"]

#: One usage line per subcommand, shown in refusals and in help (translated where shown: the
#: words in brackets and after the command, never the command's own words).
USAGE: Mapping[str, str] = {
    "help": N_("/invoice help [subcommand]"),
    "issue": N_("/invoice issue [popbill|payssam|hiworks|abillify] [tax|zero|exempt|statement|cash|bill|invoice] "
             "[override <reason>]"),
    "status": N_("/invoice status <ref>   (INV-000123, popbill:<MgtKey>, payssam:<billId>, …)"),
    "resend": N_("/invoice resend <ref> [email [address] | sms [number] | fax <number> | talk]"),
    "destroy": N_("/invoice destroy <ref> [reason…]"),
    "closure": N_("/invoice closure <business number> [<business number> …]   (up to 100, commas or spaces)"),
    "list": N_("/invoice list [state|pending] [provider]"),
    "export": N_("/invoice export [hometax] [from YYYY-MM-DD] [to YYYY-MM-DD]"),
    "digest": N_("/invoice digest schedule HH:MM [timezone] | digest off | digest now | digest show"),
    "retry": N_("/invoice retry <approval id or ref>"),
    "bulk": N_("/invoice bulk [form|template]   (share a CSV or XLSX file in the channel first, or use the form)"),
    "amend": N_("/invoice amend <ref> [reason 1-6] [amount] [memo…]   (no reason: the form)"),
    "send-nts": N_("/invoice send-nts <ref>   (file an issued Popbill tax invoice with the NTS now)"),
    "pdf": N_("/invoice pdf <ref>   (post the provider's PDF in the document's thread)"),
    "deadlines": N_("/invoice deadlines [days]   (기한)"),
    "lang": N_("/invoice lang [ko|en|auto]"),
}

#: What each subcommand does, for help.
SUMMARY: Mapping[str, str] = {
    "help": N_("Show this help, or the details of one subcommand."),
    "issue": N_("Open the form to issue a document (asks for approval before anything is sent)."),
    "status": N_("Ask the provider for a document's current state, amounts, links and history."),
    "resend": N_("Send a document's notification again (e-mail, SMS, fax or KakaoTalk)."),
    "destroy": N_("Cancel or destroy an issued document (needs approval)."),
    "closure": N_("Check whether businesses are active, suspended (휴업) or closed (폐업)."),
    "list": N_("List recent documents (by state: `sent`, `paid`, `cancelled`, `rejected`, …) "
               "or approvals (`pending`)."),
    "export": N_("Export documents written (작성일자) in a date range as CSV, issued and cancelled "
                 "(default: this month); `hometax`: issued e-tax invoices in the columns of Hometax's list."),
    "digest": N_("Schedule, stop, show or send now the daily digest in this channel."),
    "retry": N_("Retry a failed approval or document once the problem is fixed."),
    "bulk": N_("Issue many documents from a CSV or XLSX file, approved once as a batch; `template` sends the file "
            "to fill in."),
    "amend": N_("Amend a filed tax invoice (수정세금계산서): 1 error, 2 amount change, 3 return, 4 cancelled contract, "
             "5 local L/C, 6 duplicate."),
    "send-nts": N_("Send an issued Popbill tax invoice to the NTS now (즉시전송)."),
    "pdf": N_("Post a document's PDF in its thread."),
    "deadlines": N_("Tax invoices near or past their issuance or NTS transmission deadline, "
                    "with the penalties at risk."),
    "lang": N_("Show or choose the language the bot writes to you in (auto: your Slack language)."),
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
            parts.append(_("Usage: `{usage}`").format(usage=_(self.usage)))
        elif not self.subcommand:
            parts.append(_("Type `/invoice help` to see every subcommand."))
        return "\n".join(parts)


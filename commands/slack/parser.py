"""Parse the text after ``/invoice`` into a typed command.

`parse_command(text)` returns one of the command models (a pydantic discriminated
union on `name`) or raises :class:`CommandError`, whose message says what was wrong
and what to type instead. It never raises anything else, whatever the text: Slack
users paste anything, and a traceback in a chat reply helps nobody.

Example:
    >>> parse_command("status inv-123")
    StatusCommand(name='status', ref=RefArg(key='INV-000123', provider=None, kind=None, provider_id=None))
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providers.bizno import InvalidBizno, check_bizno
from providers.models import DocumentKind, DocumentState, Provider, ResendChannel

__all__ = [
    "MAX_CLOSURE_NUMBERS",
    "SUBCOMMANDS",
    "SUMMARY",
    "USAGE",
    "ClosureCommand",
    "Command",
    "CommandError",
    "DestroyCommand",
    "DigestCommand",
    "ExportCommand",
    "HelpCommand",
    "IssueCommand",
    "ListCommand",
    "RefArg",
    "ResendCommand",
    "RetryCommand",
    "StatusCommand",
    "normalise_phone",
    "parse_command",
    "parse_ref",
    "unescape_slack",
]

MAX_CLOSURE_NUMBERS = 100
MAX_REASON_LENGTH = 200
DEFAULT_TIMEZONE = "Asia/Seoul"

#: One usage line per subcommand, shown in refusals and in help.
USAGE: Mapping[str, str] = {
    "help": "/invoice help [subcommand]",
    "issue": "/invoice issue [popbill|payssam|hiworks|abillify] [tax|zero|exempt|statement|cash|bill|invoice]",
    "status": "/invoice status <ref>   (INV-000123, popbill:<MgtKey>, payssam:<billId>, …)",
    "resend": "/invoice resend <ref> [email [address] | sms [number] | fax <number> | talk]",
    "destroy": "/invoice destroy <ref> [reason…]",
    "closure": "/invoice closure <business number> [<business number> …]   (up to 100, commas or spaces)",
    "list": "/invoice list [state|pending] [provider]",
    "export": "/invoice export [from YYYY-MM-DD] [to YYYY-MM-DD]",
    "digest": "/invoice digest schedule HH:MM [timezone] | digest off | digest now | digest show",
    "retry": "/invoice retry <approval id or ref>",
}

#: What each subcommand does, for help.
SUMMARY: Mapping[str, str] = {
    "help": "Show this help, or the details of one subcommand.",
    "issue": "Open the form to issue a document (asks for approval before anything is sent).",
    "status": "Ask the provider for a document's current state, amounts, links and history.",
    "resend": "Send a document's notification again (e-mail, SMS, fax or KakaoTalk).",
    "destroy": "Cancel or destroy an issued document (needs approval).",
    "closure": "Check whether businesses are active, suspended (휴업) or closed (폐업).",
    "list": "List recent documents, or approvals waiting (`pending`).",
    "export": "Export documents issued in a date range as CSV (default: this month).",
    "digest": "Schedule, stop, show or send now the daily digest in this channel.",
    "retry": "Retry a failed approval or document once the problem is fixed.",
}

SUBCOMMANDS: tuple[str, ...] = tuple(USAGE)

_PROVIDER_WORDS: Mapping[str, Provider] = {p.value: p for p in Provider}

_KIND_WORDS: Mapping[str, DocumentKind] = {
    "tax": DocumentKind.TAX_INVOICE,
    "zero": DocumentKind.ZERO_RATED_INVOICE,
    "exempt": DocumentKind.EXEMPT_INVOICE,
    "statement": DocumentKind.STATEMENT,
    "cash": DocumentKind.CASH_RECEIPT,
    "bill": DocumentKind.BILL,
    "invoice": DocumentKind.INVOICE,
    # the model's own names work too, for people who read the docs
    **{k.value: k for k in DocumentKind},
}

_STATE_WORDS: Mapping[str, DocumentState] = {
    **{s.value: s for s in DocumentState},
    "cancelled": DocumentState.CANCELED,
    "failed": DocumentState.FILING_FAILED,
}

_REF_PREFIXES: Mapping[str, tuple[Provider, DocumentKind | None]] = {
    "popbill": (Provider.POPBILL, None),
    "cashbill": (Provider.POPBILL, DocumentKind.CASH_RECEIPT),
    "payssam": (Provider.PAYSSAM, DocumentKind.BILL),
    "hiworks": (Provider.HIWORKS, None),
    "abillify": (Provider.ABILLIFY, DocumentKind.INVOICE),
}

_OUR_REF = re.compile(r"^INV-?(\d{1,9})$", re.IGNORECASE)
_POPBILL_KEY = re.compile(r"^[0-9A-Za-z_-]{1,24}$")  # Popbill MgtKey: 1-24 of these
_PROVIDER_ID = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
_APPROVAL_ID = re.compile(r"^#?(\d{1,12})$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_BIZNO_SPLIT = re.compile(r"[,;\s]+")
_DIGEST_ACTIONS: Mapping[str, Literal["off", "now", "show"]] = {"off": "off", "now": "now", "show": "show"}


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


# -- models --------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RefArg(_Model):
    """A document reference as typed: our key (``INV-000123``) or a provider and its id.

    `kind` is known only when the prefix implies it (``cashbill:`` is a cash receipt).
    """

    key: str | None = None
    provider: Provider | None = None
    kind: DocumentKind | None = None
    provider_id: str | None = None

    @property
    def is_ours(self) -> bool:
        return self.key is not None

    def __str__(self) -> str:
        if self.key is not None:
            return self.key
        prefix = "cashbill" if self.kind is DocumentKind.CASH_RECEIPT else (
            self.provider.value if self.provider else "?")
        return f"{prefix}:{self.provider_id}"


class HelpCommand(_Model):
    name: Literal["help"] = "help"
    topic: str | None = None


class IssueCommand(_Model):
    name: Literal["issue"] = "issue"
    provider: Provider | None = None
    kind: DocumentKind | None = None


class StatusCommand(_Model):
    name: Literal["status"] = "status"
    ref: RefArg


class ResendCommand(_Model):
    name: Literal["resend"] = "resend"
    ref: RefArg
    channel: ResendChannel = ResendChannel.DEFAULT
    address: str | None = None  # e-mail or digits-only phone/fax number; None = the one on file


class DestroyCommand(_Model):
    name: Literal["destroy"] = "destroy"
    ref: RefArg
    reason: str | None = None


class ClosureCommand(_Model):
    name: Literal["closure"] = "closure"
    biznos: tuple[str, ...]  # normalised 10-digit numbers, duplicates removed, order kept
    warnings: tuple[str, ...] = ()  # check-digit mismatches: still checked, the tax office decides


class ListCommand(_Model):
    name: Literal["list"] = "list"
    state: DocumentState | None = None
    pending: bool = False  # approvals waiting, instead of documents
    provider: Provider | None = None


class ExportCommand(_Model):
    name: Literal["export"] = "export"
    start: dt.date
    end: dt.date


class DigestCommand(_Model):
    name: Literal["digest"] = "digest"
    action: Literal["schedule", "off", "now", "show"]
    at: dt.time | None = None  # for schedule
    timezone: str = DEFAULT_TIMEZONE


class RetryCommand(_Model):
    name: Literal["retry"] = "retry"
    ref: RefArg | None = None
    approval_id: int | None = None


Command = Annotated[
    HelpCommand | IssueCommand | StatusCommand | ResendCommand | DestroyCommand | ClosureCommand
    | ListCommand | ExportCommand | DigestCommand | RetryCommand,
    Field(discriminator="name"),
]


# -- helpers -------------------------------------------------------------------------


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of command text.

    ``<mailto:a@b.com|a@b.com>`` -> ``a@b.com``, ``<tel:010-1234-5678|…>`` -> ``010-1234-5678``,
    ``<https://x|label>`` -> ``https://x``, ``&amp;`` -> ``&``. Mentions are kept as typed.
    """

    def _link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        lowered = target.lower()
        if lowered.startswith("mailto:"):
            return target[7:]
        if lowered.startswith("tel:"):
            return target[4:]
        if target.startswith(("@", "#", "!")):
            return match.group(0)
        if "://" in target:
            return target
        return label if label is not None else target

    replaced = _SLACK_LINK.sub(_link, text)
    return html.unescape(replaced)


def _suggest(word: str, choices: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    suggestion = _suggest(word, choices)
    return f" Did you mean `{suggestion}`?" if suggestion else ""


def _show(token: str, limit: int = 40) -> str:
    """A user token quoted safely inside a reply (short, no backticks)."""
    cleaned = token.replace("`", "'")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return f"`{cleaned}`"


def parse_ref(token: str, *, subcommand: str | None = None) -> RefArg:
    """Parse a document reference.

    Raises:
        CommandError: the token is not a reference we know, with the accepted shapes.
    """
    token = token.strip()
    ours = _OUR_REF.match(token)
    if ours:
        number = int(ours.group(1))
        if number == 0:
            raise CommandError(f"{_show(token)} is not a document: our numbers start at INV-000001.",
                               subcommand=subcommand)
        return RefArg(key=f"INV-{number:06d}")
    prefix, sep, rest = token.partition(":")
    known = _REF_PREFIXES.get(prefix.lower()) if sep else None
    if known is None:
        hint = "A reference is our number (`INV-000123`) or `popbill:<MgtKey>`, `cashbill:<MgtKey>`, " \
               "`payssam:<billId>`, `hiworks:<documentId>`, `abillify:<reference>`."
        if sep:
            suggestion = _suggest(prefix, list(_REF_PREFIXES))
            if suggestion:
                hint = f"Did you mean `{suggestion}:{rest.replace('`', '')[:40]}`? " + hint
        raise CommandError(f"{_show(token)} is not a document reference.", subcommand=subcommand, hint=hint)
    provider, kind = known
    pattern = _POPBILL_KEY if provider is Provider.POPBILL else _PROVIDER_ID
    if not pattern.match(rest):
        shape = ("1–24 letters, digits, `-` or `_`" if provider is Provider.POPBILL
                 else "1–64 letters, digits, `-`, `_`, `.` or `:`")
        raise CommandError(f"{_show(token)}: the id after `{prefix.lower()}:` must be {shape}.",
                           subcommand=subcommand)
    return RefArg(provider=provider, kind=kind, provider_id=rest)


def normalise_phone(text: str) -> str | None:
    """Korean phone or fax number to digits (``+82 10-1234-5678`` -> ``01012345678``), or None."""
    cleaned = re.sub(r"[\s\-().]", "", text)
    if cleaned.startswith("+82"):
        cleaned = "0" + cleaned[3:].lstrip("0")
    elif cleaned.startswith("82") and len(cleaned) >= 11:
        cleaned = "0" + cleaned[2:].lstrip("0")
    if not (cleaned.isascii() and cleaned.isdigit()):
        return None
    if re.fullmatch(r"01[016789]\d{7,8}", cleaned):  # mobile
        return cleaned
    if re.fullmatch(r"0(2|[3-6][1-5]|70|50\d)\d{7,8}", cleaned):  # landline, 070, 050x
        return cleaned
    if re.fullmatch(r"1[5-9]\d{6}", cleaned):  # 15xx/16xx/18xx business numbers
        return cleaned
    return None


def _is_mobile(digits: str) -> bool:
    return re.fullmatch(r"01[016789]\d{7,8}", digits) is not None


def _is_email(text: str) -> bool:
    return len(text) <= 254 and _EMAIL.match(text) is not None


@lru_cache(maxsize=1)
def _timezones() -> Mapping[str, str]:
    names = {name.lower(): name for name in zoneinfo.available_timezones()}
    names.setdefault("utc", "UTC")
    names["kst"] = "Asia/Seoul"
    return names


def _parse_timezone(token: str) -> str:
    name = _timezones().get(token.lower())
    if name is None:
        suggestion = _suggest(token, [n for n in _timezones().values() if "/" in n])
        hint = f"Did you mean `{suggestion}`? " if suggestion else ""
        raise CommandError(f"{_show(token)} is not a time zone I know.", subcommand="digest",
                           hint=hint + "Use an IANA name such as `Asia/Seoul` or `Europe/Berlin`.")
    return name


def _parse_date(token: str, what: str) -> dt.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
            raise ValueError
        return dt.date.fromisoformat(token)
    except ValueError:
        raise CommandError(f"{_show(token)} is not a date: the {what} date must be YYYY-MM-DD, e.g. 2024-05-01.",
                           subcommand="export") from None


# -- subcommands ---------------------------------------------------------------------


def _parse_help(args: list[str]) -> HelpCommand:
    if not args:
        return HelpCommand()
    topic = args[0].lower()
    if topic not in USAGE:
        raise CommandError(f"There is no subcommand {_show(args[0])}.{_did_you_mean(topic, SUBCOMMANDS)}",
                           subcommand="help")
    if len(args) > 1:
        raise CommandError("`help` takes at most one subcommand.", subcommand="help")
    return HelpCommand(topic=topic)


def _parse_issue(args: list[str]) -> IssueCommand:
    provider: Provider | None = None
    kind: DocumentKind | None = None
    for token in args:
        word = token.lower()
        if word in _PROVIDER_WORDS and provider is None:
            provider = _PROVIDER_WORDS[word]
        elif word in _KIND_WORDS and kind is None:
            kind = _KIND_WORDS[word]
        else:
            choices = [*_PROVIDER_WORDS, "tax", "zero", "exempt", "statement", "cash", "bill", "invoice"]
            raise CommandError(
                f"I don't know what {_show(token)} means here.{_did_you_mean(word, choices)}",
                subcommand="issue",
                hint="Give at most a provider and a document kind; the form asks for the rest.",
            )
    return IssueCommand(provider=provider, kind=kind)


def _need_ref(args: list[str], subcommand: str) -> RefArg:
    if not args:
        raise CommandError(f"`{subcommand}` needs the document's reference.", subcommand=subcommand)
    return parse_ref(args[0], subcommand=subcommand)


def _parse_status(args: list[str]) -> StatusCommand:
    ref = _need_ref(args, "status")
    if len(args) > 1:
        raise CommandError("`status` takes one reference; ask again for another document.", subcommand="status")
    return StatusCommand(ref=ref)


def _parse_resend(args: list[str]) -> ResendCommand:
    ref = _need_ref(args, "resend")
    rest = args[1:]
    if not rest:
        return ResendCommand(ref=ref)
    word = rest[0].lower()
    # phone numbers are often typed with spaces ("+82 10 1234 5678"); anything else is one word
    value = " ".join(rest[1:]) or None
    if len(rest) > 2 and word not in ("sms", "text", "fax"):
        raise CommandError("Too many words after the channel.", subcommand="resend")
    if word in ("email", "e-mail", "mail"):
        if value is None:
            return ResendCommand(ref=ref, channel=ResendChannel.EMAIL)
        return ResendCommand(ref=ref, channel=ResendChannel.EMAIL, address=_email(value))
    if word in ("sms", "text"):
        if value is None:
            return ResendCommand(ref=ref, channel=ResendChannel.SMS)
        digits = normalise_phone(value)
        if digits is None or not _is_mobile(digits):
            raise CommandError(f"{_show(value)} is not a mobile number for an SMS (e.g. 010-1234-5678).",
                               subcommand="resend")
        return ResendCommand(ref=ref, channel=ResendChannel.SMS, address=digits)
    if word == "fax":
        if value is None:
            raise CommandError("A fax needs the number to send it to, e.g. `fax 02-123-4567`.",
                               subcommand="resend")
        digits = normalise_phone(value)
        if digits is None:
            raise CommandError(f"{_show(value)} is not a fax number (e.g. 02-123-4567).", subcommand="resend")
        return ResendCommand(ref=ref, channel=ResendChannel.FAX, address=digits)
    if word in ("talk", "kakao", "kakaotalk"):
        if value is not None:
            raise CommandError("KakaoTalk goes to the phone on the bill; it takes no address.",
                               subcommand="resend")
        return ResendCommand(ref=ref, channel=ResendChannel.TALK)
    if value is None and "@" in word:
        return ResendCommand(ref=ref, channel=ResendChannel.EMAIL, address=_email(rest[0]))
    raise CommandError(
        f"{_show(rest[0])} is not a way to resend.{_did_you_mean(word, ['email', 'sms', 'fax', 'talk'])}",
        subcommand="resend",
    )


def _email(text: str) -> str:
    if not _is_email(text):
        raise CommandError(f"{_show(text)} is not an e-mail address (e.g. billing@example.co.kr).",
                           subcommand="resend")
    return text


def _parse_destroy(args: list[str]) -> DestroyCommand:
    ref = _need_ref(args, "destroy")
    reason = " ".join(args[1:]).strip() or None
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise CommandError(f"The reason is {len(reason)} characters; keep it under {MAX_REASON_LENGTH}.",
                           subcommand="destroy")
    return DestroyCommand(ref=ref, reason=reason)


def _parse_closure(rest: str) -> ClosureCommand:
    tokens = [t for t in _BIZNO_SPLIT.split(rest) if t]
    if not tokens:
        raise CommandError("`closure` needs at least one business number.", subcommand="closure")
    numbers: list[str] = []
    warnings: list[str] = []
    bad: list[str] = []
    for token in tokens:
        try:
            checked = check_bizno(token)
        except InvalidBizno:
            bad.append(token)
            continue
        if checked.number not in numbers:
            numbers.append(checked.number)
            if checked.warning:
                warnings.append(checked.warning)
    if bad:
        shown = ", ".join(_show(b, 20) for b in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise CommandError(f"Not a business number: {shown}. A business number has 10 digits, "
                           "e.g. 123-45-67890.", subcommand="closure")
    if len(numbers) > MAX_CLOSURE_NUMBERS:
        raise CommandError(f"That is {len(numbers)} numbers; one check takes up to {MAX_CLOSURE_NUMBERS}.",
                           subcommand="closure", hint="Split them into several `/invoice closure` commands.")
    return ClosureCommand(biznos=tuple(numbers), warnings=tuple(warnings))


def _parse_list(args: list[str]) -> ListCommand:
    state: DocumentState | None = None
    pending = False
    provider: Provider | None = None
    for token in args:
        word = token.lower()
        if word == "pending" and not pending and state is None:
            pending = True
        elif word in _STATE_WORDS and state is None and not pending:
            state = _STATE_WORDS[word]
        elif word in _PROVIDER_WORDS and provider is None:
            provider = _PROVIDER_WORDS[word]
        else:
            choices = ["pending", *_STATE_WORDS, *_PROVIDER_WORDS]
            raise CommandError(
                f"{_show(token)} is not a state or a provider.{_did_you_mean(word, choices)}",
                subcommand="list",
                hint="States: pending, " + ", ".join(s.value for s in DocumentState) + ".",
            )
    return ListCommand(state=state, pending=pending, provider=provider)


def _parse_export(args: list[str], today: dt.date) -> ExportCommand:
    if len(args) > 2:
        raise CommandError("`export` takes at most two dates.", subcommand="export")
    start = _parse_date(args[0], "start") if args else today.replace(day=1)
    end = _parse_date(args[1], "end") if len(args) > 1 else today
    if start > end:
        raise CommandError(f"The range starts ({start}) after it ends ({end}).", subcommand="export",
                           hint="Put the earlier date first.")
    return ExportCommand(start=start, end=end)


def _parse_digest(args: list[str]) -> DigestCommand:
    if not args:
        raise CommandError("`digest` needs an action: schedule, off, now or show.", subcommand="digest")
    action = args[0].lower()
    if action in ("off", "now", "show"):
        if len(args) > 1:
            raise CommandError(f"`digest {action}` takes nothing more.", subcommand="digest")
        return DigestCommand(action=_DIGEST_ACTIONS[action])
    if action != "schedule":
        raise CommandError(
            f"{_show(args[0])} is not a digest action.{_did_you_mean(action, ['schedule', 'off', 'now', 'show'])}",
            subcommand="digest",
        )
    if len(args) < 2:
        raise CommandError("`digest schedule` needs a time, e.g. `digest schedule 09:00`.", subcommand="digest")
    if len(args) > 3:
        raise CommandError("`digest schedule` takes a time and optionally a time zone.", subcommand="digest")
    match = _HHMM.match(args[1])
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise CommandError(f"{_show(args[1])} is not a time: use 24-hour HH:MM, e.g. 09:00 or 18:30.",
                           subcommand="digest")
    timezone = _parse_timezone(args[2]) if len(args) > 2 else DEFAULT_TIMEZONE
    return DigestCommand(action="schedule", at=dt.time(hour, minute), timezone=timezone)


def _parse_retry(args: list[str]) -> RetryCommand:
    if len(args) != 1:
        raise CommandError("`retry` takes one approval id or document reference.", subcommand="retry")
    token = args[0]
    if _OUR_REF.match(token) or ":" in token:
        return RetryCommand(ref=parse_ref(token, subcommand="retry"))
    approval = _APPROVAL_ID.match(token)
    if not approval or int(approval.group(1)) == 0:
        raise CommandError(f"{_show(token)} is not an approval id (a number, e.g. 42) or a document reference.",
                           subcommand="retry")
    return RetryCommand(approval_id=int(approval.group(1)))


# -- entry point ---------------------------------------------------------------------


def parse_command(text: str | None, *, today: dt.date | None = None) -> Command:
    """Parse the text of ``/invoice …``.

    Args:
        text: the slash command's `text` as Slack sent it (possibly escaped).
        today: the date defaults are computed from (Asia/Seoul today by default).

    Raises:
        CommandError: anything we cannot act on; the message tells the user what to type.
    """
    cleaned = unescape_slack(text or "").replace("\x00", "").strip()
    if today is None:
        today = dt.datetime.now(zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)).date()
    if not cleaned:
        return HelpCommand()
    words = cleaned.split()
    sub = words[0].lower()
    args = words[1:]
    try:
        if sub in ("help", "?", "-h", "--help"):
            return _parse_help(args)
        if sub == "issue":
            return _parse_issue(args)
        if sub == "status":
            return _parse_status(args)
        if sub == "resend":
            return _parse_resend(args)
        if sub in ("destroy", "cancel"):
            return _parse_destroy(args)
        if sub == "closure":
            return _parse_closure(cleaned[len(words[0]):])
        if sub == "list":
            return _parse_list(args)
        if sub == "export":
            return _parse_export(args, today)
        if sub == "digest":
            return _parse_digest(args)
        if sub == "retry":
            return _parse_retry(args)
    except ValidationError as exc:  # a model refused a value the checks above let through
        raise CommandError(f"I could not understand that `{sub}` command ({exc.error_count()} problem(s)).",
                           subcommand=sub if sub in USAGE else None) from None
    if _OUR_REF.match(words[0]) or ":" in words[0]:
        raise CommandError(f"What should I do with {_show(words[0])}?",
                           hint=f"To see it, type `/invoice status {words[0][:40].replace('`', '')}`.")
    suggestion = _suggest(sub, SUBCOMMANDS)
    if suggestion:
        raise CommandError(f"There is no subcommand {_show(words[0])}. Did you mean `{suggestion}`?",
                           hint=f"Usage: `{USAGE[suggestion]}`")
    raise CommandError(f"There is no subcommand {_show(words[0])}.",
                       hint="Subcommands: " + ", ".join(f"`{s}`" for s in SUBCOMMANDS) + ".")


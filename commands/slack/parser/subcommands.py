"""One parser per subcommand: the words after ``/invoice <subcommand>`` to its command model.

Each raises `CommandError` naming its subcommand, so the refusal carries that usage line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from commands.i18n import N_, _
from commands.slack.parser.errors import SUBCOMMANDS, USAGE, CommandError
from commands.slack.parser.korean import CHANNEL_KO, DIGEST_KO, LAYOUT_KO, STATE_KO, SUBCOMMAND_KO
from commands.slack.parser.lang import parse_lang
from commands.slack.parser.lifecycle import LIFECYCLE_PARSERS
from commands.slack.parser.models import (
    DEFAULT_TIMEZONE,
    BulkCommand,
    ClosureCommand,
    Command,
    DeadlinesCommand,
    DestroyCommand,
    DigestCommand,
    ExportCommand,
    HelpCommand,
    IssueCommand,
    ListCommand,
    RefArg,
    ResendCommand,
    RetryCommand,
    StatusCommand,
)
from commands.slack.parser.tokens import (
    APPROVAL_ID,
    BIZNO_SPLIT,
    DEADLINES_WORDS,
    DIGEST_ACTIONS,
    HHMM,
    KIND_WORDS,
    OUR_REF,
    PROVIDER_WORDS,
    STANDING_WORDS,
    STATE_WORDS,
    did_you_mean,
    is_email,
    is_mobile,
    kind_word,
    normalise_phone,
    parse_date,
    parse_ref,
    parse_timezone,
    show,
)
from providers.bizno import InvalidBizno, check_bizno
from providers.currency import is_iso_currency
from providers.models import DocumentKind, Provider, ResendChannel
from providers.registry import CAPABILITIES

__all__ = ["MAX_CLOSURE_NUMBERS", "MAX_REASON_LENGTH", "SUBCOMMAND_PARSERS", "parse_closure", "parse_export"]

MAX_CLOSURE_NUMBERS = 100
MAX_REASON_LENGTH = 200


def _parse_help(args: list[str]) -> HelpCommand:
    if not args:
        return HelpCommand()
    topic = SUBCOMMAND_KO.get(args[0], args[0].lower())
    if topic not in USAGE:
        choices = [*SUBCOMMANDS, *(ko for ko, en in SUBCOMMAND_KO.items() if en in USAGE)]
        raise CommandError(_("There is no subcommand {word}.").format(word=show(args[0]))
                           + did_you_mean(topic, choices), subcommand="help")
    if len(args) > 1:
        raise CommandError(_("`help` takes at most one subcommand."), subcommand="help")
    return HelpCommand(topic=topic)


def _refuse_unsupported(provider: Provider, kind: DocumentKind) -> None:
    """A provider/kind pair the provider's declared capabilities do not offer is refused here, with
    what that provider does issue, instead of opening a form bound to fail."""
    kinds = CAPABILITIES[provider].kinds
    if kind in kinds:
        return
    offered = [k for k in DocumentKind if k in kinds]
    words = ", ".join(f"`{kind_word(k)}`" for k in offered)
    raise CommandError(
        _("{provider} does not issue {kind}s; it issues: {words}.").format(
            provider=provider.value, kind=kind.value.replace("_", " "), words=words),
        subcommand="issue",
        hint=_("Try `/invoice issue {provider} {kind}`.").format(provider=provider.value, kind=kind_word(offered[0])),
    )


def _parse_issue(args: list[str]) -> IssueCommand:
    provider: Provider | None = None
    kind: DocumentKind | None = None
    override: str | None = None
    currency: str | None = None
    for index, token in enumerate(args):
        word = token.lower()
        if word in ("override", "override:", "--override"):
            override = " ".join(args[index + 1:]).strip() or None
            if override is None:
                raise CommandError(_("`override` needs a reason, e.g. `override the buyer reopened in May`."),
                                   subcommand="issue")
            if len(override) > MAX_REASON_LENGTH:
                raise CommandError(_("The override reason is {n} characters; keep it under {limit}.").format(
                    n=len(override), limit=MAX_REASON_LENGTH), subcommand="issue")
            break
        if word in PROVIDER_WORDS and provider is None:
            provider = PROVIDER_WORDS[word]
        elif word in KIND_WORDS and kind is None:
            kind = KIND_WORDS[word]
        elif currency is None and is_iso_currency(token.upper()):
            currency = token.upper()
        else:
            choices = [*PROVIDER_WORDS, "tax", "zero", "exempt", "statement", "cash", "bill", "invoice",
                       *(w for w in KIND_WORDS if not w.isascii())]
            raise CommandError(
                _("I don't know what {word} means here.").format(word=show(token)) + did_you_mean(word, choices),
                subcommand="issue",
                hint=_("Give at most a provider and a document kind; the form asks for the rest."),
            )
    if provider is not None and kind is not None:
        _refuse_unsupported(provider, kind)
    if currency is not None:
        _refuse_currency(provider, currency)
    return IssueCommand(provider=provider, kind=kind, override_reason=override, currency=currency)


def _refuse_currency(provider: Provider | None, currency: str) -> None:
    """A currency only for a provider that bills in it (Korean providers: KRW, by their `Capabilities`)."""
    caps = CAPABILITIES.get(provider) if provider is not None else None
    if caps is None:
        raise CommandError(_("Name the provider with the currency, e.g. `/invoice issue abillify {code}`.").format(
            code=currency.lower()), subcommand="issue")
    if caps.currencies is not None and currency not in caps.currencies:
        raise CommandError(_("{provider} bills in {offered} only, not {code}.").format(
            provider=provider.value if provider else "", offered=", ".join(sorted(caps.currencies)), code=currency),
            subcommand="issue")


def _need_ref(args: list[str], subcommand: str) -> RefArg:
    if not args:
        raise CommandError(_("`{subcommand}` needs the document's reference.").format(subcommand=subcommand),
                           subcommand=subcommand)
    return parse_ref(args[0], subcommand=subcommand)


def _parse_status(args: list[str]) -> StatusCommand:
    ref = _need_ref(args, "status")
    if len(args) > 1:
        raise CommandError(_("`status` takes one reference; ask again for another document."), subcommand="status")
    return StatusCommand(ref=ref)


def _sms_address(value: str) -> str:
    digits = normalise_phone(value)
    if digits is None or not is_mobile(digits):
        raise CommandError(_("{value} is not a mobile number for an SMS (e.g. 010-1234-5678).").format(
            value=show(value)), subcommand="resend")
    return digits


def _fax_address(value: str | None) -> str:
    if value is None:
        raise CommandError(_("A fax needs the number to send it to, e.g. `fax 02-123-4567`."), subcommand="resend")
    digits = normalise_phone(value)
    if digits is None:
        raise CommandError(_("{value} is not a fax number (e.g. 02-123-4567).").format(value=show(value)),
                           subcommand="resend")
    return digits


def _talk_address(value: str | None) -> None:
    if value is not None:
        raise CommandError(_("KakaoTalk goes to the phone on the bill; it takes no address."), subcommand="resend")


def _resend_channel(word: str, value: str | None, first: str) -> tuple[ResendChannel, str | None]:
    """(channel, address) from the words after the reference; `first` is the channel word as typed."""
    if word in ("email", "e-mail", "mail"):
        return ResendChannel.EMAIL, None if value is None else _email(value)
    if word in ("sms", "text"):
        return ResendChannel.SMS, None if value is None else _sms_address(value)
    if word == "fax":
        return ResendChannel.FAX, _fax_address(value)
    if word in ("talk", "kakao", "kakaotalk"):
        _talk_address(value)
        return ResendChannel.TALK, None
    if value is None and "@" in word:
        return ResendChannel.EMAIL, _email(first)
    raise CommandError(
        _("{word} is not a way to resend.").format(word=show(first))
        + did_you_mean(word, ["email", "sms", "fax", "talk", *CHANNEL_KO]),
        subcommand="resend",
    )


def _parse_resend(args: list[str]) -> ResendCommand:
    ref = _need_ref(args, "resend")
    rest = args[1:]
    if not rest:
        return ResendCommand(ref=ref)
    word = CHANNEL_KO.get(rest[0], rest[0].lower())
    # phone numbers are often typed with spaces ("+82 10 1234 5678"); anything else is one word
    value = " ".join(rest[1:]) or None
    if len(rest) > 2 and word not in ("sms", "text", "fax"):
        raise CommandError(_("Too many words after the channel."), subcommand="resend")
    channel, address = _resend_channel(word, value, rest[0])
    return ResendCommand(ref=ref, channel=channel, address=address)


def _email(text: str) -> str:
    if not is_email(text):
        raise CommandError(_("{value} is not an e-mail address (e.g. billing@example.co.kr).").format(
            value=show(text)), subcommand="resend")
    return text


def _parse_destroy(args: list[str]) -> DestroyCommand:
    ref = _need_ref(args, "destroy")
    reason = " ".join(args[1:]).strip() or None
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise CommandError(_("The reason is {length} characters; keep it under {limit}.").format(
            length=len(reason), limit=MAX_REASON_LENGTH), subcommand="destroy")
    return DestroyCommand(ref=ref, reason=reason)


def parse_closure(rest: str) -> ClosureCommand:
    tokens = [t for t in BIZNO_SPLIT.split(rest) if t]
    if not tokens:
        raise CommandError(_("`closure` needs at least one business number."), subcommand="closure")
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
        shown = ", ".join(show(b, 20) for b in bad[:5])
        if len(bad) > 5:
            shown += " " + _("and {count} more").format(count=len(bad) - 5)
        raise CommandError(_("Not a business number: {numbers}. A business number has 10 digits, "
                             "e.g. 123-45-67890.").format(numbers=shown), subcommand="closure")
    if len(numbers) > MAX_CLOSURE_NUMBERS:
        raise CommandError(_("That is {count} numbers; one check takes up to {most}.").format(
            count=len(numbers), most=MAX_CLOSURE_NUMBERS),
            subcommand="closure", hint=_("Split them into several `/invoice closure` commands."))
    return ClosureCommand(biznos=tuple(numbers), warnings=tuple(warnings))


def _parse_list(args: list[str]) -> ListCommand:
    found: dict[str, Any] = {}
    for token in args:
        word = token.lower()
        if STATE_KO.get(word) == "pending":
            word = "pending"
        filtered = "pending" in found or "state" in found or "standing" in found
        if word == "pending" and not filtered:
            found["pending"] = True
        elif word in STATE_WORDS and not filtered:
            found["state"] = STATE_WORDS[word]
        elif word in STANDING_WORDS and not filtered:
            found["standing"] = STANDING_WORDS[word]
        elif word in PROVIDER_WORDS and "provider" not in found:
            found["provider"] = PROVIDER_WORDS[word]
        else:
            choices = ["pending", *STATE_WORDS, *STANDING_WORDS, *PROVIDER_WORDS,
                       *(ko for ko, en in STATE_KO.items() if en == "pending")]
            raise CommandError(
                _("{word} is not a state or a provider.").format(word=show(token)) + did_you_mean(word, choices),
                subcommand="list",
                hint=_("States: {states}.").format(states="pending, rejected, issuing, cancelled, "
                                                   + ", ".join(s for s in STATE_WORDS if s != "failed" and s.isascii())
                                                   + "; " + ", ".join(STATE_KO)),
            )
    return ListCommand(**found)


def parse_export(args: list[str], today: dt.date) -> ExportCommand:
    layout = LAYOUT_KO.get(args[0], args[0].lower()) if args else None
    if layout == "hometax":  # `/invoice export hometax [from] [to]`: Hometax's columns
        return parse_export(args[1:], today).model_copy(update={"layout": "hometax"})
    if len(args) > 2:
        raise CommandError(_("`export` takes at most two dates."), subcommand="export")
    start = parse_date(args[0], N_("start")) if args else today.replace(day=1)
    end = parse_date(args[1], N_("end")) if len(args) > 1 else today
    if start > end:
        raise CommandError(_("The range starts ({start}) after it ends ({end}).").format(start=start, end=end),
                           subcommand="export", hint=_("Put the earlier date first."))
    return ExportCommand(start=start, end=end)


def _parse_digest(args: list[str]) -> DigestCommand:
    if not args:
        raise CommandError(_("`digest` needs an action: schedule, off, now or show."), subcommand="digest")
    action = DIGEST_KO.get(args[0], args[0].lower())
    if action in ("off", "now", "show"):
        if len(args) > 1:
            raise CommandError(_("`digest {action}` takes nothing more.").format(action=action), subcommand="digest")
        return DigestCommand(action=DIGEST_ACTIONS[action])
    if action != "schedule":
        raise CommandError(
            _("{word} is not a digest action.").format(word=show(args[0]))
            + did_you_mean(action, ["schedule", "off", "now", "show", *DIGEST_KO]),
            subcommand="digest",
        )
    if len(args) < 2:
        raise CommandError(_("`digest schedule` needs a time, e.g. `digest schedule 09:00`."), subcommand="digest")
    if len(args) > 3:
        raise CommandError(_("`digest schedule` takes a time and optionally a time zone."), subcommand="digest")
    match = HHMM.match(args[1])
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise CommandError(_("{value} is not a time: use 24-hour HH:MM, e.g. 09:00 or 18:30.").format(
            value=show(args[1])), subcommand="digest")
    timezone = parse_timezone(args[2]) if len(args) > 2 else DEFAULT_TIMEZONE
    return DigestCommand(action="schedule", at=dt.time(hour, minute), timezone=timezone)


def _parse_retry(args: list[str]) -> RetryCommand:
    if len(args) != 1:
        raise CommandError(_("`retry` takes one approval id or document reference."), subcommand="retry")
    token = args[0]
    if OUR_REF.match(token) or ":" in token:
        return RetryCommand(ref=parse_ref(token, subcommand="retry"))
    approval = APPROVAL_ID.match(token)
    if not approval or int(approval.group(1)) == 0:
        raise CommandError(_("{word} is not an approval id (a number, e.g. 42) or a document reference.").format(
            word=show(token)), subcommand="retry")
    return RetryCommand(approval_id=int(approval.group(1)))


def _parse_deadlines(args: list[str]) -> DeadlinesCommand:
    if not args:
        return DeadlinesCommand()
    if len(args) > 1 or not args[0].isdigit() or int(args[0]) > 60:
        raise CommandError(_("`deadlines` takes at most a number of days (0 to 60), e.g. `deadlines 10`."),
                           subcommand="deadlines")
    return DeadlinesCommand(within_days=int(args[0]))


_BULK_WORDS = {"form": "form", "upload": "form", "양식": "template", "template": "template", "서식": "template",
               "업로드": "form", "file": "file", "파일": "file"}


def _parse_bulk(args: list[str]) -> BulkCommand:
    if not args:
        return BulkCommand()
    action = _BULK_WORDS.get(args[0].lower()) if len(args) == 1 else None
    if action is None:
        raise CommandError(_("`bulk` takes `form` or `template`, not {words}.").format(words=show(" ".join(args))),
                           subcommand="bulk")
    return BulkCommand(action=action)


#: the parsers that read only the words after the subcommand (closure reads the raw text,
#: export also needs today: `parse_command` calls those two itself), by every name they answer to
SUBCOMMAND_PARSERS: Mapping[str, Callable[[list[str]], Command]] = {
    "help": _parse_help, "?": _parse_help, "-h": _parse_help, "--help": _parse_help,
    "issue": _parse_issue,
    "status": _parse_status,
    "resend": _parse_resend,
    "destroy": _parse_destroy, "cancel": _parse_destroy,
    "list": _parse_list,
    "digest": _parse_digest,
    "retry": _parse_retry,
    "lang": parse_lang,
    "bulk": _parse_bulk,
    **LIFECYCLE_PARSERS,
    **dict.fromkeys(DEADLINES_WORDS, _parse_deadlines),
}

"""The words and tokens of ``/invoice`` text: references, phone numbers, e-mail addresses,
dates and time zones, plus the suggestions a refusal offers.

Every subcommand parser reads its arguments with these, so `INV-7` or `010-1234-5678`
means the same thing in every subcommand (and in the issue modal, which uses
`normalise_phone` and `is_mobile`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Literal

from commands.i18n import _, current_locale
from commands.ledger import GONE_STATES, Standing
from commands.slack.parser.errors import CommandError
from commands.slack.parser.korean import KIND_KO, PROVIDER_KO, STATE_KO, jamo
from commands.slack.parser.models import RefArg
from providers.models import DocumentKind, DocumentState, Provider
from providers.phone import is_mobile, normalise_phone

__all__ = [
    "APPROVAL_ID",
    "BIZNO_SPLIT",
    "DEADLINES_WORDS",
    "DIGEST_ACTIONS",
    "HHMM",
    "KIND_WORDS",
    "OUR_REF",
    "PROVIDER_WORDS",
    "REF_PREFIXES",
    "STANDING_WORDS",
    "STATE_WORDS",
    "did_you_mean",
    "is_email",
    "is_mobile",
    "kind_word",
    "normalise_phone",
    "parse_date",
    "parse_ref",
    "parse_timezone",
    "show",
    "suggest",
    "unescape_slack",
]

#: every English word `/invoice deadlines` answers to (the Korean 기한 is in `korean.SUBCOMMAND_KO`)
DEADLINES_WORDS: tuple[str, ...] = ("deadlines", "deadline")

PROVIDER_WORDS: Mapping[str, Provider] = {
    **{p.value: p for p in Provider},
    **{ko: Provider(en) for ko, en in PROVIDER_KO.items()},
}

_ENGLISH_KIND_WORDS: Mapping[str, DocumentKind] = {
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
KIND_WORDS: Mapping[str, DocumentKind] = {
    **_ENGLISH_KIND_WORDS, **{ko: _ENGLISH_KIND_WORDS[en] for ko, en in KIND_KO.items()}}


def kind_word(kind: DocumentKind) -> str:
    """The shortest word naming `kind` in the reader's language (``tax`` / ``세금계산서``)."""
    korean = [ko for ko, en in KIND_KO.items() if _ENGLISH_KIND_WORDS[en] is kind]
    if korean and current_locale() == "ko":
        return min(korean, key=len)
    return min((w for w, k in _ENGLISH_KIND_WORDS.items() if k is kind), key=len)

_ENGLISH_STATE_WORDS: Mapping[str, DocumentState] = {
    **{s.value: s for s in DocumentState if s not in GONE_STATES},
    "failed": DocumentState.FILING_FAILED,
}

#: list filters that mean a standing: "cancelled" is every document the buyer no longer has,
#: whatever the provider called it, as every surface labels it "cancelled"
_ENGLISH_STANDING_WORDS: Mapping[str, Standing] = {
    "cancelled": Standing.CANCELLED,
    **{s.value: Standing.CANCELLED for s in GONE_STATES},
    "rejected": Standing.REJECTED,
    "issuing": Standing.ISSUING,
}
#: the Korean list words, each meaning one English word above
STATE_WORDS: Mapping[str, DocumentState] = {
    **_ENGLISH_STATE_WORDS,
    **{ko: _ENGLISH_STATE_WORDS[en] for ko, en in STATE_KO.items() if en in _ENGLISH_STATE_WORDS}}
STANDING_WORDS: Mapping[str, Standing] = {
    **_ENGLISH_STANDING_WORDS,
    **{ko: _ENGLISH_STANDING_WORDS[en] for ko, en in STATE_KO.items() if en in _ENGLISH_STANDING_WORDS}}

REF_PREFIXES: Mapping[str, tuple[Provider, DocumentKind | None]] = {
    "popbill": (Provider.POPBILL, None),
    "cashbill": (Provider.POPBILL, DocumentKind.CASH_RECEIPT),
    "payssam": (Provider.PAYSSAM, DocumentKind.BILL),
    "hiworks": (Provider.HIWORKS, None),
    "abillify": (Provider.ABILLIFY, DocumentKind.INVOICE),
}

OUR_REF = re.compile(r"^INV-?(\d{1,9})$", re.IGNORECASE)
_POPBILL_KEY = re.compile(r"^[0-9A-Za-z_-]{1,24}$")  # Popbill MgtKey: 1-24 of these
_PROVIDER_ID = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
APPROVAL_ID = re.compile(r"^#?(\d{1,12})$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
BIZNO_SPLIT = re.compile(r"[,;\s]+")
DIGEST_ACTIONS: Mapping[str, Literal["off", "now", "show"]] = {"off": "off", "now": "now", "show": "show"}


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


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """The choice closest to `word`, in either language, or None when nothing is close.

    Hangul is compared as jamo (`korean.jamo`): a typo of a Korean word suggests the Korean
    word, and English and Korean never look alike, so each suggests its own language.
    """
    by_jamo = {jamo(choice): choice for choice in choices}
    matches = difflib.get_close_matches(jamo(word.lower()), list(by_jamo), n=1, cutoff=0.6)
    return by_jamo[matches[0]] if matches else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    suggestion = suggest(word, choices)
    return " " + _("Did you mean `{suggestion}`?").format(suggestion=suggestion) if suggestion else ""


def show(token: str, limit: int = 40) -> str:
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
    ours = OUR_REF.match(token)
    if ours:
        number = int(ours.group(1))
        if number == 0:
            raise CommandError(_("{token} is not a document: our numbers start at INV-000001.").format(
                token=show(token)), subcommand=subcommand)
        return RefArg(key=f"INV-{number:06d}")
    prefix, sep, rest = token.partition(":")
    known = REF_PREFIXES.get(prefix.lower()) if sep else None
    if known is None:
        hint = _("A reference is our number (`INV-000123`) or `popbill:<MgtKey>`, `cashbill:<MgtKey>`, "
                 "`payssam:<billId>`, `hiworks:<documentId>`, `abillify:<reference>`.")
        if sep:
            suggestion = suggest(prefix, list(REF_PREFIXES))
            if suggestion:
                hint = _("Did you mean `{suggestion}`?").format(
                    suggestion=f"{suggestion}:{rest.replace('`', '')[:40]}") + " " + hint
        raise CommandError(_("{token} is not a document reference.").format(token=show(token)),
                           subcommand=subcommand, hint=hint)
    provider, kind = known
    pattern = _POPBILL_KEY if provider is Provider.POPBILL else _PROVIDER_ID
    if not pattern.match(rest):
        shape = (_("1–24 letters, digits, `-` or `_`") if provider is Provider.POPBILL
                 else _("1–64 letters, digits, `-`, `_`, `.` or `:`"))
        raise CommandError(_("{token}: the id after `{prefix}:` must be {shape}.").format(
            token=show(token), prefix=prefix.lower(), shape=shape), subcommand=subcommand)
    return RefArg(provider=provider, kind=kind, provider_id=rest)


def is_email(text: str) -> bool:
    return len(text) <= 254 and _EMAIL.match(text) is not None


@lru_cache(maxsize=1)
def _timezones() -> Mapping[str, str]:
    names = {name.lower(): name for name in zoneinfo.available_timezones()}
    names.setdefault("utc", "UTC")
    names["kst"] = "Asia/Seoul"
    return names


def parse_timezone(token: str) -> str:
    name = _timezones().get(token.lower())
    if name is None:
        suggestion = suggest(token, [n for n in _timezones().values() if "/" in n])
        hint = _("Did you mean `{suggestion}`?").format(suggestion=suggestion) + " " if suggestion else ""
        raise CommandError(_("{token} is not a time zone I know.").format(token=show(token)), subcommand="digest",
                           hint=hint + _("Use an IANA name such as `Asia/Seoul` or `Europe/Berlin`."))
    return name


def parse_date(token: str, what: str) -> dt.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
            raise ValueError
        return dt.date.fromisoformat(token)
    except ValueError:
        raise CommandError(_("{token} is not a date: the {what} date must be YYYY-MM-DD, e.g. 2024-05-01.").format(
            token=show(token), what=_(what)), subcommand="export") from None


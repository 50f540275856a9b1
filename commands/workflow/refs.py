"""Document references as people type them.

Two kinds, both accepted wherever a command takes a document:

* ours: ``INV-000123`` (also ``inv-123``, ``INV123``, ``#123`` and a bare ``123``), the
  ref every document issued through the bot gets;
* the provider's: ``popbill:<MgtKey>`` (tax invoice), ``cashbill:<MgtKey>`` (cash receipt),
  ``payssam:<billId>``, ``hiworks:<documentId>``, ``abillify:<reference>``, the same text
  `providers.models.DocumentRef` prints, so a document issued elsewhere can be looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.i18n import _
from commands.ledger import REF_PREFIX, format_ref
from providers.models import DocumentKind, DocumentRef, Provider

__all__ = ["EXTERNAL_PREFIXES", "ExternalRef", "InvalidRef", "OurRef", "ParsedRef", "parse_ref"]


class InvalidRef(ValueError):
    """The text is neither our ref nor a provider reference."""


@dataclass(frozen=True, slots=True)
class OurRef:
    document_id: int

    @property
    def ref(self) -> str:
        return format_ref(self.document_id)


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """A provider's own id; `kind` is what its prefix implies (the stored document may say more)."""

    provider: Provider
    kind: DocumentKind
    provider_id: str

    @property
    def document_ref(self) -> DocumentRef:
        return DocumentRef(provider=self.provider, kind=self.kind, provider_id=self.provider_id)

    def matches_kind(self, kind: DocumentKind) -> bool:
        """Whether a stored document of `kind` can be the one this prefix names."""
        if self.provider is Provider.POPBILL:
            return (kind is DocumentKind.CASH_RECEIPT) == (self.kind is DocumentKind.CASH_RECEIPT)
        return True

    def __str__(self) -> str:
        return str(self.document_ref)


ParsedRef = OurRef | ExternalRef

#: prefix -> (provider, the kind the prefix implies)
EXTERNAL_PREFIXES: dict[str, tuple[Provider, DocumentKind]] = {
    "popbill": (Provider.POPBILL, DocumentKind.TAX_INVOICE),
    "cashbill": (Provider.POPBILL, DocumentKind.CASH_RECEIPT),
    "payssam": (Provider.PAYSSAM, DocumentKind.BILL),
    "hiworks": (Provider.HIWORKS, DocumentKind.TAX_INVOICE),
    "abillify": (Provider.ABILLIFY, DocumentKind.INVOICE),
}

_OURS = re.compile(rf"^(?:{re.escape(REF_PREFIX.rstrip('-'))}-?|#)?0*(\d{{1,12}})$", re.IGNORECASE)
_EXTERNAL = re.compile(r"^([a-z]+):(\S{1,128})$", re.IGNORECASE)


def parse_ref(text: str) -> ParsedRef:
    """Parse what a user typed.

    Raises:
        InvalidRef: with a message that shows the accepted forms.

    Example::

        parse_ref("inv-12")          # OurRef(document_id=12)
        parse_ref("payssam:B-0001")  # ExternalRef(Provider.PAYSSAM, DocumentKind.BILL, "B-0001")
    """
    cleaned = (text or "").strip().strip("`<>")
    ours = _OURS.match(cleaned)
    if ours:
        number = int(ours.group(1))
        if number > 0:
            return OurRef(number)
    external = _EXTERNAL.match(cleaned)
    if external and external.group(1).lower() in EXTERNAL_PREFIXES:
        provider, kind = EXTERNAL_PREFIXES[external.group(1).lower()]
        return ExternalRef(provider=provider, kind=kind, provider_id=external.group(2))
    prefixes = ", ".join(f"{p}:<id>" for p in EXTERNAL_PREFIXES)
    raise InvalidRef(_("'{text}' is not a document reference: use our ref like {example}, or {prefixes}").format(
        text=text, example=format_ref(123), prefixes=prefixes))

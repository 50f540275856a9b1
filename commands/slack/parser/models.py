"""The typed commands `parse_command` returns: a pydantic discriminated union on `name`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from commands.ledger import Standing
from providers.models import DocumentKind, DocumentState, Provider, ResendChannel

__all__ = [
    "DEFAULT_TIMEZONE",
    "AmendCommand",
    "BulkCommand",
    "ClosureCommand",
    "Command",
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
]

DEFAULT_TIMEZONE = "Asia/Seoul"


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
    #: ``override <reason>``: why to ask although the buyer is closed or unregistered (휴폐업)
    override_reason: str | None = None
    #: an ISO 4217 code (``/invoice issue abillify usd``) for a provider that bills in several currencies
    currency: str | None = None


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
    state: DocumentState | None = None  # the provider's word: sent, filed, paid, ...
    standing: Standing | None = None  # where it stands on our side, as every surface labels it
    pending: bool = False  # approvals waiting, instead of documents
    provider: Provider | None = None


class ExportCommand(_Model):
    name: Literal["export"] = "export"
    start: dt.date
    end: dt.date
    layout: Literal["standard", "hometax"] = "standard"  # hometax: the columns of Hometax's list


class DigestCommand(_Model):
    name: Literal["digest"] = "digest"
    action: Literal["schedule", "off", "now", "show"]
    at: dt.time | None = None  # for schedule
    timezone: str = DEFAULT_TIMEZONE


class RetryCommand(_Model):
    name: Literal["retry"] = "retry"
    ref: RefArg | None = None
    approval_id: int | None = None


class DeadlinesCommand(_Model):
    """Tax invoices near or past a tax deadline; `within_days` None: the configured window."""

    name: Literal["deadlines"] = "deadlines"
    within_days: int | None = Field(default=None, ge=0, le=60)


class LangCommand(_Model):
    """``/invoice lang``: None shows the current language; "auto" forgets the person's choice."""

    name: Literal["lang"] = "lang"
    language: Literal["ko", "en", "auto"] | None = None
class BulkCommand(_Model):
    """``bulk``: a file shared in the channel (or the upload form); ``bulk form``; ``bulk template``."""

    name: Literal["bulk"] = "bulk"
    action: Literal["file", "form", "template"] = "file"


class AmendCommand(_Model):
    """수정세금계산서: no reason opens the form; `supply` is what reasons 1-3 need (see `parser.lifecycle`)."""

    name: Literal["amend"] = "amend"
    ref: RefArg
    reason: int | None = Field(default=None, ge=1, le=6)
    supply: int | None = None
    note: str | None = None


class SendNtsCommand(_Model):
    name: Literal["send-nts"] = "send-nts"
    ref: RefArg


class PdfCommand(_Model):
    name: Literal["pdf"] = "pdf"
    ref: RefArg


Command = Annotated[
    HelpCommand | IssueCommand | StatusCommand | ResendCommand | DestroyCommand | ClosureCommand
    | ListCommand | ExportCommand | DigestCommand | RetryCommand | AmendCommand | SendNtsCommand | PdfCommand
    | DeadlinesCommand | BulkCommand | LangCommand,
    Field(discriminator="name"),
]


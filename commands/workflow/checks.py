"""The one validation step a request passes before it is recorded for approval.

Everything knowable when a request is made is checked then, from the provider's declared
`Capabilities` (kinds, required buyer fields, quantity decimals, line limits, states in which
a document can no longer be destroyed, closure checks) and the deployment's `Policy` (how
many approvals an amount needs), so an approver never sees a request bound to fail.

`issue_problems` is pure: the issue form runs it for per-field errors, and `request_issue`
runs it again as the authority. Each problem names a field (``buyer.ceo_name``, ``items``,
``kind``, ``closure_override``) and says what to do; `ChecksFailed` carries them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from commands.i18n import N_, _
from commands.workflow.context import Policy, WorkflowContext
from commands.workflow.drafts import IssueDraft
from commands.workflow.errors import Conflict
from providers.base import BuyerField, Capabilities, InvoiceProvider, decimal_places
from providers.currency import is_iso_currency
from providers.errors import ProviderError, RequestInvalid
from providers.identity import InvalidIdentity, check_identity
from providers.models import BusinessState, BusinessStatus, DocumentKind, DocumentStatus, IssueRequest

__all__ = [
    "OVERRIDE_FIELD",
    "BuyerClosure",
    "ChecksFailed",
    "FieldProblem",
    "buyer_closure",
    "closure_applies",
    "closure_verdict",
    "issue_problems",
    "require_destroyable",
    "require_issue",
    "required_approvals",
]

#: the field a closed or unregistered buyer's override reason is given in
OVERRIDE_FIELD = "closure_override"

_BUYER_LABELS = {
    BuyerField.BIZNO: N_("the buyer's business number (사업자등록번호)"),
    BuyerField.NAME: N_("the buyer's name (상호)"),
    BuyerField.CEO_NAME: N_("the buyer's representative (대표자)"),
    BuyerField.EMAIL: N_("the buyer's e-mail address"),
    BuyerField.PHONE: N_("the buyer's mobile phone number"),
}

#: closure states that refuse a request unless the requester gives an override reason
_REFUSED_STATES = frozenset({BusinessState.CLOSED, BusinessState.UNREGISTERED})


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a request: the field it is about and what to do."""

    field: str
    message: str


class ChecksFailed(RequestInvalid):
    """A request refused before it was recorded; `problems` says what, field by field."""

    def __init__(self, problems: Sequence[FieldProblem], *, provider: str = "") -> None:
        self.problems = tuple(problems)
        super().__init__(" ".join(p.message for p in self.problems), provider=provider, code="checks")


def _kind_words(kind: DocumentKind) -> str:
    return kind.value.replace("_", " ")


def _kind_problem(capabilities: Capabilities, kind: DocumentKind) -> FieldProblem | None:
    if kind in capabilities.kinds:
        return None
    offered = ", ".join(_kind_words(k) for k in sorted(capabilities.kinds))
    return FieldProblem("kind", _("{provider} cannot issue a {kind}; it issues: {offered}.").format(
        provider=capabilities.provider.value, kind=_kind_words(kind), offered=offered))


def _buyer_problems(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> list[FieldProblem]:
    problems = []
    for field in sorted(capabilities.required_buyer_fields(request.kind)):
        value = getattr(request.buyer, field.value)
        if value is None or not str(value).strip():
            problems.append(FieldProblem(f"buyer.{field.value}", _(
                "{provider} refuses a {kind} without {what}: fill it in.").format(
                provider=capabilities.provider.value, kind=_kind_words(request.kind), what=_(_BUYER_LABELS[field]))))
    return problems


def _item_problems(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> list[FieldProblem]:
    problems: list[str] = []
    limit = capabilities.max_items
    if limit is not None and len(request.items) > limit:
        problems.append(_("{provider} takes at most {limit} line items ({count} given): split the document.").format(
            provider=capabilities.provider.value, limit=limit, count=len(request.items)))
    decimals = capabilities.quantity_decimals
    for number, item in enumerate(request.items, start=1):
        if decimals is not None and decimal_places(item.quantity) > decimals:
            problems.append(_("Line {n}: quantity {qty} has {places} decimals; {provider} allows {allowed}. "
                              "Round the quantity (or put the fraction in the unit price).").format(
                n=number, qty=item.quantity, places=decimal_places(item.quantity),
                provider=capabilities.provider.value, allowed=decimals))
    return [FieldProblem("items", " ".join(problems))] if problems else []


def _currency_problems(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> list[FieldProblem]:
    """An ISO 4217 code; whether the provider bills in it is `Capabilities.require_currency`'s refusal
    (Korean providers: KRW only), raised by `validate_issue` as before."""
    if not is_iso_currency(request.currency):
        return [FieldProblem("currency", _("{code} is not an ISO 4217 currency code (e.g. EUR, USD, KRW).").format(
            code=request.currency))]
    return []


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}%"


def _vat_problems(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> list[FieldProblem]:
    """The document's VAT treatment and the lines' rates, as the provider offers them."""
    problems: list[FieldProblem] = []
    allowed = capabilities.taxations_for(request.kind)
    if request.tax_type not in allowed:
        problems.append(FieldProblem("taxation", _("A {kind} at {provider} cannot be {taxation}; it can be: "
                                                   "{allowed}.").format(
            kind=_kind_words(request.kind), provider=capabilities.provider.value,
            taxation=request.tax_type.value.replace("_", "-"),
            allowed=", ".join(sorted(t.value.replace("_", "-") for t in allowed)))))
    rates = [("vat_rate", request.vat_rate)] + [("items", i.vat_rate) for i in request.items]
    for field, rate in rates:
        if rate is None:
            continue
        if not capabilities.vat_rates:
            problems.append(FieldProblem(field, _("{provider} applies the Korean 10% VAT; a line cannot carry a "
                                                  "rate of its own ({rate}).").format(
                provider=capabilities.provider.value, rate=_rate_text(rate))))
        elif rate not in capabilities.vat_rates:
            problems.append(FieldProblem(field, _("VAT rate {rate} is not one of the configured rates ({rates}).")
                                         .format(rate=_rate_text(rate),
                                                 rates=", ".join(_rate_text(r) for r in capabilities.vat_rates))))
    return problems


def _identity_problems(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> list[FieldProblem]:
    """A cash receipt's usage and identity number: the number must fit the usage (`providers.identity`)."""
    if request.kind not in capabilities.identity_kinds:
        if request.trade_usage is not None or request.identity_number is not None:
            return [FieldProblem("trade_usage", _("Only a cash receipt has a usage and an identity number."))]
        return []
    if request.trade_usage is None:
        if request.identity_number is not None:
            return [FieldProblem("trade_usage", _("Choose what the cash receipt is for: income deduction "
                                                  "(소득공제용) or expense proof (지출증빙용)."))]
        return []
    if not request.identity_number:
        return [FieldProblem("identity_number", _("Enter the number the cash receipt is issued to."))]
    try:
        check_identity(request.trade_usage, request.identity_number)
    except InvalidIdentity as exc:
        return [FieldProblem("identity_number", str(exc))]
    return []


def issue_problems(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> list[FieldProblem]:
    """Everything the provider's declared capabilities say is wrong with `request` (empty: nothing)."""
    kind = _kind_problem(capabilities, request.kind)
    if kind is not None:
        return [kind]  # the other rules are per kind
    return [*_buyer_problems(capabilities, request), *_item_problems(capabilities, request),
            *_currency_problems(capabilities, request), *_vat_problems(capabilities, request),
            *_identity_problems(capabilities, request)]


def require_issue(capabilities: Capabilities, request: IssueDraft | IssueRequest) -> None:
    """Raise `ChecksFailed` when `issue_problems` finds anything."""
    problems = issue_problems(capabilities, request)
    if problems:
        raise ChecksFailed(problems, provider=capabilities.provider.value)


def require_destroyable(capabilities: Capabilities, ref: str, status: DocumentStatus) -> None:
    """Refuse a destroy the provider's current state makes impossible (e.g. filed with the NTS)."""
    if capabilities.can_destroy_in(status.ref.kind, status.state):
        return
    note = capabilities.notes.get("destroy")
    raise Conflict(
        _("{ref} is {state} at {provider} (state {raw}), so it can no longer be destroyed.").format(
            ref=ref, state=status.state.value.replace("_", " "), provider=capabilities.provider.value,
            raw=status.raw_state),
        user_hint=_("Issue an amendment instead (수정세금계산서 / a cancellation document).")
        + (f" {capabilities.provider.value} {note}." if note else ""),
        code="destroy_blocked",
    )


def required_approvals(policy: Policy, total: int | None, *, overridden: bool = False) -> int:
    """How many distinct approvers a request needs: more above the amount threshold, one more again
    when the requester overrode a closure refusal (so the usual approver alone cannot wave it through)."""
    needed = 1
    if policy.two_approvals_above is not None and total is not None and total > policy.two_approvals_above:
        needed = max(needed, policy.large_amount_approvals)
    return needed + 1 if overridden else needed


# --------------------------------------------------------------------------- closure (휴폐업)


@dataclass(frozen=True)
class BuyerClosure:
    """The buyer's closure status as far as it could be learned: a status, or why there is none."""

    bizno: str
    status: BusinessStatus | None = None
    error: str | None = None
    cached: bool = False


async def buyer_closure(ctx: WorkflowContext, provider: InvoiceProvider, bizno: str, actor: str) -> BuyerClosure:
    """The buyer's closure status: from the cache when fresher than the TTL, else asked (and cached).

    A provider that does not answer within the policy's timeout is reported on the result, not
    raised: the check must never block a request on a closure service being down.
    """
    now = ctx.clock()
    cached = (await ctx.store.closures.latest([bizno])).get(bizno)
    if cached is not None and cached.checked_at is not None and now - cached.checked_at < ctx.policy.closure_ttl:
        known = BusinessStatus(bizno=bizno, state=BusinessState(cached.state), raw_state=cached.raw_state,
                               tax_type=cached.tax_type, state_date=cached.state_date, checked_at=cached.checked_at)
        return BuyerClosure(bizno, status=known, cached=True)
    try:
        async with asyncio.timeout(ctx.policy.closure_timeout.total_seconds()):
            statuses = await provider.check_closure([bizno])
    except TimeoutError:
        return BuyerClosure(bizno, error=_("{provider} did not answer in time").format(
            provider=provider.provider.value))
    except ProviderError as exc:
        return BuyerClosure(bizno, error=exc.message)
    status = next((s for s in statuses if s.bizno == bizno), None)
    if status is None:
        return BuyerClosure(bizno, error=_("{provider} returned no result").format(provider=provider.provider.value))
    await ctx.store.closures.record([status], provider=provider.provider, checked_by=actor, now=now)
    return BuyerClosure(bizno, status=status)


def _since(status: BusinessStatus) -> str:
    return _(" since {date}").format(date=status.state_date.isoformat()) if status.state_date else ""


def closure_verdict(closure: BuyerClosure, override_reason: str | None) -> tuple[list[str], bool]:
    """(warnings for the card, whether an override was used); raises `ChecksFailed` when the buyer is
    closed or unregistered and no override reason was given."""
    if closure.status is None:
        return [_("The buyer's closure status (휴폐업) could not be checked: {why}. Check it before approving."
                  ).format(why=closure.error or _("no answer"))], False
    status = closure.status
    if status.state in _REFUSED_STATES:
        word = _("closed (폐업)") if status.state is BusinessState.CLOSED else _("not registered")
        if not override_reason:
            raise ChecksFailed([FieldProblem(OVERRIDE_FIELD, _(
                "The buyer {bizno} is {word}{since} at the tax office. Check the business number, or give an "
                "override reason to ask anyway (it then needs one more approval).").format(
                bizno=closure.bizno, word=word, since=_since(status)))])
        return [_("The buyer {bizno} is {word}{since}; the requester overrode this: “{reason}”").format(
            bizno=closure.bizno, word=word, since=_since(status), reason=override_reason)], True
    if status.state is BusinessState.SUSPENDED:
        return [_("The buyer {bizno} is suspended (휴업){since}.").format(
            bizno=closure.bizno, since=_since(status))], False
    return [], False


def closure_applies(capabilities: Capabilities, request: IssueRequest) -> bool:
    """Whether the buyer is checked for closure: the provider can check, and the buyer is a business."""
    return capabilities.closure_check and bool(request.buyer.bizno)

"""`/invoice` text -> command models, and every refusal tells the user what to type."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.ledger import Standing
from commands.slack.parser import (
    USAGE,
    ClosureCommand,
    CommandError,
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
    is_mobile,
    normalise_phone,
    parse_command,
    parse_ref,
    unescape_slack,
)
from providers.models import DocumentKind, DocumentState, Provider, ResendChannel

TODAY = dt.date(2024, 5, 17)


def parse(text: str) -> object:
    return parse_command(text, today=TODAY)


def refusal(text: str) -> CommandError:
    with pytest.raises(CommandError) as info:
        parse_command(text, today=TODAY)
    return info.value


# -- help and empty text ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "?"])
def test_empty_text_and_help_show_general_help(text: str) -> None:
    assert parse(text) == HelpCommand()


def test_help_for_one_subcommand() -> None:
    assert parse("help status") == HelpCommand(topic="status")


def test_help_for_an_unknown_subcommand_suggests_the_closest() -> None:
    err = refusal("help stauts")
    assert "Did you mean `status`?" in str(err)
    assert USAGE["help"] in str(err)


# -- issue --------------------------------------------------------------------------------


def test_issue_without_arguments_opens_an_empty_form() -> None:
    assert parse("issue") == IssueCommand()


@pytest.mark.parametrize(
    ("text", "provider", "kind"),
    [
        ("issue popbill tax", Provider.POPBILL, DocumentKind.TAX_INVOICE),
        ("issue tax popbill", Provider.POPBILL, DocumentKind.TAX_INVOICE),
        ("issue hiworks zero", Provider.HIWORKS, DocumentKind.ZERO_RATED_INVOICE),
        ("issue hiworks exempt", Provider.HIWORKS, DocumentKind.EXEMPT_INVOICE),
        ("issue hiworks statement", Provider.HIWORKS, DocumentKind.STATEMENT),
        ("issue popbill cash", Provider.POPBILL, DocumentKind.CASH_RECEIPT),
        ("issue payssam bill", Provider.PAYSSAM, DocumentKind.BILL),
        ("issue Abillify INVOICE", Provider.ABILLIFY, DocumentKind.INVOICE),
        ("issue payssam", Provider.PAYSSAM, None),
        ("issue cash", None, DocumentKind.CASH_RECEIPT),
    ],
)
def test_issue_takes_an_optional_provider_and_kind(text: str, provider: Provider | None,
                                                   kind: DocumentKind | None) -> None:
    assert parse(text) == IssueCommand(provider=provider, kind=kind)


def test_issue_refuses_an_unknown_word_with_a_suggestion() -> None:
    err = refusal("issue popbil tax")
    assert "`popbil`" in err.problem
    assert "Did you mean `popbill`?" in err.problem
    assert err.usage == USAGE["issue"]


def test_issue_refuses_two_providers() -> None:
    err = refusal("issue popbill hiworks")
    assert "`hiworks`" in err.problem and err.subcommand == "issue"


# -- references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("INV-000123", RefArg(key="INV-000123")),
        ("inv-123", RefArg(key="INV-000123")),
        ("INV123", RefArg(key="INV-000123")),
        ("INV-1234567", RefArg(key="INV-1234567")),
        ("popbill:20240502-001", RefArg(provider=Provider.POPBILL, provider_id="20240502-001")),
        ("cashbill:CB_1", RefArg(provider=Provider.POPBILL, kind=DocumentKind.CASH_RECEIPT, provider_id="CB_1")),
        ("PAYSSAM:B0001", RefArg(provider=Provider.PAYSSAM, kind=DocumentKind.BILL, provider_id="B0001")),
        ("hiworks:987654", RefArg(provider=Provider.HIWORKS, provider_id="987654")),
        ("abillify:inv.2024.7", RefArg(provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE,
                                       provider_id="inv.2024.7")),
    ],
)
def test_references_are_parsed_and_normalised(token: str, expected: RefArg) -> None:
    assert parse_ref(token) == expected


def test_a_ref_prints_back_in_its_canonical_form() -> None:
    assert str(parse_ref("inv-7")) == "INV-000007"
    assert str(parse_ref("cashbill:K1")) == "cashbill:K1"
    assert str(parse_ref("Hiworks:55")) == "hiworks:55"


def test_inv_zero_is_not_a_document() -> None:
    assert "INV-000001" in str(refusal("status INV-0"))


def test_a_popbill_key_longer_than_24_characters_is_refused() -> None:
    err = refusal("status popbill:" + "A" * 25)
    assert "1–24" in err.problem and err.usage == USAGE["status"]


def test_a_misspelt_prefix_gets_a_suggestion() -> None:
    err = refusal("status payssm:B1")
    assert "Did you mean `payssam:B1`?" in str(err)


def test_garbage_is_not_a_reference() -> None:
    err = refusal("status hello")
    assert "`hello` is not a document reference" in err.problem
    assert "INV-000123" in str(err)


# -- status, resend, destroy ------------------------------------------------------------------


def test_status() -> None:
    assert parse("status inv-42") == StatusCommand(ref=RefArg(key="INV-000042"))


def test_status_needs_a_reference() -> None:
    err = refusal("status")
    assert "needs the document's reference" in err.problem
    assert "Usage: `/invoice status" in str(err)


def test_status_takes_one_reference() -> None:
    assert refusal("status INV-1 INV-2").subcommand == "status"


def test_resend_with_the_providers_default_channel() -> None:
    assert parse("resend INV-1") == ResendCommand(ref=RefArg(key="INV-000001"))


def test_resend_by_email_unescapes_slacks_mailto_link() -> None:
    cmd = parse("resend INV-1 email <mailto:billing@acme.co.kr|billing@acme.co.kr>")
    assert cmd == ResendCommand(ref=RefArg(key="INV-000001"), channel=ResendChannel.EMAIL,
                                address="billing@acme.co.kr")


def test_resend_to_a_bare_email_address_means_email() -> None:
    cmd = parse("resend INV-1 billing@acme.co.kr")
    assert isinstance(cmd, ResendCommand) and cmd.channel is ResendChannel.EMAIL


def test_resend_by_email_without_address_uses_the_one_on_file() -> None:
    cmd = parse("resend INV-1 email")
    assert isinstance(cmd, ResendCommand) and cmd.channel is ResendChannel.EMAIL and cmd.address is None


def test_resend_by_sms_unescapes_tel_links_and_normalises_the_number() -> None:
    cmd = parse("resend payssam:B1 sms <tel:+82 10-1234-5678|+82 10-1234-5678>")
    assert cmd == ResendCommand(ref=RefArg(provider=Provider.PAYSSAM, kind=DocumentKind.BILL, provider_id="B1"),
                                channel=ResendChannel.SMS, address="01012345678")


def test_resend_by_fax_and_talk() -> None:
    fax = parse("resend INV-1 fax 02-123-4567")
    assert isinstance(fax, ResendCommand) and fax.address == "021234567"
    assert parse("resend INV-1 talk") == ResendCommand(ref=RefArg(key="INV-000001"), channel=ResendChannel.TALK)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resend INV-1 email billing-at-acme", "is not an e-mail address"),
        ("resend INV-1 sms 02-123-4567", "is not a mobile number"),
        ("resend INV-1 fax", "A fax needs the number"),
        ("resend INV-1 fax 12", "is not a fax number"),
        ("resend INV-1 talk 010-1234-5678", "takes no address"),
        ("resend INV-1 pigeon", "is not a way to resend"),
        ("resend INV-1 emial", "Did you mean `email`?"),
        ("resend", "needs the document's reference"),
    ],
)
def test_resend_refusals(text: str, expected: str) -> None:
    err = refusal(text)
    assert expected in str(err)
    assert err.usage == USAGE["resend"]


def test_destroy_with_and_without_reason() -> None:
    assert parse("destroy INV-9") == DestroyCommand(ref=RefArg(key="INV-000009"))
    assert parse("destroy INV-9 wrong amount, reissue") == DestroyCommand(
        ref=RefArg(key="INV-000009"), reason="wrong amount, reissue")


def test_destroy_refuses_an_essay() -> None:
    err = refusal("destroy INV-9 " + "x" * 300)
    assert "keep it under 200" in err.problem and err.usage == USAGE["destroy"]


# -- closure ---------------------------------------------------------------------------------


def test_closure_accepts_commas_spaces_and_hyphens_and_drops_duplicates() -> None:
    cmd = parse("closure 220-81-62517, 2208162517  1018207409,")
    assert cmd == ClosureCommand(biznos=("2208162517", "1018207409"))


def test_closure_keeps_a_checksum_mismatch_with_a_warning() -> None:
    cmd = parse("closure 123-45-67890")
    assert isinstance(cmd, ClosureCommand)
    assert cmd.biznos == ("1234567890",)
    assert "check digit" in cmd.warnings[0]


def test_closure_names_the_numbers_that_are_not_business_numbers() -> None:
    err = refusal("closure 220-81-62517 12345 abcdefghij")
    assert "`12345`" in err.problem and "`abcdefghij`" in err.problem
    assert err.usage == USAGE["closure"]


def test_closure_takes_up_to_100_numbers() -> None:
    numbers = [f"{n:010d}" for n in range(1_000_000_000, 1_000_000_101)]
    assert len(parse("closure " + " ".join(numbers[:100])).biznos) == 100  # type: ignore[attr-defined]
    err = refusal("closure " + ",".join(numbers))
    assert "101 numbers" in err.problem and "Split" in str(err)


def test_closure_needs_a_number() -> None:
    assert "at least one" in refusal("closure , ,").problem


# -- list, export ---------------------------------------------------------------------------


def test_list_filters_in_any_order() -> None:
    assert parse("list") == ListCommand()
    assert parse("list filed popbill") == ListCommand(state=DocumentState.FILED, provider=Provider.POPBILL)
    assert parse("list hiworks cancelled") == ListCommand(standing=Standing.CANCELLED, provider=Provider.HIWORKS)
    assert parse("list pending") == ListCommand(pending=True)


def test_list_words_for_a_gone_document_all_mean_cancelled_as_every_surface_labels_it() -> None:
    for word in ("cancelled", "canceled", "deleted", "destroyed"):
        assert parse(f"list {word}") == ListCommand(standing=Standing.CANCELLED), word
    assert parse("list rejected") == ListCommand(standing=Standing.REJECTED)
    assert parse("list expired") == ListCommand(state=DocumentState.EXPIRED)  # a bill the buyer let lapse
    assert refusal("list rejected filed").usage == USAGE["list"]  # one state filter at a time


def test_list_refuses_an_unknown_state_with_a_suggestion() -> None:
    err = refusal("list fild")
    assert "Did you mean `filed`?" in err.problem
    assert "pending" in str(err) and err.usage == USAGE["list"]


def test_export_defaults_to_this_month() -> None:
    assert parse("export") == ExportCommand(start=dt.date(2024, 5, 1), end=TODAY)


def test_export_with_one_or_two_dates() -> None:
    assert parse("export 2024-04-01") == ExportCommand(start=dt.date(2024, 4, 1), end=TODAY)
    assert parse("export 2024-04-01 2024-04-30") == ExportCommand(start=dt.date(2024, 4, 1),
                                                                  end=dt.date(2024, 4, 30))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export 2024-4-1", "must be YYYY-MM-DD"),
        ("export 2024-02-30", "is not a date"),
        ("export 2024-05-01 2024-04-01", "starts (2024-05-01) after it ends (2024-04-01)"),
        ("export 2024-01-01 2024-02-01 2024-03-01", "at most two dates"),
    ],
)
def test_export_refusals(text: str, expected: str) -> None:
    err = refusal(text)
    assert expected in str(err) and err.usage == USAGE["export"]


# -- digest, retry ---------------------------------------------------------------------------


def test_digest_schedule_with_default_and_explicit_timezone() -> None:
    assert parse("digest schedule 09:00") == DigestCommand(action="schedule", at=dt.time(9, 0),
                                                          timezone="Asia/Seoul")
    assert parse("digest schedule 7:30 europe/berlin") == DigestCommand(action="schedule", at=dt.time(7, 30),
                                                                       timezone="Europe/Berlin")
    assert parse("digest schedule 18:00 KST") == DigestCommand(action="schedule", at=dt.time(18, 0),
                                                              timezone="Asia/Seoul")


@pytest.mark.parametrize("action", ["off", "now", "show"])
def test_digest_actions(action: str) -> None:
    assert parse(f"digest {action}") == DigestCommand.model_validate({"action": action})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digest", "needs an action"),
        ("digest schedule", "needs a time"),
        ("digest schedule 25:00", "is not a time"),
        ("digest schedule 9am", "is not a time"),
        ("digest schedule 09:00 Asia/Seol", "Did you mean `Asia/Seoul`?"),
        ("digest schedule 09:00 ../../etc/passwd", "is not a time zone"),
        ("digest weekly", "is not a digest action"),
        ("digest off now", "takes nothing more"),
    ],
)
def test_digest_refusals(text: str, expected: str) -> None:
    err = refusal(text)
    assert expected in str(err) and err.usage == USAGE["digest"]


def test_retry_an_approval_or_a_document() -> None:
    assert parse("retry 42") == RetryCommand(approval_id=42)
    assert parse("retry #7") == RetryCommand(approval_id=7)
    assert parse("retry inv-5") == RetryCommand(ref=RefArg(key="INV-000005"))
    assert parse("retry popbill:K-1") == RetryCommand(ref=RefArg(provider=Provider.POPBILL, provider_id="K-1"))


def test_retry_refusals() -> None:
    assert refusal("retry").usage == USAGE["retry"]
    assert "not an approval id" in refusal("retry a/b").problem
    assert "not an approval id" in refusal("retry 0").problem


# -- unknown subcommands, escaping ----------------------------------------------------------


def test_an_unknown_subcommand_suggests_the_closest_with_its_usage() -> None:
    err = refusal("stauts INV-1")
    assert "There is no subcommand `stauts`. Did you mean `status`?" in str(err)
    assert USAGE["status"] in str(err)


def test_an_unknown_subcommand_without_a_close_match_lists_them_all() -> None:
    err = refusal("frobnicate")
    assert "`closure`" in str(err) and "/invoice help" in str(err)


def test_a_bare_reference_is_answered_with_the_status_command() -> None:
    assert "/invoice status INV-000123" in str(refusal("INV-000123"))


def test_unescape_slack() -> None:
    assert unescape_slack("<mailto:a@b.co|a@b.co>") == "a@b.co"
    assert unescape_slack("<tel:010-1234-5678|010-1234-5678>") == "010-1234-5678"
    assert unescape_slack("R&amp;D &lt;x&gt;") == "R&D <x>"
    assert unescape_slack("<@U123|kim> hi") == "<@U123|kim> hi"


@pytest.mark.parametrize(
    ("text", "digits"),
    [("010-1234-5678", "01012345678"), ("+82 10 1234 5678", "01012345678"), ("02-123-4567", "021234567"),
     ("031-123-4567", "0311234567"), ("1588-1234", "15881234"), ("12345", None), ("010-12-34", None)],
)
def test_normalise_phone(text: str, digits: str | None) -> None:
    assert normalise_phone(text) == digits


# -- fuzzing --------------------------------------------------------------------------------

_words = st.sampled_from([
    "help", "issue", "status", "resend", "destroy", "closure", "list", "export", "digest", "retry", "schedule",
    "popbill", "payssam", "tax", "cash", "email", "sms", "fax", "talk", "pending", "INV-1", "inv-000000",
    "popbill:", "cashbill:x", "payssam:" + "9" * 70, "2024-02-30", "25:61", "Asia/Seoul", "<mailto:a@b|a@b>",
    "<tel:+82|x>", "&amp;", "`", "\x00", "１２３", "١٢٣", "123-45-67890", "0" * 10,
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(st.one_of(_words, st.text(max_size=12)), max_size=8).map(" ".join)))
def test_the_parser_only_ever_raises_command_error(text: str) -> None:
    try:
        command = parse_command(text, today=TODAY)
    except CommandError as err:
        message = str(err)
        assert message.strip()
        assert "Traceback" not in message and "ValidationError" not in message
    else:
        assert command.name in USAGE


def test_one_mobile_rule_for_sms_and_the_issue_modal() -> None:
    assert is_mobile("01012345678") and is_mobile("0161234567")
    assert not is_mobile("0212345678") and not is_mobile("15881234")
    assert normalise_phone("02-123-4567") == "021234567" and not is_mobile("021234567")


# -- issue 9: provider/kind pairs from the declared capabilities ------------------------------------


@pytest.mark.parametrize(("text", "offered"), [
    ("issue hiworks cash", ["`tax`", "`zero`", "`exempt`", "`statement`"]),
    ("issue popbill bill", ["`tax`", "`zero`", "`exempt`", "`cash`"]),
    ("issue payssam tax", ["`bill`"]),
    ("issue abillify statement", ["`invoice`"]),
])
def test_a_kind_the_provider_does_not_issue_is_refused_with_what_it_does(text: str, offered: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    message = str(caught.value)
    assert "does not issue" in message
    assert all(word in message for word in offered)


@pytest.mark.parametrize("text", ["issue hiworks tax", "issue popbill cash", "issue payssam bill", "issue abillify"])
def test_supported_pairs_still_open_the_form(text: str) -> None:
    assert isinstance(parse_command(text), IssueCommand)


def test_an_override_reason_is_an_issue_option() -> None:
    parsed = parse_command("issue popbill tax override buyer reopened in May")
    assert isinstance(parsed, IssueCommand) and parsed.override_reason == "buyer reopened in May"
    with pytest.raises(CommandError):
        parse_command("issue popbill tax override")


def test_issue_takes_a_currency_for_a_provider_that_bills_in_several() -> None:
    from commands.slack.parser import CommandError, parse_command
    parsed = parse_command("issue abillify usd")
    assert (parsed.provider.value, parsed.currency) == ("abillify", "USD")  # type: ignore[union-attr]
    with pytest.raises(CommandError, match="KRW only"):
        parse_command("issue popbill eur")


@pytest.mark.parametrize(("text", "days"), [("deadlines", None), ("기한", None), ("deadlines 10", 10),
                                            ("기한 0", 0)])
def test_deadlines_in_both_languages(text: str, days: int | None) -> None:
    parsed = parse_command(text)
    assert isinstance(parsed, DeadlinesCommand) and parsed.within_days == days


@pytest.mark.parametrize("text", ["deadlines soon", "deadlines 61", "기한 1 2"])
def test_deadlines_takes_at_most_a_number_of_days(text: str) -> None:
    with pytest.raises(CommandError, match="deadlines"):
        parse_command(text)

"""`amend`, `send-nts` and `pdf` as typed, and the refusals that say what to type."""

from __future__ import annotations

import pytest

from commands.slack.parser import AmendCommand, CommandError, PdfCommand, SendNtsCommand, parse_command


@pytest.mark.parametrize(("text", "reason", "supply", "note"), [
    ("amend INV-1", None, None, None),
    ("amend inv-1 4", 4, None, None),
    ("amend INV-1 2 -50,000", 2, -50_000, None),
    ("amend INV-1 3 30000 반품 처리", 3, 30_000, "반품 처리"),
    ("amend INV-1 1 120000", 1, 120_000, None),
    ("amend INV-1 5 L/C M1234", 5, None, "L/C M1234"),
])
def test_amend(text: str, reason: int | None, supply: int | None, note: str | None) -> None:
    parsed = parse_command(text)
    assert isinstance(parsed, AmendCommand)
    assert (str(parsed.ref), parsed.reason, parsed.supply, parsed.note) == ("INV-000001", reason, supply, note)


@pytest.mark.parametrize(("text", "said"), [
    ("amend", "needs the document's reference"),
    ("amend INV-1 7", "not a reason: use 1 to 6"),
    ("amend INV-1 2", "Reason 2 needs"),
    ("amend INV-1 3 abc", "Reason 3 needs"),
    ("send-nts", "takes one document reference"),
    ("pdf INV-1 INV-2", "takes one document reference"),
])
def test_refusals_say_what_to_type(text: str, said: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert said in caught.value.message and "Usage: `/invoice" in caught.value.message


def test_send_nts_and_pdf() -> None:
    assert parse_command("send-nts INV-2") == SendNtsCommand(ref=parse_command("status INV-2").ref)  # type: ignore[union-attr]
    assert isinstance(parse_command("sendnts popbill:INV-000002"), SendNtsCommand)
    assert isinstance(parse_command("pdf INV-3"), PdfCommand)

"""Slack mrkdwn as plain terminal text."""

from __future__ import annotations

from bot.console.mrkdwn import rich_text, strip_mrkdwn, text_of


def test_mrkdwn_is_lightly_stripped() -> None:
    assert strip_mrkdwn("*Bold* and _it_ and ~gone~ and `INV-1`") == "Bold and it and gone and INV-1"
    assert strip_mrkdwn("<@U1> in <#C1|finance>: <https://x.y|the PDF> <!here>") == \
        "@U1 in #finance: the PDF (https://x.y) @here"
    assert strip_mrkdwn("R&amp;D &lt;ok&gt; file_name_here") == "R&D <ok> file_name_here"


def test_text_objects_and_rich_text_read_as_their_words() -> None:
    assert text_of({"type": "mrkdwn", "text": "*Buyer*"}) == "Buyer"
    assert text_of({"type": "plain_text", "text": "*as typed* &amp;"}) == "*as typed* &"
    assert text_of(None) == ""
    section = {"type": "rich_text_section", "elements": [
        {"type": "text", "text": "paid by "}, {"type": "user", "user_id": "U0KIM"},
        {"type": "text", "text": ", see "}, {"type": "link", "url": "https://x.y"}]}
    assert rich_text({"type": "rich_text", "elements": [section]}) == "paid by @U0KIM, see https://x.y"

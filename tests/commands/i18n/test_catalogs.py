"""The catalogs match the source: every message translated in Korean, none unused, placeholders kept.

The catalog is extracted from the source here (as `scripts/i18n` does with `pybabel extract`),
so a new `_()` string without a Korean translation, or a translation whose string left the
code, fails this test until `bash scripts/i18n` is run and the Korean msgstr written.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from commands.i18n import _, ngettext, use_locale
from commands.i18n.core import LOCALE_DIR
from commands.i18n.english import fill_english
from tests.paths import REPO_ROOT

MsgId = str | tuple[str, ...]
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


@cache
def extracted() -> frozenset[MsgId]:
    """Every msgid in the source, by the same mapping (babel.cfg) and folders as scripts/i18n."""
    with (REPO_ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    ids: set[MsgId] = set()
    for folder in ("commands", "bot"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                REPO_ROOT / folder, method_map, options_map, comment_tags=("TRANSLATORS:",)):
            ids.add(message if isinstance(message, str) else tuple(message))
    return frozenset(ids)


def catalog(language: str) -> Catalog:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with Path(path).open("rb") as handle:
        return read_po(handle, locale=language)


def messages(language: str) -> list[Message]:
    return [m for m in catalog(language) if m.id]


def key(message: Message) -> MsgId:
    return message.id if isinstance(message.id, str) else tuple(message.id)


def strings(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def test_the_source_has_messages_to_translate() -> None:
    assert "Approve" in extracted() and len(extracted()) > 300


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_message_in_the_source_is_in_the_catalog_and_nothing_else(language: str) -> None:
    in_catalog = {key(m) for m in messages(language)}
    missing = sorted(map(str, extracted() - in_catalog))
    unused = sorted(map(str, in_catalog - extracted()))
    assert not missing, f"not in {language}/messages.po (run bash scripts/i18n): {missing[:20]}"
    assert not unused, f"in {language}/messages.po but no longer in the source (run bash scripts/i18n): {unused[:20]}"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_message_is_translated_and_keeps_its_placeholders(language: str) -> None:
    for message in messages(language):
        translations = strings(message)
        assert all(translations) and not message.fuzzy, f"untranslated in {language}: {message.id!r}"
        sources = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        wanted = set(PLACEHOLDER.findall(sources[0]))
        for translation in translations:
            assert set(PLACEHOLDER.findall(translation)) == wanted, (
                f"{language}: {message.id!r} -> {translation!r} changes the placeholders")


def test_korean_is_korean_and_english_is_the_source() -> None:
    hangul = re.compile("[\uac00-\ud7a3]")
    for message in messages("ko"):
        words = PLACEHOLDER.sub("", strings(message)[0])
        if not re.search("[A-Za-z]{2}", PLACEHOLDER.sub("", message.id if isinstance(message.id, str) else "x")):
            continue  # only placeholders and signs ("{action} {kind}"): nothing to write in Korean
        assert hangul.search(words) or message.id in _SAME_IN_KOREAN, f"English left in Korean: {message.id!r}"
    for message in messages("en"):
        assert strings(message)[0] == (message.id if isinstance(message.id, str) else message.id[0])


#: msgids whose Korean has no Hangul on purpose (names, examples, markers, a separator)
_SAME_IN_KOREAN = frozenset({
    "PDF", "📄 PDF", "Abillify", " and ", "/invoice lang [ko|en|auto]", "🧪 SANDBOX", "billing@example.co.kr",
    "{provider} (SANDBOX)",
})


def test_the_bot_speaks_korean_through_the_catalog() -> None:
    with use_locale("ko"):
        assert _("Approve") == "승인" and _("Reject") == "반려"
        assert ngettext("{count} unpaid bill", "{count} unpaid bills", 3).format(count=3) == "미결제 청구서 3건"
    with use_locale("en"):
        assert ngettext("{count} unpaid bill", "{count} unpaid bills", 3).format(count=3) == "3 unpaid bills"


def test_english_is_filled_from_the_msgids() -> None:
    english = Catalog(locale="en")
    english.add("Approve")
    english.add(("{count} bill", "{count} bills"))
    assert fill_english(english) == 2
    assert english["Approve"].string == "Approve"
    assert english[("{count} bill", "{count} bills")].string == ("{count} bill", "{count} bills")

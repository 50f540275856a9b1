"""Provider texts a person reads, in their language where we know the text.

`providers/` knows no Slack and no languages: its errors and warnings are English sentences
(`ProviderError.message` and `.user_hint`, `check_bizno` warnings). The ones that reach people
most (connection trouble, timeouts, rate limits, unreadable answers, business numbers) are
listed here as msgids with named placeholders; `provider_words` matches a provider's sentence
against them and answers the translation, with the placeholders filled from the sentence.
A sentence we do not know is shown as the provider wrote it; Popbill writes its own messages in
Korean with an English gloss in brackets (``…존재하지 않습니다. (Document ID does not exist)``),
and a Korean reader gets the Korean part only.
"""

from __future__ import annotations

import re
from functools import cache

from commands.i18n import N_, _, current_locale

__all__ = ["KNOWN_TEXTS", "provider_words"]

#: the provider sentences we translate, exactly as `providers/` writes them
KNOWN_TEXTS: tuple[str, ...] = (
    # providers/http.py: what went wrong
    N_("could not connect ({error})"),
    N_("sent, but no answer came ({error})"),
    N_("no answer ({error})"),
    N_("too many requests (429)"),
    N_("under maintenance (503)"),
    N_("gateway error ({status})"),
    N_("{operation}: got an HTML page (HTTP {status}) instead of JSON"),
    N_("{operation}: unreadable body (HTTP {status})"),
    # providers/http.py: what to do
    N_("The provider could not be reached. Nothing was done; try again in a minute."),
    N_("The request reached the provider but no answer came back. I will check with the provider before doing "
       "anything again."),
    N_("The provider did not answer in time. Try again in a minute."),
    N_("The provider is rate-limiting us. Try again in {seconds} s."),
    N_("The provider is rate-limiting us. Try again shortly."),
    N_("The provider is temporarily unavailable. Nothing was done; try again later."),
    N_("The provider answered with an error page. Try again later; if it persists, check the provider's status "
       "page."),
    N_("The provider's answer could not be read. Try again later."),
    # providers/bizno.py
    N_("a business number is required (10 digits, e.g. 123-45-67890)"),
    N_("'{text}' is not a business number: only digits and hyphens are allowed"),
    N_("'{text}' has {count} digits; a business number has 10 (e.g. 123-45-67890)"),
    N_("{number}: the check digit does not match. Some real numbers fail it; double-check the number (a closure "
       "check asks the tax office)."),
    # the provider services' most frequent advice
    N_("Popbill had an internal error. Nothing was done; try again later."),
    N_("Popbill has no document with this key. Check the key."),
    N_("Popbill answered with an unexpected error. Try again later."),
    N_("Payssam had an internal error. Try again later."),
    N_("Check the document on the Popbill website."),
    N_("Give the buyer's e-mail address."),
    N_("Give the buyer's fax number."),
    # what a provider says about a document's state (DocumentStatus.detail)
    N_("cancelled and deleted; the key is free again"),
    N_("deleted; the key is free again"),
)

_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")
_HANGUL = re.compile("[\uac00-\ud7a3]")
#: Popbill's English gloss after its Korean message: ``… (Document ID does not exist)``
_ENGLISH_GLOSS = re.compile(r"\s*\([^()\uac00-\ud7a3]*[A-Za-z][^()\uac00-\ud7a3]*\)\s*$")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each known sentence as a regular expression whose named groups are its placeholders."""
    compiled = []
    for msgid in KNOWN_TEXTS:
        pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(msgid))
        compiled.append((re.compile(pattern, re.DOTALL), msgid))
    return tuple(compiled)


def provider_words(text: str) -> str:
    """`text` in the current language when it is a sentence we know, else as it is."""
    for pattern, msgid in _patterns():
        match = pattern.fullmatch(text)
        if match:
            return _(msgid).format(**match.groupdict())
    if current_locale() == "ko" and _HANGUL.search(text):
        return _ENGLISH_GLOSS.sub("", text)
    return text

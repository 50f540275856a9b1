"""The current locale and the translation lookup (see the package docstring)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.support import NullTranslations, Translations

SUPPORTED_LOCALES: tuple[str, ...] = ("ko", "en")
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

_current: ContextVar[str] = ContextVar("invoicebot_locale", default=DEFAULT_LOCALE)


def normalise_locale(value: str | None) -> str | None:
    """`ko-KR`, `ko_KR`, `KO` → `ko`; anything we do not speak → None."""
    if not value:
        return None
    language = value.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str | None) -> str:
    """Render in `locale` for the rest of the current task (unknown or empty: the default).

    For Bolt middleware: Bolt runs middleware one after another and only then the listener, in
    a task it creates then (which copies this context), so a `with use_locale()` around `next()`
    would be over before the listener starts. Each request runs in a task of its own (aiohttp,
    Socket Mode, the console), so the setting does not outlive the request.
    """
    chosen = normalise_locale(locale) or DEFAULT_LOCALE
    _current.set(chosen)
    return chosen


@contextlib.contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Render everything inside in `locale` (unknown or empty: the current one stays)."""
    chosen = normalise_locale(locale) or _current.get()
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


@cache
def _translations(locale: str) -> NullTranslations:
    """The compiled catalog, or the .po read directly when the build has not compiled it yet."""
    mo = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)
    if po.exists():
        return _from_po(po)
    return NullTranslations()


def _from_po(po: Path) -> NullTranslations:
    """Compile `po` in memory. Babel's catalog tools (``babel.messages``: its catalog, the .po
    parser, difflib; 0.3 MB at idle) are imported here, not with the module: a bot whose build
    compiled the .mo files (the image, `scripts/bootstrap`) never needs them, and any other
    reads the catalogs on the first message translated, not at start."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _(message: str) -> str:
    """`message` (an English msgid) in the current locale."""
    if not message:
        return message
    return _translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations(_current.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, where it is shown, with `_()`."""
    return message

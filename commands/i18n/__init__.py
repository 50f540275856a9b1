"""Languages: every user-facing string goes through `_()` (gettext), catalogs managed with Babel.

The message ids are English; `commands/i18n/locale/<lang>/LC_MESSAGES/messages.po` holds each
language (Korean and English complete). Which language a string renders in is the *current
locale*, a context variable set with `use_locale()` around the work done for one person or one
channel, so builders take no language argument and a concurrent request never sees another's.

`N_()` marks a string for extraction without translating it (module-level constants), and
`_()` translates such a constant at render time.
"""

from __future__ import annotations

from commands.i18n.core import (
    DEFAULT_LOCALE,
    N_,
    SUPPORTED_LOCALES,
    _,
    current_locale,
    ngettext,
    normalise_locale,
    set_locale,
    use_locale,
)

__all__ = [
    "DEFAULT_LOCALE",
    "N_",
    "SUPPORTED_LOCALES",
    "_",
    "current_locale",
    "ngettext",
    "normalise_locale",
    "set_locale",
    "use_locale",
]

"""``/invoice lang [ko|en|auto]``: the language a person reads the bot in.

Kept in its own module so the Korean words of the other subcommands (`subcommands.py`) and
this one grow apart without touching each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from commands.i18n import _
from commands.slack.parser.errors import CommandError
from commands.slack.parser.models import LangCommand
from commands.slack.parser.tokens import show

__all__ = ["LANGUAGE_WORDS", "parse_lang"]

#: what a person may type for each choice ("auto": back to the workspace or Slack's locale)
LANGUAGE_WORDS: Mapping[str, str] = {
    "ko": "ko", "kr": "ko", "korean": "ko", "한국어": "ko", "한글": "ko",
    "en": "en", "english": "en", "영어": "en",
    "auto": "auto", "default": "auto", "reset": "auto", "자동": "auto", "기본": "auto",
}


def parse_lang(args: list[str]) -> LangCommand:
    """No word: show the current language; else the chosen one."""
    if not args:
        return LangCommand()
    if len(args) > 1:
        raise CommandError(_("`lang` takes one language: ko, en or auto."), subcommand="lang")
    language = LANGUAGE_WORDS.get(args[0].lower())
    if language is None:
        raise CommandError(_("{word} is not a language I speak: use ko, en or auto.").format(word=show(args[0])),
                           subcommand="lang")
    return LangCommand(language=language)

"""``/invoice lang [ko|en|auto]``: show or choose the language the bot writes to a person in.

The choice is stored (`user_prefs`), so it holds across restarts and instances; the answer is
written in the language just chosen, so the person sees at once what they picked.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_bolt.async_app import AsyncApp

from commands.i18n import N_, _, current_locale, use_locale
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.language import AUTO
from commands.slack.parser import LangCommand

__all__ = ["language_name", "register"]

#: each language by its own name, so anyone can find theirs whatever the current language
_NAMES: Mapping[str, str] = {"ko": "한국어", "en": "English"}
_SOURCE: Mapping[str, str] = {
    "chosen": N_("you chose it with `/invoice lang`"),
    "workspace": N_("this workspace is set to it (its settings, or INVOICEBOT_LANGUAGE)"),
    "auto": N_("it is your Slack language, or this workspace's when Slack does not say"),
}


def language_name(language: str) -> str:
    return _NAMES.get(language, language)


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `lang` to the `/invoice` table."""

    async def on_lang(invocation: Invocation, parsed: LangCommand) -> None:
        languages = deps.languages
        if parsed.language is None:
            chosen = await languages.chosen(invocation.user)
            source = "chosen" if chosen else ("workspace" if await languages.fixed() else "auto")
            text = _("You read invoicebot in {language}: {why}.").format(
                language=language_name(current_locale()), why=_(_SOURCE[source]))
            text += "\n" + _("Change it with `/invoice lang ko`, `/invoice lang en` or `/invoice lang auto`.")
            await invocation.respond(text=text, response_type="ephemeral")
            return
        choice = None if parsed.language == AUTO else parsed.language
        await languages.choose(invocation.user, choice)
        with use_locale(await languages.for_person(invocation.user)):
            if choice is None:
                text = _("Done: you now read invoicebot in {language}, your Slack or workspace language.")
            else:
                text = _("Done: you now read invoicebot in {language}.")
            text = text.format(language=language_name(current_locale()))
            await invocation.respond(text=text, response_type="ephemeral")

    deps.router.add(LangCommand, on_lang)

"""The "Open in provider" button of a status card, and the private answer to a click on it.

The status card carries no provider URL (Popbill's lives 30 seconds: a link in a message is
dead for whoever reads it later). It carries a button whose value is the document's ref; a
click fetches a fresh URL and answers the clicker alone with a link button, which Slack
opens without parsing it as text.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from commands.i18n import _
from commands.slack.blocks.kit import plain, section
from commands.slack.formatting import clip, escape_mrkdwn, provider_label
from commands.slack.ids import DOC_OPEN_ACTION_ID, DOC_OPEN_LINK_ACTION_ID
from providers.models import Provider

__all__ = ["build_provider_link_message", "open_in_provider_button", "provider_link_text", "usable_url"]

#: Slack refuses a button URL longer than this
MAX_URL = 3000


def usable_url(url: str) -> bool:
    """A URL Slack accepts on a button, and that opens a web page (never javascript: or the like)."""
    return url.startswith(("https://", "http://")) and len(url) <= MAX_URL and not any(c.isspace() for c in url)


def open_in_provider_button(ref: str) -> ButtonElement:
    """The card's button: no URL in it, only the ref to fetch one for."""
    return ButtonElement(text=plain(_("🔗 Open in provider"), 75), action_id=DOC_OPEN_ACTION_ID,
                         value=clip(ref, 2000))


def provider_link_text(ref: str, provider: Provider) -> str:
    """The notification text of the answer (escaped: the ref may come from a click's value)."""
    return _("🔗 {ref} at {provider}: the link works for about 30 seconds.").format(
        ref=escape_mrkdwn(clip(ref, 100)), provider=provider_label(provider))


def build_provider_link_message(ref: str, provider: Provider, url: str) -> list[Block]:
    """The private answer to "Open in provider": a link button to the fresh URL."""
    blocks: list[Block] = [section(provider_link_text(ref, provider))]
    if usable_url(url):
        blocks.append(ActionsBlock(elements=[
            ButtonElement(text=plain(_("Open {ref}").format(ref=clip(ref, 60)), 75), url=url,
                          action_id=DOC_OPEN_LINK_ACTION_ID, value=clip(ref, 2000)),
        ]))
    else:
        blocks.append(section(_("{provider} gave no link Slack can open; open the document in its console.").format(
            provider=provider_label(provider))))
    return blocks

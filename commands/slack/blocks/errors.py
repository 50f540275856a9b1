"""Progress and refusals: what is being done, what failed and what to do, never a traceback."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from commands.slack.blocks.kit import context, flat, section
from commands.slack.formatting import clip, escape_mrkdwn, progress_bar
from commands.slack.parser import CommandError

__all__ = ["build_command_error_message", "build_error_message", "build_progress_message", "error_text",
           "progress_text"]


def build_progress_message(title: str, done: int, total: int) -> list[Block]:
    """e.g. ``Checking 120 numbers… 40/120`` with a bar; updated in place with chat.update."""
    pct = 0 if total <= 0 else round(100 * max(0, min(done, total)) / total)
    return [section(f"⏳ {escape_mrkdwn(clip(flat(title), 200))}… {done}/{total}\n"
                    f"`{progress_bar(done, total)}` {pct}%")]


def progress_text(title: str, done: int, total: int) -> str:
    return f"{escape_mrkdwn(clip(flat(title), 200))}… {done}/{total}"


def build_error_message(title: str, what_happened: str, what_to_do: str) -> list[Block]:
    """Tell the user what failed and what to do, never a traceback."""
    return [
        section(f"❌ *{escape_mrkdwn(clip(flat(title), 200))}*"),
        section(f"*What happened*\n{escape_mrkdwn(clip(what_happened, 2800))}"),
        # the app's own advice (it may format a command in backticks), quoting user text at most
        section(f"*What to do*\n{escape_mrkdwn(clip(what_to_do, 2800), formatting=False)}"),
    ]


def error_text(title: str, what_happened: str) -> str:
    # an error answer is private (ephemeral): the people it names may stay mentions
    return clip(escape_mrkdwn(f"{flat(title)}: {flat(what_happened)}", keep_mentions=True), 3000)


def build_command_error_message(error: CommandError) -> list[Block]:
    """A parser refusal: what was wrong, then what to type (the usage line). The parser's
    words quote what was typed inside the app's own backticks: entities only."""
    todo = escape_mrkdwn(error.hint, formatting=False) if error.hint else ""
    if error.usage:
        todo = (todo + "\n" if todo else "") + f"`{error.usage}`"
    if not todo:
        todo = "Type `/invoice help` to see every subcommand."
    return [
        section(f"🤔 {escape_mrkdwn(clip(error.problem, 2900), formatting=False)}"),
        context(clip(todo, 2900)),
    ]

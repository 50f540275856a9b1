"""The console's terminal: print, read a line, and ask one modal question.

On a terminal lines come from ``input()`` (with line editing); from a pipe they come from
standard input and are echoed after their prompt, so a scripted session's output reads
like the conversation it was. Reading runs in the default executor so the app's
background work keeps running on the loop while the console waits for a line.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.console.forms import Prompt
from commands.i18n import _

__all__ = ["Terminal"]


class Terminal:
    """Where the console writes and reads; `None` from a read means the input ended."""

    def __init__(self, out: TextIO = sys.stdout, inp: TextIO = sys.stdin) -> None:
        self.out = out
        self.inp = inp
        self.interactive = inp.isatty()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def read_line(self, prompt: str) -> str | None:
        if self.interactive:
            try:
                return await asyncio.get_running_loop().run_in_executor(None, input, prompt)
            except EOFError:
                return None
        line = await asyncio.get_running_loop().run_in_executor(None, self.inp.readline)
        if not line:
            return None
        line = line.rstrip("\n")
        self.say(f"{prompt}{line}")
        return line

    async def ask(self, prompt: Prompt) -> str | None:
        """One answer for a modal input: "" for "leave it empty", None when the input ended."""
        label = prompt.label + ("" if not prompt.optional else " " + _("(optional)"))
        if prompt.options:
            listed = ", ".join(f"{n}) {text}" for n, (_, text) in enumerate(prompt.options, start=1))
            label += f" [{listed}]"
        default = prompt.initial if isinstance(prompt.initial, str) else (
            ",".join(prompt.initial) if prompt.initial else None)
        if default:
            label += " " + _("(default: {value})").format(value=default)
        if prompt.hint:
            self.say(f"   ℹ️ {prompt.hint}")
        if prompt.multiline:
            return await self._ask_lines(label)
        answer = await self.read_line(f"   {label}: ")
        if answer is None:
            return None
        return "" if answer.strip() == "-" else answer

    async def _ask_lines(self, label: str) -> str | None:
        """A multi-line answer, ended by an empty line; ``-`` alone leaves it empty."""
        self.say(f"   {label} — " + _("one per line, end with an empty line (- alone: leave it empty):"))
        lines: list[str] = []
        while True:
            line = await self.read_line("   | ")
            if line is None:
                return None if not lines else "\n".join(lines)
            if not line.strip():
                break
            if not lines and line.strip() == "-":
                return ""
            lines.append(line)
        return "\n".join(lines)

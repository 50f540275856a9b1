"""The console's terminal from a pipe: answers are echoed after their prompt, "-" empties, EOF ends."""

from __future__ import annotations

import io

from bot.console.forms import Prompt
from bot.console.terminal import Terminal


def _terminal(text: str) -> tuple[Terminal, io.StringIO]:
    out = io.StringIO()
    return Terminal(out=out, inp=io.StringIO(text)), out


async def test_a_piped_answer_is_echoed_after_its_prompt_with_choices_and_default() -> None:
    terminal, out = _terminal("2\n")
    prompt = Prompt(block_id="p", action_id="p_in", label="Provider", type="static_select",
                    options=(("popbill", "Popbill"), ("payssam", "Payssam")), initial="popbill", hint="where")
    assert await terminal.ask(prompt) == "2"
    assert out.getvalue() == "   ℹ️ where\n   Provider [1) Popbill, 2) Payssam] (default: popbill): 2\n"


async def test_a_dash_leaves_an_answer_empty_and_the_end_of_input_abandons() -> None:
    terminal, _ = _terminal("-\n")
    memo = Prompt(block_id="m", action_id="m_in", label="Memo", type="plain_text_input", optional=True)
    assert await terminal.ask(memo) == ""
    assert await terminal.ask(memo) is None


async def test_a_multiline_answer_ends_with_an_empty_line() -> None:
    terminal, _ = _terminal("Consulting | 2 | 50000\nSupport | 1 | 30000\n\nnext\n")
    items = Prompt(block_id="i", action_id="i_in", label="Items", type="plain_text_input", multiline=True)
    assert await terminal.ask(items) == "Consulting | 2 | 50000\nSupport | 1 | 30000"
    assert await terminal.read_line("> ") == "next"

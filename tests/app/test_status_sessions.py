"""`/invoice status` answers its ``response_url`` over the bot's kept-alive HTTP session.

Bolt's own `respond()` opened an aiohttp session (and a TCP connection) per answer and closed it
again: at c=200 the largest single cost of a status after the ack. Counted here end to end over
signed HTTP, with the answer's content checked unchanged.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.app.harness import BotHarness, text_of
from tests.app.test_amend import _issued


async def test_status_answers_open_no_http_session_of_their_own(bot: BotHarness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    await _issued(bot, "popbill")
    await bot.command("status INV-000001")
    opened: list[object] = []
    real_init = aiohttp.ClientSession.__init__

    def counting_init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        opened.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting_init)
    for _ in range(3):
        await bot.command("status INV-000001")
    monkeypatch.undo()

    assert opened == []
    answers = [text_of(r) for r in bot.replies()[-3:]]
    assert all("INV-000001" in a and "doc_open" in a for a in answers)
    assert answers[0] == answers[1] == answers[2]


async def test_an_unknown_command_is_still_answered_at_its_response_url(bot: BotHarness) -> None:
    await bot.command("status INV-000099")
    assert "INV-000099" in text_of(bot.replies()[-1])

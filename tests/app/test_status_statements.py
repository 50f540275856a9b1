"""`/invoice status` reads the ledger on one connection, in two statements, without a BEGIN.

End to end over signed HTTP: most of a status command's CPU was SQLite round-trips through
aiosqlite's thread (three statements, each on a connection of its own: the row, the documents
amending it, the audit history). Counted with SQLAlchemy's events on the bot's engine.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.app.harness import BotHarness, text_of
from tests.app.test_amend import _issued


async def test_a_status_reads_the_ledger_on_one_connection_in_two_statements(bot: BotHarness) -> None:
    await _issued(bot, "popbill")
    await bot.command("status INV-000001")  # the first stores what Popbill says; the next has nothing new
    statements: list[str] = []
    begins: list[str] = []
    checkouts: list[object] = []

    def on_checkout(*args: object) -> None:
        checkouts.append(args)

    def on_statement(conn: object, cursor: object, statement: str, *args: object) -> None:
        (begins if statement.lstrip().upper().startswith("BEGIN") else statements).append(statement)

    engine = bot.runtime.store.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", on_statement)
    sa.event.listen(engine, "checkout", on_checkout)
    try:
        await bot.command("status INV-000001")
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)
        sa.event.remove(engine, "checkout", on_checkout)

    assert len(statements) <= 2 and len(checkouts) == 1, statements
    assert begins == [], "two reads, each atomic on its own, need no BEGIN round-trip on SQLite"
    answer = text_of(bot.replies()[-1])
    assert "INV-000001" in answer and "doc_open" in answer

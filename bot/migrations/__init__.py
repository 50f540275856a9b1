"""Alembic migrations for the invoicebot database (run them with `bot.storage.upgrade`)."""

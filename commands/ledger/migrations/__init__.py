"""Alembic migrations for the invoicebot database (run them with `commands.ledger.upgrade`)."""

"""Moved to `tests.commands.slack.digest.seed`; kept so `tests/scheduler/test_sweep.py` still imports it.

Delete this module (and `tests/digest/`) once that import points at the new module.
"""

from tests.commands.slack.digest.seed import add_document, age_approval, bulk_documents, bulk_open_documents

__all__ = ["add_document", "age_approval", "bulk_documents", "bulk_open_documents"]
